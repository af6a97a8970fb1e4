// tests/api/verify_test.cc — /auth/verify, /auth/forward, /oauth2/introspect and the
// API key routes over real loopback HTTP on a 2-shard server.
#include <vector>

#include "codec/form.h"
#include "tests/api/hot_fixture.h"

namespace tollgate::testing {
namespace {

constexpr const char* verify_path = "/api/v1/security/auth/verify";
constexpr const char* forward_path = "/api/v1/security/auth/forward";

using headers = std::vector<std::pair<std::string, std::string>>;

headers bearer(const std::string& t) { return {{"Authorization", "Bearer " + t}}; }

class HotTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void TearDown() override { srv.stop(); }

  void start(api::hot::hot_config cfg) {
    cfg.forward_rules = {{"GET", "/bots/**", "bots.use"},
                         {"*", "/admin/**", "users.manage"},
                         {"POST", "/public/*", ""}};
    if (!cfg.verify_per_subject.enabled()) cfg.verify_per_subject = *authz::make_rate(100000, std::chrono::seconds(1));
    cfg.api_key_generation_per_user = *authz::make_rate(3, std::chrono::hours(24));
    srv.start(cfg);
    srv.add_user("usr_alice", "alice", "user", "ses_alice");
    srv.add_user("usr_bob", "bob", "admin", "ses_bob");
  }

  // each opens `n` connections (so requests reach both shards) and runs `fn` on each.
  template <class Fn>
  void each_connection(int n, Fn fn) {
    for (int i = 0; i < n; ++i) {
      client c(srv.port);
      ASSERT_TRUE(c.ok());
      fn(c);
    }
  }

  hot_server srv;
};

TEST_F(HotTest, OwnTokenVerifies) {
  const std::string t = srv.own_token("usr_alice", "ses_alice", "alice");
  each_connection(4, [&](client& c) {
    for (int i = 0; i < 3; ++i) {  // the second and third are cache hits
      auto r = c.request("GET", verify_path, bearer(t));
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_NE(r.body.find("\"valid\":true"), std::string::npos);
      EXPECT_NE(r.body.find("\"user_id\":\"usr_alice\""), std::string::npos);
      EXPECT_NE(r.body.find("\"username\":\"alice\""), std::string::npos);
      EXPECT_NE(r.body.find("\"permissions\":[\"bots.use\",\"profile.edit\"]"), std::string::npos) << r.body;
      // 1900000000 + 3600 s = 2030-03-17T18:46:40Z
      EXPECT_NE(r.body.find("\"expires_at\":\"2030-03-17T18:46:40Z\""), std::string::npos) << r.body;
    }
  });
}

TEST_F(HotTest, ExternalIssuerTokenVerifiesWithScopePermissions) {
  const std::string t = srv.ext_token("ext-user-1", "bots.use reports.read", 3600, {"ops"});
  client c(srv.port);
  auto r = c.request("GET", std::string(verify_path) + "?permission=reports.read", bearer(t));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"user_id\":\"ext-user-1\""), std::string::npos);
  EXPECT_NE(r.body.find("\"permissions\":[\"bots.use\",\"reports.read\"]"), std::string::npos) << r.body;
  r = c.request("GET", std::string(verify_path) + "?permission=users.manage", bearer(t));
  EXPECT_EQ(r.status, 403);
}

TEST_F(HotTest, KeySetChangeDropsCachedTokens) {
  const std::string t = srv.ext_token("ext-user-2", "bots.use");
  client c(srv.port);
  EXPECT_EQ(c.request("GET", verify_path, bearer(t)).status, 200);
  EXPECT_EQ(c.request("GET", verify_path, bearer(t)).status, 200);  // cached now
  auto other = crypto::signing_key::generate(crypto::alg::es256, 0);
  ASSERT_TRUE(other);
  ASSERT_EQ(srv.trust.replace_keys("corp-idp", {{other->kid(), *other->make_verifier()}}), crypto::errc::ok);
  auto r = c.request("GET", verify_path, bearer(t));
  EXPECT_EQ(r.status, 401) << r.body;
}

