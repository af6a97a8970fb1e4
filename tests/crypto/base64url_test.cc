#include "crypto/base64url.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tollgate::crypto {
namespace {

std::string enc(std::string_view s) {
  std::string out(base64url::encoded_size(s.size()), '\0');
  EXPECT_EQ(base64url::encode(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()), out), out.size());
  return out;
}

std::expected<std::string, errc> dec(std::string_view s) {
  std::vector<std::uint8_t> buf(s.size());
  auto n = base64url::decode(s, buf);
  if (!n) return std::unexpected(n.error());
  return std::string(reinterpret_cast<const char*>(buf.data()), *n);
}

// RFC 4648 §10 vectors (the base64url alphabet agrees with base64 on these).
TEST(Base64url, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (auto [plain, coded] : v) {
    EXPECT_EQ(enc(plain), coded);
    EXPECT_EQ(dec(coded).value(), plain);
    EXPECT_TRUE(base64url::is_canonical(coded));
  }
}

TEST(Base64url, UrlAlphabet) {
  EXPECT_EQ(enc("\xfb\xff"), "-_8");
  EXPECT_EQ(dec("-_8").value(), "\xfb\xff");
}

TEST(Base64url, AllByteValuesRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= all.size(); ++len) {
    std::string_view s(all.data(), len);
    EXPECT_EQ(dec(enc(s)).value(), s) << len;
  }
}

// decode() takes its complete quartets through AVX2 in 32-character blocks (where the
// CPU has it; the last block overlapping the one before) and the last 2 or 3
// characters through the table loop that is_canonical() always uses: every byte value
// at every position of inputs of one block, overlapping blocks and tails must get the
// same verdict from both, and accepted inputs must decode to what encode() was given.
TEST(Base64url, BlockPathAgreesWithTableLoop) {
  std::string plain;
  for (int i = 0; i < 75; ++i) plain.push_back(static_cast<char>(i * 37 + 11));
  for (std::size_t len : {24u, 25u, 26u, 30u, 40u, 48u, 72u, 73u, 75u}) {
    const std::string good = enc(std::string_view(plain.data(), len));
    ASSERT_EQ(dec(good).value(), std::string_view(plain.data(), len));
    for (std::size_t pos = 0; pos < good.size(); ++pos) {
      for (int c = 0; c < 256; ++c) {
        std::string s = good;
        s[pos] = static_cast<char>(c);
        auto d = dec(s);
        ASSERT_EQ(d.has_value(), base64url::is_canonical(s)) << len << " " << pos << " " << c;
        if (d) {
          ASSERT_EQ(enc(*d), s) << len << " " << pos << " " << c;
        } else {
          ASSERT_EQ(d.error(), errc::bad_base64);
        }
      }
    }
  }
}

struct reject_case {
  const char* name;
  const char* input;
};

class Base64urlReject : public testing::TestWithParam<reject_case> {};

TEST_P(Base64urlReject, IsBadBase64) {
  EXPECT_EQ(dec(GetParam().input).error(), errc::bad_base64);
  EXPECT_FALSE(base64url::is_canonical(GetParam().input));
}

INSTANTIATE_TEST_SUITE_P(Table, Base64urlReject,
                         testing::Values(reject_case{"padding_two", "Zg=="}, reject_case{"padding_one", "Zm8="},
                                         reject_case{"plus", "Zm+v"}, reject_case{"slash", "Zm/v"},
                                         reject_case{"space", "Zm9 v"}, reject_case{"newline", "Zm9v\n"},
                                         reject_case{"nul", std::string_view("Zm\0v", 4).data()},
                                         reject_case{"length_4k_plus_1", "Zm9vY"},
                                         reject_case{"noncanonical_4_bits", "Zh"},
                                         reject_case{"noncanonical_2_bits", "Zm9"},
                                         reject_case{"high_byte", "Zm\xc3\xa9"}),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(Base64url, NulInsideIsRejected) {
  std::string s("Zm\0v", 4);
  EXPECT_EQ(dec(s).error(), errc::bad_base64);
}

TEST(Base64url, OutputTooSmall) {
  std::uint8_t out[2];
  EXPECT_EQ(base64url::decode("Zm9v", out).error(), errc::token_too_large);
  char small[3];
  EXPECT_EQ(base64url::encode(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>("foo"), 3), small), 0u);
}

}  // namespace
}  // namespace tollgate::crypto
