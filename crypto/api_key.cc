#include "crypto/api_key.h"

#include <openssl/mem.h>
#include <openssl/rand.h>

#include "crypto/base64url.h"

namespace tollgate::crypto {
namespace {

bool is_key_id(std::string_view id) noexcept {
  if (id.size() != kApiKeyIdChars) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::expected<api_key_parts, errc> parse_api_key_basic(std::string_view key_id, std::string_view secret) noexcept {
  if (!is_key_id(key_id) || secret.size() != kApiKeySecretChars) return std::unexpected(errc::bad_api_key);
  api_key_parts out;
  out.key_id = key_id;
  auto n = base64url::decode(secret, out.secret);
  if (!n || *n != kApiKeySecretBytes) return std::unexpected(errc::bad_api_key);
  return out;
}

std::expected<api_key_parts, errc> parse_api_key(std::string_view presented) noexcept {
  if (presented.size() != kApiKeyChars || !presented.starts_with(kApiKeyPrefix)) return std::unexpected(errc::bad_api_key);
  std::string_view rest = presented.substr(kApiKeyPrefix.size());
  if (rest[kApiKeyIdChars] != '_') return std::unexpected(errc::bad_api_key);
  return parse_api_key_basic(rest.substr(0, kApiKeyIdChars), rest.substr(kApiKeyIdChars + 1));
}

api_key_hasher::api_key_hasher(std::span<const std::uint8_t> server_secret) noexcept
    : mac_(server_secret), valid_(server_secret.size() >= 32) {}

api_key_hash api_key_hasher::hash(const api_key_parts& key) const noexcept {
  // key_id "." secret: binds the secret to its id, so a row cannot be moved to another id.
  std::uint8_t msg[kApiKeyIdChars + 1 + kApiKeySecretBytes];
  std::memcpy(msg, key.key_id.data(), kApiKeyIdChars);
  msg[kApiKeyIdChars] = '.';
  std::memcpy(msg + kApiKeyIdChars + 1, key.secret.data(), kApiKeySecretBytes);
  api_key_hash out;
  mac_.compute(msg, sizeof msg, out.data());
  OPENSSL_cleanse(msg, sizeof msg);
  return out;
}

bool api_key_hasher::matches(const api_key_parts& key, const api_key_hash& stored) const noexcept {
  if (!valid_ || key.key_id.size() != kApiKeyIdChars) return false;
  api_key_hash h = hash(key);
  return CRYPTO_memcmp(h.data(), stored.data(), h.size()) == 0;
}

std::expected<generated_api_key, errc> api_key_hasher::generate() const {
  if (!valid_) return std::unexpected(errc::bad_key);
  std::uint8_t id_bytes[kApiKeyIdChars / 2];
  api_key_parts parts;
  if (!RAND_bytes(id_bytes, sizeof id_bytes) || !RAND_bytes(parts.secret.data(), parts.secret.size()))
    return std::unexpected(errc::crypto_failure);
  static constexpr char kHex[] = "0123456789abcdef";
  generated_api_key g;
  for (std::uint8_t b : id_bytes) {
    g.key_id += kHex[b >> 4];
    g.key_id += kHex[b & 15];
  }
  std::string secret(kApiKeySecretChars, '\0');
  base64url::encode(parts.secret, secret);
  g.prefix = std::string(kApiKeyPrefix) + g.key_id;
  g.presented = g.prefix + "_" + secret;
  parts.key_id = g.key_id;
  g.hash = hash(parts);
  OPENSSL_cleanse(secret.data(), secret.size());
  OPENSSL_cleanse(parts.secret.data(), parts.secret.size());
  return g;
}

}  // namespace tollgate::crypto
