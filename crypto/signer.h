// crypto/signer.h — signing tollgate's own tokens: keys, their serialisation for the
// store, kid derivation, and the rotating key ring.
//
// Threading: a signing_key is immutable and may be shared by any threads (copies share
// the BoringSSL key). A key_ring is a plain value: mutate it on one thread (the
// management/offload side), then publish what the hot path needs with
// key_ring::verification_keys() → trust_store::replace_keys(). sign() never blocks but
// allocates the returned string; key generation reads the RNG (may block at boot
// until the kernel RNG is seeded).
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/errc.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"

namespace tollgate::crypto {

// token_spec is the claim set of a token tollgate issues. Empty strings and lists are
// left out of the payload.
struct token_spec {
  std::string iss, sub, jti, sid, username, scope;
  std::vector<std::string> aud;  // one entry is written as a string
  std::int64_t iat = 0, exp = 0;
  std::optional<std::int64_t> nbf;
  std::vector<std::string> roles, groups, permissions;
};

// encode_payload serialises |spec| as the JSON payload of a JWT (members in a fixed
// order, strings escaped by Boost.JSON).
[[gnu::cold]] std::string encode_payload(const token_spec& spec);

namespace detail {
struct signing_state;
}

// signing_key is one private key (HS256 secret, ES256 P-256 key or Ed25519 key) with
// its kid and creation time.
// WARNING: holds secret material; serialize() output must be stored like a password
// database, and none of it may be logged.
class signing_key {
 public:
  // generate makes a fresh key for |a| (hs256: 32 random bytes; es256; eddsa). kid is
  // the RFC 7638 thumbprint of its JWK (for HS256 that is a SHA-256 of the 256-bit
  // random secret, which does not reveal it). errc::alg_not_allowed for other algs.
  [[gnu::cold]] static std::expected<signing_key, errc> generate(alg a, std::int64_t created_at);
  // from_secret wraps an existing HS256/384/512 secret (tests, imported keys).
  [[gnu::cold]] static std::expected<signing_key, errc> from_secret(alg a, std::span<const std::uint8_t> secret,
                                                                   std::int64_t created_at);
  // serialize returns a self-describing byte string (version, alg, created_at, kid,
  // private material) that deserialize() turns back into the same key.
  [[gnu::cold]] std::vector<std::uint8_t> serialize() const;
  // deserialize rejects truncated, trailing or inconsistent input with errc::bad_key.
  [[gnu::cold]] static std::expected<signing_key, errc> deserialize(std::span<const std::uint8_t> bytes);

  alg algorithm() const noexcept;
  const std::string& kid() const noexcept;
  std::int64_t created_at() const noexcept;

  // sign returns the compact JWS {"alg","typ":"JWT","kid"}.payload.signature.
  std::expected<std::string, errc> sign(std::string_view payload_json) const;
  // public_jwk returns the public JWK (use "sig", alg, kid). For HMAC keys it returns
  // the oct JWK including the secret.
  // WARNING: never export the oct JWK of an HMAC key; to_jwks_json() leaves it out.
  [[gnu::cold]] jwk public_jwk() const;
  // make_verifier returns the verification context for this key.
  [[gnu::cold]] std::expected<verify_key_ptr, errc> make_verifier() const;

 private:
  explicit signing_key(std::shared_ptr<const detail::signing_state> s) noexcept : s_(std::move(s)) {}
  std::shared_ptr<const detail::signing_state> s_;
};

// key_ring holds the active signing key and the previous keys still accepted for
// verification. rotate() makes a new key active and keeps the old one until
// |verify_until| = now + the longest lifetime of a token it signed (+ leeway), so no
// token is rejected because of a rotation.
class key_ring {
 public:
  struct entry {
    signing_key key;
    std::optional<std::int64_t> verify_until;  // empty for the active key
  };

  // set_active installs the first key (or replaces the active one without retiring it).
  void set_active(signing_key key);
  // rotate makes |next| active; the previous active key stays verifiable until
  // |now + retain_seconds|.
  void rotate(signing_key next, std::int64_t now, std::int64_t retain_seconds);
  // prune drops retired keys whose verify_until has passed.
  void prune(std::int64_t now);
  // restore rebuilds a ring from persisted entries (exactly one must be active, else
  // errc::bad_key).
  [[gnu::cold]] static std::expected<key_ring, errc> restore(std::vector<entry> entries);

  // active returns the signing key, or nullptr before set_active().
  const signing_key* active() const noexcept;
  const std::vector<entry>& entries() const noexcept { return entries_; }

  // sign signs |payload_json| with the active key; errc::unknown_kid when there is none.
  std::expected<std::string, errc> sign(std::string_view payload_json) const;
  // verification_keys returns the key set for the trust_store entry of tollgate's own
  // issuer: the active key and every retired one not yet pruned.
  [[gnu::cold]] std::expected<std::vector<key_entry>, errc> verification_keys() const;
  // jwks_json returns the public keys as a JWKS document (/.well-known/jwks.json);
  // HMAC keys are never in it.
  [[gnu::cold]] std::string jwks_json() const;

 private:
  std::vector<entry> entries_;  // entries_[0] is the active key when present
};

}  // namespace tollgate::crypto
