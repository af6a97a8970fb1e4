// tests/api/users_test.cc — /users over real HTTP: create, list, get, patch, delete.
#include <gtest/gtest.h>

#include "tests/api/harness.h"

namespace tollgate::api {
namespace {

using testing::server;
namespace json = boost::json;

class Users : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    srv_ = new server(2);
    admin_.clear();
  }
  static void TearDownTestSuite() { delete srv_; }
  void SetUp() override {
    if (admin_.empty()) admin_ = srv_->admin_token();
    ASSERT_FALSE(admin_.empty());
  }
  testing::reply create(const json::object& body) {
    return srv_->call("POST", "/api/v1/security/users", json::serialize(body), admin_);
  }
  static server* srv_;
  static std::string admin_;
};
server* Users::srv_ = nullptr;
std::string Users::admin_;

TEST_F(Users, CreateWithoutPasswordIsPendingWithReferenceFields) {
  auto r = create({{"username", "johndoe"},
                   {"email", "john@example.com"},
                   {"full_name", "John Doe"},
                   {"role", "user"},
                   {"metadata", json::object{{"department", "Customer Service"}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto j = r.json().as_object();
  EXPECT_TRUE(j.at("user_id").as_string().starts_with("usr_"));
  EXPECT_EQ(j.at("username"), "johndoe");
  EXPECT_EQ(j.at("email"), "john@example.com");
  EXPECT_EQ(j.at("status"), "pending_activation");
  EXPECT_EQ(j.at("created_at").as_string().size(), 20u);  // 2024-01-15T10:00:00Z
  EXPECT_TRUE(j.at("created_at").as_string().ends_with("Z"));
  EXPECT_EQ(j.at("metadata").at("department"), "Customer Service");

  auto g = srv_->call("GET", "/api/v1/security/users/" + std::string(j.at("user_id").as_string()),
                      {}, admin_);
  ASSERT_EQ(g.status, 200) << g.body;
  auto u = g.json().as_object();
  for (auto k : {"user_id", "username", "email", "full_name", "role", "groups", "status",
                 "created_at", "last_login", "email_verified", "two_factor_enabled"})
    EXPECT_TRUE(u.contains(k)) << k;
  EXPECT_TRUE(u.at("last_login").is_null());
}

TEST_F(Users, CreateWithPasswordIsActiveAndCanLogIn) {
  auto r = create({{"username", "alice"}, {"password", "alice-Pass-123!"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json().at("status"), "active");
  auto l = srv_->login("ALICE", "alice-Pass-123!");  // usernames are case-insensitive
  ASSERT_TRUE(l.is_object());
  EXPECT_EQ(l.at("token_type"), "Bearer");
  EXPECT_EQ(l.at("expires_in"), 3600);
  EXPECT_EQ(l.at("user").at("username"), "alice");
  EXPECT_EQ(l.at("user").at("role"), "user");
  EXPECT_TRUE(l.at("session_id").as_string().starts_with("ses_"));
}

struct bad_create {
  const char* body;
  int status;
  const char* field;  // named in the message
};
class UsersBadCreate : public Users, public ::testing::WithParamInterface<bad_create> {};
TEST_P(UsersBadCreate, IsRejectedNamingTheField) {
  auto r = srv_->call("POST", "/api/v1/security/users", GetParam().body, admin_);
  EXPECT_EQ(r.status, GetParam().status) << r.body;
  auto j = r.json();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.at("error"), "invalid_request");
  EXPECT_NE(std::string(j.at("message").as_string()).find(GetParam().field), std::string::npos)
      << r.body;
}
INSTANTIATE_TEST_SUITE_P(
    Bodies, UsersBadCreate,
    ::testing::Values(bad_create{"{", 400, "body"}, bad_create{"[]", 400, "body"},
                      bad_create{R"({"email":"a@b.c"})", 400, "username"},
                      bad_create{R"({"username":7})", 400, "username"},
                      bad_create{R"({"username":"x","colour":"red"})", 400, "colour"},
                      bad_create{R"({"username":"x","email":"nope"})", 400, "email"},
                      bad_create{R"({"username":"has space"})", 400, "username"},
                      bad_create{R"({"username":"x","role":"emperor"})", 400, "role"},
                      bad_create{R"({"username":"x","groups":["nosuch"]})", 400, "groups[0]"},
                      bad_create{R"({"username":"x","groups":[1]})", 400, "groups"},
                      bad_create{R"({"username":"x","metadata":"m"})", 400, "metadata"},
                      bad_create{R"({"username":"x","password":""})", 400, "password"}));

TEST_F(Users, WrongContentTypeIs415) {
  auto r = testing::http(srv_->port(), "POST", "/api/v1/security/users", R"({"username":"ct"})",
                         admin_, "text/plain");
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(r.json().at("error"), "unsupported_media_type");
}

TEST_F(Users, DuplicateUsernameOrEmailIs409) {
  ASSERT_EQ(create({{"username", "dup"}, {"email", "dup@example.com"}}).status, 201);
  auto a = create({{"username", "DUP"}});
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.json().at("error"), "conflict");
  EXPECT_EQ(create({{"username", "dup2"}, {"email", "Dup@Example.com"}}).status, 409);
}

TEST_F(Users, ListFiltersPaginationAndLimits) {
  for (int i = 0; i < 5; ++i) {
    json::object b{{"username", "list" + std::to_string(i)}, {"full_name", "Lister Person"}};
    if (i % 2 == 0) b["password"] = "list-Pass-1234!";
    ASSERT_EQ(create(b).status, 201);
  }
  auto all = srv_->call("GET", "/api/v1/security/users?search=lister&limit=2&page=2", {}, admin_);
  ASSERT_EQ(all.status, 200) << all.body;
  auto j = all.json().as_object();
  EXPECT_EQ(j.at("total"), 5);
  EXPECT_EQ(j.at("page"), 2);
  EXPECT_EQ(j.at("limit"), 2);
  EXPECT_EQ(j.at("users").as_array().size(), 2u);
  for (auto k : {"user_id", "username", "email", "full_name", "role", "status"})
    EXPECT_TRUE(j.at("users").as_array()[0].as_object().contains(k)) << k;

  auto active = srv_->call("GET", "/api/v1/security/users?search=LISTER&status=active", {}, admin_);
  EXPECT_EQ(active.json().at("total"), 3);
  auto pending = srv_->call("GET", "/api/v1/security/users?search=lister&status=pending", {}, admin_);
  EXPECT_EQ(pending.json().at("total"), 2);
  auto admins = srv_->call("GET", "/api/v1/security/users?role=admin", {}, admin_);
  EXPECT_EQ(admins.json().at("total"), 1);
  auto dflt = srv_->call("GET", "/api/v1/security/users", {}, admin_);
  EXPECT_EQ(dflt.json().at("limit"), 20);

  for (auto q : {"limit=101", "limit=0", "page=0", "page=x", "status=sleeping", "bogus=1"}) {
    auto r = srv_->call("GET", std::string("/api/v1/security/users?") + q, {}, admin_);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
  }
}

TEST_F(Users, PatchAndStatusTransitions) {
  auto c = create({{"username", "patchme"}, {"password", "patch-Pass-1234!"}});
  ASSERT_EQ(c.status, 201);
  std::string id(c.json().at("user_id").as_string());
  std::string path = "/api/v1/security/users/" + id;
  auto p = srv_->call("PATCH", path, R"({"full_name":"John Smith","role":"admin"})", admin_);
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.json().at("full_name"), "John Smith");
  EXPECT_EQ(p.json().at("role"), "admin");
  auto d = srv_->call("PATCH", path, R"({"status":"deactivated"})", admin_);
  EXPECT_EQ(d.json().at("status"), "deactivated");
  EXPECT_TRUE(srv_->login("patchme", "patch-Pass-1234!").is_null());
  auto a = srv_->call("PATCH", path, R"({"status":"active"})", admin_);
  EXPECT_EQ(a.json().at("status"), "active");
  EXPECT_TRUE(srv_->login("patchme", "patch-Pass-1234!").is_object());
  EXPECT_EQ(srv_->call("PATCH", path, R"({"status":"pending_activation"})", admin_).status, 400);
  EXPECT_EQ(srv_->call("PATCH", path, R"({"username":"x"})", admin_).status, 400);
  EXPECT_EQ(srv_->call("PATCH", "/api/v1/security/users/usr_nope", R"({"full_name":"x"})", admin_).status,
            404);
}

TEST_F(Users, DeleteDeactivatesRepeatablyAndHardDeletes) {
  auto c = create({{"username", "deleteme"}, {"password", "delete-Pass-1234!"}});
  std::string id(c.json().at("user_id").as_string());
  std::string path = "/api/v1/security/users/" + id;
  auto d1 = srv_->call("DELETE", path, {}, admin_);
  ASSERT_EQ(d1.status, 200) << d1.body;
  EXPECT_EQ(d1.json().at("status"), "deactivated");
  EXPECT_TRUE(d1.json().at("deactivated_at").is_string());
  auto d2 = srv_->call("DELETE", path, {}, admin_);
  EXPECT_EQ(d2.status, 200);
  EXPECT_EQ(d2.body, d1.body);
  EXPECT_EQ(srv_->call("DELETE", path + "?hard=maybe", {}, admin_).status, 400);
  auto h = srv_->call("DELETE", path + "?hard=true", {}, admin_);
  ASSERT_EQ(h.status, 200);
  EXPECT_EQ(h.json(), (json::value(json::object{{"user_id", id}, {"status", "deleted"}})));
  EXPECT_EQ(srv_->call("GET", path, {}, admin_).status, 404);
  EXPECT_EQ(srv_->call("DELETE", path + "?hard=true", {}, admin_).status, 404);
  // The name is free again.
  EXPECT_EQ(create({{"username", "deleteme"}}).status, 201);
}

TEST_F(Users, NoTokenIs401WithErrorModel) {
  auto r = srv_->call("GET", "/api/v1/security/users");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json().at("error"), "unauthorized");
  EXPECT_TRUE(r.json().at("message").is_string());
  EXPECT_EQ(srv_->call("GET", "/api/v1/security/users", {}, "garbage.token.here").status, 401);
}

}  // namespace
}  // namespace tollgate::api
