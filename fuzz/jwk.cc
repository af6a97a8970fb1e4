// Invariants: a JWK that parses serialises (with its secret) to JSON that parses back
// to an equal key with the same RFC 7638 thumbprint; the same holds for every key of a
// parsed JWKS; turning a key into a verify_key never crashes and never lets an oct key
// verify anything but HS* or another key type verify HS*.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "crypto/jwk.h"

using namespace tollgate::crypto;

namespace {
void check_key(const jwk& k) {
  auto back = parse_jwk(to_json(k, true));
  if (!back || !(*back == k) || thumbprint(*back) != thumbprint(k)) std::abort();
  auto v = make_verify_key(k);
  if (v) {
    alg_set p = permitted_algs(**v);
    bool hmac_only = (p & ~kHmacAlgs) == 0;
    bool no_hmac = (p & kHmacAlgs) == 0;
    if (k.kty == key_type::oct ? !hmac_only : !no_hmac) std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto k = parse_jwk(text)) check_key(*k);
  if (auto set = parse_jwks(text)) {
    for (const jwk& k : set->keys) check_key(k);
    auto entries = key_entries(*set, 0xffff);
    if (entries && entries->size() > set->keys.size()) std::abort();
  }
  return 0;
}
