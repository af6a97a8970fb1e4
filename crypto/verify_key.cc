#include "crypto/verify_key.h"

#include <openssl/bn.h>
#include <openssl/curve25519.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/nid.h>
#include <openssl/rsa.h>

#include <cstring>

namespace tollgate::crypto {

verify_key::~verify_key() {
  RSA_free(rsa_);
  EC_KEY_free(ec_);
}

alg_set permitted_algs(const verify_key& key) noexcept { return key.permitted(); }

std::expected<verify_key_ptr, errc> make_hmac_key(std::span<const std::uint8_t> secret, alg_set algs) {
  return verify_key::hmac(secret, algs);
}

std::expected<verify_key_ptr, errc> verify_key::hmac(std::span<const std::uint8_t> secret, alg_set algs) {
  algs &= kHmacAlgs;
  // RFC 7518 §3.2: a key of the same size as the hash output or larger.
  if (secret.size() < 32) algs &= static_cast<alg_set>(~alg_bit(alg::hs256));
  if (secret.size() < 48) algs &= static_cast<alg_set>(~alg_bit(alg::hs384));
  if (secret.size() < 64) algs &= static_cast<alg_set>(~alg_bit(alg::hs512));
  if (algs == 0) return std::unexpected(errc::bad_key);
  std::shared_ptr<verify_key> k(new verify_key(kind::hmac, algs));
  if (algs & alg_bit(alg::hs256)) k->hs256_.emplace(secret);
  if (algs & alg_bit(alg::hs384)) k->hs384_.emplace(secret);
  if (algs & alg_bit(alg::hs512)) k->hs512_.emplace(secret);
  return k;
}

std::expected<verify_key_ptr, errc> verify_key::rsa(bssl::UniquePtr<RSA> key, alg_set algs) {
  algs &= kRsaAlgs;
  if (algs == 0) return std::unexpected(errc::alg_not_allowed);
  if (!key) return std::unexpected(errc::bad_key);
  // RFC 7518 §3.3: 2048 bits or larger. 8192 bounds the cost an attacker-supplied
  // JWKS could impose per verification (and matches kMaxSignatureBytes).
  unsigned bits = RSA_bits(key.get());
  if (bits < 2048 || bits > 8192) return std::unexpected(errc::bad_key);
  std::shared_ptr<verify_key> k(new verify_key(kind::rsa, algs));
  k->rsa_ = key.release();
  return k;
}

std::expected<verify_key_ptr, errc> verify_key::ec(bssl::UniquePtr<EC_KEY> key, alg_set algs) {
  if (!key || !EC_KEY_get0_group(key.get()) || !EC_KEY_get0_public_key(key.get()))
    return std::unexpected(errc::bad_key);
  int nid = EC_GROUP_get_curve_name(EC_KEY_get0_group(key.get()));
  kind k;
  std::size_t bytes;
  if (nid == NID_X9_62_prime256v1) {
    k = kind::ec_p256;
    bytes = 32;
    algs &= alg_bit(alg::es256);
  } else if (nid == NID_secp384r1) {
    k = kind::ec_p384;
    bytes = 48;
    algs &= alg_bit(alg::es384);
  } else {
    return std::unexpected(errc::unsupported_key);
  }
  if (algs == 0) return std::unexpected(errc::alg_not_allowed);
  if (!EC_KEY_check_key(key.get())) {
    ERR_clear_error();
    return std::unexpected(errc::bad_key);
  }
  std::shared_ptr<verify_key> v(new verify_key(k, algs));
  v->scalar_bytes_ = bytes;
  if (!BN_bn2bin_padded(v->order_be_.data(), bytes, EC_GROUP_get0_order(EC_KEY_get0_group(key.get()))))
    return std::unexpected(errc::crypto_failure);
  v->ec_ = key.release();
  return v;
}

std::expected<verify_key_ptr, errc> verify_key::ed25519(std::span<const std::uint8_t> pub, alg_set algs) {
  algs &= alg_bit(alg::eddsa);
  if (algs == 0) return std::unexpected(errc::alg_not_allowed);
  if (pub.size() != 32) return std::unexpected(errc::bad_key);
  std::shared_ptr<verify_key> v(new verify_key(kind::ed25519, algs));
  std::memcpy(v->ed25519_pub_.data(), pub.data(), 32);
  return v;
}

errc verify_key::verify(alg a, std::string_view input, std::span<const std::uint8_t> sig,
                        verify_scratch& scratch) const noexcept {
  switch (a) {
    case alg::hs256: return hs256_ && hs256_->verify(input.data(), input.size(), sig) ? errc::ok : errc::bad_signature;
    case alg::hs384: return hs384_ && hs384_->verify(input.data(), input.size(), sig) ? errc::ok : errc::bad_signature;
    case alg::hs512: return hs512_ && hs512_->verify(input.data(), input.size(), sig) ? errc::ok : errc::bad_signature;
    case alg::rs256:
    case alg::rs384:
    case alg::rs512:
    case alg::ps256:
    case alg::ps384:
    case alg::ps512:
      return rsa_ ? verify_rsa(a, input, sig) : errc::bad_signature;
    case alg::es256:
    case alg::es384:
      return ec_ ? verify_ec(input, sig, scratch) : errc::bad_signature;
    case alg::eddsa:
      if (kind_ != kind::ed25519 || sig.size() != 64) return errc::bad_signature;
      return ED25519_verify(reinterpret_cast<const std::uint8_t*>(input.data()), input.size(), sig.data(),
                            ed25519_pub_.data())
                 ? errc::ok
                 : errc::bad_signature;
  }
  return errc::bad_signature;
}

errc verify_key::verify_rsa(alg a, std::string_view input, std::span<const std::uint8_t> sig) const noexcept {
  if (sig.size() != RSA_size(rsa_)) return errc::bad_signature;
  std::uint8_t digest[SHA512_DIGEST_LENGTH];
  std::size_t dlen;
  const auto* in = reinterpret_cast<const std::uint8_t*>(input.data());
  int nid;
  const EVP_MD* md;
  switch (a) {
    case alg::rs256: case alg::ps256:
      SHA256(in, input.size(), digest); dlen = 32; nid = NID_sha256; md = EVP_sha256(); break;
    case alg::rs384: case alg::ps384:
      SHA384(in, input.size(), digest); dlen = 48; nid = NID_sha384; md = EVP_sha384(); break;
    default:
      SHA512(in, input.size(), digest); dlen = 64; nid = NID_sha512; md = EVP_sha512(); break;
  }
  bool pss = a == alg::ps256 || a == alg::ps384 || a == alg::ps512;
  // RFC 7518 §3.5: PSS with MGF1 of the same hash and a salt as long as the hash (-1).
  int ok = pss ? RSA_verify_pss_mgf1(rsa_, digest, dlen, md, nullptr, -1, sig.data(), sig.size())
               : RSA_verify(nid, digest, dlen, sig.data(), sig.size(), rsa_);
  if (!ok) {
    ERR_clear_error();
    return errc::bad_signature;
  }
  return errc::ok;
}

errc verify_key::verify_ec(std::string_view input, std::span<const std::uint8_t> sig,
                           verify_scratch& scratch) const noexcept {
  const std::size_t n = scalar_bytes_;
  // RFC 7518 §3.4: R and S as fixed-length big-endian octets, nothing else.
  if (sig.size() != 2 * n) return errc::bad_signature;
  // 0 < r, s < order, compared on the fixed-length big-endian bytes before any BN work.
  static constexpr std::uint8_t kZero[48] = {};
  for (std::size_t off = 0; off < 2 * n; off += n) {
    const std::uint8_t* v = sig.data() + off;
    if (std::memcmp(v, kZero, n) == 0 || std::memcmp(v, order_be_.data(), n) >= 0)
      return errc::signature_out_of_range;
  }
  ECDSA_SIG* es = scratch.ecdsa_sig_;
  // BN_bin2bn into the preallocated r and s reuses their storage: no allocation.
  if (!BN_bin2bn(sig.data(), n, es->r) || !BN_bin2bn(sig.data() + n, n, es->s)) {
    ERR_clear_error();
    return errc::crypto_failure;
  }
  std::uint8_t digest[SHA384_DIGEST_LENGTH];
  const auto* in = reinterpret_cast<const std::uint8_t*>(input.data());
  std::size_t dlen;
  if (n == 32) {
    SHA256(in, input.size(), digest);
    dlen = 32;
  } else {
    SHA384(in, input.size(), digest);
    dlen = 48;
  }
  if (!ECDSA_do_verify(digest, dlen, es, ec_)) {
    ERR_clear_error();
    return errc::bad_signature;
  }
  return errc::ok;
}

}  // namespace tollgate::crypto
