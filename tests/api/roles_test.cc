// tests/api/roles_test.cc — roles, role assignment, permission checks, groups, and
// the authorization matrix.
#include <gtest/gtest.h>

#include "tests/api/harness.h"

namespace tollgate::api {
namespace {

using testing::server;
namespace json = boost::json;

std::string str(const json::value& v, std::string_view k) { return std::string(v.at(k).as_string()); }

class Roles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    srv_ = new server(2);
    admin_ = srv_->admin_token();
    for (auto name : {"plain", "other"}) {
      auto r = srv_->call("POST", "/api/v1/security/users",
                          json::serialize(json::object{{"username", name}, {"password", "Pw-123456-abc!"}}),
                          admin_);
      ids_.push_back(str(r.json(), "user_id"));
    }
    plain_ = server::token_of(srv_->login("plain", "Pw-123456-abc!"));
  }
  static void TearDownTestSuite() { delete srv_; }
  static server* srv_;
  static std::string admin_, plain_;
  static std::vector<std::string> ids_;
};
server* Roles::srv_ = nullptr;
std::string Roles::admin_, Roles::plain_;
std::vector<std::string> Roles::ids_;

TEST_F(Roles, BuiltinsAsInTheReference) {
  auto r = srv_->call("GET", "/api/v1/security/roles", {}, plain_);
  ASSERT_EQ(r.status, 200) << r.body;
  auto roles = r.json().at("roles").as_array();
  ASSERT_GE(roles.size(), 2u);
  EXPECT_EQ(roles[0].at("role_id"), "admin");
  EXPECT_EQ(roles[0].at("name"), "Administrator");
  EXPECT_EQ(roles[0].at("permissions"),
            (json::value(json::array{"users.manage", "bots.manage", "system.configure"})));
  EXPECT_EQ(roles[1].at("role_id"), "user");
  EXPECT_EQ(roles[1].at("permissions"), (json::value(json::array{"bots.use", "profile.edit"})));
}

TEST_F(Roles, CustomRoleLifecycle) {
  auto c = srv_->call("POST", "/api/v1/security/roles",
                      R"({"role_id":"ops","name":"Operations","permissions":["machines:*","bots.use"]})",
                      admin_);
  ASSERT_EQ(c.status, 201) << c.body;
  EXPECT_EQ(srv_->call("POST", "/api/v1/security/roles", R"({"role_id":"ops","name":"Again"})", admin_).status,
            409);
  EXPECT_EQ(srv_->call("POST", "/api/v1/security/roles", R"({"role_id":"Bad Id","name":"x"})", admin_).status,
            400);
  auto badperm = srv_->call("POST", "/api/v1/security/roles",
                            R"({"role_id":"bp","name":"x","permissions":["ok.one","bo*"]})", admin_);
  EXPECT_EQ(badperm.status, 400);
  EXPECT_NE(badperm.body.find("permissions[1]"), std::string::npos) << badperm.body;

  std::string uid = ids_[1];
  ASSERT_EQ(srv_->call("POST", "/api/v1/security/users/" + uid + "/roles", R"({"role_id":"ops"})", admin_)
                .status,
            200);
  auto check = srv_->call("GET", "/api/v1/security/users/" + uid + "/permissions/machines:read:assigned", {},
                          admin_);
  EXPECT_EQ(check.json().at("granted"), true) << check.body;
  EXPECT_EQ(check.json().at("source"), "role:ops");
  // 409 while assigned.
  auto busy = srv_->call("DELETE", "/api/v1/security/roles/ops", {}, admin_);
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(busy.json().at("error"), "conflict");
  auto patched = srv_->call("PATCH", "/api/v1/security/roles/ops", R"({"permissions":["bots.use"]})", admin_);
  ASSERT_EQ(patched.status, 200) << patched.body;
  auto after = srv_->call("GET", "/api/v1/security/users/" + uid + "/permissions/machines:read:assigned", {},
                          admin_);
  EXPECT_EQ(after.json().at("granted"), false);
  ASSERT_EQ(srv_->call("POST", "/api/v1/security/users/" + uid + "/roles", R"({"role_id":"user"})", admin_)
                .status,
            200);
  EXPECT_EQ(srv_->call("DELETE", "/api/v1/security/roles/ops", {}, admin_).status, 204);
  EXPECT_EQ(srv_->call("DELETE", "/api/v1/security/roles/ops", {}, admin_).status, 404);
  EXPECT_EQ(srv_->call("DELETE", "/api/v1/security/roles/admin", {}, admin_).status, 403);
  EXPECT_EQ(srv_->call("PATCH", "/api/v1/security/roles/user", R"({"name":"x"})", admin_).status, 403);
  EXPECT_EQ(srv_->call("POST", "/api/v1/security/users/" + uid + "/roles", R"({"role_id":"nope"})", admin_)
                .status,
            400);
}

