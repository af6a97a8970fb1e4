#include "crypto/claims.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate::crypto {
namespace {

struct parsed {
  std::string buf;
  token_claims c;
  claim_arrays a;
  errc e;
};

std::unique_ptr<parsed> parse(std::string_view json) {
  auto p = std::make_unique<parsed>();
  p->buf = json;
  p->e = detail::parse_claims(p->buf.data(), p->buf.size(), p->c, p->a);
  return p;
}

TEST(Claims, AllKnownClaims) {
  auto p = parse(R"({"iss":"https://i","sub":"u1","aud":["a","b"],"exp":1700000600,"nbf":-5,"iat":0,
    "jti":"j","sid":"s","scope":"  read  write ","permissions":["bots.use","x:y"],"username":"al\u00e9",
    "roles":["admin"],"groups":[],"other":{"nested":[1,2.5e3,true,false,null,"\ud83d\ude00"]}})");
  ASSERT_EQ(p->e, errc::ok);
  const token_claims& c = p->c;
  EXPECT_EQ(c.iss, "https://i");
  EXPECT_EQ(c.sub, "u1");
  ASSERT_EQ(c.aud.size(), 2u);
  EXPECT_EQ(c.aud[1], "b");
  EXPECT_EQ(c.exp, 1700000600);
  EXPECT_EQ(c.nbf, -5);
  EXPECT_TRUE(c.has_iat);
  EXPECT_EQ(c.iat, 0);
  EXPECT_EQ(c.jti, "j");
  EXPECT_EQ(c.sid, "s");
  ASSERT_EQ(c.scopes.size(), 2u);
  EXPECT_EQ(c.scopes[0], "read");
  EXPECT_EQ(c.scopes[1], "write");
  ASSERT_EQ(c.permissions.size(), 2u);
  EXPECT_EQ(c.permissions[1], "x:y");
  EXPECT_EQ(c.username, "al\xc3\xa9");
  ASSERT_EQ(c.roles.size(), 1u);
  EXPECT_TRUE(c.has_groups);
  EXPECT_TRUE(c.groups.empty());
}

TEST(Claims, AudString) {
  auto p = parse(R"({"aud":"api"})");
  ASSERT_EQ(p->e, errc::ok);
  ASSERT_EQ(p->c.aud.size(), 1u);
  EXPECT_EQ(p->c.aud[0], "api");
}

TEST(Claims, EscapesAreDecodedInPlace) {
  auto p = parse(R"({"sub":"a\"b\\c\/d\n\u0041\u00e9\u20ac\ud834\udd1e"})");
  ASSERT_EQ(p->e, errc::ok);
  EXPECT_EQ(p->c.sub, "a\"b\\c/d\nA\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e");
}

TEST(Claims, Int64Limits) {
  EXPECT_EQ(parse(R"({"exp":9223372036854775807})")->c.exp, INT64_MAX);
  EXPECT_EQ(parse(R"({"exp":-9223372036854775808})")->c.exp, INT64_MIN);
}

// integer() reads up to 15 digits with two 8-byte loads when 16 bytes of text follow
// the first digit, and digit by digit otherwise: both must give every length the same
// value and the same verdict on fractions and exponents.
TEST(Claims, NumericDatesOfEveryLength) {
  const std::string digits = "9223372036854775807";
  const std::string tail = R"(,"padding":"........................"})";
  for (std::size_t n = 1; n <= digits.size(); ++n) {
    for (const char* sign : {"", "-"}) {
      const std::string number = sign + digits.substr(0, n);
      const std::int64_t want = std::stoll(number);
      for (const std::string& rest : {std::string("}"), tail}) {
        auto p = parse(R"({"exp":)" + number + rest);
        ASSERT_EQ(p->e, errc::ok) << number << rest;
        EXPECT_EQ(p->c.exp, want) << number << rest;
        EXPECT_EQ(parse(R"({"exp":)" + number + ".5" + rest)->e, errc::bad_numeric_date) << number;
        EXPECT_EQ(parse(R"({"exp":)" + number + "e1" + rest)->e, errc::bad_numeric_date) << number;
        EXPECT_EQ(parse(R"({"exp":)" + number + "E+1" + rest)->e, errc::bad_numeric_date) << number;
        EXPECT_EQ(parse(R"({"exp":)" + number + "x" + rest)->e, errc::bad_json) << number;
        EXPECT_EQ(parse(R"({"exp":)" + number + " " + rest)->c.exp, want) << number;
      }
    }
  }
  EXPECT_EQ(parse(R"({"exp":0,"padding":"........................"})")->c.exp, 0);
  EXPECT_EQ(parse(R"({"exp":01,"padding":"........................"})")->e, errc::bad_json);
  EXPECT_EQ(parse(R"({"exp":-,"padding":"........................"})")->e, errc::bad_json);
}

// Member names take a shortcut when they are three plain bytes followed by the colon;
// every other spelling of the same names must parse, and collide, the same.
TEST(Claims, NameSpellings) {
  auto p = parse("{ \"iss\" : \"a\" ,\n\t\"s\\u0075b\":\"b\", \"exp\"\r:1}");
  ASSERT_EQ(p->e, errc::ok);
  EXPECT_EQ(p->c.iss, "a");
  EXPECT_EQ(p->c.sub, "b");
  EXPECT_EQ(p->c.exp, 1);
  EXPECT_EQ(parse(R"({"iss":"a", "iss" :"b"})")->e, errc::duplicate_claim);
  EXPECT_EQ(parse(R"({"i\u0073s":"a","iss":"b"})")->e, errc::duplicate_claim);
  EXPECT_EQ(parse(R"({"aud":"a","aud":["b"]})")->e, errc::duplicate_claim);
  EXPECT_EQ(parse(R"({"permissions":[],"permissions":[]})")->e, errc::duplicate_claim);
  EXPECT_EQ(parse(R"({"iss":"a","is":"b","issu":"c","x\"y":1})")->e, errc::ok);
  EXPECT_EQ(parse("{\"i\x01s\":1}")->e, errc::bad_json);
  EXPECT_EQ(parse("{\"\xc3\xa9x\":1,\"\xc3\xa9x\":2}")->e, errc::duplicate_claim);
}

