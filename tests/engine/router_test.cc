// tests/engine/router_test.cc — engine/router.cc.
#include "engine/router.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace tollgate::engine {
namespace {

route_table table_of(std::initializer_list<std::pair<method, const char*>> routes) {
  route_table t;
  for (auto [m, p] : routes) t.add(m, p, route_kind::hot, [](const request&, response&) {});
  return t;
}

const route_table& shared_table() {
  static const route_table t = table_of({
      {method::get, "/"},
      {method::get, "/healthz"},
      {method::get, "/api/v1/security/users"},
      {method::post, "/api/v1/security/users"},
      {method::get, "/api/v1/security/users/me"},
      {method::get, "/api/v1/security/users/{id}"},
      {method::patch, "/api/v1/security/users/{id}"},
      {method::delete_, "/api/v1/security/users/{id}"},
      {method::get, "/api/v1/security/users/{id}/permissions/{permission}"},
      {method::delete_, "/api/v1/security/groups/{id}/members/{uid}"},
      {method::post, "/oauth2/introspect"},
      {method::head, "/only-head"},
      {method::get, "/a/{x}/c"},
      {method::get, "/a/b/d"},
      {method::options, "/trailing/"},
  });
  return t;
}

struct find_case {
  const char* name;
  method verb;
  std::string path;
  int status;
  std::string pattern;              // of the matched route, when 200
  std::vector<std::string> params;  // when 200
  std::string allow;                // when 405
};
void PrintTo(const find_case& c, std::ostream* os) { *os << c.name; }
class FindTest : public ::testing::TestWithParam<find_case> {};

TEST_P(FindTest, Matches) {
  const find_case& c = GetParam();
  static const router r(shared_table());
  std::array<std::string_view, 4> params;
  const router::match m = r.find(c.verb, c.path, params);
  EXPECT_EQ(m.status, c.status);
  if (c.status == 200) {
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->pattern, c.pattern);
    ASSERT_EQ(m.param_count, c.params.size());
    for (std::size_t i = 0; i < c.params.size(); ++i) EXPECT_EQ(params[i], c.params[i]);
  } else {
    EXPECT_EQ(m.route, nullptr);
  }
  if (c.status == 405) {
    EXPECT_EQ(m.allow, c.allow);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Router, FindTest,
    ::testing::Values(
        find_case{"root", method::get, "/", 200, "/", {}, ""},
        find_case{"static", method::get, "/healthz", 200, "/healthz", {}, ""},
        find_case{"head_matches_get", method::head, "/healthz", 200, "/healthz", {}, ""},
        find_case{"head_only_route", method::head, "/only-head", 200, "/only-head", {}, ""},
        find_case{"get_on_head_only", method::get, "/only-head", 405, "", {}, "HEAD"},
        find_case{"post_users", method::post, "/api/v1/security/users", 200, "/api/v1/security/users", {}, ""},
        find_case{"static_beats_param", method::get, "/api/v1/security/users/me", 200, "/api/v1/security/users/me",
                  {}, ""},
        find_case{"param_when_static_lacks_method", method::delete_, "/api/v1/security/users/me", 200,
                  "/api/v1/security/users/{id}", {"me"}, ""},
        find_case{"param", method::get, "/api/v1/security/users/usr_1", 200, "/api/v1/security/users/{id}",
                  {"usr_1"}, ""},
        find_case{"two_params", method::get, "/api/v1/security/users/u1/permissions/bots.use", 200,
                  "/api/v1/security/users/{id}/permissions/{permission}", {"u1", "bots.use"}, ""},
        find_case{"backtrack", method::get, "/a/b/c", 200, "/a/{x}/c", {"b"}, ""},
        find_case{"no_backtrack_needed", method::get, "/a/b/d", 200, "/a/b/d", {}, ""},
        find_case{"trailing_slash_route", method::options, "/trailing/", 200, "/trailing/", {}, ""},
        find_case{"trailing_slash_differs", method::get, "/healthz/", 404, "", {}, ""},
        find_case{"missing_trailing_slash", method::options, "/trailing", 404, "", {}, ""},
        find_case{"empty_param_does_not_match", method::get, "/api/v1/security/users//permissions/x", 404, "", {}, ""},
        find_case{"no_decoding", method::get, "/health%7A", 404, "", {}, ""},
        find_case{"case_sensitive", method::get, "/HEALTHZ", 404, "", {}, ""},
        find_case{"unknown", method::get, "/nope", 404, "", {}, ""},
        find_case{"too_deep", method::get, "/healthz/x", 404, "", {}, ""},
        find_case{"not_origin_form", method::options, "*", 404, "", {}, ""},
        find_case{"empty", method::get, "", 404, "", {}, ""},
        find_case{"method_not_allowed_static", method::put, "/healthz", 405, "", {}, "GET, HEAD"},
        find_case{"method_not_allowed_collection", method::delete_, "/api/v1/security/users", 405, "", {},
                  "GET, HEAD, POST"},
        // The Allow set is the union of every route the path could match.
        find_case{"allow_union_static_and_param", method::put, "/api/v1/security/users/me", 405, "", {},
                  "GET, HEAD, PATCH, DELETE"},
        find_case{"unknown_method_405", method::other, "/oauth2/introspect", 405, "", {}, "POST"}),
    [](const ::testing::TestParamInfo<find_case>& i) { return std::string(i.param.name); });

TEST(Router, TooManyParamsDoesNotMatch) {
  const route_table t = table_of({{method::get, "/x/{a}/{b}"}});
  const router r(t);
  std::array<std::string_view, 1> one;
  EXPECT_EQ(r.find(method::get, "/x/1/2", one).status, 404);
  std::array<std::string_view, 2> two;
  const auto m = r.find(method::get, "/x/1/2", two);
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(two[1], "2");
}

TEST(Router, EmptyTable) {
  const route_table t;
  const router r(t);
  EXPECT_EQ(r.find(method::get, "/", {}).status, 404);
}

using RouterDeathTest = ::testing::Test;

TEST_F(RouterDeathTest, DuplicateAborts) {
  const route_table t = table_of({{method::get, "/users/{id}"}, {method::get, "/users/{user}"}});
  EXPECT_DEATH(router{t}, "route registered twice: GET /users/\\{user\\}");
}

TEST_F(RouterDeathTest, BadPatternsAbort) {
  EXPECT_DEATH(router{table_of({{method::get, "users"}})}, "must start with '/'");
  EXPECT_DEATH(router{table_of({{method::get, "/a{b}"}})}, "inside a segment");
  EXPECT_DEATH(router{table_of({{method::get, "/a/{}"}})}, "empty parameter name");
}

TEST(Router, SameMethodDifferentShapesCoexist) {
  const route_table t = table_of({{method::get, "/users/{id}"}, {method::get, "/users/{id}/x"}});
  const router r(t);
  std::array<std::string_view, 2> p;
  EXPECT_EQ(r.find(method::get, "/users/1/x", p).route->pattern, "/users/{id}/x");
  EXPECT_EQ(r.find(method::get, "/users/1", p).route->pattern, "/users/{id}");
}

}  // namespace
}  // namespace tollgate::engine
