// tests/api/sessions_test.cc — login, refresh rotation and reuse, logout, sessions.
#include <gtest/gtest.h>

#include "tests/api/harness.h"

namespace tollgate::api {
namespace {

using testing::server;
namespace json = boost::json;
using namespace std::chrono_literals;

std::string str(const json::value& v, std::string_view k) {
  return std::string(v.at(k).as_string());
}

class Sessions : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_ = srv_.admin_token();
    ASSERT_FALSE(admin_.empty());
    auto r = srv_.call("POST", "/api/v1/security/users",
                       R"({"username":"sam","password":"sam-Pass-1234!"})", admin_);
    ASSERT_EQ(r.status, 201) << r.body;
    sam_id_ = str(r.json(), "user_id");
  }
  testing::reply refresh(std::string_view token) {
    return srv_.call("POST", "/api/v1/security/auth/refresh",
                     json::serialize(json::object{{"refresh_token", token}}));
  }
  int me(std::string_view token) { return srv_.call("GET", "/api/auth/me", {}, token).status; }
  server srv_{2};
  std::string admin_, sam_id_;
};

TEST_F(Sessions, LoginFailuresAre401AndUnknownUsersLookTheSame) {
  auto bad = srv_.call("POST", "/api/v1/security/auth/login", R"({"username":"sam","password":"x"})");
  auto unknown =
      srv_.call("POST", "/api/v1/security/auth/login", R"({"username":"nobody","password":"x"})");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(bad.body, unknown.body);
  EXPECT_EQ(srv_.call("POST", "/api/v1/security/auth/login", R"({"username":"sam"})").status, 400);
  auto tfa = srv_.call("POST", "/api/v1/security/auth/login",
                       R"({"username":"sam","password":"sam-Pass-1234!","two_factor_code":"123456"})");
  EXPECT_EQ(tfa.status, 200);  // sam has no 2FA: a code is not asked for (tests/api/security_test.cc)
  auto empty_code = srv_.call("POST", "/api/v1/security/auth/login",
                              R"({"username":"sam","password":"sam-Pass-1234!","two_factor_code":""})");
  EXPECT_EQ(empty_code.status, 200);
}

TEST_F(Sessions, RefreshRotatesAndReuseAfterGraceRevokesTheSession) {
  auto l = srv_.login("sam", "sam-Pass-1234!");
  ASSERT_TRUE(l.is_object());
  std::string r0 = str(l, "refresh_token");
  auto a = refresh(r0);
  ASSERT_EQ(a.status, 200) << a.body;
  std::string r1 = str(a.json(), "refresh_token");
  EXPECT_NE(r1, r0);
  EXPECT_EQ(str(a.json(), "session_id"), str(l, "session_id"));
  EXPECT_EQ(a.json().at("token_type"), "Bearer");
  // Within the grace period a retry with the spent token gets the same pair.
  auto retry = refresh(r0);
  ASSERT_EQ(retry.status, 200);
  EXPECT_EQ(str(retry.json(), "refresh_token"), r1);
  EXPECT_EQ(str(retry.json(), "access_token"), str(a.json(), "access_token"));
  std::string access = str(a.json(), "access_token");
  EXPECT_EQ(me(access), 200);
  // After the grace period, reuse of the spent token ends the whole session.
  srv_.advance(6s);
  EXPECT_EQ(refresh(r0).status, 401);
  EXPECT_EQ(refresh(r1).status, 401);
  EXPECT_EQ(me(access), 401);
  EXPECT_EQ(refresh("rt_unknown").status, 401);
}

TEST_F(Sessions, LogoutRevokesAtOnceOnEveryShard) {
  auto l = srv_.login("sam", "sam-Pass-1234!");
  std::string access = str(l, "access_token");
  // Fresh connections spread over both shards.
  for (int i = 0; i < 8; ++i) ASSERT_EQ(me(access), 200);
  auto out = srv_.call("POST", "/api/v1/security/auth/logout",
                       json::serialize(json::object{{"refresh_token", str(l, "refresh_token")}}));
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(out.json().at("status"), "revoked");
  for (int i = 0; i < 8; ++i) EXPECT_EQ(me(access), 401) << i;
  EXPECT_EQ(refresh(str(l, "refresh_token")).status, 401);
}

TEST_F(Sessions, LogoutWithBearerOnly) {
  std::string access = server::token_of(srv_.login("sam", "sam-Pass-1234!"));
  auto out = srv_.call("POST", "/api/v1/security/auth/logout", {}, access);
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(me(access), 401);
  EXPECT_EQ(srv_.call("POST", "/api/v1/security/auth/logout", {}, {}).status, 401);
}