TEST_F(Roles, GroupsAddPermissionsWithSource) {
  auto g = srv_->call("POST", "/api/v1/security/groups",
                      R"({"name":"support_team","description":"Customer support team","permissions":["tickets.manage","kb.edit"]})",
                      admin_);
  ASSERT_EQ(g.status, 201) << g.body;
  auto gj = g.json();
  for (auto k : {"group_id", "name", "description", "permissions", "created_at"})
    EXPECT_TRUE(gj.as_object().contains(k)) << k;
  std::string gid = str(gj, "group_id");
  EXPECT_TRUE(gid.starts_with("grp_"));
  EXPECT_EQ(srv_->call("POST", "/api/v1/security/groups", R"({"name":"Support_Team"})", admin_).status, 409);

  std::string uid = ids_[0];
  std::string check = "/api/v1/security/users/" + uid + "/permissions/kb.edit";
  EXPECT_EQ(srv_->call("GET", check, {}, plain_).json().at("granted"), false);
  auto add = srv_->call("POST", "/api/v1/security/groups/" + gid + "/members",
                        json::serialize(json::object{{"user_id", uid}}), admin_);
  ASSERT_EQ(add.status, 200) << add.body;
  auto yes = srv_->call("GET", check, {}, plain_);
  EXPECT_EQ(yes.json().at("granted"), true);
  EXPECT_EQ(yes.json().at("source"), "group:support_team");
  auto byname = srv_->call("GET", "/api/v1/security/users?group=support_team", {}, admin_);
  EXPECT_EQ(byname.json().at("total"), 1);
  EXPECT_EQ(srv_->call("DELETE", "/api/v1/security/groups/" + gid + "/members/" + uid, {}, admin_).status, 204);
  EXPECT_EQ(srv_->call("GET", check, {}, plain_).json().at("granted"), false);
  EXPECT_EQ(srv_->call("POST", "/api/v1/security/groups/grp_nope/members",
                       json::serialize(json::object{{"user_id", uid}}), admin_)
                .status,
            404);
  EXPECT_EQ(srv_->call("POST", "/api/v1/security/groups/" + gid + "/members", R"({"user_id":"usr_nope"})",
                       admin_)
                .status,
            400);
  EXPECT_EQ(srv_->call("GET", "/api/v1/security/users/" + uid + "/permissions/bo*", {}, admin_).status, 400);
}

// A plain user reaching others' data, role assignment, settings or group
// membership gets 403; without a token every route is 401.
TEST_F(Roles, AuthorizationMatrix) {
  std::string other = ids_[1], self = ids_[0];
  struct call {
    const char* method;
    std::string path;
    const char* body;
  };
  std::vector<call> forbidden = {
      {"GET", "/api/v1/security/users", ""},
      {"POST", "/api/v1/security/users", R"({"username":"sneaky"})"},
      {"GET", "/api/v1/security/users/" + other, ""},
      {"PATCH", "/api/v1/security/users/" + other, R"({"full_name":"x"})"},
      {"PATCH", "/api/v1/security/users/" + self, R"({"role":"admin"})"},
      {"PATCH", "/api/v1/security/users/" + self, R"({"status":"active"})"},
      {"DELETE", "/api/v1/security/users/" + other, ""},
      {"POST", "/api/v1/security/users/" + self + "/roles", R"({"role_id":"admin"})"},
      {"POST", "/api/v1/security/users/" + other + "/roles", R"({"role_id":"admin"})"},
      {"GET", "/api/v1/security/users/" + other + "/permissions/bots.use", ""},
      {"GET", "/api/v1/security/users/" + other + "/sessions", ""},
      {"POST", "/api/v1/security/users/" + other + "/sessions/revoke-all", ""},
      {"POST", "/api/v1/security/roles", R"({"role_id":"r","name":"r"})"},
      {"PATCH", "/api/v1/security/roles/user", R"({"name":"r"})"},
      {"DELETE", "/api/v1/security/roles/user", ""},
      {"POST", "/api/v1/security/groups", R"({"name":"g"})"},
      {"GET", "/api/v1/security/groups", ""},
      {"POST", "/api/v1/security/groups/grp_x/members", R"({"user_id":"usr_x"})"},
      {"DELETE", "/api/v1/security/groups/grp_x/members/usr_x", ""},
  };
  for (auto& c : forbidden) {
    auto r = srv_->call(c.method, c.path, c.body, plain_);
    EXPECT_EQ(r.status, 403) << c.method << " " << c.path << " " << r.body;
    if (r.status == 403) {
      EXPECT_EQ(r.json().at("error"), "forbidden");
    }
    auto anon = srv_->call(c.method, c.path, c.body);
    EXPECT_EQ(anon.status, 401) << c.method << " " << c.path;
  }
  // An admin's session of another user is not reachable by DELETE /sessions either.
  auto al = srv_->login("admin", testing::admin_password);
  EXPECT_EQ(srv_->call("DELETE", "/api/v1/security/sessions/" + str(al, "session_id"), {}, plain_).status, 403);
  // What a plain user may do on itself.
  EXPECT_EQ(srv_->call("GET", "/api/v1/security/users/" + self, {}, plain_).status, 200);
  EXPECT_EQ(srv_->call("PATCH", "/api/v1/security/users/" + self, R"({"full_name":"Me"})", plain_).status, 200);
  EXPECT_EQ(srv_->call("GET", "/api/v1/security/users/" + self + "/sessions", {}, plain_).status, 200);
  EXPECT_EQ(srv_->call("GET", "/api/v1/security/users/" + self + "/permissions/bots.use", {}, plain_).status,
            200);
  for (auto p : {"/api/auth/me", "/api/auth/permissions", "/api/auth/sessions", "/api/v1/security/roles"})
    EXPECT_EQ(srv_->call("GET", p, {}).status, 401) << p;
}

}  // namespace
}  // namespace tollgate::api
