// tests/api/hot_alloc_test.cc — verify, forward and introspect allocate nothing per
// request once warm: every malloc/calloc/realloc (operator new, BoringSSL and LMDB
// included) made by a thread other than the test's client is counted while warm
// requests flow, and must be zero; a control request that has to compile a new
// permission set must be counted. A shard's first hot requests allocate nothing
// either: its state is built before it serves.
#include <malloc.h>

#include "codec/form.h"
#include "tests/api/hot_fixture.h"

extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
thread_local bool is_client_thread = false;
void note() {
  if (counting.load(std::memory_order_relaxed) && !is_client_thread)
    allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" void* malloc(std::size_t n) {
  note();
  return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t a, std::size_t b) {
  note();
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, std::size_t n) {
  note();
  return __libc_realloc(p, n);
}

namespace tollgate::testing {
namespace {

TEST(HotAlloc, WarmRequestsAllocateNothing) {
  is_client_thread = true;
  hot_server srv;
  api::hot::hot_config cfg;
  cfg.verify_per_subject = *authz::make_rate(1000000, std::chrono::seconds(1));
  cfg.forward_rules = {{"GET", "/bots/**", "bots.use"}};
  srv.start(cfg, 1);
  srv.add_user("usr_alice", "alice", "user", "ses_alice");
  ASSERT_TRUE(srv.db->write([&](store::write_txn& w) -> store::result<void> {
    store::group g;
    g.id = "grp_rs";
    g.name = "rs";
    g.permissions = {"tokens.introspect"};
    if (auto r = w.put_group(g); !r) return r;
    return w.add_member("grp_rs", "usr_alice");
  }));
  const std::string own = srv.own_token("usr_alice", "ses_alice", "alice");
  const std::string ext = srv.ext_token("ext-1", "bots.use");
  const std::string key = srv.add_key("usr_alice", std::vector<std::string>{"bots.use", "tokens.introspect"});
  const std::string form = "token=" + codec::encode(own, codec::flavour::form);

  client c(srv.port);
  ASSERT_TRUE(c.ok());
  auto round = [&] {
    EXPECT_EQ(c.request("GET", "/api/v1/security/auth/verify?permission=bots.use", {{"Authorization", "Bearer " + own}}).status, 200);
    EXPECT_EQ(c.request("GET", "/api/v1/security/auth/verify", {{"Authorization", "Bearer " + ext}}).status, 200);
    EXPECT_EQ(c.request("GET", "/api/v1/security/auth/verify", {{"X-API-Key", key}}).status, 200);
    EXPECT_EQ(c.request("GET", "/api/v1/security/auth/verify", {{"Authorization", "Bearer bad"}}).status, 401);
    EXPECT_EQ(c.request("GET", "/api/v1/security/auth/forward",
                        {{"Authorization", "Bearer " + own}, {"X-Original-URI", "/bots/a/../b?q=1"}})
                  .status,
              200);
    EXPECT_EQ(c.request("POST", "/oauth2/introspect",
                        {{"X-API-Key", key}, {"Content-Type", "application/x-www-form-urlencoded"}}, form)
                  .status,
              200);
  };
  for (int i = 0; i < 30; ++i) round();  // warm-up: shard state, caches, buffers
  counting = true;
  for (int i = 0; i < 100; ++i) round();
  counting = false;
  EXPECT_EQ(allocations.load(), 0);

  // Control: a token with permissions this shard has not compiled yet.
  const std::string fresh = srv.ext_token("ext-2", "reports.read");
  counting = true;
  EXPECT_EQ(c.request("GET", "/api/v1/security/auth/verify", {{"Authorization", "Bearer " + fresh}}).status, 200);
  counting = false;
  EXPECT_GE(allocations.load(), 1) << "the counter does not see the shard's allocations";
  srv.stop();
}

// Regression: a shard's first hot request built its state (verifier, scratch, the
// verified-token cache, store reader: megabytes) and tripped the stall detector. The
// engine's own per-connection buffers still grow on a connection's first answers, so
// a test route that touches no hot-path state grows them first. A first request that
// needs a permission set still compiles one; these need none but go through the
// verifier, the cache and the store reader.
TEST(HotAlloc, FirstRequestsOnAShardAllocateNothing) {
  is_client_thread = true;
  hot_server srv;
  engine::route_table routes;
  routes.add(engine::method::get, "/test/grow-buffers", engine::route_kind::hot,
             [](const engine::request&, engine::response& res) {
               res.add_header("X-Padding", std::string(1024, 'p'));
               res.set_body("application/json", std::string(16384, 'x'));
             });
  srv.start({}, 1, std::move(routes));
  srv.add_user("usr_alice", "alice", "user", "ses_alice");
  const std::string no_session = srv.own_token("usr_alice", "ses_gone", "alice");
  std::string forged = srv.ext_token("ext-1", "bots.use");
  char& sig = forged[forged.size() - 20];  // mid-signature: every bit of it counts
  sig = sig == 'A' ? 'B' : 'A';

  client c(srv.port);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(c.request("GET", "/test/grow-buffers").status, 200);
  allocations = 0;
  counting = true;
  const int unknown_session =
      c.request("GET", "/api/v1/security/auth/verify", {{"Authorization", "Bearer " + no_session}}).status;
  const int bad_signature =
      c.request("GET", "/api/v1/security/auth/verify", {{"Authorization", "Bearer " + forged}}).status;
  const int no_credential = c.request("GET", "/api/v1/security/auth/forward", {{"X-Original-URI", "/"}}).status;
  counting = false;
  EXPECT_EQ(unknown_session, 401);
  EXPECT_EQ(bad_signature, 401);
  EXPECT_EQ(no_credential, 401);
  EXPECT_EQ(allocations.load(), 0);

  // Control: the first valid token compiles its user's permission set.
  const std::string own = srv.own_token("usr_alice", "ses_alice", "alice");
  counting = true;
  EXPECT_EQ(c.request("GET", "/api/v1/security/auth/verify", {{"Authorization", "Bearer " + own}}).status, 200);
  counting = false;
  EXPECT_GE(allocations.load(), 1) << "the counter does not see the shard's allocations";
  srv.stop();
}

}  // namespace
}  // namespace tollgate::testing
