// crypto/api_key.h — tollgate API keys: sk_live_<key_id>_<secret>.
//
// key_id is 16 lowercase hex characters (64 random bits) used to look the key up;
// secret is 43 base64url characters (256 random bits). Only
// HMAC-SHA256(server secret, key_id "." secret) is stored: a keyed hash, fast enough
// for the hot path (unlike a password hash) and useless to whoever steals the table
// without the server secret.
//
// Threading: an api_key_hasher is immutable after construction; hash(), matches() and
// parse_api_key() are pure, never block, never allocate and may run on every shard at
// once. generate() reads the RNG and allocates (management path).
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>

#include "crypto/errc.h"
#include "crypto/hmac.h"

namespace tollgate::crypto {

inline constexpr std::string_view kApiKeyPrefix = "sk_live_";
inline constexpr std::size_t kApiKeyIdChars = 16;
inline constexpr std::size_t kApiKeySecretBytes = 32;
inline constexpr std::size_t kApiKeySecretChars = 43;
inline constexpr std::size_t kApiKeyChars = 8 + kApiKeyIdChars + 1 + kApiKeySecretChars;

using api_key_hash = std::array<std::uint8_t, 32>;

// api_key_parts is a presented key split strictly; key_id views the input.
struct api_key_parts {
  std::string_view key_id;
  std::array<std::uint8_t, kApiKeySecretBytes> secret;
};

// parse_api_key splits "sk_live_<16 hex>_<43 base64url>" and decodes the secret. Any
// other length, prefix, upper-case hex, separator or non-canonical base64url is
// errc::bad_api_key. Never allocates.
std::expected<api_key_parts, errc> parse_api_key(std::string_view presented) noexcept;
// parse_api_key_basic takes the two halves of HTTP Basic "key_id:secret" (the secret
// as its 43 base64url characters) with the same rules.
std::expected<api_key_parts, errc> parse_api_key_basic(std::string_view key_id, std::string_view secret) noexcept;

// generated_api_key is what generate() hands the management API.
// WARNING: |presented| is the only copy of the secret: show it once, never store or log it.
struct generated_api_key {
  std::string key_id;
  std::string presented;  // sk_live_<key_id>_<secret>
  std::string prefix;     // sk_live_<key_id>: safe to list
  api_key_hash hash;      // what the store keeps
};

class api_key_hasher {
 public:
  // |server_secret| must be at least 32 bytes (a hasher with a shorter one rejects
  // everything: valid() is false).
  explicit api_key_hasher(std::span<const std::uint8_t> server_secret) noexcept;
  bool valid() const noexcept { return valid_; }

  api_key_hash hash(const api_key_parts& key) const noexcept;
  // matches recomputes the hash and compares it with |stored| in constant time
  // (CRYPTO_memcmp).
  bool matches(const api_key_parts& key, const api_key_hash& stored) const noexcept;
  // generate makes a fresh key; errc::crypto_failure if the RNG fails.
  [[gnu::cold]] std::expected<generated_api_key, errc> generate() const;

 private:
  detail::hmac_sha256 mac_;
  bool valid_;
};

}  // namespace tollgate::crypto
