// bench/crypto_bench.cc — crypto/ micro benchmarks. Run with
//   build/bench/crypto_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// and read the medians. BM_Verify* go through the real verifier with every claim
// check; BM_BoringSSL_* are the bare BoringSSL verify of the same signature (hash +
// verify, signature object prepared outside the loop), so the ratio is the verifier's
// overhead. BM_LibjwtHS256 verifies the same HS256 token through Debian's libjwt.
//
// libjwt links OpenSSL's libcrypto.so.3, which exports the same symbol names as the
// BoringSSL libcrypto.so.0 this binary links. Linking both would let one interpose the
// other, so libjwt is loaded with dlmopen(LM_ID_NEWLM) into its own link-map namespace
// (its own libcrypto.so.3, libc, jansson) and called through dlsym. The setup checks
// that each side runs the library it should: OpenSSL_version() from libjwt's namespace
// must say "OpenSSL 3", ours "BoringSSL", and a wrong signature fails in both.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <pthread.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/curve25519.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/digest.h>
#include <openssl/nid.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "crypto/base64url.h"
#include "crypto/claims.h"
#include "crypto/hmac.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "crypto/signer.h"

namespace {

using namespace tollgate::crypto;

constexpr std::int64_t kNow = 1'700'000'000;

std::string b64(std::string_view s) {
  std::string out(base64url::encoded_size(s.size()), '\0');
  base64url::encode(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()), out);
  return out;
}

// A realistic access token, ~300 bytes as HS256: every claim the verifier checks (iss,
// sub, aud, exp, nbf, iat) plus jti, sid and a permission list.
std::string payload_json() {
  return R"({"iss":"https://idp.example.com","sub":"usr_8f3a2c","aud":"api","exp":)" + std::to_string(kNow + 3600) +
         R"(,"nbf":)" + std::to_string(kNow - 60) + R"(,"iat":)" + std::to_string(kNow - 60) +
         R"(,"jti":"a1b2c3","sid":"s42","permissions":["bots.use"]})";
}

struct fixture {
  std::vector<std::uint8_t> secret = std::vector<std::uint8_t>(32, 0x3c);
  signing_key es = *signing_key::generate(alg::es256, kNow);
  signing_key ed = *signing_key::generate(alg::eddsa, kNow);
  bssl::UniquePtr<RSA> rsa;
  std::string hs_token, hs_token2, es_token, ed_token, rs_token, rs_kid = "rsa1";
  trust_store store;
  verifier v{store};
  verify_scratch scratch;

  fixture() {
    rsa.reset(RSA_new());
    bssl::UniquePtr<BIGNUM> e(BN_new());
    BN_set_word(e.get(), RSA_F4);
    if (!RSA_generate_key_ex(rsa.get(), 2048, e.get(), nullptr)) std::abort();
    // An external issuer's HS256 token with a short kid (the signer's kids are 43-char
    // thumbprints, which would make this token ~360 bytes).
    auto hs = [&](std::string_view kid) {
      std::string input = b64(R"({"alg":"HS256","kid":")" + std::string(kid) + "\"}") + "." + b64(payload_json());
      std::uint8_t mac[32];
      detail::hmac_sha256(secret).compute(input.data(), input.size(), mac);
      return input + "." + b64(std::string_view(reinterpret_cast<const char*>(mac), 32));
    };
    hs_token = hs("hs1");
    hs_token2 = hs("hs2");  // same key under a second kid: another header segment
    es_token = *es.sign(payload_json());
    ed_token = *ed.sign(payload_json());
    std::string input = b64(R"({"alg":"RS256","kid":"rsa1"})") + "." + b64(payload_json());
    std::uint8_t digest[32];
    SHA256(reinterpret_cast<const std::uint8_t*>(input.data()), input.size(), digest);
    std::string sig(RSA_size(rsa.get()), '\0');
    unsigned len;
    RSA_sign(NID_sha256, digest, 32, reinterpret_cast<std::uint8_t*>(sig.data()), &len, rsa.get());
    rs_token = input + "." + b64(sig);

