// Invariants: a token that parses re-serialises to the same bytes (its three segments
// joined by dots, each segment canonical base64url); parsing is deterministic; the
// full verifier (one HS256 issuer) never crashes, answers the same twice, and never
// accepts a token whose signature was not made with the key (the fuzzer cannot forge
// HMAC-SHA256, so any ok means a bug).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "crypto/base64url.h"
#include "crypto/jws.h"

using namespace tollgate::crypto;

namespace {
bool canonical_segment(std::string_view seg) {
  std::vector<std::uint8_t> buf(seg.size());
  auto n = base64url::decode(seg, buf);
  if (!n) return false;
  std::string again(base64url::encoded_size(*n), '\0');
  base64url::encode(std::span(buf.data(), *n), again);
  return again == seg;
}

struct world {
  trust_store store;
  verifier v{store, verifier::options{.max_token_bytes = kMaxTokenBytes}};
  verify_scratch scratch;
  world() {
    std::vector<std::uint8_t> secret(32, 0x5a);
    issuer_config cfg;
    cfg.name = "i";
    cfg.issuer = "i";
    cfg.algorithms = 0xffff;
    cfg.require_sub = false;
    store.set_issuer(cfg, {key_entry{"k", *make_hmac_key(secret)}});
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static world w;
  std::string token(reinterpret_cast<const char*>(data), size);
  auto j = parse_jws(token, kMaxTokenBytes, w.scratch);
  if (j) {
    std::string joined = std::string(j->header_segment()) + "." + std::string(j->payload_segment()) + "." +
                         std::string(j->signature_segment());
    if (joined != token) std::abort();
    if (j->signing_input() != token.substr(0, token.rfind('.'))) std::abort();
    if (!canonical_segment(j->header_segment())) std::abort();
    alg a = j->algorithm();
    std::string kid(j->kid()), typ(j->typ());
    std::size_t ncrit = j->crit().size();
    auto j2 = parse_jws(token, kMaxTokenBytes, w.scratch);
    if (!j2 || j2->algorithm() != a || j2->kid() != kid || j2->typ() != typ || j2->crit().size() != ncrit)
      std::abort();
  } else {
    auto j2 = parse_jws(token, kMaxTokenBytes, w.scratch);
    if (j2 || j2.error() != j.error()) std::abort();
  }
  auto r1 = w.v.verify(token, 1'700'000'000, w.scratch);
  if (r1) std::abort();
  auto r2 = w.v.verify(token, 1'700'000'000, w.scratch);
  if (r2 || r2.error() != r1.error()) std::abort();
  return 0;
}
