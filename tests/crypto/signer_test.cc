#include "crypto/signer.h"

#include <gtest/gtest.h>

#include "crypto/jwk.h"
#include "tests/crypto/test_util.h"

namespace tollgate::crypto {
namespace {

using test::kNow;

token_spec spec(std::int64_t exp = kNow + 3600) {
  token_spec s;
  s.iss = "http://127.0.0.1:8080";
  s.sub = "usr_1";
  s.aud = {"tollgate"};
  s.iat = kNow;
  s.exp = exp;
  s.sid = "ses_1";
  s.username = "ana \"quoted\" \xc3\xa9";
  s.roles = {"admin"};
  s.permissions = {"users.manage", "bots.*"};
  return s;
}

issuer_config own_issuer(alg_set algs) {
  issuer_config c;
  c.name = "tollgate";
  c.issuer = "http://127.0.0.1:8080";
  c.audiences = {"tollgate"};
  c.algorithms = algs;
  c.leeway_seconds = 30;
  return c;
}

class SignerRoundTrip : public testing::TestWithParam<alg> {};

TEST_P(SignerRoundTrip, SignVerifySerialize) {
  auto key = signing_key::generate(GetParam(), kNow);
  ASSERT_TRUE(key.has_value()) << message_of(key.error());
  EXPECT_EQ(key->kid(), thumbprint(key->public_jwk()));
  auto token = key->sign(encode_payload(spec()));
  ASSERT_TRUE(token.has_value());

  trust_store st;
  st.set_issuer(own_issuer(alg_bit(GetParam())), {key_entry{key->kid(), *key->make_verifier()}});
  verifier v(st);
  verify_scratch scratch;
  auto r = v.verify(*token, kNow + 10, scratch);
  ASSERT_TRUE(r.has_value()) << message_of(r.error());
  EXPECT_EQ(r->claims().sub, "usr_1");
  EXPECT_EQ(r->claims().username, "ana \"quoted\" \xc3\xa9");
  ASSERT_EQ(r->claims().permissions.size(), 2u);
  EXPECT_EQ(r->claims().permissions[1], "bots.*");
  EXPECT_EQ(r->kid(), key->kid());

  // Persisted bytes give back the same key: same kid, and its tokens verify.
  auto bytes = key->serialize();
  auto back = signing_key::deserialize(bytes);
  ASSERT_TRUE(back.has_value()) << message_of(back.error());
  EXPECT_EQ(back->kid(), key->kid());
  EXPECT_EQ(back->created_at(), kNow);
  EXPECT_EQ(back->public_jwk(), key->public_jwk());
  auto t2 = back->sign(encode_payload(spec()));
  ASSERT_TRUE(t2.has_value());
  EXPECT_TRUE(v.verify(*t2, kNow + 10, scratch).has_value());

  // Truncation, trailing bytes and a corrupt version are refused.
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(signing_key::deserialize(std::span(bytes.data(), n)).has_value()) << n;
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(signing_key::deserialize(longer).has_value());
  bytes[0] = 99;
  EXPECT_FALSE(signing_key::deserialize(bytes).has_value());
}

INSTANTIATE_TEST_SUITE_P(Algs, SignerRoundTrip, testing::Values(alg::hs256, alg::es256, alg::eddsa),
                         [](const auto& p) { return std::string(name_of(p.param)); });

TEST(Signer, OnlySupportedAlgorithms) {
  EXPECT_EQ(signing_key::generate(alg::rs256, kNow).error(), errc::alg_not_allowed);
  std::vector<std::uint8_t> short_secret(16);
  EXPECT_EQ(signing_key::from_secret(alg::hs256, short_secret, kNow).error(), errc::bad_key);
}

TEST(Signer, TwoKeysDiffer) {
  auto a = signing_key::generate(alg::hs256, kNow), b = signing_key::generate(alg::hs256, kNow);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->kid(), b->kid());
}

TEST(KeyRing, RotationKeepsOldTokensUntilTheyExpire) {
  key_ring ring;
  EXPECT_EQ(ring.sign("{}").error(), errc::unknown_kid);
  ring.set_active(*signing_key::generate(alg::es256, kNow));
  auto old_token = *ring.sign(encode_payload(spec(kNow + 3600)));
  std::string old_kid = ring.active()->kid();

  trust_store st;
  st.set_issuer(own_issuer(alg_bit(alg::es256) | alg_bit(alg::eddsa)), *ring.verification_keys());
  verifier v(st);
  verify_scratch scratch;
  ASSERT_TRUE(v.verify(old_token, kNow + 1, scratch).has_value());

  // Rotate at kNow+100; the old key must verify until its last token (ttl 3600) expires.
  ring.rotate(*signing_key::generate(alg::eddsa, kNow + 100), kNow + 100, 3600 + 30);
  ASSERT_EQ(st.replace_keys("tollgate", *ring.verification_keys()), errc::ok);
  auto new_token = *ring.sign(encode_payload(spec(kNow + 100 + 3600)));
  EXPECT_NE(ring.active()->kid(), old_kid);
  EXPECT_TRUE(v.verify(old_token, kNow + 200, scratch).has_value());
  EXPECT_TRUE(v.verify(new_token, kNow + 200, scratch).has_value());

  // JWKS export: both public keys, usable as an external issuer's key set.
  auto exported = parse_jwks(ring.jwks_json());
  ASSERT_TRUE(exported.has_value());
  EXPECT_EQ(exported->keys.size(), 2u);

  // After the retention period the old key is pruned; its tokens have expired anyway.
  ring.prune(kNow + 100 + 3630);
  EXPECT_EQ(ring.entries().size(), 1u);
  ASSERT_EQ(st.replace_keys("tollgate", *ring.verification_keys()), errc::ok);
  EXPECT_EQ(v.verify(old_token, kNow + 3700, scratch).error(), errc::unknown_kid);
  EXPECT_TRUE(v.verify(new_token, kNow + 3700, scratch).has_value());

  // Restore from persisted entries.
  auto restored = key_ring::restore(ring.entries());
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->active()->kid(), ring.active()->kid());
  EXPECT_FALSE(key_ring::restore({}).has_value());
}

TEST(KeyRing, HmacKeysNeverInJwks) {
  key_ring ring;
  ring.set_active(*signing_key::generate(alg::hs256, kNow));
  auto set = parse_jwks(ring.jwks_json());
  ASSERT_TRUE(set.has_value());
  EXPECT_TRUE(set->keys.empty());
}

}  // namespace
}  // namespace tollgate::crypto
