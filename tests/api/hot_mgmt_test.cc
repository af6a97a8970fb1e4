// tests/api/hot_mgmt_test.cc — the hot routes beside the management API on one 2-shard
// server: tokens from /auth/login verify, and logout, a role change and deactivation
// made through the management API fail verification at once on every connection.
#include <gtest/gtest.h>

#include "api/hot.h"
#include "tests/api/harness.h"

namespace tollgate::api::testing {
namespace {

constexpr std::string_view verify = "/api/v1/security/auth/verify";

class HotMgmt : public ::testing::Test {
 protected:
  void SetUp() override {
    init_store(dir_.path(), hasher_);
    db_ = std::move(store::store::open(dir_.path()).value());
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    tokens_ = std::move(token_service::create(*db_, trust_, cfg_, now_s).value());
    svc_.db = db_.get();
    svc_.passwords = &hasher_;
    svc_.tokens = tokens_.get();
    svc_.cfg = cfg_;
    hot::hot_config hc;
    hc.verify_per_subject = *authz::make_rate(100000, std::chrono::seconds(1));
    hc.api_key_generation_per_user = *authz::make_rate(10, std::chrono::hours(24));
    hs_ = std::move(hot::make_hot_state(*db_, trust_, hc).value());
    engine::route_table routes;
    register_routes(routes, svc_);
    hot::register_hot_routes(routes, *hs_, hot::management_caller(svc_));
    engine::options o;
    o.port = 0;
    o.shards = 2;
    o.pin_shards = false;
    o.offload_threads = 2;
    o.hooks = hot::shard_hooks(*hs_);
    srv_ = std::move(engine::server::create(o, std::move(routes)).value());
    thread_ = std::thread([this] { srv_->run(); });
    for (int i = 0; i < 500 && http(port(), "GET", "/readyz").status != 200; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void TearDown() override {
    srv_->stop();
    thread_.join();
  }
  std::uint16_t port() const { return srv_->port(); }
  // verify_all asks /auth/verify on `n` fresh connections (spread over both shards)
  // and returns how many answered `status`.
  int verify_all(const std::string& token, int status, std::string_view query = {}, int n = 8) {
    int hits = 0;
    for (int i = 0; i < n; ++i)
      hits += http(port(), "GET", std::string(verify) + std::string(query), {}, token).status == status;
    return hits;
  }
  std::string login(std::string_view user, std::string_view password) {
    json::object b{{"username", user}, {"password", password}};
    auto r = http(port(), "POST", "/api/v1/security/auth/login", json::serialize(b));
    if (r.status != 200) return "";
    return std::string(r.json().at("access_token").as_string());
  }

  temp_dir dir_;
  crypto::password::hasher hasher_{test_costs};
  api::config cfg_;
  std::unique_ptr<store::store> db_;
  crypto::trust_store trust_;
  std::unique_ptr<token_service> tokens_;
  services svc_;
  hot::hot_state_ptr hs_;
  std::unique_ptr<engine::server> srv_;
  std::thread thread_;
};

TEST_F(HotMgmt, LoginTokenVerifiesAndRevocationsHoldEverywhere) {
  const std::string admin = login("admin", admin_password);
  ASSERT_FALSE(admin.empty());
  EXPECT_EQ(verify_all(admin, 200, "?permission=users.manage"), 8);

  auto made = http(port(), "POST", "/api/v1/security/users",
                   R"({"username":"alice","email":"alice@example.com","password":"Alice-Password-1"})", admin);
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string alice_id(made.json().at("user_id").as_string());
  const std::string alice = login("alice", "Alice-Password-1");
  ASSERT_FALSE(alice.empty());
  EXPECT_EQ(verify_all(alice, 200, "?permission=bots.use"), 8);
  EXPECT_EQ(verify_all(alice, 403, "?permission=users.manage"), 8);

  // Role change through the management API: permissions follow at once.
  auto r = http(port(), "POST", "/api/v1/security/users/" + alice_id + "/roles", R"({"role_id":"admin"})", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(verify_all(alice, 200, "?permission=users.manage"), 8);
  EXPECT_EQ(verify_all(alice, 403, "?permission=bots.use"), 8);

  // An API key of alice, made through the route, works until alice is deactivated.
  r = http(port(), "POST", "/api/auth/api-keys", R"({"name":"ci"})", alice);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string key(r.json().at("api_key").at("key").as_string());
  EXPECT_EQ(verify_all(key, 200), 8);

  // Logout revokes the session of that token only.
  const std::string alice2 = login("alice", "Alice-Password-1");
  r = http(port(), "POST", "/api/v1/security/auth/logout", {}, alice);
  ASSERT_TRUE(r.status == 200 || r.status == 204) << r.status << r.body;
  EXPECT_EQ(verify_all(alice, 401), 8);
  EXPECT_EQ(verify_all(alice2, 200), 8);

  // Deactivation: every token and key of the user fails at once.
  r = http(port(), "DELETE", "/api/v1/security/users/" + alice_id, {}, admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(verify_all(alice2, 401), 8);
  EXPECT_EQ(verify_all(key, 401), 8);
}

// Regression: API users made through the management API were not enforced on the hot
// path, which read the ranges from a record only tests wrote.
TEST_F(HotMgmt, ApiUserRangesSetThroughTheApiHoldOnVerify) {
  const std::string admin = login("admin", admin_password);
  ASSERT_FALSE(admin.empty());
  auto made = http(port(), "POST", "/api/v1/security/users",
                   R"({"username":"robot","email":"robot@example.com","password":"Robot-Password-1",)"
                   R"("api_user":true,"allowed_ips":["10.0.0.0/8"]})",
                   admin);
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string robot_id(made.json().at("user_id").as_string());
  auto r = http(port(), "POST", "/api/v1/security/users/" + robot_id + "/api-keys", R"({"name":"ci"})", admin);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string key(r.json().at("api_key").as_string());

  // The test connects from 127.0.0.1, outside 10.0.0.0/8.
  EXPECT_EQ(verify_all(key, 403), 8);
  r = http(port(), "PATCH", "/api/v1/security/users/" + robot_id, R"({"allowed_ips":"10.0.0.0/8, 127.0.0.1"})", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(verify_all(key, 200), 8);
  r = http(port(), "PATCH", "/api/v1/security/users/" + robot_id, R"({"api_user":false})", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(verify_all(key, 200), 8);
  r = http(port(), "PATCH", "/api/v1/security/users/" + robot_id, R"({"api_user":true,"allowed_ips":[]})", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(verify_all(key, 403), 8);
}

}  // namespace
}  // namespace tollgate::api::testing