TEST_F(HotTest, PermissionGrantedAndDenied) {
  const std::string t = srv.own_token("usr_alice", "ses_alice", "alice");
  client c(srv.port);
  EXPECT_EQ(c.request("GET", std::string(verify_path) + "?permission=bots.use", bearer(t)).status, 200);
  auto r = c.request("GET", std::string(verify_path) + "?permission=users.manage", bearer(t));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("\"error\":\"forbidden\""), std::string::npos);
  // A wildcard request is not a permission name one can ask for.
  EXPECT_EQ(c.request("GET", std::string(verify_path) + "?permission=bots.*", bearer(t)).status, 400);
}

struct reject_case {
  const char* name;
  std::string (*make)(hot_server&);
  bool credential_given;
};

class RejectTest : public HotTest, public ::testing::WithParamInterface<reject_case> {};

TEST_P(RejectTest, Answers401WithChallenge) {
  const auto& rc = GetParam();
  const std::string tok = rc.make(srv);
  client c(srv.port);
  headers h;
  if (tok != "<none>") h = {{"Authorization", tok}};
  auto r = c.request("GET", verify_path, h);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("\"error\":\"unauthorized\""), std::string::npos) << r.body;
  EXPECT_EQ(r.header("www-authenticate"), rc.credential_given ? "Bearer error=\"invalid_token\"" : "Bearer");
}

std::string tamper(std::string t) {
  const auto dot = t.find('.');
  t[dot + 3] = t[dot + 3] == 'A' ? 'B' : 'A';
  return t;
}

INSTANTIATE_TEST_SUITE_P(
    Rejections, RejectTest,
    ::testing::Values(
        reject_case{"none", [](hot_server&) { return std::string("<none>"); }, false},
        reject_case{"garbage", [](hot_server&) { return std::string("Bearer abc.def"); }, true},
        reject_case{"basic_scheme", [](hot_server&) { return std::string("Digest x"); }, true},
        reject_case{"alg_none",
                    [](hot_server&) {
                      return std::string("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln");
                    },
                    true},
        reject_case{"tampered",
                    [](hot_server& s) { return "Bearer " + tamper(s.own_token("usr_alice", "ses_alice", "alice")); },
                    true},
        reject_case{"expired",
                    [](hot_server& s) { return "Bearer " + s.own_token("usr_alice", "ses_alice", "alice", -100); },
                    true},
        reject_case{"unknown_session",
                    [](hot_server& s) { return "Bearer " + s.own_token("usr_alice", "ses_nope", "alice"); },
                    true},
        reject_case{"session_of_other_user",
                    [](hot_server& s) { return "Bearer " + s.own_token("usr_alice", "ses_bob", "alice"); },
                    true},
        reject_case{"oversize",
                    [](hot_server&) { return "Bearer " + std::string(5000, 'a'); }, true},
        reject_case{"malformed_api_key", [](hot_server&) { return std::string("Bearer sk_live_zz"); }, true},
        reject_case{"unknown_api_key",
                    [](hot_server&) {
                      return std::string("Bearer sk_live_0123456789abcdef_") + std::string(43, 'A');
                    },
                    true}),
    [](const auto& p) { return std::string(p.param.name); });

TEST_F(HotTest, ApiKeyValidRevokedExpired) {
  const std::string inherit = srv.add_key("usr_alice", std::nullopt);
  const std::string narrow = srv.add_key("usr_alice", std::vector<std::string>{"bots.use"});
  const std::string expiring = srv.add_key("usr_alice", std::nullopt, test_now_ns() + 10'000'000'000LL);
  client c(srv.port);
  auto r = c.request("GET", verify_path, {{"X-API-Key", inherit}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"expires_at\":null"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"token_type\":\"api_key\""), std::string::npos);
  EXPECT_EQ(c.request("GET", std::string(verify_path) + "?permission=profile.edit", bearer(inherit)).status, 200);
  EXPECT_EQ(c.request("GET", std::string(verify_path) + "?permission=profile.edit", bearer(narrow)).status, 403);
  EXPECT_EQ(c.request("GET", std::string(verify_path) + "?permission=bots.use", bearer(narrow)).status, 200);
  EXPECT_EQ(c.request("GET", verify_path, bearer(expiring)).status, 200);

  // Wrong secret for a real key id.
  std::string wrong = inherit;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(c.request("GET", verify_path, bearer(wrong)).status, 401);

  // Expiry has no leeway: at the instant of expiry the key is refused.
  test_now_ns() += 10'000'000'000LL;
  r = c.request("GET", verify_path, bearer(expiring));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("www-authenticate"), "Bearer error=\"invalid_token\"");
  test_now_ns() -= 10'000'000'000LL;

  // Revoked through the management route: refused at once on every connection.
  const std::string key_id = inherit.substr(8, 16);
  auto d = c.request("DELETE", "/api/v1/security/api-keys/" + key_id, {{"X-Test-User", "usr_alice"}});
  EXPECT_EQ(d.status, 204);
  each_connection(8, [&](client& k) { EXPECT_EQ(k.request("GET", verify_path, bearer(inherit)).status, 401); });
  EXPECT_EQ(c.request("DELETE", "/api/v1/security/api-keys/" + key_id, {{"X-Test-User", "usr_alice"}}).status, 204);
}

