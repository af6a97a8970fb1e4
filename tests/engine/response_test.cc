// tests/engine/response_test.cc — response building, request accessors, addresses.
#include "engine/engine.h"

#include <gtest/gtest.h>

namespace tollgate::engine {
namespace {

TEST(response, add_header_drops_names_and_values_that_could_split_the_head) {
  response r;
  r.add_header("X-Ok", "fine");
  r.add_header("X-Bad", "a\r\nSet-Cookie: x");
  r.add_header("Bad Name", "v");
  r.add_header("", "v");
  EXPECT_EQ(r.header_block(), "X-Ok: fine\r\n");
}

TEST(response, reset_clears_everything) {
  response r;
  r.set_status(404);
  r.add_header("A", "b");
  r.set_body("text/plain", "body");
  r.close_connection();
  r.stream("text/plain", [](std::string&) { return false; });
  r.reset();
  EXPECT_EQ(r.status(), 200);
  EXPECT_TRUE(r.header_block().empty());
  EXPECT_TRUE(r.body_view().empty());
  EXPECT_TRUE(r.content_type().empty());
  EXPECT_FALSE(r.closes());
  EXPECT_FALSE(static_cast<bool>(r.streamer()));
}

TEST(request, header_lookup_is_case_insensitive) {
  const header hs[] = {{"Host", "a"}, {"X-Api-Key", "k1"}, {"x-api-key", "k2"}};
  request q;
  q.headers = hs;
  EXPECT_EQ(q.header_value("x-API-key"), "k1");
  EXPECT_TRUE(q.has_header("HOST"));
  EXPECT_FALSE(q.has_header("Authorization"));
  EXPECT_EQ(q.header_value("Authorization"), "");
}

struct address_case {
  std::array<std::uint8_t, 16> bytes;
  bool v4;
  const char* text;
};

class ip_address_test : public ::testing::TestWithParam<address_case> {};

TEST_P(ip_address_test, to_string) {
  ip_address a;
  a.bytes = GetParam().bytes;
  a.is_v4 = GetParam().v4;
  EXPECT_EQ(a.to_string(), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(
    cases, ip_address_test,
    ::testing::Values(
        address_case{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}, true, "127.0.0.1"},
        address_case{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, false, "::1"},
        address_case{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1}, false, "2001:db8::1:0:0:1"},
        address_case{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3}, true, "10.1.2.3"}));

}  // namespace
}  // namespace tollgate::engine