    jwk rj;
    rj.kty = key_type::rsa;
    rj.n.resize(BN_num_bytes(RSA_get0_n(rsa.get())));
    BN_bn2bin(RSA_get0_n(rsa.get()), rj.n.data());
    rj.e = {1, 0, 1};
    issuer_config cfg;
    cfg.name = "corp";
    cfg.issuer = "https://idp.example.com";
    cfg.audiences = {"api"};
    cfg.algorithms = 0xffff;
    store.set_issuer(cfg, {key_entry{"hs1", *make_hmac_key(secret)}, key_entry{"hs2", *make_hmac_key(secret)},
                           key_entry{es.kid(), *es.make_verifier()},
                           key_entry{ed.kid(), *ed.make_verifier()}, key_entry{rs_kid, *make_verify_key(rj)}});
    for (const std::string* t : {&hs_token, &hs_token2, &es_token, &ed_token, &rs_token}) {
      auto r = v.verify(*t, kNow, scratch);
      if (!r) {
        std::fprintf(stderr, "bench setup: token does not verify: %s\n", std::string(message_of(r.error())).c_str());
        std::abort();
      }
    }
  }
};

fixture& fx() {
  static fixture f;
  return f;
}

void verify_loop(benchmark::State& state, const std::string& token) {
  fixture& f = fx();
  for (auto _ : state) {
    auto r = f.v.verify(token, kNow, f.scratch);
    benchmark::DoNotOptimize(r);
    if (!r) state.SkipWithError("verification failed");
  }
  state.counters["token_bytes"] = static_cast<double>(token.size());
}

void BM_VerifyHS256Full(benchmark::State& state) { verify_loop(state, fx().hs_token); }
// Two tokens with different headers in turn: every verification misses the scratch's
// memo of the last header and decodes and parses its header again.
void BM_VerifyHS256FullHeaderMiss(benchmark::State& state) {
  fixture& f = fx();
  const std::string* tokens[2] = {&f.hs_token, &f.hs_token2};
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = f.v.verify(*tokens[i ^= 1], kNow, f.scratch);
    benchmark::DoNotOptimize(r);
    if (!r) state.SkipWithError("verification failed");
  }
  state.counters["token_bytes"] = static_cast<double>(f.hs_token.size());
}
BENCHMARK(BM_VerifyHS256FullHeaderMiss);
void BM_VerifyES256(benchmark::State& state) { verify_loop(state, fx().es_token); }
void BM_VerifyRS256(benchmark::State& state) { verify_loop(state, fx().rs_token); }
void BM_VerifyEdDSA(benchmark::State& state) { verify_loop(state, fx().ed_token); }
BENCHMARK(BM_VerifyHS256Full);
BENCHMARK(BM_VerifyES256);
BENCHMARK(BM_VerifyRS256);
BENCHMARK(BM_VerifyEdDSA);

struct split {
  std::string input;
  std::vector<std::uint8_t> sig;
};
split split_token(const std::string& t) {
  split s;
  s.input = t.substr(0, t.rfind('.'));
  std::string_view seg = std::string_view(t).substr(t.rfind('.') + 1);
  s.sig.resize(seg.size());
  s.sig.resize(*base64url::decode(seg, s.sig));
  return s;
}