// Revocation paths of own tokens: each store change (what logout, deactivation and a
// role change commit) is visible on every shard from the next request.
TEST_F(HotTest, RevocationIsImmediateOnEveryShard) {
  const std::string t = srv.own_token("usr_alice", "ses_alice", "alice");
  each_connection(8, [&](client& c) {
    EXPECT_EQ(c.request("GET", std::string(verify_path) + "?permission=bots.use", bearer(t)).status, 200);
  });
  // Role change: alice becomes admin; bots.use is gone, users.manage granted.
  ASSERT_TRUE(srv.db->write([&](store::write_txn& w) -> store::result<void> {
    auto u = w.get_user("usr_alice");
    if (!u) return std::unexpected(u.error());
    u->role = "admin";
    return w.put_user(*u);
  }));
  each_connection(8, [&](client& c) {
    EXPECT_EQ(c.request("GET", std::string(verify_path) + "?permission=bots.use", bearer(t)).status, 403);
    EXPECT_EQ(c.request("GET", std::string(verify_path) + "?permission=users.manage", bearer(t)).status, 200);
  });
  // Deactivation.
  ASSERT_TRUE(srv.db->write([&](store::write_txn& w) -> store::result<void> {
    auto u = w.get_user("usr_alice");
    if (!u) return std::unexpected(u.error());
    u->status = store::user_status::deactivated;
    return w.put_user(*u);
  }));
  each_connection(8, [&](client& c) { EXPECT_EQ(c.request("GET", verify_path, bearer(t)).status, 401); });
  // Logout of bob's session.
  const std::string tb = srv.own_token("usr_bob", "ses_bob", "bob");
  each_connection(4, [&](client& c) { EXPECT_EQ(c.request("GET", verify_path, bearer(tb)).status, 200); });
  ASSERT_TRUE(srv.db->write([&](store::write_txn& w) -> store::result<void> {
    auto s = w.get_session("ses_bob");
    if (!s) return std::unexpected(s.error());
    s->revoked_at = test_now_ns();
    s->revoke_reason = "logout";
    return w.put_session(*s);
  }));
  each_connection(8, [&](client& c) { EXPECT_EQ(c.request("GET", verify_path, bearer(tb)).status, 401); });
}

// Regression: nothing called verifier::quiescent(), so a key set replaced by a
// rotation or a JWKS reload stayed allocated until every shard verified another
// token. No request follows the publish here: only the shards' per-iteration hook
// moves their verifiers past the retired snapshot.
TEST_F(HotTest, RetiredKeySetIsFreedWhileShardsIdle) {
  client c(srv.port);
  EXPECT_EQ(c.request("GET", verify_path, bearer(srv.ext_token("ext-user-3", "bots.use"))).status, 200);
  auto other = crypto::signing_key::generate(crypto::alg::es256, 0);
  ASSERT_TRUE(other);
  ASSERT_EQ(srv.trust.replace_keys("corp-idp", {{other->kid(), *other->make_verifier()}}), crypto::errc::ok);
  std::size_t held = srv.trust.reclaim();
  // An idle loop wakes at least once a second.
  for (int i = 0; i < 50 && held != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    held = srv.trust.reclaim();
  }
  EXPECT_EQ(held, 0u);
}

