#include "codec/form.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tollgate::codec {
namespace {

using fields_t = std::vector<std::pair<std::string, std::string>>;

std::expected<fields_t, errc> parse(std::string_view in, flavour f, std::size_t max = 8) {
  std::string buffer(in.size(), '\0');
  std::vector<field> slots(max);
  const auto r = parse_fields(in, f, buffer, slots);
  if (!r) return std::unexpected(r.error());
  fields_t out;
  for (const auto& fl : *r) out.emplace_back(fl.name, fl.value);
  return out;
}

struct form_case {
  std::string input;
  flavour f;
  std::expected<fields_t, errc> want;
};
class ParseFields : public testing::TestWithParam<form_case> {};
TEST_P(ParseFields, Table) {
  const auto& c = GetParam();
  EXPECT_EQ(parse(c.input, c.f), c.want) << c.input;
}
const auto err = [](errc e) { return std::unexpected(e); };
using enum flavour;
INSTANTIATE_TEST_SUITE_P(
    Rfc, ParseFields,
    testing::Values(
        form_case{"token=abc.def.ghi", form, fields_t{{"token", "abc.def.ghi"}}},
        form_case{"token=a&token_type_hint=access_token", form,
                  fields_t{{"token", "a"}, {"token_type_hint", "access_token"}}},
        form_case{"", form, fields_t{}}, form_case{"&&", form, fields_t{}},
        form_case{"a=1&&b=2&", form, fields_t{{"a", "1"}, {"b", "2"}}},
        form_case{"flag", query, fields_t{{"flag", ""}}},
        form_case{"a=", query, fields_t{{"a", ""}}},
        form_case{"a==b", query, fields_t{{"a", "=b"}}},
        form_case{"q=a+b%20c", form, fields_t{{"q", "a b c"}}},
        form_case{"q=a+b%20c", query, fields_t{{"q", "a+b c"}}},
        form_case{"permission=machines%3Aread%3Aassigned", query,
                  fields_t{{"permission", "machines:read:assigned"}}},
        form_case{"%61%62=%00%ff", query, fields_t{{"ab", std::string("\0\xff", 2)}}},
        form_case{"k=%E2%82%AC", query, fields_t{{"k", "\xe2\x82\xac"}}},
        form_case{"a=%", query, err(errc::bad_percent)},
        form_case{"a=%4", query, err(errc::bad_percent)},
        form_case{"a=%4g", query, err(errc::bad_percent)},
        form_case{"a=%%41", query, err(errc::bad_percent)},
        form_case{"a=b c", query, err(errc::bad_char)},
        form_case{"a=\x01", query, err(errc::bad_char)},
        form_case{"a=\x7f", query, err(errc::bad_char)},
        form_case{"a=\xc3\xa9", query, err(errc::bad_char)},
        form_case{"=x", query, err(errc::empty_name)},
        form_case{"a=1&a=2", form, err(errc::duplicate_name)},
        form_case{"a=1&%61=2", form, err(errc::duplicate_name)},
        form_case{"a&a", form, err(errc::duplicate_name)}));

TEST(ParseFields, TooManyFields) {
  EXPECT_EQ(parse("a=1&b=2&c=3", flavour::form, 2), err(errc::too_many_fields));
  EXPECT_TRUE(parse("a=1&b=2", flavour::form, 2).has_value());
}

TEST(ParseFields, SmallBufferIsAnErrorNotAnOverflow) {
  std::string in = "name=value";
  std::vector<char> buffer(6);
  std::vector<field> slots(4);
  EXPECT_EQ(parse_fields(in, flavour::form, buffer, slots).error(), errc::buffer_too_small);
}

TEST(FindField, FindsByDecodedName) {
  std::string in = "token=t0k&token%5Ftype%5Fhint=refresh_token";
  std::string buffer(in.size(), '\0');
  field slots[4];
  const auto r = parse_fields(in, flavour::form, buffer, slots);
  ASSERT_TRUE(r.has_value());
  ASSERT_NE(find_field(*r, "token_type_hint"), nullptr);
  EXPECT_EQ(find_field(*r, "token_type_hint")->value, "refresh_token");
  EXPECT_EQ(find_field(*r, "missing"), nullptr);
}

TEST(Encode, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (auto f : {flavour::form, flavour::query}) {
    const std::string enc = encode(all, f);
    std::string out(enc.size(), '\0');
    EXPECT_EQ(percent_decode(enc, f, out), all);
  }
  EXPECT_EQ(encode("a b+c/~", flavour::form), "a+b%2Bc%2F~");
  EXPECT_EQ(encode("a b+c/~", flavour::query), "a%20b%2Bc%2F~");
}

TEST(FormErrc, EveryCodeHasAMessage) {
  for (auto e : {errc::ok, errc::bad_percent, errc::bad_char, errc::empty_name,
                 errc::duplicate_name, errc::too_many_fields, errc::buffer_too_small})
    EXPECT_FALSE(message_of(e).empty());
}

}  // namespace
}  // namespace tollgate::codec