void BM_BoringSSL_ES256(benchmark::State& state) {
  split s = split_token(fx().es_token);
  jwk pub = fx().es.public_jwk();
  bssl::UniquePtr<EC_KEY> key(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  bssl::UniquePtr<BIGNUM> x(BN_bin2bn(pub.x.data(), 32, nullptr)), y(BN_bin2bn(pub.y.data(), 32, nullptr));
  EC_KEY_set_public_key_affine_coordinates(key.get(), x.get(), y.get());
  bssl::UniquePtr<ECDSA_SIG> sig(ECDSA_SIG_new());
  BN_bin2bn(s.sig.data(), 32, sig->r);
  BN_bin2bn(s.sig.data() + 32, 32, sig->s);
  for (auto _ : state) {
    std::uint8_t d[32];
    SHA256(reinterpret_cast<const std::uint8_t*>(s.input.data()), s.input.size(), d);
    int ok = ECDSA_do_verify(d, 32, sig.get(), key.get());
    if (!ok) state.SkipWithError("bare ES256 failed");
    benchmark::DoNotOptimize(ok);
  }
}
void BM_BoringSSL_RS256(benchmark::State& state) {
  split s = split_token(fx().rs_token);
  for (auto _ : state) {
    std::uint8_t d[32];
    SHA256(reinterpret_cast<const std::uint8_t*>(s.input.data()), s.input.size(), d);
    int ok = RSA_verify(NID_sha256, d, 32, s.sig.data(), s.sig.size(), fx().rsa.get());
    if (!ok) state.SkipWithError("bare RS256 failed");
    benchmark::DoNotOptimize(ok);
  }
}
void BM_BoringSSL_Ed25519(benchmark::State& state) {
  split s = split_token(fx().ed_token);
  jwk pub = fx().ed.public_jwk();
  for (auto _ : state) {
    int ok = ED25519_verify(reinterpret_cast<const std::uint8_t*>(s.input.data()), s.input.size(), s.sig.data(),
                            pub.x.data());
    if (!ok) state.SkipWithError("bare Ed25519 failed");
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_BoringSSL_ES256);
BENCHMARK(BM_BoringSSL_RS256);
BENCHMARK(BM_BoringSSL_Ed25519);

void BM_Base64urlDecode(benchmark::State& state) {
  std::string seg = b64(payload_json());
  std::vector<std::uint8_t> out(seg.size());
  for (auto _ : state) {
    auto n = base64url::decode(seg, out);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * seg.size()));
}
BENCHMARK(BM_Base64urlDecode);

// Includes the memcpy of the payload into the buffer: parsing works in place.
void BM_ClaimsParse(benchmark::State& state) {
  std::string json = payload_json();
  std::vector<char> buf(json.size() + 1, '\0');  // + the scanner's sentinel
  token_claims c;
  claim_arrays a;
  for (auto _ : state) {
    std::memcpy(buf.data(), json.data(), json.size());
    errc e = detail::parse_claims(buf.data(), json.size(), c, a);
    if (e != errc::ok) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_ClaimsParse);

// The alternative the hand-written scanner replaces: Boost.JSON DOM + member lookups
// (and it would still not reject duplicate names).
void BM_BoostJsonClaimsParse(benchmark::State& state) {
  std::string json = payload_json();
  for (auto _ : state) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(json, ec);
    const auto& o = v.as_object();
    auto exp = o.at("exp").as_int64();
    auto iss = o.at("iss").as_string();
    auto sub = o.at("sub").as_string();
    benchmark::DoNotOptimize(exp);
    benchmark::DoNotOptimize(iss);
    benchmark::DoNotOptimize(sub);
  }
}
BENCHMARK(BM_BoostJsonClaimsParse);

// HMAC keying strategies over the same ~300-byte signing input.
void BM_HmacShaStateCopy(benchmark::State& state) {
  split s = split_token(fx().hs_token);
  detail::hmac_sha256 h(fx().secret);
  std::uint8_t out[32];
  for (auto _ : state) {
    h.compute(s.input.data(), s.input.size(), out);
    benchmark::DoNotOptimize(out);
  }
}
// What hmac_key did for SHA-256 before it padded the blocks itself: copy the
// precomputed SHA256_CTX pair, SHA256_Update + SHA256_Final twice.
void BM_HmacSha256UpdateFinal(benchmark::State& state) {
  split s = split_token(fx().hs_token);
  std::uint8_t pad[64];
  SHA256_CTX inner, outer;
  for (int i = 0; i < 64; ++i) pad[i] = static_cast<std::uint8_t>((i < 32 ? fx().secret[i] : 0) ^ 0x36);
  SHA256_Init(&inner);
  SHA256_Update(&inner, pad, 64);
  for (int i = 0; i < 64; ++i) pad[i] = static_cast<std::uint8_t>((i < 32 ? fx().secret[i] : 0) ^ 0x5c);
  SHA256_Init(&outer);
  SHA256_Update(&outer, pad, 64);
  std::uint8_t out[32], check[32];
  detail::hmac_sha256(fx().secret).compute(s.input.data(), s.input.size(), check);
  for (auto _ : state) {
    SHA256_CTX c = inner;
    SHA256_Update(&c, s.input.data(), s.input.size());
    std::uint8_t ih[32];
    SHA256_Final(ih, &c);
    c = outer;
    SHA256_Update(&c, ih, 32);
    SHA256_Final(out, &c);
    benchmark::DoNotOptimize(out);
  }
  if (std::memcmp(out, check, 32) != 0) state.SkipWithError("differs from hmac_key");
}
void BM_HmacCtxCopy(benchmark::State& state) {
  split s = split_token(fx().hs_token);
  bssl::ScopedHMAC_CTX tmpl, work;
  HMAC_Init_ex(tmpl.get(), fx().secret.data(), fx().secret.size(), EVP_sha256(), nullptr);
  HMAC_CTX_copy_ex(work.get(), tmpl.get());  // so the loop's copies reuse the digest state
  std::uint8_t out[32];
  unsigned len;
  for (auto _ : state) {
    HMAC_CTX_copy_ex(work.get(), tmpl.get());
    HMAC_Update(work.get(), reinterpret_cast<const std::uint8_t*>(s.input.data()), s.input.size());
    HMAC_Final(work.get(), out, &len);
    benchmark::DoNotOptimize(out);
  }
}
void BM_HmacRekeyEachCall(benchmark::State& state) {
  split s = split_token(fx().hs_token);
  std::uint8_t out[32];
  unsigned len;
  for (auto _ : state) {
    HMAC(EVP_sha256(), fx().secret.data(), fx().secret.size(), reinterpret_cast<const std::uint8_t*>(s.input.data()),
         s.input.size(), out, &len);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_HmacShaStateCopy);
BENCHMARK(BM_HmacSha256UpdateFinal);
BENCHMARK(BM_HmacCtxCopy);
BENCHMARK(BM_HmacRekeyEachCall);

// --- libjwt in its own namespace ---------------------------------------------------

struct libjwt {
  using decode_fn = int (*)(void**, const char*, const unsigned char*, int);
  using free_fn = void (*)(void*);
  using grant_fn = const char* (*)(void*, const char*);
  using grant_int_fn = long (*)(void*, const char*);
  decode_fn decode = nullptr;
  free_fn free = nullptr;
  grant_fn grant = nullptr;
  grant_int_fn grant_int = nullptr;
  std::string error;
  std::string openssl_version;
  // Headroom for keys the main namespace creates after this point.
  static constexpr unsigned kReservedKeys = 64;

  libjwt() {
    // The namespace gets its own libc, but threads keep the one TCB of the main libc,
    // whose pthread_getspecific slots both libcs index. Each libc hands out keys from
    // 0 up, so OpenSSL's keys in the new namespace would alias BoringSSL's (seen as
    // BIO_new failing with ENOMEM). Reserving the low keys in the new namespace's libc
    // first moves OpenSSL's keys above any the main namespace uses.
    void* libc = dlmopen(LM_ID_NEWLM, "libc.so.6", RTLD_NOW | RTLD_LOCAL);
    Lmid_t ns;
    if (libc == nullptr || dlinfo(libc, RTLD_DI_LMID, &ns) != 0) {
      error = std::string("dlmopen libc.so.6: ") + dlerror();
      return;
    }
    using key_create_fn = int (*)(pthread_key_t*, void (*)(void*));
    auto key_create = reinterpret_cast<key_create_fn>(dlsym(libc, "pthread_key_create"));
    pthread_key_t used;
    if (pthread_key_create(&used, nullptr) != 0 || key_create == nullptr) {
      error = "pthread_key_create";
      return;
    }
    pthread_key_delete(used);
    for (unsigned reserved = 0; reserved < used + kReservedKeys; ++reserved) {
      pthread_key_t k;
      if (key_create(&k, nullptr) != 0) break;
    }
    void* h = dlmopen(ns, "libjwt.so.0", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      error = std::string("dlmopen libjwt.so.0: ") + dlerror();
      return;
    }
    decode = reinterpret_cast<decode_fn>(dlsym(h, "jwt_decode"));
    free = reinterpret_cast<free_fn>(dlsym(h, "jwt_free"));
    grant = reinterpret_cast<grant_fn>(dlsym(h, "jwt_get_grant"));
    grant_int = reinterpret_cast<grant_int_fn>(dlsym(h, "jwt_get_grant_int"));
    if (!decode || !free || !grant || !grant_int) {
      error = "libjwt symbols missing";
      return;
    }
    // Which libcrypto does libjwt's namespace use? Ask it, not our own.
    Lmid_t lmid;
    if (dlinfo(h, RTLD_DI_LMID, &lmid) == 0) {
      void* c = dlmopen(lmid, "libcrypto.so.3", RTLD_NOW | RTLD_NOLOAD);
      using ver_fn = const char* (*)(int);
      auto ver = c ? reinterpret_cast<ver_fn>(dlsym(c, "OpenSSL_version")) : nullptr;
      if (ver) openssl_version = ver(0);
    }
  }

  // verify = signature + the same claim checks our verifier does.
  bool verify(const std::string& token, const std::vector<std::uint8_t>& key) const {
    void* jwt = nullptr;
    if (decode(&jwt, token.c_str(), key.data(), static_cast<int>(key.size())) != 0) return false;
    bool ok = true;
    const char* iss = grant(jwt, "iss");
    const char* aud = grant(jwt, "aud");
    ok = ok && iss && std::strcmp(iss, "https://idp.example.com") == 0;
    ok = ok && grant(jwt, "sub") != nullptr;
    ok = ok && aud && std::strcmp(aud, "api") == 0;
    long exp = grant_int(jwt, "exp"), nbf = grant_int(jwt, "nbf"), iat = grant_int(jwt, "iat");
    ok = ok && exp > kNow - 30 && nbf <= kNow + 30 && iat <= kNow + 30;
    free(jwt);
    return ok;
  }
};

const libjwt& jwtlib() {
  static libjwt l;
  return l;
}

void BM_LibjwtHS256(benchmark::State& state) {
  const libjwt& l = jwtlib();
  if (!l.error.empty()) {
    state.SkipWithError(l.error.c_str());
    return;
  }
  const std::string& t = fx().hs_token;
  std::string bad = t;
  bad[bad.size() - 2] = bad[bad.size() - 2] == 'A' ? 'B' : 'A';
  if (!l.verify(t, fx().secret) || l.verify(bad, fx().secret)) {
    state.SkipWithError("libjwt does not verify the token, or accepts a wrong signature");
    return;
  }
  if (l.openssl_version.rfind("OpenSSL 3", 0) != 0) {
    state.SkipWithError("libjwt is not running on OpenSSL 3 in its namespace");
    return;
  }
  for (auto _ : state) {
    bool ok = l.verify(t, fx().secret);
    if (!ok) state.SkipWithError("libjwt verification failed");
    benchmark::DoNotOptimize(ok);
  }
  state.SetLabel(l.openssl_version);
}
BENCHMARK(BM_LibjwtHS256);

// Ours must also reject the wrong signature (the check above for libjwt's side).
void BM_VerifyHS256WrongSignature(benchmark::State& state) {
  std::string bad = fx().hs_token;
  bad[bad.size() - 2] = bad[bad.size() - 2] == 'A' ? 'B' : 'A';
  for (auto _ : state) {
    auto r = fx().v.verify(bad, kNow, fx().scratch);
    if (r || r.error() != errc::bad_signature) state.SkipWithError("wrong signature accepted");
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(OpenSSL_version(OPENSSL_VERSION));
}
BENCHMARK(BM_VerifyHS256WrongSignature);

}  // namespace

BENCHMARK_MAIN();