TEST(HotRateLimit, ExactAcrossShards) {
  hot_server srv;
  api::hot::hot_config cfg;
  cfg.verify_per_subject = *authz::make_rate(10, std::chrono::minutes(1));
  srv.start(cfg);
  srv.add_user("usr_alice", "alice", "user", "ses_alice");
  const std::string t = srv.own_token("usr_alice", "ses_alice", "alice");
  int allowed = 0, limited = 0;
  std::vector<std::unique_ptr<client>> conns;
  for (int i = 0; i < 2; ++i) conns.push_back(std::make_unique<client>(srv.port));
  for (int i = 0; i < 30; ++i) {
    auto r = conns[static_cast<std::size_t>(i % 2)]->request("GET", verify_path, bearer(t));
    if (r.status == 200) ++allowed;
    if (r.status == 429) {
      ++limited;
      EXPECT_FALSE(r.header("retry-after").empty());
      EXPECT_EQ(r.header("ratelimit-limit"), "10");
      EXPECT_EQ(r.header("ratelimit-remaining"), "0");
      EXPECT_NE(r.body.find("\"error\":\"rate_limited\""), std::string::npos);
    }
  }
  EXPECT_EQ(allowed, 10);
  EXPECT_EQ(limited, 20);
  srv.stop();
}

struct forward_case {
  const char* name;
  const char* method;
  const char* uri;  // nullptr: header absent
  int status;
};

class ForwardTest : public HotTest, public ::testing::WithParamInterface<forward_case> {};

