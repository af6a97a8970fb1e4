// RFC 4231 HMAC-SHA-256 vectors through the precomputed-state HMAC.
#include "crypto/hmac.h"

#include <gtest/gtest.h>

#include <sstream>

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
