// crypto/verify_key.h — PRIVATE to crypto/: the ready verification contexts behind the
// opaque verify_key of crypto/jws.h.
//
// Threading: immutable after construction; verify() is const and may run on every
// shard at once (BoringSSL's RSA, EC_KEY and Ed25519 verification are safe on a
// shared key).
#pragma once

#include <openssl/base.h>

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string_view>

#include "crypto/hmac.h"
#include "crypto/jws.h"

namespace tollgate::crypto {

class verify_key {
 public:
  enum class kind : std::uint8_t { hmac, rsa, ec_p256, ec_p384, ed25519 };

  ~verify_key();
  verify_key(const verify_key&) = delete;
  verify_key& operator=(const verify_key&) = delete;

  // Factories; each takes ownership of the BoringSSL object it is given, validates it
  // and narrows |algs| to what the key type allows (errc::alg_not_allowed when nothing
  // is left). Cold path.
  [[gnu::cold]] static std::expected<verify_key_ptr, errc> hmac(std::span<const std::uint8_t> secret, alg_set algs);
  [[gnu::cold]] static std::expected<verify_key_ptr, errc> rsa(bssl::UniquePtr<RSA> key, alg_set algs);
  [[gnu::cold]] static std::expected<verify_key_ptr, errc> ec(bssl::UniquePtr<EC_KEY> key, alg_set algs);
  [[gnu::cold]] static std::expected<verify_key_ptr, errc> ed25519(std::span<const std::uint8_t> pub, alg_set algs);

  kind type() const noexcept { return kind_; }
  alg_set permitted() const noexcept { return permitted_; }

  // verify checks |sig| over |input| with |a|. A precondition the verifier already
  // checked: |a| is in permitted(). Returns errc::ok, errc::bad_signature or
  // errc::signature_out_of_range. Clears BoringSSL's error queue on failure.
  errc verify(alg a, std::string_view input, std::span<const std::uint8_t> sig,
              verify_scratch& scratch) const noexcept;

 private:
  verify_key(kind k, alg_set permitted) noexcept : kind_(k), permitted_(permitted) {}
  errc verify_rsa(alg a, std::string_view input, std::span<const std::uint8_t> sig) const noexcept;
  errc verify_ec(std::string_view input, std::span<const std::uint8_t> sig,
                 verify_scratch& scratch) const noexcept;

  kind kind_;
  alg_set permitted_;
  // HMAC: one precomputed state pair per permitted hash.
  std::optional<detail::hmac_sha256> hs256_;
  std::optional<detail::hmac_sha384> hs384_;
  std::optional<detail::hmac_sha512> hs512_;
  RSA* rsa_ = nullptr;
  EC_KEY* ec_ = nullptr;
  std::size_t scalar_bytes_ = 0;              // P-256: 32, P-384: 48
  std::array<std::uint8_t, 48> order_be_{};   // group order, big-endian, scalar_bytes_ long
  std::array<std::uint8_t, 32> ed25519_pub_{};
};

}  // namespace tollgate::crypto