TEST_P(ForwardTest, NormalisesAndMatches) {
  const auto& fc = GetParam();
  const std::string t = srv.own_token("usr_alice", "ses_alice", "alice");  // role user: bots.use
  client c(srv.port);
  headers h = bearer(t);
  h.push_back({"X-Original-Method", fc.method});
  if (fc.uri != nullptr) h.push_back({"X-Original-URI", fc.uri});
  auto r = c.request("GET", forward_path, h);
  EXPECT_EQ(r.status, fc.status) << fc.uri;
  EXPECT_EQ(r.header("content-length"), "0");
  EXPECT_TRUE(r.body.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Paths, ForwardTest,
    ::testing::Values(forward_case{"bots_get", "GET", "/bots/1?x=1", 200},
                      forward_case{"bots_head", "HEAD", "/bots/1", 200},
                      forward_case{"admin_denied", "GET", "/admin/users", 403},
                      forward_case{"dotdot_into_admin", "GET", "/bots/../admin/x", 403},
                      forward_case{"encoded_dotdot_into_admin", "GET", "/bots/%2e%2e/admin", 403},
                      forward_case{"double_slash_admin", "GET", "//admin//x", 403},
                      forward_case{"encoded_slash", "GET", "/bots%2F..%2Fadmin", 400},
                      forward_case{"encoded_backslash", "GET", "/bots%5cadmin", 400},
                      forward_case{"missing_uri", "GET", nullptr, 400},
                      forward_case{"absolute_uri", "GET", "http://x/bots", 400},
                      forward_case{"no_rule_token_only", "DELETE", "/elsewhere", 200}),
    [](const auto& p) { return std::string(p.param.name); });

TEST_F(HotTest, ForwardIdentityHeadersAndErrors) {
  const std::string t = srv.own_token("usr_bob", "ses_bob", "bob");
  client c(srv.port);
  headers h = bearer(t);
  h.push_back({"X-Forwarded-Method", "GET"});
  h.push_back({"X-Forwarded-Uri", "/admin/panel"});
  auto r = c.request("GET", forward_path, h);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-auth-user-id"), "usr_bob");
  EXPECT_EQ(r.header("x-auth-username"), "bob");
  EXPECT_EQ(r.header("x-auth-roles"), "admin");
  EXPECT_EQ(r.header("remote-user"), "bob");
  EXPECT_EQ(r.header("content-length"), "0");

  // External token with groups: X-Auth-Groups and Remote-Groups comma-separated.
  const std::string e = srv.ext_token("ext-9", "bots.use", 3600, {"ops", "dev"});
  r = c.request("GET", forward_path, {{"Authorization", "Bearer " + e}, {"X-Original-URI", "/bots/x"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-auth-groups"), "ops,dev");
  EXPECT_EQ(r.header("remote-groups"), "ops,dev");

  r = c.request("GET", forward_path, {{"X-Original-URI", "/bots/x"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("www-authenticate"), "Bearer");
  EXPECT_EQ(r.header("content-length"), "0");
  r = c.request("GET", forward_path, {{"Authorization", "Bearer x.y.z"}, {"X-Original-URI", "/bots/x"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("www-authenticate"), "Bearer error=\"invalid_token\"");
  EXPECT_EQ(r.header("content-length"), "0");
}

TEST_F(HotTest, IntrospectionActiveInactiveUnauthenticated) {
  // The caller: an API key of a user whose group grants tokens.introspect.
  ASSERT_TRUE(srv.db->write([&](store::write_txn& w) -> store::result<void> {
    store::group g;
    g.id = "grp_rs";
    g.name = "resource_servers";
    g.permissions = {"tokens.introspect"};
    if (auto r = w.put_group(g); !r) return r;
    return w.add_member("grp_rs", "usr_bob");
  }));
  const std::string caller = srv.add_key("usr_bob", std::nullopt);
  const std::string plain = srv.add_key("usr_alice", std::nullopt);
  const std::string t = srv.own_token("usr_alice", "ses_alice", "alice");
  const headers form = {{"Content-Type", "application/x-www-form-urlencoded"}};
  auto with = [&](headers h) {
    h.insert(h.end(), form.begin(), form.end());
    return h;
  };
  client c(srv.port);
  auto r = c.request("POST", "/oauth2/introspect", with({{"X-API-Key", caller}}),
                     "token=" + codec::encode(t, codec::flavour::form));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"active\":true"), std::string::npos);
  EXPECT_NE(r.body.find("\"sub\":\"usr_alice\""), std::string::npos);
  EXPECT_NE(r.body.find("\"scope\":\"bots.use profile.edit\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"exp\":1900003600"), std::string::npos) << r.body;

  // Basic key_id:secret works too, and an API key can be introspected.
  const std::string id = caller.substr(8, 16), secret = caller.substr(25);
  const std::string basic = "Basic " + [&] {
    std::string in = id + ":" + secret, out;
    static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
      for (int k = 3; k >= 0; --k) out += tbl[(v >> (6 * k)) & 63];
    }
    if (in.size() - i == 1) {
      unsigned v = (unsigned char)in[i] << 16;
      out += tbl[v >> 18 & 63];
      out += tbl[v >> 12 & 63];
      out += "==";
    } else if (in.size() - i == 2) {
      unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
      out += tbl[v >> 18 & 63];
      out += tbl[v >> 12 & 63];
      out += tbl[v >> 6 & 63];
      out += '=';
    }
    return out;
  }();
  r = c.request("POST", "/oauth2/introspect", with({{"Authorization", basic}}), "token=" + plain);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"token_type\":\"api_key\""), std::string::npos) << r.body;

  r = c.request("POST", "/oauth2/introspect", with({{"X-API-Key", caller}}), "token=not-a-token");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"active\":false}");

  r = c.request("POST", "/oauth2/introspect", form, "token=" + t);
  EXPECT_EQ(r.status, 401);
  // A key without tokens.introspect, and a bearer token, are not introspection callers.
  EXPECT_EQ(c.request("POST", "/oauth2/introspect", with({{"X-API-Key", plain}}), "token=" + t).status, 403);
  EXPECT_EQ(c.request("POST", "/oauth2/introspect", with(bearer(t)), "token=" + t).status, 403);
  EXPECT_EQ(c.request("POST", "/oauth2/introspect", with({{"X-API-Key", caller}}), "nothing=1").status, 400);
}

TEST_F(HotTest, ApiKeyRoutesCreateListSubsetAndLimit) {
  client c(srv.port);
  const headers json = {{"Content-Type", "application/json"}, {"X-Test-User", "usr_alice"}};
  auto r = c.request("POST", "/api/v1/security/users/usr_alice/api-keys", json,
                     R"({"name":"ci","permissions":["bots.use"],"expires_at":"2031-01-01T00:00:00Z"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const auto at = r.body.find("\"api_key\":\"");
  ASSERT_NE(at, std::string::npos);
  const std::string key = r.body.substr(at + 11, crypto::kApiKeyChars);
  EXPECT_EQ(c.request("GET", std::string(verify_path) + "?permission=bots.use", bearer(key)).status, 200);

  // Not a subset of alice's permissions: refused, and not counted.
  r = c.request("POST", "/api/v1/security/users/usr_alice/api-keys", json,
                R"({"name":"x","permissions":["users.manage"]})");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(c.request("POST", "/api/v1/security/users/usr_alice/api-keys", json, R"({"permissions":[]})").status, 400);
  EXPECT_EQ(c.request("POST", "/api/v1/security/users/usr_bob/api-keys", json, R"({"name":"x"})").status, 403);

  r = c.request("POST", "/api/auth/api-keys", json, R"({"name":"self","description":"mine"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.body.find("\"security_warning\""), std::string::npos);
  r = c.request("POST", "/api/auth/api-keys", json, R"({"name":"third"})");
  ASSERT_EQ(r.status, 201) << r.body;
  // api_key_generation_per_user is 3/day in this fixture: the 4th success is refused.
  r = c.request("POST", "/api/auth/api-keys", json, R"({"name":"fourth"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_FALSE(r.header("retry-after").empty());

  r = c.request("GET", "/api/v1/security/users/usr_alice/api-keys", {{"X-Test-User", "usr_alice"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"total\":3"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("sk_live_" + key.substr(8, 16) + "_"), std::string::npos);  // never shown again
  EXPECT_EQ(c.request("GET", "/api/v1/security/users/usr_alice/api-keys").status, 401);

  // Audit entries in the store for each create.
  std::size_t creates = 0;
  ASSERT_TRUE(srv.db->read([&](const store::read_txn& t) -> store::result<void> {
    auto page = t.audit_page([](const store::audit_entry& e) { return e.action == "api_key_create"; }, 0, 100);
    if (!page) return std::unexpected(page.error());
    creates = page->second;
    return {};
  }));
  EXPECT_EQ(creates, 3u);
}

TEST_F(HotTest, ApiUserOutsideAllowedIpsIs403) {
  ASSERT_TRUE(srv.db->write([](store::write_txn& w) { return w.set_api_user("usr_alice", "10.0.0.0/8"); }));
  const std::string t = srv.own_token("usr_alice", "ses_alice", "alice");
  client c(srv.port);
  auto r = c.request("GET", verify_path, bearer(t));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("ip_denied"), std::string::npos);
  ASSERT_TRUE(srv.db->write([](store::write_txn& w) { return w.set_api_user("usr_alice", "10.0.0.0/8, 127.0.0.1"); }));
  EXPECT_EQ(c.request("GET", verify_path, bearer(t)).status, 200);
  auto m = c.request("GET", "/metrics");
  EXPECT_NE(m.body.find("tollgate_ip_denied_total 1"), std::string::npos) << m.body.substr(0, 200);
  EXPECT_NE(m.body.find("tollgate_token_cache_hits_total"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::testing

namespace tollgate::testing {
namespace {

// The client address of an API user comes from X-Forwarded-For only when the peer
// is a trusted proxy.
TEST(HotClientAddress, TrustedProxyForwardedFor) {
  hot_server srv;
  api::hot::hot_config cfg;
  cfg.trusted_proxies = {"127.0.0.1/32"};
  srv.start(cfg);
  srv.add_user("usr_api", "robot", "user", "ses_api");
  ASSERT_TRUE(srv.db->write([](store::write_txn& w) { return w.set_api_user("usr_api", "10.0.0.0/8"); }));
  const std::string t = srv.own_token("usr_api", "ses_api", "robot");
  client c(srv.port);
  auto with_xff = [&](const std::string& xff) {
    return c.request("GET", "/api/v1/security/auth/verify", {{"Authorization", "Bearer " + t}, {"X-Forwarded-For", xff}});
  };
  EXPECT_EQ(with_xff("10.1.2.3").status, 200);
  EXPECT_EQ(with_xff("10.1.2.3, 127.0.0.1").status, 200);   // a trusted hop is skipped
  EXPECT_EQ(with_xff("10.1.2.3, 192.0.2.1").status, 403);   // rightmost untrusted hop
  EXPECT_EQ(with_xff("unknown").status, 400);
  EXPECT_EQ(c.request("GET", "/api/v1/security/auth/verify", {{"Authorization", "Bearer " + t}}).status, 403);
  srv.stop();
}

}  // namespace
}  // namespace tollgate::testing
