// tests/api/well_known_test.cc — GET /.well-known/jwks.json and
// /.well-known/openid-configuration over real HTTP: the published keys verify the
// tokens login issues (parsed with crypto/jwk.h, checked by crypto's verifier), HMAC
// secrets are never published, and the discovery document agrees with both.
#include <gtest/gtest.h>

#include <set>

#include "crypto/jwk.h"
#include "crypto/signer.h"
#include "tests/api/harness.h"

namespace tollgate::api {
namespace {

using testing::server;
namespace json = boost::json;

constexpr std::string_view issuer = "https://auth.example.test/";

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

api::config signer(crypto::alg a) {
  api::config cfg;
  cfg.issuer = issuer;
  cfg.algorithm = a;
  return cfg;
}

// verify_with_jwks checks `token` against the key set `jwks_text` alone, the way a
// relying party would, and returns the kid of the key that verified it ("" if none).
std::string verify_with_jwks(const std::string& jwks_text, const std::string& token, crypto::alg a) {
  auto set = crypto::parse_jwks(jwks_text);
  EXPECT_TRUE(set) << jwks_text;
  if (!set) return "";
  auto keys = crypto::key_entries(*set, crypto::alg_bit(a));
  EXPECT_TRUE(keys);
  if (!keys) return "";
  crypto::trust_store trust;
  trust.set_issuer({.name = "relying-party",
                    .issuer = std::string(issuer),
                    .audiences = {"tollgate"},
                    .algorithms = crypto::alg_bit(a)},
                   std::move(*keys));
  crypto::verifier v(trust);
  auto scratch = std::make_unique<crypto::verify_scratch>();
  auto ok = v.verify(token, now_seconds(), *scratch);
  EXPECT_TRUE(ok) << crypto::message_of(ok.error());
  return ok ? std::string(ok->kid()) : "";
}

void expect_cached(const testing::reply& r) {
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("cache-control"), "public, max-age=300");
}

TEST(WellKnown, Hs256SignerPublishesNoKey) {
  server srv(1, signer(crypto::alg::hs256));
  ASSERT_FALSE(srv.admin_token().empty());
  auto r = srv.call("GET", "/.well-known/jwks.json");
  ASSERT_EQ(r.status, 200);
  expect_cached(r);
  EXPECT_EQ(r.body, R"({"keys":[]})");  // the HMAC secret is never exported, as oct or otherwise
}

TEST(WellKnown, Es256KeysVerifyALoginToken) {
  server srv(1, signer(crypto::alg::es256));
  const std::string token = srv.admin_token();
  ASSERT_FALSE(token.empty());
  auto r = srv.call("GET", "/.well-known/jwks.json");
  ASSERT_EQ(r.status, 200);
  expect_cached(r);
  const json::value doc = r.json();
  const auto& keys = doc.at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u);
  const auto& k = keys[0].as_object();
  EXPECT_EQ(k.at("kty"), "EC");
  EXPECT_EQ(k.at("crv"), "P-256");
  EXPECT_EQ(k.at("alg"), "ES256");
  EXPECT_EQ(k.at("use"), "sig");
  EXPECT_FALSE(k.contains("d"));  // public members only
  EXPECT_EQ(verify_with_jwks(r.body, token, crypto::alg::es256), std::string(k.at("kid").as_string()));
  EXPECT_EQ(srv.call("HEAD", "/.well-known/jwks.json").status, 200);
}

// A key retired at a restart stays published beside the new active key, so tokens
// signed before the restart still verify for relying parties. The restart's rotation
// is set up the way the store holds keys: a new signing key made active.
TEST(WellKnown, EdDsaKeysIncludeTheRetiredKeyAfterARotation) {
  server srv(1, signer(crypto::alg::eddsa));
  const std::string before = srv.admin_token();
  ASSERT_FALSE(before.empty());
  srv.stop();
  auto next = crypto::signing_key::generate(crypto::alg::eddsa, now_seconds());
  ASSERT_TRUE(next);
  const auto blob = next->serialize();
  ASSERT_TRUE(srv.db().write([&](store::write_txn& t) -> store::result<void> {
    if (auto r = t.put_signing_key(next->kid(), std::string(blob.begin(), blob.end())); !r) return r;
    return t.put_meta("signing.active_kid", next->kid());
  }));
  srv.start(1, signer(crypto::alg::eddsa));
  const std::string after = srv.admin_token();
  ASSERT_FALSE(after.empty());

  auto r = srv.call("GET", "/.well-known/jwks.json");
  ASSERT_EQ(r.status, 200);
  std::set<std::string> kids;
  const json::value doc = r.json();
  for (const auto& k : doc.at("keys").as_array()) {
    EXPECT_EQ(k.at("kty"), "OKP");
    EXPECT_EQ(k.at("crv"), "Ed25519");
    EXPECT_EQ(k.at("alg"), "EdDSA");
    EXPECT_EQ(k.at("use"), "sig");
    kids.insert(std::string(k.at("kid").as_string()));
  }
  ASSERT_EQ(kids.size(), 2u);
  const std::string old_kid = verify_with_jwks(r.body, before, crypto::alg::eddsa);
  EXPECT_TRUE(kids.contains(old_kid));
  EXPECT_EQ(verify_with_jwks(r.body, after, crypto::alg::eddsa), next->kid());
  EXPECT_NE(old_kid, next->kid());
}

TEST(WellKnown, DiscoveryAgreesWithTheKeysAndTheTokens) {
  server srv(1, signer(crypto::alg::es256));
  const std::string token = srv.admin_token();
  ASSERT_FALSE(token.empty());
  auto r = srv.call("GET", "/.well-known/openid-configuration");
  ASSERT_EQ(r.status, 200) << r.body;
  expect_cached(r);
  const auto d = r.json().as_object();
  EXPECT_EQ(d.at("issuer").as_string(), issuer);  // exactly the tokens' iss
  // The issuer's terminating '/' is dropped before the paths (OIDC Discovery §4).
  EXPECT_EQ(d.at("jwks_uri"), "https://auth.example.test/.well-known/jwks.json");
  EXPECT_EQ(d.at("token_endpoint"), "https://auth.example.test/api/v1/security/auth/login");
  EXPECT_EQ(d.at("introspection_endpoint"), "https://auth.example.test/oauth2/introspect");
  EXPECT_EQ(d.at("introspection_endpoint_auth_methods_supported"), json::array{"client_secret_basic"});
  EXPECT_EQ(d.at("token_endpoint_auth_methods_supported"), json::array{"none"});
  EXPECT_EQ(d.at("subject_types_supported"), json::array{"public"});
  EXPECT_EQ(d.at("response_types_supported"), json::array{});
  EXPECT_EQ(d.at("grant_types_supported"), json::array{});
  EXPECT_EQ(d.at("id_token_signing_alg_values_supported"), json::array{"ES256"});

  // jwks_uri is served here, and its keys verify the token for the advertised issuer
  // (the verifier matches iss exactly) with the advertised algorithm.
  const std::string_view jwks_uri = d.at("jwks_uri").as_string();
  auto jwks = srv.call("GET", jwks_uri.substr(std::string_view("https://auth.example.test").size()));
  ASSERT_EQ(jwks.status, 200);
  const json::value set = jwks.json();
  for (const auto& k : set.at("keys").as_array())
    EXPECT_EQ(k.at("alg"), d.at("id_token_signing_alg_values_supported").as_array()[0]);
  EXPECT_FALSE(verify_with_jwks(jwks.body, token, crypto::alg::es256).empty());
}

}  // namespace
}  // namespace tollgate::api
