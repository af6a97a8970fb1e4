// tests/api/self_service_test.cc — /api/auth/* in the industrial reference's shapes.
#include <gtest/gtest.h>

#include "tests/api/harness.h"

namespace tollgate::api {
namespace {

using testing::server;
namespace json = boost::json;

TEST(SelfService, RegistrationClosedByDefault) {
  server srv(1);
  auto r = srv.call("POST", "/api/auth/register",
                    R"({"username":"maint","email":"m@example.com","password":"Pw-123456-abc!"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json().at("error"), "registration_closed");
}

TEST(SelfService, RegisterLoginMePermissionsSessions) {
  config cfg;
  cfg.registration_open = true;
  server srv(2, cfg);
  auto reg = srv.call("POST", "/api/auth/register",
                      R"({"username":"maintenance_tech_456","email":"jane@example.com","password":"SecurePass2024!",
                          "full_name":"Jane Technician","user_type":"technician","department":"maintenance",
                          "employee_id":"EMP-2024-456","phone":"+1-555-0123"})");
  ASSERT_EQ(reg.status, 201) << reg.body;
  EXPECT_EQ(reg.json().at("user").at("department"), "maintenance");
  EXPECT_EQ(reg.json().at("user").at("status"), "active");
  EXPECT_EQ(srv.call("POST", "/api/auth/register",
                     R"({"username":"maintenance_tech_456","email":"x@example.com","password":"SecurePass2024!"})")
                .status,
            409);
  auto weak = srv.call("POST", "/api/auth/register",
                       R"({"username":"weakling","email":"w@example.com","password":"password1"})");
  EXPECT_EQ(weak.status, 400);  // the password policy holds for self-registration too
  EXPECT_NE(weak.body.find("password: password must be at least 12 characters"), std::string::npos)
      << weak.body;
  EXPECT_EQ(srv.call("POST", "/api/auth/register", R"({"username":"u","email":"x@example.com","password":"pw","role":"admin"})")
                .status,
            400);  // no choosing one's role

  auto l = srv.call("POST", "/api/auth/login",
                    R"({"username":"maintenance_tech_456","password":"SecurePass2024!","remember_me":true})");
  ASSERT_EQ(l.status, 200) << l.body;
  auto lj = l.json().as_object();
  EXPECT_EQ(lj.at("token_type"), "bearer");
  for (auto k : {"access_token", "refresh_token", "expires_in", "user"}) EXPECT_TRUE(lj.contains(k)) << k;
  auto u = lj.at("user").as_object();
  for (auto k : {"id", "username", "email", "full_name", "status", "is_system_admin", "mfa_enabled", "roles",
                 "created_at", "last_login"})
    EXPECT_TRUE(u.contains(k)) << k;
  EXPECT_EQ(u.at("is_system_admin"), false);
  EXPECT_EQ(u.at("roles").as_array()[0].at("id"), "user");
  std::string token(lj.at("access_token").as_string());

  auto me = srv.call("GET", "/api/auth/me", {}, token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json().at("user").at("employee_id"), "EMP-2024-456");
  EXPECT_EQ(me.json().at("permissions"), (json::value(json::array{"bots.use", "profile.edit"})));

  auto perms = srv.call("GET", "/api/auth/permissions", {}, token);
  ASSERT_EQ(perms.status, 200);
  EXPECT_EQ(perms.json().at("roles").as_array()[0].at("role_id"), "user");
  EXPECT_EQ(perms.json().at("roles").as_array()[0].at("role_name"), "User");

  auto ss = srv.call("GET", "/api/auth/sessions", {}, token);
  ASSERT_EQ(ss.status, 200) << ss.body;
  auto active = ss.json().at("active_sessions").as_array();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].at("is_current"), true);
  EXPECT_EQ(active[0].at("location").at("ip_address"), "127.0.0.1");
  EXPECT_TRUE(active[0].at("expires_at").is_string());
  EXPECT_EQ(ss.json().at("session_summary").at("total_active"), 1);

  auto bad = srv.call("POST", "/api/auth/login", R"({"username":"maintenance_tech_456","password":"nope"})");
  EXPECT_EQ(bad.status, 401);
  auto mfa = srv.call("POST", "/api/auth/login",
                      R"({"username":"maintenance_tech_456","password":"SecurePass2024!","mfa_token":"123456"})");
  EXPECT_EQ(mfa.status, 200);  // no 2FA enrolled: the code is not asked for (security_test.cc)
}

}  // namespace
}  // namespace tollgate::api
