// tests/crypto/test_util.h — helpers shared by the crypto tests: vector files, and an
// independent signer built directly on BoringSSL (not on crypto/signer.h) so the tests
// can forge every kind of bad token.
#pragma once

#include <openssl/base.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/jws.h"

namespace tollgate::crypto::test {

// Fixed clock for every test: tokens are signed relative to it, never to a real date.
inline constexpr std::int64_t kNow = 1'700'000'000;

std::string read_vector(std::string_view name);
std::string b64(std::string_view bytes);
std::string b64(const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> unhex(std::string_view hex);

// forge holds one key of each type and signs arbitrary header/payload JSON with it.
struct forge {
  forge();
  std::vector<std::uint8_t> hmac_secret;  // 32 bytes
  bssl::UniquePtr<RSA> rsa;                // 2048 bits
  bssl::UniquePtr<EC_KEY> p256, p384;
  std::uint8_t ed_pub[32], ed_priv[64];

  // signature returns the raw signature of |input| with |a| by the matching key.
  std::vector<std::uint8_t> signature(alg a, std::string_view input) const;
  // token returns b64(header).b64(payload).b64(signature(alg_of_header)).
  std::string token(alg a, std::string_view header_json, std::string_view payload_json) const;
  // The public JWK JSON of each asymmetric key, and the oct JWK of the secret.
  std::string rsa_jwk(std::string_view kid) const;
  std::string ec_jwk(std::string_view kid, bool p384 = false) const;
  std::string ed_jwk(std::string_view kid) const;
  std::string oct_jwk(std::string_view kid) const;
  // rsa_public_der is the DER RSAPublicKey: the bytes an attacker would use as an
  // HMAC secret in the "HMAC keyed with the public key" attack.
  std::vector<std::uint8_t> rsa_public_der() const;
};

// One shared forge per test binary (RSA key generation is slow).
const forge& keys();

}  // namespace tollgate::crypto::test
