// RFC 4231 HMAC-SHA-256 vectors through the precomputed-state HMAC.
#include "crypto/hmac.h"

#include <gtest/gtest.h>
#include <openssl/digest.h>
#include <openssl/hmac.h>

#include <cstring>
#include <sstream>
#include <vector>

#include "tests/crypto/test_util.h"

namespace tollgate::crypto {
namespace {

TEST(Rfc4231, HmacSha256) {
  std::istringstream in(test::read_vector("rfc4231_sha256.txt"));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string k, d, m;
    f >> k >> d >> m;
    auto key = test::unhex(k), data = test::unhex(d), mac = test::unhex(m);
    detail::hmac_sha256 h(key);
    std::uint8_t out[32];
    h.compute(data.data(), data.size(), out);
    EXPECT_EQ(std::vector<std::uint8_t>(out, out + mac.size()), mac) << "case " << n + 1;
    if (mac.size() == 32) {
      EXPECT_TRUE(h.verify(data.data(), data.size(), mac));
      mac[31] ^= 0x80;
      EXPECT_FALSE(h.verify(data.data(), data.size(), mac));
    } else {
      // Truncated MACs are never accepted by verify().
      EXPECT_FALSE(h.verify(data.data(), data.size(), mac));
    }
    ++n;
  }
  EXPECT_EQ(n, 7);
}

// compute() pads SHA-256 itself over SHA256_TransformBlocks: every message length
// around the one- and two-block boundaries, short and long (hashed) keys, must give
// what BoringSSL's HMAC() gives.
TEST(Hmac, Sha256MatchesBoringSslForEveryLength) {
  std::vector<std::uint8_t> msg(300);
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<std::uint8_t>(i * 7 + 1);
  for (std::size_t key_len : {32u, 64u, 65u, 100u}) {
    std::vector<std::uint8_t> key(key_len, 0x5a);
    detail::hmac_sha256 h(key);
    for (std::size_t n = 0; n <= msg.size(); ++n) {
      std::uint8_t got[32], want[32];
      unsigned want_len = 0;
      h.compute(msg.data(), n, got);
      ASSERT_NE(HMAC(EVP_sha256(), key.data(), key.size(), msg.data(), n, want, &want_len), nullptr);
      ASSERT_EQ(want_len, 32u);
      ASSERT_EQ(0, std::memcmp(got, want, 32)) << "key " << key_len << ", message " << n;
    }
  }
}

TEST(Hmac, StateIsReusable) {
  std::vector<std::uint8_t> key(40, 0x11);
  detail::hmac_sha512 h(key);
  std::uint8_t a[64], b[64];
  h.compute("abc", 3, a);
  h.compute("abc", 3, b);
  EXPECT_EQ(0, std::memcmp(a, b, 64));
}

}  // namespace
}  // namespace tollgate::crypto
