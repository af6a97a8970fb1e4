#include "crypto/jwk.h"

#include <gtest/gtest.h>

#include "crypto/verify_key.h"
#include "tests/crypto/test_util.h"

namespace tollgate::crypto {
namespace {

using test::read_vector;

// RFC 7517 A.1: an EC key for encryption and an RSA signing key.
TEST(Rfc7517, A1PublicKeys) {
  auto set = parse_jwks(read_vector("rfc7517_a1.jwks"));
  ASSERT_TRUE(set.has_value()) << message_of(set.error());
  ASSERT_EQ(set->keys.size(), 2u);
  const jwk& ec = set->keys[0];
  EXPECT_EQ(ec.kty, key_type::ec);
  EXPECT_EQ(ec.crv, curve::p256);
  EXPECT_EQ(ec.use, "enc");
  EXPECT_EQ(ec.kid, "1");
  EXPECT_EQ(make_verify_key(ec).error(), errc::key_use_mismatch);
  const jwk& rsa = set->keys[1];
  EXPECT_EQ(rsa.kty, key_type::rsa);
  EXPECT_EQ(rsa.algorithm, alg::rs256);
  EXPECT_EQ(rsa.kid, "2011-04-29");
  EXPECT_EQ(rsa.n.size(), 256u);
  EXPECT_EQ(rsa.e, (std::vector<std::uint8_t>{1, 0, 1}));
  auto vk = make_verify_key(rsa);
  ASSERT_TRUE(vk.has_value());
  EXPECT_EQ((*vk)->permitted(), alg_bit(alg::rs256));  // narrowed by "alg"
  // The issuer's key set keeps only the signing key.
  auto entries = key_entries(*set, 0xffff);
  ASSERT_TRUE(entries.has_value());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(entries->front().kid, "2011-04-29");
}

// RFC 7517 A.3: symmetric keys; the A128KW one is not a signing alg and is skipped.
TEST(Rfc7517, A3SymmetricKeys) {
  auto set = parse_jwks(read_vector("rfc7517_a3.jwks"));
  ASSERT_TRUE(set.has_value()) << message_of(set.error());
  EXPECT_EQ(set->skipped, 1u);
  ASSERT_EQ(set->keys.size(), 1u);
  EXPECT_EQ(set->keys[0].kty, key_type::oct);
  EXPECT_EQ(set->keys[0].k.size(), 64u);
  auto vk = make_verify_key(set->keys[0]);
  ASSERT_TRUE(vk.has_value());
  EXPECT_EQ((*vk)->permitted(), kHmacAlgs);  // 64 bytes: long enough for HS512
}

// RFC 7638 §3.1.
TEST(Rfc7638, Thumbprint) {
  auto set = parse_jwks(read_vector("rfc7517_a1.jwks"));
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(thumbprint(set->keys[1]), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(Jwk, RoundTripThroughJson) {
  for (const std::string& text : {test::keys().rsa_jwk("r"), test::keys().ec_jwk("e"), test::keys().ec_jwk("e3", true),
                                  test::keys().ed_jwk("d")}) {
    auto a = parse_jwk(text);
    ASSERT_TRUE(a.has_value()) << text;
    auto b = parse_jwk(to_json(*a));
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(thumbprint(*a), thumbprint(*b));
  }
  auto oct = parse_jwk(test::keys().oct_jwk("h"));
  ASSERT_TRUE(oct.has_value());
  EXPECT_EQ(to_json(*oct).find("\"k\""), std::string::npos);  // secrets stay out by default
  EXPECT_EQ(*parse_jwk(to_json(*oct, true)), *oct);
}

TEST(Jwk, OctKeyOnlyEverVerifiesHmac) {
  auto oct = parse_jwk(test::keys().oct_jwk("h"));
  ASSERT_TRUE(oct.has_value());
  auto vk = make_verify_key(*oct);
  ASSERT_TRUE(vk.has_value());
  EXPECT_EQ((*vk)->permitted() & ~kHmacAlgs, 0);
  oct->algorithm = alg::rs256;
  EXPECT_EQ(make_verify_key(*oct).error(), errc::alg_not_allowed);
}

TEST(Jwk, AsymmetricKeysNeverVerifyHmac) {
  for (const std::string& text : {test::keys().rsa_jwk("r"), test::keys().ec_jwk("e"), test::keys().ed_jwk("d")}) {
    auto k = parse_jwk(text);
    ASSERT_TRUE(k.has_value());
    auto vk = make_verify_key(*k);
    ASSERT_TRUE(vk.has_value());
    EXPECT_EQ((*vk)->permitted() & kHmacAlgs, 0) << text;
    k->algorithm = alg::hs256;
    EXPECT_FALSE(make_verify_key(*k).has_value());
  }
}

struct reject_case {
  const char* name;
  std::string json;
  errc want;
};

class JwkReject : public testing::TestWithParam<reject_case> {};
TEST_P(JwkReject, Table) { EXPECT_EQ(parse_jwk(GetParam().json).error(), GetParam().want) << GetParam().json; }

const std::string kX = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
const std::string kY = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";

INSTANTIATE_TEST_SUITE_P(
    Table, JwkReject,
    testing::Values(
        reject_case{"not_json", "{", errc::bad_json},
        reject_case{"no_kty", R"({"k":"AAAA"})", errc::bad_json},
        reject_case{"kty_number", R"({"kty":1})", errc::wrong_claim_type},
        reject_case{"unknown_kty", R"({"kty":"XYZ"})", errc::unsupported_key},
        reject_case{"duplicate_member", R"({"kty":"oct","k":"AAAA","k":"BBBB"})", errc::duplicate_claim},
        reject_case{"alg_none", R"({"kty":"oct","alg":"none","k":"AAAA"})", errc::alg_none},
        reject_case{"ec_unknown_curve", R"({"kty":"EC","crv":"P-521","x":"AA","y":"AA"})", errc::unsupported_key},
        reject_case{"ec_short_x", R"({"kty":"EC","crv":"P-256","x":"AAAA","y":")" + kY + "\"}", errc::bad_key},
        reject_case{"ec_not_on_curve", R"({"kty":"EC","crv":"P-256","x":")" + kX + R"(","y":")" + kX + "\"}", errc::bad_key},
        reject_case{"ec_missing_y", R"({"kty":"EC","crv":"P-256","x":")" + kX + "\"}", errc::bad_key},
        reject_case{"ec_padded_b64", R"({"kty":"EC","crv":"P-256","x":")" + kX + R"(=","y":")" + kY + "\"}", errc::bad_base64},
        reject_case{"okp_x25519", R"({"kty":"OKP","crv":"X25519","x":"AAAA"})", errc::unsupported_key},
        reject_case{"okp_short", R"({"kty":"OKP","crv":"Ed25519","x":"AAAA"})", errc::bad_key},
        reject_case{"rsa_leading_zero", R"({"kty":"RSA","n":"AAEC","e":"AQAB"})", errc::bad_key},
        reject_case{"rsa_missing_e", R"({"kty":"RSA","n":"AQAB"})", errc::bad_key},
        reject_case{"oct_empty", R"({"kty":"oct","k":""})", errc::bad_key}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(Jwk, SmallRsaKeyRejected) {
  auto k = parse_jwk(R"({"kty":"RSA","n":"AQAB","e":"AQAB"})");
  ASSERT_TRUE(k.has_value());
  EXPECT_FALSE(make_verify_key(*k).has_value());
}

TEST(Jwk, ShortHmacSecretRejected) {
  auto k = parse_jwk(R"({"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAA"})");  // 16 bytes
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(make_verify_key(*k).error(), errc::bad_key);
}

TEST(Jwks, DuplicateKidRejected) {
  std::string set = "{\"keys\":[" + test::keys().ec_jwk("same") + "," + test::keys().ed_jwk("same") + "]}";
  EXPECT_EQ(parse_jwks(set).error(), errc::bad_key);
}

TEST(Jwks, StructureErrors) {
  EXPECT_EQ(parse_jwks(R"({"keys":{}})").error(), errc::bad_json);
  EXPECT_EQ(parse_jwks(R"({"nokeys":[]})").error(), errc::bad_json);
  EXPECT_EQ(parse_jwks(R"({"keys":[1]})").error(), errc::bad_json);
  EXPECT_EQ(parse_jwks(R"({"keys":[],"keys":[]})").error(), errc::duplicate_claim);
  EXPECT_TRUE(parse_jwks(R"({"keys":[]})").has_value());
}

TEST(Jwks, ExportLeavesOutSecrets) {
  std::vector<jwk> keys = {*parse_jwk(test::keys().ec_jwk("e")), *parse_jwk(test::keys().oct_jwk("h"))};
  auto round = parse_jwks(to_jwks_json(keys));
  ASSERT_TRUE(round.has_value());
  ASSERT_EQ(round->keys.size(), 1u);
  EXPECT_EQ(round->keys[0], keys[0]);
}

}  // namespace
}  // namespace tollgate::crypto