TEST_F(Sessions, ListRevokeAndRevokeAll) {
  auto l1 = srv_.login("sam", "sam-Pass-1234!");
  auto l2 = srv_.login("sam", "sam-Pass-1234!");
  std::string t1 = str(l1, "access_token"), t2 = str(l2, "access_token");
  auto list = srv_.call("GET", "/api/v1/security/users/" + sam_id_ + "/sessions", {}, t1);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.json().at("total"), 2);
  auto s0 = list.json().at("sessions").as_array()[0].as_object();
  for (auto k : {"session_id", "created_at", "last_activity", "ip_address", "user_agent", "location"})
    EXPECT_TRUE(s0.contains(k)) << k;
  EXPECT_EQ(s0.at("ip_address"), "127.0.0.1");
  EXPECT_EQ(s0.at("user_agent"), "api-test");

  std::string sid2 = str(l2, "session_id");
  auto d = srv_.call("DELETE", "/api/v1/security/sessions/" + sid2, {}, t1);
  ASSERT_EQ(d.status, 200) << d.body;
  auto d2 = srv_.call("DELETE", "/api/v1/security/sessions/" + sid2, {}, t1);
  EXPECT_EQ(d2.body, d.body);  // repeatable
  EXPECT_EQ(me(t2), 401);
  EXPECT_EQ(me(t1), 200);
  EXPECT_EQ(srv_.call("DELETE", "/api/v1/security/sessions/ses_nope", {}, t1).status, 404);

  auto all = srv_.call("POST", "/api/v1/security/users/" + sam_id_ + "/sessions/revoke-all", {}, admin_);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.json().at("revoked_sessions"), 1);
  EXPECT_EQ(me(t1), 401);
}

TEST_F(Sessions, MaxSessionsEvictsTheOldest) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 6; ++i) tokens.push_back(server::token_of(srv_.login("sam", "sam-Pass-1234!")));
  EXPECT_EQ(me(tokens[0]), 401);  // default max_sessions = 5
  for (int i = 1; i < 6; ++i) EXPECT_EQ(me(tokens[i]), 200) << i;
}

TEST_F(Sessions, SessionPolicyComesFromStoredSettings) {
  policy::security_settings settings;
  settings.session.max_sessions = 2;
  ASSERT_TRUE(srv_.db().write([&](store::write_txn& t) {
    return t.put_meta(settings_meta_key, policy::serialize(settings));
  }));
  std::vector<std::string> tokens;
  for (int i = 0; i < 3; ++i) tokens.push_back(server::token_of(srv_.login("sam", "sam-Pass-1234!")));
  EXPECT_EQ(me(tokens[0]), 401);
  EXPECT_EQ(me(tokens[1]), 200);
  EXPECT_EQ(me(tokens[2]), 200);
}

TEST_F(Sessions, IdleTimeoutEndsTheSession) {
  std::string access = server::token_of(srv_.login("sam", "sam-Pass-1234!"));
  srv_.advance(29min);
  EXPECT_EQ(me(access), 200);  // activity: the idle clock restarts
  srv_.advance(29min);
  EXPECT_EQ(me(access), 200);
  srv_.advance(31min);
  EXPECT_EQ(me(access), 401);
}

TEST_F(Sessions, DeactivationAndRoleChangeApplyAtOnce) {
  std::string access = server::token_of(srv_.login("sam", "sam-Pass-1234!"));
  std::string check = "/api/v1/security/users/" + sam_id_ + "/permissions/bots.use";
  auto c = srv_.call("GET", check, {}, access);
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.json().at("granted"), true);
  EXPECT_EQ(c.json().at("source"), "role:user");
  ASSERT_EQ(srv_.call("POST", "/api/v1/security/roles",
                      R"({"role_id":"viewer","name":"Viewer","permissions":["docs.read"]})", admin_)
                .status,
            201);
  ASSERT_EQ(srv_.call("POST", "/api/v1/security/users/" + sam_id_ + "/roles", R"({"role_id":"viewer"})",
                      admin_)
                .status,
            200);
  for (int i = 0; i < 4; ++i) {
    auto after = srv_.call("GET", check, {}, access);
    EXPECT_EQ(after.json().at("granted"), false) << i;
    EXPECT_TRUE(after.json().at("source").is_null());
  }
  ASSERT_EQ(srv_.call("DELETE", "/api/v1/security/users/" + sam_id_, {}, admin_).status, 200);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(me(access), 401) << i;
}

}  // namespace
}  // namespace tollgate::api
