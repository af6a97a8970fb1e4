// tests/crypto/password_test.cc — Argon2id hashing and verification.
#include "crypto/password.h"

#include <gtest/gtest.h>

#include <chrono>

namespace tollgate::crypto::password {
namespace {

// Tests use a low cost for speed; DefaultsAreOwaspMinimum checks the real default.
constexpr params fast{64, 1, 1};

TEST(Password, DefaultsAreOwaspMinimum) {
  params p;
  EXPECT_GE(p.memory_kib, 19u * 1024);
  EXPECT_GE(p.iterations, 2u);
  EXPECT_EQ(p.parallelism, 1u);
  hasher h;  // the default: real cost, one hash
  auto e = h.hash("correct horse");
  ASSERT_TRUE(e);
  EXPECT_NE(e->find("$argon2id$v=19$m=19456,t=2,p=1$"), std::string::npos) << *e;
  EXPECT_TRUE(h.verify(*e, "correct horse"));
}

TEST(Password, VerifyMatchesOnlyTheRightPassword) {
  hasher h(fast);
  auto a = h.hash("secret-1");
  auto b = h.hash("secret-1");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);  // fresh salt each time
  EXPECT_TRUE(h.verify(*a, "secret-1"));
  EXPECT_FALSE(h.verify(*a, "secret-2"));
  EXPECT_FALSE(h.verify(*a, ""));
  EXPECT_FALSE(h.verify(*a, "secret-1 "));
}

TEST(Password, HashFromOtherCostsStillVerifies) {
  hasher low(fast), other(params{128, 2, 1});
  auto e = other.hash("pw");
  ASSERT_TRUE(e);
  EXPECT_TRUE(low.verify(*e, "pw"));
}

struct bad_encoding {
  const char* encoded;
};
class PasswordMalformed : public ::testing::TestWithParam<bad_encoding> {};
TEST_P(PasswordMalformed, IsFalseNotCrash) {
  hasher h(fast);
  EXPECT_FALSE(h.verify(GetParam().encoded, "pw"));
}
INSTANTIATE_TEST_SUITE_P(Encodings, PasswordMalformed,
                         ::testing::Values(bad_encoding{""}, bad_encoding{"$argon2id$"},
                                           bad_encoding{"$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA"},
                                           bad_encoding{"$argon2id$v=19$m=64,t=1,p=1$!!$!!"},
                                           bad_encoding{"plaintext"}));

TEST(Password, TooLongIsRefused) {
  hasher h(fast);
  std::string big(max_password_bytes + 1, 'a');
  auto e = h.hash(big);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error(), errc::too_long);
  auto ok = h.hash("x");
  ASSERT_TRUE(ok);
  EXPECT_FALSE(h.verify(*ok, big));
}

TEST(Password, DummyVerifyIsFalseAndDoesTheWork) {
  // With real costs one verification takes milliseconds; the dummy must not be
  // orders of magnitude cheaper, or timing reveals unknown usernames.
  hasher h(params{8 * 1024, 2, 1});
  auto e = h.hash("pw");
  ASSERT_TRUE(e);
  using clk = std::chrono::steady_clock;
  auto t0 = clk::now();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(h.verify(*e, "nope"));
  auto t1 = clk::now();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(h.verify_dummy("nope"));
  auto t2 = clk::now();
  double real = std::chrono::duration<double>(t1 - t0).count();
  double dummy = std::chrono::duration<double>(t2 - t1).count();
  EXPECT_GT(dummy, real / 4) << "real " << real << "s dummy " << dummy << "s";
}

}  // namespace
}  // namespace tollgate::crypto::password
