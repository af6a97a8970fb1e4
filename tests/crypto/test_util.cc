#include "tests/crypto/test_util.h"

#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/curve25519.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/digest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "crypto/base64url.h"

namespace tollgate::crypto::test {

std::string read_vector(std::string_view name) {
  std::ifstream in(std::string(TOLLGATE_VECTOR_DIR) + "/" + std::string(name), std::ios::binary);
  if (!in) throw std::runtime_error("missing vector " + std::string(name));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string b64(std::string_view bytes) {
  std::string out(base64url::encoded_size(bytes.size()), '\0');
  base64url::encode(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), out);
  return out;
}

std::string b64(const std::vector<std::uint8_t>& bytes) {
  return b64(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::vector<std::uint8_t> unhex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

namespace {
std::vector<std::uint8_t> bn_bytes(const BIGNUM* b, std::size_t len = 0) {
  std::vector<std::uint8_t> out(len ? len : BN_num_bytes(b));
  BN_bn2bin_padded(out.data(), out.size(), b);
  return out;
}

std::string ec_jwk_of(const EC_KEY* k, std::string_view crv, std::size_t len, std::string_view kid) {
  bssl::UniquePtr<BIGNUM> x(BN_new()), y(BN_new());
  EC_POINT_get_affine_coordinates_GFp(EC_KEY_get0_group(k), EC_KEY_get0_public_key(k), x.get(), y.get(), nullptr);
  return std::string("{\"kty\":\"EC\",\"crv\":\"") + std::string(crv) + "\",\"kid\":\"" + std::string(kid) +
         "\",\"x\":\"" + b64(bn_bytes(x.get(), len)) + "\",\"y\":\"" + b64(bn_bytes(y.get(), len)) + "\"}";
}
}  // namespace

forge::forge() : hmac_secret(32) {
  for (std::size_t i = 0; i < hmac_secret.size(); ++i) hmac_secret[i] = static_cast<std::uint8_t>(i * 7 + 1);
  rsa.reset(RSA_new());
  bssl::UniquePtr<BIGNUM> e(BN_new());
  BN_set_word(e.get(), RSA_F4);
  if (!RSA_generate_key_ex(rsa.get(), 2048, e.get(), nullptr)) std::abort();
  p256.reset(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  p384.reset(EC_KEY_new_by_curve_name(NID_secp384r1));
  if (!EC_KEY_generate_key(p256.get()) || !EC_KEY_generate_key(p384.get())) std::abort();
  ED25519_keypair(ed_pub, ed_priv);
}

std::vector<std::uint8_t> forge::signature(alg a, std::string_view input) const {
  const auto* in = reinterpret_cast<const std::uint8_t*>(input.data());
  std::vector<std::uint8_t> sig;
  auto md = [&]() -> const EVP_MD* {
    switch (a) {
      case alg::hs256: case alg::rs256: case alg::ps256: case alg::es256: return EVP_sha256();
      case alg::hs384: case alg::rs384: case alg::ps384: case alg::es384: return EVP_sha384();
      default: return EVP_sha512();
    }
  }();
  std::uint8_t digest[64];
  unsigned dlen = 0;
  EVP_Digest(in, input.size(), digest, &dlen, md, nullptr);
  switch (a) {
    case alg::hs256: case alg::hs384: case alg::hs512: {
      sig.resize(EVP_MD_size(md));
      unsigned len;
      HMAC(md, hmac_secret.data(), hmac_secret.size(), in, input.size(), sig.data(), &len);
      break;
    }
    case alg::rs256: case alg::rs384: case alg::rs512: {
      sig.resize(RSA_size(rsa.get()));
      unsigned len;
      RSA_sign(EVP_MD_type(md), digest, dlen, sig.data(), &len, rsa.get());
      break;
    }
    case alg::ps256: case alg::ps384: case alg::ps512: {
      sig.resize(RSA_size(rsa.get()));
      std::size_t len;
      RSA_sign_pss_mgf1(rsa.get(), &len, sig.data(), sig.size(), digest, dlen, md, nullptr, -1);
      break;
    }
    case alg::es256: case alg::es384: {
      const EC_KEY* k = a == alg::es256 ? p256.get() : p384.get();
      std::size_t n = a == alg::es256 ? 32 : 48;
      bssl::UniquePtr<ECDSA_SIG> s(ECDSA_do_sign(digest, dlen, k));
      sig = bn_bytes(s->r, n);
      auto sb = bn_bytes(s->s, n);
      sig.insert(sig.end(), sb.begin(), sb.end());
      break;
    }
    case alg::eddsa:
      sig.resize(64);
      ED25519_sign(sig.data(), in, input.size(), ed_priv);
      break;
  }
  return sig;
}

std::string forge::token(alg a, std::string_view header_json, std::string_view payload_json) const {
  std::string input = b64(header_json) + "." + b64(payload_json);
  return input + "." + b64(signature(a, input));
}

std::string forge::rsa_jwk(std::string_view kid) const {
  return "{\"kty\":\"RSA\",\"kid\":\"" + std::string(kid) + "\",\"n\":\"" + b64(bn_bytes(RSA_get0_n(rsa.get()))) +
         "\",\"e\":\"" + b64(bn_bytes(RSA_get0_e(rsa.get()))) + "\"}";
}
std::string forge::ec_jwk(std::string_view kid, bool big) const {
  return big ? ec_jwk_of(p384.get(), "P-384", 48, kid) : ec_jwk_of(p256.get(), "P-256", 32, kid);
}
std::string forge::ed_jwk(std::string_view kid) const {
  return "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"" + std::string(kid) + "\",\"x\":\"" +
         b64(std::string_view(reinterpret_cast<const char*>(ed_pub), 32)) + "\"}";
}
std::string forge::oct_jwk(std::string_view kid) const {
  return "{\"kty\":\"oct\",\"kid\":\"" + std::string(kid) + "\",\"k\":\"" + b64(hmac_secret) + "\"}";
}

std::vector<std::uint8_t> forge::rsa_public_der() const {
  std::uint8_t* der = nullptr;
  std::size_t len = 0;
  RSA_public_key_to_bytes(&der, &len, rsa.get());
  std::vector<std::uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

const forge& keys() {
  static const forge f;
  return f;
}

}  // namespace tollgate::crypto::test
