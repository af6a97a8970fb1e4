#include "crypto/jwks_source.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "tests/crypto/test_util.h"

namespace tollgate::crypto {
namespace {

using test::keys;
using test::kNow;

class JwksFile : public testing::Test {
 protected:
  void SetUp() override {
    path_ = testing::TempDir() + "jwks_source_test_" + std::to_string(::getpid()) + ".json";
    issuer_config cfg;
    cfg.name = "corp";
    cfg.issuer = "https://idp.example.com";
    cfg.algorithms = alg_bit(alg::es256) | alg_bit(alg::eddsa);
    store_.set_issuer(cfg, {});
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }
  jwks_source make() {
    jwks_source_config c;
    c.issuer_name = "corp";
    c.algorithms = alg_bit(alg::es256) | alg_bit(alg::eddsa);
    c.refresh_seconds = 300;
    c.min_refetch_seconds = 30;
    c.backoff_initial_seconds = 4;
    c.backoff_max_seconds = 64;
    return jwks_source(store_, c, file_fetch(path_));
  }
  errc verify(const std::string& token, std::int64_t now) {
    auto r = v_.verify(token, now, scratch_);
    return r ? errc::ok : r.error();
  }
  std::string token(alg a, const char* kid) {
    return keys().token(a, std::string("{\"alg\":\"") + std::string(name_of(a)) + "\",\"kid\":\"" + kid + "\"}",
                        R"({"iss":"https://idp.example.com","sub":"u","exp":)" + std::to_string(kNow + 9999) + "}");
  }
  std::string path_;
  trust_store store_;
  verifier v_{store_};
  verify_scratch scratch_;
};

TEST_F(JwksFile, LoadReloadRotateAndKeepLastGood) {
  write("{\"keys\":[" + keys().ec_jwk("k1") + "]}");
  jwks_source src = make();
  EXPECT_EQ(src.poll(kNow), kNow + 300);
  EXPECT_EQ(src.status().keys, 1u);
  EXPECT_EQ(verify(token(alg::es256, "k1"), kNow), errc::ok);

  // Rotation on disk: the new kid is unknown until a refetch, which the unknown kid
  // requests and the rate limit allows once per 30 s.
  write("{\"keys\":[" + keys().ed_jwk("k2") + "]}");
  EXPECT_EQ(verify(token(alg::eddsa, "k2"), kNow + 10), errc::unknown_kid);
  EXPECT_EQ(src.poll(kNow + 10), kNow + 30);  // asked, but inside the rate limit
  EXPECT_EQ(verify(token(alg::eddsa, "k2"), kNow + 31), errc::unknown_kid);
  src.poll(kNow + 31);
  EXPECT_EQ(verify(token(alg::eddsa, "k2"), kNow + 31), errc::ok);
  EXPECT_EQ(verify(token(alg::es256, "k1"), kNow + 31), errc::unknown_kid);
  EXPECT_EQ(src.status().publishes, 2u);

  // A broken document keeps the last good keys and backs off with jitter.
  write("{\"keys\":[");
  std::int64_t next = src.poll(kNow + 400);
  EXPECT_EQ(src.status().last_error, errc::bad_json);
  EXPECT_GE(next, kNow + 400 + 2);
  EXPECT_LE(next, kNow + 400 + 6);
  EXPECT_EQ(verify(token(alg::eddsa, "k2"), kNow + 400), errc::ok);
  next = src.poll(next);
  EXPECT_EQ(src.status().consecutive_failures, 2u);

  // A set without any usable key is a failure too, not an empty key set.
  write("{\"keys\":[" + keys().rsa_jwk("r") + "]}");
  src.poll(next);
  EXPECT_EQ(src.status().last_error, errc::no_usable_keys);
  EXPECT_EQ(verify(token(alg::eddsa, "k2"), kNow + 500), errc::ok);

  std::remove(path_.c_str());
  src.poll(kNow + 10000);
  EXPECT_EQ(src.status().last_error, errc::io_error);
  EXPECT_EQ(verify(token(alg::eddsa, "k2"), kNow + 500), errc::ok);

  write("{\"keys\":[" + keys().ec_jwk("k1") + "]}");
  src.poll(kNow + 20000);
  EXPECT_EQ(src.status().last_error, errc::ok);
  EXPECT_EQ(src.status().consecutive_failures, 0u);
  EXPECT_EQ(verify(token(alg::es256, "k1"), kNow + 500), errc::ok);
}

TEST_F(JwksFile, BackoffGrowsAndIsCapped) {
  jwks_source src = make();  // no file yet
  std::int64_t now = kNow;
  std::int64_t last_gap = 0;
  for (int i = 0; i < 10; ++i) {
    std::int64_t next = src.poll(now);
    last_gap = next - now;
    EXPECT_EQ(src.status().last_error, errc::io_error);
    EXPECT_LE(last_gap, 64 * 3 / 2);
    now = next;
  }
  EXPECT_GE(last_gap, 32);  // capped at 64, jittered to [32, 96)
}

TEST_F(JwksFile, UnchangedDocumentIsNotRepublished) {
  write("{\"keys\":[" + keys().ec_jwk("k1") + "]}");
  jwks_source src = make();
  src.poll(kNow);
  std::uint64_t v = store_.version();
  src.poll(kNow + 301);
  EXPECT_EQ(store_.version(), v);
  EXPECT_EQ(src.status().last_success, kNow + 301);
}

}  // namespace
}  // namespace tollgate::crypto
