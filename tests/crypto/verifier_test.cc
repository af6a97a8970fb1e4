// Rejection rules of DESIGN.md, one TEST_P row each, plus trust-store publication.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/hmac.h>
#include <openssl/digest.h>
#include <openssl/nid.h>

#include <functional>

#include "crypto/base64url.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "tests/crypto/test_util.h"

namespace tollgate::crypto {
namespace {

using test::b64;
using test::keys;
using test::kNow;

constexpr std::string_view kIss = "https://idp.example.com";

std::string claims(std::int64_t exp = kNow + 600, std::string extra = "") {
  return R"({"iss":"https://idp.example.com","sub":"u1","aud":"api","iat":)" + std::to_string(kNow - 10) +
         ",\"exp\":" + std::to_string(exp) + extra + "}";
}
std::string header(alg a, std::string_view kid, std::string extra = "") {
  return "{\"alg\":\"" + std::string(name_of(a)) + "\",\"kid\":\"" + std::string(kid) + "\"" + extra + "}";
}
std::string tok(alg a, std::string_view kid, const std::string& payload) {
  return keys().token(a, header(a, kid), payload);
}

key_entry entry(const std::string& jwk_json) {
  auto j = parse_jwk(jwk_json);
  if (!j) throw std::runtime_error("bad test jwk");
  auto k = make_verify_key(*j);
  if (!k) throw std::runtime_error("bad test key");
  return key_entry{j->kid, *k};
}

// One store for the whole table: "corp" trusts every key type, "narrow" only ES256.
trust_store& store() {
  static trust_store* s = [] {
    auto* st = new trust_store;
    issuer_config corp;
    corp.name = "corp";
    corp.issuer = std::string(kIss);
    corp.audiences = {"api", "other-api"};
    corp.algorithms = 0xffff;
    corp.leeway_seconds = 30;
    st->set_issuer(corp, {entry(keys().rsa_jwk("rsa1")), entry(keys().ec_jwk("ec1")),
                          entry(keys().ec_jwk("ec384", true)), entry(keys().ed_jwk("ed1")),
                          entry(keys().oct_jwk("hs1"))});
    issuer_config narrow;
    narrow.name = "narrow";
    narrow.issuer = "https://narrow.example.com";
    narrow.algorithms = alg_bit(alg::es256);
    st->set_issuer(narrow, {entry(keys().rsa_jwk("rsa1")), entry(keys().ec_jwk("ec1"))});
    return st;
  }();
  return *s;
}

// ES256 token with a hand-made r||s.
std::string es256_with(const std::vector<std::uint8_t>& r, const std::vector<std::uint8_t>& s) {
  std::string input = b64(header(alg::es256, "ec1")) + "." + b64(claims());
  std::vector<std::uint8_t> sig = r;
  sig.insert(sig.end(), s.begin(), s.end());
  return input + "." + b64(sig);
}
std::vector<std::uint8_t> p256_order(int add) {
  bssl::UniquePtr<EC_GROUP> g(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  bssl::UniquePtr<BIGNUM> n(BN_dup(EC_GROUP_get0_order(g.get())));
  if (add > 0) BN_add_word(n.get(), static_cast<BN_ULONG>(add));
  std::vector<std::uint8_t> out(32);
  BN_bn2bin_padded(out.data(), 32, n.get());
  return out;
}
std::vector<std::uint8_t> valid_s() {
  auto sig = keys().signature(alg::es256, "x");
  return std::vector<std::uint8_t>(sig.begin() + 32, sig.end());
}

// Makes the last character of |seg| non-canonical (non-zero unused bits).
std::string noncanonical(std::string seg) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (seg.size() % 4 == 0) throw std::runtime_error("segment has no unused bits");
  seg.back() = alphabet[alphabet.find(seg.back()) | 1];
  return seg;
}
// A payload whose encoding has unused bits in its last character.
std::string payload_with_unused_bits() {
  std::string p = claims();
  while (b64(p).size() % 4 == 0) {
    p.pop_back();
    p += " }";
  }
  return p;
}

std::string replace_segment(const std::string& token, int which, const std::string& seg) {
  std::size_t d1 = token.find('.'), d2 = token.find('.', d1 + 1);
  if (which == 0) return seg + token.substr(d1);
  if (which == 1) return token.substr(0, d1 + 1) + seg + token.substr(d2);
  return token.substr(0, d2 + 1) + seg;
}

struct verify_case {
  const char* name;
  std::function<std::string()> make;
  errc want;
};

class VerifyTable : public testing::TestWithParam<verify_case> {};

TEST_P(VerifyTable, Rule) {
  verifier v(store());
  verify_scratch scratch;
  std::string token = GetParam().make();
  auto r = v.verify(token, kNow, scratch);
  errc got = r ? errc::ok : r.error();
  EXPECT_EQ(got, GetParam().want) << message_of(got) << " for " << token;
}

std::vector<verify_case> cases() {
  const std::string c = "\"";
  return {
      // Every algorithm verifies when everything is right.
      {"ok_hs256", [] { return tok(alg::hs256, "hs1", claims()); }, errc::ok},
      {"ok_rs256", [] { return tok(alg::rs256, "rsa1", claims()); }, errc::ok},
      {"ok_rs384", [] { return tok(alg::rs384, "rsa1", claims()); }, errc::ok},
      {"ok_rs512", [] { return tok(alg::rs512, "rsa1", claims()); }, errc::ok},
      {"ok_ps256", [] { return tok(alg::ps256, "rsa1", claims()); }, errc::ok},
      {"ok_ps384", [] { return tok(alg::ps384, "rsa1", claims()); }, errc::ok},
      {"ok_ps512", [] { return tok(alg::ps512, "rsa1", claims()); }, errc::ok},
      {"ok_es256", [] { return tok(alg::es256, "ec1", claims()); }, errc::ok},
      {"ok_es384", [] { return tok(alg::es384, "ec384", claims()); }, errc::ok},
      {"ok_eddsa", [] { return tok(alg::eddsa, "ed1", claims()); }, errc::ok},
      {"ok_aud_array", [] {
         return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.com","sub":"u","aud":["x","other-api"],"exp":)" +
                                           std::to_string(kNow + 60) + "}");
       }, errc::ok},
      {"ok_exp_within_leeway", [] { return tok(alg::hs256, "hs1", claims(kNow - 29)); }, errc::ok},
      {"ok_nbf_within_leeway", [] { return tok(alg::hs256, "hs1", claims(kNow + 60, ",\"nbf\":" + std::to_string(kNow + 29))); }, errc::ok},
      // Header.
      {"alg_none", [] { return b64(R"({"alg":"none"})") + "." + b64(claims()) + "." + b64("sig"); }, errc::alg_none},
      {"alg_none_unsigned", [] { return b64(R"({"alg":"none"})") + "." + b64(claims()) + "."; }, errc::malformed},
      {"alg_unknown", [] { return b64(R"({"alg":"HS1"})") + "." + b64(claims()) + "." + b64("sig"); }, errc::alg_unknown},
      {"alg_lowercase", [] { return b64(R"({"alg":"hs256"})") + "." + b64(claims()) + "." + b64("sig"); }, errc::alg_unknown},
      {"alg_missing", [] { return b64(R"({"kid":"hs1"})") + "." + b64(claims()) + "." + b64("sig"); }, errc::malformed},
      {"alg_not_allowed_for_key", [] { return keys().token(alg::rs256, header(alg::rs256, "ec1"), claims()); }, errc::alg_not_allowed},
      {"alg_not_allowed_for_issuer", [] {
         return keys().token(alg::rs256, header(alg::rs256, "rsa1"),
                             R"({"iss":"https://narrow.example.com","sub":"u","exp":)" + std::to_string(kNow + 60) + "}");
       }, errc::alg_not_allowed},
      {"hmac_keyed_with_rsa_public_key", [] {
         // The classic confusion attack: HS256 with the RSA key's public bytes as secret.
         std::string input = b64(header(alg::hs256, "rsa1")) + "." + b64(claims());
         auto der = keys().rsa_public_der();
         std::uint8_t mac[32];
         unsigned len;
         HMAC(EVP_sha256(), der.data(), der.size(), reinterpret_cast<const std::uint8_t*>(input.data()), input.size(), mac, &len);
         return input + "." + b64(std::string_view(reinterpret_cast<const char*>(mac), 32));
       }, errc::alg_not_allowed},
      {"hmac_keyed_with_ec_jwk_text", [] {
         std::string input = b64(header(alg::hs256, "ec1")) + "." + b64(claims());
         std::string secret = keys().ec_jwk("ec1");
         std::uint8_t mac[32];
         unsigned len;
         HMAC(EVP_sha256(), secret.data(), secret.size(), reinterpret_cast<const std::uint8_t*>(input.data()), input.size(), mac, &len);
         return input + "." + b64(std::string_view(reinterpret_cast<const char*>(mac), 32));
       }, errc::alg_not_allowed},
      {"unknown_crit", [] { return keys().token(alg::hs256, header(alg::hs256, "hs1", R"(,"crit":["exp"],"exp":1)"), claims()); }, errc::unsupported_crit},
      {"crit_b64", [] { return keys().token(alg::hs256, header(alg::hs256, "hs1", R"(,"crit":["b64"],"b64":false)"), claims()); }, errc::unsupported_crit},
      {"crit_empty", [] { return keys().token(alg::hs256, header(alg::hs256, "hs1", R"(,"crit":[])"), claims()); }, errc::wrong_claim_type},
      {"crit_not_array", [] { return keys().token(alg::hs256, header(alg::hs256, "hs1", R"(,"crit":"exp")"), claims()); }, errc::wrong_claim_type},
      {"duplicate_header_alg", [] { return keys().token(alg::hs256, R"({"alg":"HS256","alg":"none","kid":"hs1"})", claims()); }, errc::duplicate_claim},
      {"header_not_json", [] { return keys().token(alg::hs256, R"({"alg":"HS256")", claims()); }, errc::bad_json},
      {"header_kid_number", [] { return keys().token(alg::hs256, R"({"alg":"HS256","kid":1})", claims()); }, errc::wrong_claim_type},
      // Encoding.
      {"bad_base64_padding", [] { return replace_segment(tok(alg::hs256, "hs1", claims()), 2, b64(keys().signature(alg::hs256, "")) + "="); }, errc::bad_base64},
      {"bad_base64_padded_header", [] {
         std::string h = R"({"alg":"HS256","kid":"hs1" })";
         std::string seg = b64(h);
         while (seg.size() % 4) seg += "=";
         return replace_segment(tok(alg::hs256, "hs1", claims()), 0, seg);
       }, errc::bad_base64},
      {"bad_base64_char", [] {
         std::string t = tok(alg::hs256, "hs1", claims());
         t[t.find('.') + 3] = '+';
         return t;
       }, errc::bad_base64},
      {"bad_base64_noncanonical", [] {
         std::string t = keys().token(alg::hs256, header(alg::hs256, "hs1"), payload_with_unused_bits());
         std::size_t d1 = t.find('.'), d2 = t.find('.', d1 + 1);
         return replace_segment(t, 1, noncanonical(t.substr(d1 + 1, d2 - d1 - 1)));
       }, errc::bad_base64},
      {"malformed_two_segments", [] { return b64(header(alg::hs256, "hs1")) + "." + b64(claims()); }, errc::malformed},
      {"malformed_jwe_five_segments", [] { return tok(alg::hs256, "hs1", claims()) + ".a.b"; }, errc::malformed},
      {"malformed_empty", [] { return std::string(); }, errc::malformed},
      {"malformed_empty_header", [] { return "." + b64(claims()) + ".c2ln"; }, errc::malformed},
      {"stripped_signature", [] {
         std::string t = tok(alg::rs256, "rsa1", claims());
         return t.substr(0, t.rfind('.') + 1);
       }, errc::malformed},
      {"token_too_large", [] { return tok(alg::hs256, "hs1", claims(kNow + 60, ",\"pad\":\"" + std::string(4000, 'x') + "\"")); }, errc::token_too_large},
      // Claims JSON.
      {"payload_not_json", [] { return keys().token(alg::hs256, header(alg::hs256, "hs1"), "not json"); }, errc::bad_json},
      {"payload_truncated_json", [] { return keys().token(alg::hs256, header(alg::hs256, "hs1"), R"({"iss":)"); }, errc::bad_json},
      {"duplicate_claim_sub", [] { return tok(alg::hs256, "hs1", claims(kNow + 60, R"(,"sub":"admin")")); }, errc::duplicate_claim},
      {"duplicate_claim_exp", [] { return tok(alg::hs256, "hs1", claims(kNow + 60, ",\"exp\":" + std::to_string(kNow + 99999))); }, errc::duplicate_claim},
      {"duplicate_nested_member", [] { return tok(alg::hs256, "hs1", claims(kNow + 60, R"(,"x":{"a":1,"a":2})")); }, errc::duplicate_claim},
      {"exp_not_integer", [] { return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.com","sub":"u","aud":"api","exp":1.5e9})"); }, errc::bad_numeric_date},
      {"exp_overflow", [] { return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.com","sub":"u","aud":"api","exp":99999999999999999999})"); }, errc::bad_numeric_date},
      {"exp_string", [] { return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.com","sub":"u","aud":"api","exp":"9999999999"})"); }, errc::wrong_claim_type},
      {"aud_wrong_type", [] { return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.com","sub":"u","aud":{"a":1},"exp":9999999999})"); }, errc::wrong_claim_type},
      // ECDSA range checks (before any BoringSSL call).
      {"ecdsa_r_zero", [] { return es256_with(std::vector<std::uint8_t>(32, 0), valid_s()); }, errc::signature_out_of_range},
      {"ecdsa_s_zero", [] { return es256_with(valid_s(), std::vector<std::uint8_t>(32, 0)); }, errc::signature_out_of_range},
      {"ecdsa_r_equals_n", [] { return es256_with(p256_order(0), valid_s()); }, errc::signature_out_of_range},
      {"ecdsa_s_equals_n", [] { return es256_with(valid_s(), p256_order(0)); }, errc::signature_out_of_range},
      {"ecdsa_r_above_n", [] { return es256_with(p256_order(1), valid_s()); }, errc::signature_out_of_range},
      {"ecdsa_s_all_ones", [] { return es256_with(valid_s(), std::vector<std::uint8_t>(32, 0xff)); }, errc::signature_out_of_range},
      {"ecdsa_der_signature", [] {
         // A DER-encoded ECDSA signature is not the JWS r||s form.
         std::string t = tok(alg::es256, "ec1", claims());
         return replace_segment(t, 2, b64(std::string(72, '\x30')));
       }, errc::bad_signature},
      // Time.
      {"expired", [] { return tok(alg::hs256, "hs1", claims(kNow - 31)); }, errc::expired},
      {"expired_at_leeway_edge", [] { return tok(alg::hs256, "hs1", claims(kNow - 30)); }, errc::expired},
      {"exp_missing", [] { return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.com","sub":"u","aud":"api"})"); }, errc::missing_claim},
      {"nbf_in_future", [] { return tok(alg::hs256, "hs1", claims(kNow + 600, ",\"nbf\":" + std::to_string(kNow + 31))); }, errc::not_yet_valid},
      {"iat_in_future", [] {
         return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.com","sub":"u","aud":"api","iat":)" +
                                           std::to_string(kNow + 31) + ",\"exp\":" + std::to_string(kNow + 600) + "}");
       }, errc::issued_in_future},
      // Issuer, subject, audience, key.
      {"wrong_iss", [] { return tok(alg::hs256, "hs1", R"({"iss":"https://evil.example.com","sub":"u","aud":"api","exp":9999999999})"); }, errc::unknown_issuer},
      {"iss_missing", [] { return tok(alg::hs256, "hs1", R"({"sub":"u","aud":"api","exp":9999999999})"); }, errc::unknown_issuer},
      {"iss_prefix_only", [] { return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.co","sub":"u","aud":"api","exp":9999999999})"); }, errc::unknown_issuer},
      {"sub_missing", [] { return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.com","aud":"api","exp":9999999999})"); }, errc::missing_claim},
      {"wrong_aud", [] { return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.com","sub":"u","aud":"apix","exp":9999999999})"); }, errc::wrong_audience},
      {"wrong_aud_array", [] { return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.com","sub":"u","aud":["a","b"],"exp":9999999999})"); }, errc::wrong_audience},
      {"aud_missing", [] { return tok(alg::hs256, "hs1", R"({"iss":"https://idp.example.com","sub":"u","exp":9999999999})"); }, errc::missing_claim},
      {"unknown_kid", [] { return tok(alg::hs256, "nope", claims()); }, errc::unknown_kid},
      {"no_kid_with_many_keys", [] { return keys().token(alg::hs256, R"({"alg":"HS256"})", claims()); }, errc::unknown_kid},
      // Signature.
      {"tampered_payload", [] {
         std::string t = tok(alg::hs256, "hs1", claims());
         return replace_segment(t, 1, b64(claims(kNow + 600, R"(,"roles":["admin"])")));
       }, errc::bad_signature},
      {"tampered_payload_es256", [] {
         std::string t = tok(alg::es256, "ec1", claims());
         return replace_segment(t, 1, b64(claims(kNow + 601)));
       }, errc::bad_signature},
      {"tampered_payload_rs256", [] {
         std::string t = tok(alg::rs256, "rsa1", claims());
         return replace_segment(t, 1, b64(claims(kNow + 601)));
       }, errc::bad_signature},
      {"tampered_payload_eddsa", [] {
         std::string t = tok(alg::eddsa, "ed1", claims());
         return replace_segment(t, 1, b64(claims(kNow + 601)));
       }, errc::bad_signature},
      {"tampered_signature", [] {
         std::string t = tok(alg::hs256, "hs1", claims());
         t[t.size() - 2] = t[t.size() - 2] == 'A' ? 'B' : 'A';
         return t;
       }, errc::bad_signature},
      {"truncated_hmac", [] {
         std::string t = tok(alg::hs256, "hs1", claims());
         auto mac = keys().signature(alg::hs256, t.substr(0, t.rfind('.')));
         mac.resize(16);
         return replace_segment(t, 2, b64(mac));
       }, errc::bad_signature},
      {"rsa_signature_wrong_length", [] {
         std::string t = tok(alg::rs256, "rsa1", claims());
         return replace_segment(t, 2, b64(std::string(255, 'x')));
       }, errc::bad_signature},
      {"signature_longer_than_any", [] {
         std::string t = tok(alg::hs256, "hs1", claims());
         return replace_segment(t, 2, b64(std::string(1100, 'x')));
       }, errc::bad_signature},
  };
}

INSTANTIATE_TEST_SUITE_P(Rules, VerifyTable, testing::ValuesIn(cases()),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(Verifier, VerifiedClaimsCarryTheClaims) {
  verifier v(store());
  verify_scratch scratch;
  std::string t = tok(alg::es256, "ec1", claims(kNow + 600, R"(,"permissions":["bots.use"],"sid":"s1")"));
  auto r = v.verify(t, kNow, scratch);
  ASSERT_TRUE(r.has_value()) << message_of(r.error());
  EXPECT_EQ(r->claims().sub, "u1");
  EXPECT_EQ(r->claims().sid, "s1");
  ASSERT_EQ(r->claims().permissions.size(), 1u);
  EXPECT_EQ(r->claims().permissions[0], "bots.use");
  EXPECT_EQ(r->algorithm(), alg::es256);
  EXPECT_EQ(r->kid(), "ec1");
  EXPECT_EQ(r->issuer_name(), "corp");
}

TEST(Verifier, EveryPrefixOfAValidTokenIsRejected) {
  verifier v(store());
  verify_scratch scratch;
  std::string t = tok(alg::hs256, "hs1", claims());
  ASSERT_TRUE(v.verify(t, kNow, scratch).has_value());
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_FALSE(v.verify(t.substr(0, i), kNow, scratch).has_value()) << i;
}

TEST(Verifier, ConfiguredMaxTokenBytes) {
  verifier small(store(), verifier::options{.max_token_bytes = 100});
  verify_scratch scratch;
  EXPECT_EQ(small.verify(tok(alg::hs256, "hs1", claims()), kNow, scratch).error(), errc::token_too_large);
}

TEST(TrustStore, ReplaceKeysRotatesAndSignalsUnknownKid) {
  trust_store st;
  issuer_config cfg;
  cfg.name = "idp";
  cfg.issuer = std::string(kIss);
  cfg.algorithms = alg_bit(alg::es256) | alg_bit(alg::eddsa);
  st.set_issuer(cfg, {entry(keys().ec_jwk("old"))});
  verifier v(st);
  verify_scratch scratch;
  std::string old_tok = keys().token(alg::es256, header(alg::es256, "old"), claims());
  std::string new_tok = keys().token(alg::eddsa, header(alg::eddsa, "new"), claims());
  EXPECT_TRUE(v.verify(old_tok, kNow, scratch).has_value());
  EXPECT_EQ(v.verify(new_tok, kNow, scratch).error(), errc::unknown_kid);
  EXPECT_EQ(scratch.failed_issuer(), "idp");
  EXPECT_TRUE(st.take_refetch_request("idp"));
  EXPECT_FALSE(st.take_refetch_request("idp"));  // once per request burst

  ASSERT_EQ(st.replace_keys("idp", {entry(keys().ed_jwk("new"))}), errc::ok);
  EXPECT_TRUE(v.verify(new_tok, kNow, scratch).has_value());
  EXPECT_EQ(v.verify(old_tok, kNow, scratch).error(), errc::unknown_kid);
  EXPECT_EQ(st.replace_keys("nobody", {}), errc::unknown_issuer);
}

TEST(TrustStore, RetiredSnapshotsWaitForEveryVerifier) {
  trust_store st;
  issuer_config cfg;
  cfg.name = "idp";
  cfg.issuer = std::string(kIss);
  cfg.algorithms = alg_bit(alg::hs256);
  verifier a(st), b(st);
  a.quiescent();
  b.quiescent();
  st.set_issuer(cfg, {entry(keys().oct_jwk("k1"))});
  // Neither verifier has seen the new snapshot: the previous one must stay.
  EXPECT_EQ(st.reclaim(), 1u);
  a.quiescent();
  EXPECT_EQ(st.reclaim(), 1u);  // b still may hold it
  b.quiescent();
  EXPECT_EQ(st.reclaim(), 0u);
  st.replace_keys("idp", {entry(keys().oct_jwk("k2"))});
  st.replace_keys("idp", {entry(keys().oct_jwk("k3"))});
  EXPECT_EQ(st.reclaim(), 2u);
  a.quiescent();
  b.quiescent();
  EXPECT_EQ(st.reclaim(), 0u);
}

TEST(TrustStore, RemovedIssuerIsUnknown) {
  trust_store st;
  issuer_config cfg;
  cfg.name = "idp";
  cfg.issuer = std::string(kIss);
  cfg.algorithms = alg_bit(alg::hs256);
  st.set_issuer(cfg, {entry(keys().oct_jwk("hs1"))});
  verifier v(st);
  verify_scratch scratch;
  std::string t = tok(alg::hs256, "hs1", claims());
  EXPECT_TRUE(v.verify(t, kNow, scratch).has_value());
  st.remove_issuer("idp");
  EXPECT_EQ(v.verify(t, kNow, scratch).error(), errc::unknown_issuer);
}

TEST(Errc, EveryValueHasAMessage) {
  for (int i = 0; i <= static_cast<int>(errc::bad_api_key); ++i)
    EXPECT_NE(message_of(static_cast<errc>(i)), "unknown error") << i;
}

}  // namespace
}  // namespace tollgate::crypto
