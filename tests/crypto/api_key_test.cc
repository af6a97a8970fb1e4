#include "crypto/api_key.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate::crypto {
namespace {

const std::vector<std::uint8_t> kServerSecret(32, 0x42);

TEST(ApiKey, GenerateParseMatch) {
  api_key_hasher h(kServerSecret);
  ASSERT_TRUE(h.valid());
  auto g = h.generate();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->presented.size(), kApiKeyChars);
  EXPECT_TRUE(g->presented.starts_with(g->prefix));
  EXPECT_TRUE(g->prefix.starts_with("sk_live_"));
  auto parts = parse_api_key(g->presented);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->key_id, g->key_id);
  EXPECT_TRUE(h.matches(*parts, g->hash));

  // Another server secret, another key id or another secret: no match.
  std::vector<std::uint8_t> other(32, 0x43);
  EXPECT_FALSE(api_key_hasher(other).matches(*parts, g->hash));
  auto g2 = h.generate();
  ASSERT_TRUE(g2.has_value());
  EXPECT_NE(g2->key_id, g->key_id);
  EXPECT_FALSE(h.matches(*parse_api_key(g2->presented), g->hash));
  std::string moved = g->presented;
  moved.replace(8, 16, g2->key_id);  // same secret presented under another id
  EXPECT_FALSE(h.matches(*parse_api_key(moved), g->hash));
}

TEST(ApiKey, BasicFormParses) {
  api_key_hasher h(kServerSecret);
  auto g = *h.generate();
  std::string secret = g.presented.substr(8 + 16 + 1);
  auto parts = parse_api_key_basic(g.key_id, secret);
  ASSERT_TRUE(parts.has_value());
  EXPECT_TRUE(h.matches(*parts, g.hash));
}

TEST(ApiKey, ShortServerSecretRefusesEverything) {
  std::vector<std::uint8_t> short_secret(16, 1);
  api_key_hasher h(short_secret);
  EXPECT_FALSE(h.valid());
  EXPECT_FALSE(h.generate().has_value());
}

class ApiKeyReject : public testing::TestWithParam<std::string> {};
TEST_P(ApiKeyReject, BadApiKey) { EXPECT_EQ(parse_api_key(GetParam()).error(), errc::bad_api_key) << GetParam(); }

const std::string kGood = "sk_live_0123456789abcdef_" + std::string(42, 'A') + "A";
INSTANTIATE_TEST_SUITE_P(
    Table, ApiKeyReject,
    testing::Values(std::string(""), "sk_live_", kGood.substr(0, kGood.size() - 1), kGood + "A",
                    "sk_test" + kGood.substr(7), "SK_LIVE" + kGood.substr(7),
                    kGood.substr(0, 8) + "0123456789ABCDEF" + kGood.substr(24),  // upper-case hex
                    kGood.substr(0, 24) + "-" + kGood.substr(25),                // wrong separator
                    kGood.substr(0, kGood.size() - 1) + "B",                     // non-canonical last char
                    kGood.substr(0, 30) + "+" + kGood.substr(31),                // outside the alphabet
                    kGood.substr(0, 30) + "=" + kGood.substr(31)));

TEST(ApiKey, GoodShapeParses) { EXPECT_TRUE(parse_api_key(kGood).has_value()); }

}  // namespace
}  // namespace tollgate::crypto