struct reject_case {
  const char* name;
  const char* json;
  errc want;
};

class ClaimsReject : public testing::TestWithParam<reject_case> {};

TEST_P(ClaimsReject, Table) { EXPECT_EQ(parse(GetParam().json)->e, GetParam().want) << GetParam().json; }

std::string many(const char* name, int n) {
  std::string s = std::string("{\"") + name + "\":[";
  for (int i = 0; i < n; ++i) s += (i ? ",\"p" : "\"p") + std::to_string(i) + "\"";
  return s + "]}";
}
const std::string k65 = many("permissions", 65);
const std::string k64 = many("permissions", 64);
const std::string deep = "{\"x\":" + std::string(17, '[') + std::string(17, ']') + "}";

INSTANTIATE_TEST_SUITE_P(
    Table, ClaimsReject,
    testing::Values(
        reject_case{"empty", "", errc::bad_json},
        reject_case{"array_top", "[]", errc::bad_json},
        reject_case{"unterminated", R"({"sub":"x")", errc::bad_json},
        reject_case{"trailing_garbage", R"({"sub":"x"}x)", errc::bad_json},
        reject_case{"two_objects", R"({}{})", errc::bad_json},
        reject_case{"trailing_comma", R"({"sub":"x",})", errc::bad_json},
        reject_case{"single_quotes", R"({'sub':'x'})", errc::bad_json},
        reject_case{"control_char", "{\"sub\":\"a\tb\"}", errc::bad_json},
        reject_case{"bad_escape", R"({"sub":"\x"})", errc::bad_json},
        reject_case{"lone_high_surrogate", R"({"sub":"\ud800"})", errc::bad_json},
        reject_case{"lone_low_surrogate", R"({"sub":"\udc00"})", errc::bad_json},
        reject_case{"invalid_utf8", "{\"sub\":\"\xc3\x28\"}", errc::bad_json},
        reject_case{"overlong_utf8", "{\"sub\":\"\xc0\xaf\"}", errc::bad_json},
        reject_case{"utf8_surrogate", "{\"sub\":\"\xed\xa0\x80\"}", errc::bad_json},
        reject_case{"leading_zero", R"({"x":01})", errc::bad_json},
        reject_case{"bare_minus", R"({"x":-})", errc::bad_json},
        reject_case{"bad_literal", R"({"x":tru})", errc::bad_json},
        reject_case{"nan", R"({"x":NaN})", errc::bad_json},
        reject_case{"duplicate_sub", R"({"sub":"a","sub":"b"})", errc::duplicate_claim},
        reject_case{"duplicate_unknown", R"({"x":1,"x":1})", errc::duplicate_claim},
        reject_case{"duplicate_nested", R"({"x":{"a":1,"b":{"c":1,"c":2}}})", errc::duplicate_claim},
        reject_case{"duplicate_escaped", R"({"sub":"a","\u0073ub":"b"})", errc::duplicate_claim},
        reject_case{"duplicate_in_array_object", R"({"x":[{"a":1,"a":1}]})", errc::duplicate_claim},
        reject_case{"exp_string", R"({"exp":"1700000000"})", errc::wrong_claim_type},
        reject_case{"exp_fraction", R"({"exp":1700000000.5})", errc::bad_numeric_date},
        reject_case{"exp_exponent", R"({"exp":17e8})", errc::bad_numeric_date},
        reject_case{"exp_overflow", R"({"exp":9223372036854775808})", errc::bad_numeric_date},
        reject_case{"exp_underflow", R"({"exp":-9223372036854775809})", errc::bad_numeric_date},
        reject_case{"exp_huge", R"({"exp":99999999999999999999999})", errc::bad_numeric_date},
        reject_case{"iss_number", R"({"iss":1})", errc::wrong_claim_type},
        reject_case{"sub_null", R"({"sub":null})", errc::wrong_claim_type},
        reject_case{"aud_number", R"({"aud":1})", errc::wrong_claim_type},
        reject_case{"aud_array_of_numbers", R"({"aud":[1]})", errc::wrong_claim_type},
        reject_case{"permissions_string", R"({"permissions":"a b"})", errc::wrong_claim_type},
        reject_case{"roles_nested_array", R"({"roles":[["a"]]})", errc::wrong_claim_type},
        reject_case{"scope_array", R"({"scope":["a"]})", errc::wrong_claim_type},
        reject_case{"permissions_65", k65.c_str(), errc::too_many_entries},
        reject_case{"deep_nesting", deep.c_str(), errc::too_complex}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(Claims, SixtyFourEntriesFit) {
  auto p = parse(k64);
  ASSERT_EQ(p->e, errc::ok);
  EXPECT_EQ(p->c.permissions.size(), 64u);
}

TEST(Claims, ManyScopesOverLimit) {
  std::string s = R"({"scope":")";
  for (int i = 0; i < 65; ++i) s += "s ";
  s += "\"}";
  EXPECT_EQ(parse(s)->e, errc::too_many_entries);
}

}  // namespace
}  // namespace tollgate::crypto
