// Published vectors: RFC 7515 appendix A.1-A.3 and RFC 8037 A.4, through the real
// verifier with a fixed clock just before the vectors' exp.
#include "crypto/jws.h"

#include <gtest/gtest.h>

#include "crypto/base64url.h"
#include "crypto/jwk.h"
#include "crypto/verify_key.h"
#include "tests/crypto/test_util.h"

namespace tollgate::crypto {
namespace {

using test::read_vector;

// The RFC 7515 payload: {"iss":"joe", "exp":1300819380, "http://example.com/is_root":true}
constexpr std::int64_t kRfcNow = 1300819370;

struct vector_case {
  const char* name;
  const char* jws_file;
  const char* jwk_file;
  alg algorithm;
};

class Rfc7515 : public testing::TestWithParam<vector_case> {
 protected:
  void SetUp() override {
    auto key = parse_jwk(read_vector(GetParam().jwk_file));
    ASSERT_TRUE(key.has_value()) << message_of(key.error());
    auto vk = make_verify_key(*key);
    ASSERT_TRUE(vk.has_value()) << message_of(vk.error());
    issuer_config cfg;
    cfg.name = "joe";
    cfg.issuer = "joe";
    cfg.algorithms = alg_bit(GetParam().algorithm);
    cfg.require_sub = false;  // the RFC example has no sub
    store_.set_issuer(cfg, {key_entry{"", *vk}});
  }
  trust_store store_;
};

TEST_P(Rfc7515, VerifiesWithFixedClock) {
  verifier v(store_);
  verify_scratch scratch;
  std::string token = read_vector(GetParam().jws_file);
  auto r = v.verify(token, kRfcNow, scratch);
  ASSERT_TRUE(r.has_value()) << message_of(r.error());
  EXPECT_EQ(r->claims().iss, "joe");
  EXPECT_EQ(r->claims().exp, 1300819380);
  EXPECT_EQ(r->algorithm(), GetParam().algorithm);
}

TEST_P(Rfc7515, ExpiredAfterExp) {
  verifier v(store_);
  verify_scratch scratch;
  EXPECT_EQ(v.verify(read_vector(GetParam().jws_file), 1300819380 + 30, scratch).error(), errc::expired);
}

TEST_P(Rfc7515, EveryFlippedSignatureCharFails) {
  verifier v(store_);
  verify_scratch scratch;
  std::string token = read_vector(GetParam().jws_file);
  std::size_t sig = token.rfind('.') + 1;
  // Flip the low bit of each signature character's 6-bit value (stays in the alphabet
  // for all but the last char, where it may become non-canonical: also a rejection).
  static const std::string a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t i = sig; i < token.size(); i += 7) {
    std::string t = token;
    t[i] = a[a.find(t[i]) ^ 1];
    auto r = v.verify(t, kRfcNow, scratch);
    ASSERT_FALSE(r.has_value()) << i;
    EXPECT_TRUE(r.error() == errc::bad_signature || r.error() == errc::bad_base64 ||
                r.error() == errc::signature_out_of_range) << message_of(r.error());
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, Rfc7515,
                         testing::Values(vector_case{"A1_HS256", "rfc7515_a1.jws", "rfc7515_a1.jwk", alg::hs256},
                                         vector_case{"A2_RS256", "rfc7515_a2.jws", "rfc7515_a2.jwk", alg::rs256},
                                         vector_case{"A3_ES256", "rfc7515_a3.jws", "rfc7515_a3.jwk", alg::es256}),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(Rfc7515, HeaderOfA1) {
  verify_scratch scratch;
  auto j = parse_jws(read_vector("rfc7515_a1.jws"), 4096, scratch);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->algorithm(), alg::hs256);
  EXPECT_EQ(j->typ(), "JWT");
  EXPECT_FALSE(j->has_kid());
  EXPECT_TRUE(j->crit().empty());
}

// parse_jws keeps the last header segment that parsed, with its result, in the
// scratch: byte-identical segments must give what parsing would, and nothing else
// may be served from it (another header, a header after a failed parse, a header too
// long to keep).
TEST(Jws, HeaderMemoServesOnlyItsOwnSegment) {
  auto b64 = [](std::string_view s) {
    std::string out(base64url::encoded_size(s.size()), '\0');
    base64url::encode(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()), out);
    return out;
  };
  auto token = [&](std::string_view header) { return b64(header) + "." + b64("{}") + ".c2ln"; };
  const std::string h1 = token(R"({"alg":"HS256","kid":"a"})");
  const std::string h2 = token(R"({"alg":"HS384","kid":"b","typ":"JWT"})");
  const std::string crit = token(R"({"alg":"HS256","crit":["x","y"]})");
  const std::string dup = token(R"({"alg":"HS256","alg":"none"})");
  const std::string long_kid = token(R"({"alg":"HS512","kid":")" + std::string(300, 'k') + "\"}");
  verify_scratch scratch;
  auto check = [&](const std::string& t, alg a, std::string_view kid, std::string_view typ, std::size_t ncrit) {
    auto j = parse_jws(t, kMaxTokenBytes, scratch);
    ASSERT_TRUE(j.has_value()) << message_of(j.error());
    EXPECT_EQ(j->algorithm(), a);
    EXPECT_EQ(j->has_kid(), !kid.empty());
    EXPECT_EQ(j->kid(), kid);
    EXPECT_EQ(j->typ(), typ);
    EXPECT_EQ(j->crit().size(), ncrit);
  };
  for (int round = 0; round < 2; ++round) {
    check(h1, alg::hs256, "a", "", 0);
    check(h1, alg::hs256, "a", "", 0);
    check(h2, alg::hs384, "b", "JWT", 0);
    check(h1, alg::hs256, "a", "", 0);
    EXPECT_EQ(parse_jws(dup, kMaxTokenBytes, scratch).error(), errc::duplicate_claim);
    EXPECT_EQ(parse_jws(dup, kMaxTokenBytes, scratch).error(), errc::duplicate_claim);
    check(h1, alg::hs256, "a", "", 0);
    check(long_kid, alg::hs512, std::string(300, 'k'), "", 0);
    check(long_kid, alg::hs512, std::string(300, 'k'), "", 0);
    check(crit, alg::hs256, "", "", 2);
    auto j = parse_jws(crit, kMaxTokenBytes, scratch);
    ASSERT_TRUE(j.has_value());
    EXPECT_EQ(j->crit()[1], "y");
  }
}

// RFC 8037 A.4 signs a non-JSON payload, so it is a JWS but not a JWT: the verify_key
// accepts the signature, the verifier refuses the payload.
TEST(Rfc8037, Ed25519SignatureVerifies) {
  auto key = parse_jwk(read_vector("rfc8037_a1.jwk"));
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(thumbprint(*key), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");  // RFC 8037 A.3
  auto vk = make_verify_key(*key);
  ASSERT_TRUE(vk.has_value());
  verify_scratch scratch;
  std::string token = read_vector("rfc8037_a4.jws");
  auto j = parse_jws(token, 4096, scratch);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->algorithm(), alg::eddsa);
  std::vector<std::uint8_t> sig(64);
  ASSERT_EQ(base64url::decode(j->signature_segment(), sig).value(), 64u);
  EXPECT_EQ((*vk)->verify(alg::eddsa, j->signing_input(), sig, scratch), errc::ok);
  sig[0] ^= 1;
  EXPECT_EQ((*vk)->verify(alg::eddsa, j->signing_input(), sig, scratch), errc::bad_signature);

  trust_store store;
  verifier v(store);
  EXPECT_EQ(v.verify(token, 0, scratch).error(), errc::bad_json);
}

}  // namespace
}  // namespace tollgate::crypto
