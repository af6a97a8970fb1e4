// crypto/jwk.h — JSON Web Keys (RFC 7517, 7518 §6, 8037) and RFC 7638 thumbprints.
//
// Threading: pure functions; all of this is a cold path (key loading, JWKS refresh,
// signer setup) and allocates freely. Call it from startup code or the offload pool,
// never from a shard's loop: parsing uses Boost.JSON, turning a key into a verify_key
// does BoringSSL key validation (an EC on-curve check, RSA key checks).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/errc.h"
#include "crypto/jws.h"

namespace tollgate::crypto {

enum class key_type : std::uint8_t { rsa, ec, okp, oct };
enum class curve : std::uint8_t { none, p256, p384, ed25519 };

// jwk is one parsed key, public members only (private members such as "d" are ignored
// when parsing a verification key set). Byte members hold the decoded base64url.
// WARNING: for kty "oct", |k| is the shared secret itself; never log or export it.
struct jwk {
  key_type kty = key_type::oct;
  curve crv = curve::none;
  std::string kid;               // empty when absent
  std::string use;               // empty when absent; only "" or "sig" verify
  std::optional<alg> algorithm;  // "alg" member, when present
  std::vector<std::uint8_t> n, e;  // RSA
  std::vector<std::uint8_t> x, y;  // EC (x, y), OKP (x)
  std::vector<std::uint8_t> k;     // oct

  bool operator==(const jwk&) const = default;
};

// parse_jwk parses one JWK object. The text is first checked by the strict scanner of
// the hot path (duplicate member names → errc::duplicate_claim, malformed →
// errc::bad_json), then read with Boost.JSON. Rejects: kty missing or not a string
// (errc::bad_json), kty/crv tollgate does not implement (errc::unsupported_key),
// "alg":"none" (errc::alg_none), an unknown alg (errc::alg_unknown), missing or
// non-canonical base64url members (errc::bad_base64), wrong lengths, leading zero
// octets in n or e, EC points not on the curve (errc::bad_key).
[[gnu::cold]] std::expected<jwk, errc> parse_jwk(std::string_view json);

// jwks is a parsed key set; |skipped| counts keys that were well-formed JSON but
// unusable here (unsupported kty/crv, unknown alg such as RSA-OAEP), which RFC 7517
// §5 says to ignore.
struct jwks {
  std::vector<jwk> keys;
  std::size_t skipped = 0;
};

// parse_jwks parses {"keys":[...]}. Structural errors and invalid material for a
// supported key type fail the whole set (so the caller keeps its last good one); two
// keys with the same non-empty kid are errc::bad_key.
[[gnu::cold]] std::expected<jwks, errc> parse_jwks(std::string_view json);

// to_json serialises |key| as a JWK (members kty, kid, use, alg, crv, n, e, x, y,
// and k only when |include_secret|; for oct keys without it the result carries no
// key material and does not parse back).
[[gnu::cold]] std::string to_json(const jwk& key, bool include_secret = false);
// to_jwks_json serialises {"keys":[...]} of the public keys among |keys| (oct keys
// are left out: they are secrets).
[[gnu::cold]] std::string to_jwks_json(std::span<const jwk> keys);

// thumbprint returns the RFC 7638 JWK thumbprint: base64url(SHA-256 of the required
// members in lexicographic order, no whitespace).
[[gnu::cold]] std::string thumbprint(const jwk& key);

// make_verify_key turns |key| into a ready verification context bound to the algs
// its type allows, narrowed to key.algorithm when present. errc::key_use_mismatch
// when "use" is present and not "sig".
[[gnu::cold]] std::expected<verify_key_ptr, errc> make_verify_key(const jwk& key);

// key_entries builds the key set of one issuer from |set|, keeping only keys that can
// verify some alg in |issuer_algs|; keys of another use or alg are left out.
// errc::bad_key when a key's material is invalid.
[[gnu::cold]] std::expected<std::vector<key_entry>, errc> key_entries(const jwks& set, alg_set issuer_algs);

}  // namespace tollgate::crypto
