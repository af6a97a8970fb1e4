// tests/api/openapi_test.cc — the OpenAPI document and the routes agree.
#include <gtest/gtest.h>

#include <set>

#include "tests/api/harness.h"

namespace tollgate::api {
namespace {

namespace json = boost::json;

std::string_view method_name(engine::method m) {
  switch (m) {
    case engine::method::get: return "get";
    case engine::method::head: return "head";
    case engine::method::post: return "post";
    case engine::method::put: return "put";
    case engine::method::patch: return "patch";
    case engine::method::delete_: return "delete";
    case engine::method::options: return "options";
    case engine::method::other: return "other";
  }
  return "other";
}

// Every route api registers is in the document, and every operation the document
// gives to api ("x-tollgate-owner": "api") is registered. Operations owned by other
// modules (hot path, engine) are checked by their own tests.
TEST(OpenApi, DocumentMatchesRegisteredRoutes) {
  boost::system::error_code ec;
  json::value doc = json::parse(openapi_document(), ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(doc.at("openapi"), "3.1.0");
  std::set<std::string> documented;
  for (auto& [path, item] : doc.at("paths").as_object()) {
    for (auto& [method, op] : item.as_object()) {
      auto* owner = op.as_object().if_contains("x-tollgate-owner");
      ASSERT_NE(owner, nullptr) << method << " " << path;
      if (*owner == "api") documented.insert(std::string(method) + " " + std::string(path));
    }
  }
  services svc;
  engine::route_table routes;
  register_routes(routes, svc);
  std::set<std::string> registered;
  for (auto& r : routes.routes()) {
    EXPECT_EQ(r.kind, engine::route_kind::slow) << r.pattern;
    registered.insert(std::string(method_name(r.verb)) + " " + r.pattern);
  }
  for (auto& r : registered) EXPECT_TRUE(documented.contains(r)) << "not in openapi.json: " << r;
  for (auto& d : documented) EXPECT_TRUE(registered.contains(d)) << "documented, not registered: " << d;
  EXPECT_GT(registered.size(), 25u);
}

TEST(OpenApi, ServedAtItsPath) {
  testing::server srv(1);
  auto r = srv.call("GET", "/api/v1/security/openapi.json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, openapi_document());
}

}  // namespace
}  // namespace tollgate::api
