// tests/api/test_server.cc — a tollgate management server process for tests that
// must kill it (SIGKILL durability). Usage: api_test_server DATA_DIR SHARDS.
// Creates the store (admin / testing::admin_password) when the dir has none, then
// prints "port N" on stdout and serves until killed. Uses the test-only Argon2id
// costs; the real binary is cli/'s tollgate.
#include <cstdio>
#include <cstdlib>

#include "tests/api/harness.h"

int main(int argc, char** argv) {
  using namespace tollgate;
  if (argc != 3) {
    std::fputs("usage: api_test_server DATA_DIR SHARDS\n", stderr);
    return 2;
  }
  crypto::password::hasher hasher(api::testing::test_costs);
  auto db = store::store::open(argv[1]);
  if (!db && db.error() == store::errc::not_initialised) {
    api::testing::init_store(argv[1], hasher);
    db = store::store::open(argv[1]);
  }
  if (!db) {
    std::fprintf(stderr, "store: %s\n", std::string(store::message_of(db.error())).c_str());
    return 1;
  }
  crypto::trust_store trust;
  api::config cfg;
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto tokens = api::token_service::create(**db, trust, cfg, now);
  if (!tokens) {
    std::fprintf(stderr, "tokens: %s\n", tokens.error().c_str());
    return 1;
  }
  api::services svc{db->get(), &hasher, tokens->get(), cfg};
  engine::route_table routes;
  api::register_routes(routes, svc);
  engine::options o;
  o.port = 0;
  o.shards = static_cast<unsigned>(std::atoi(argv[2]));
  o.pin_shards = false;
  auto srv = engine::server::create(o, std::move(routes));
  if (!srv) return 1;
  std::printf("port %u\n", (*srv)->port());
  std::fflush(stdout);
  (*srv)->run();
  return 0;
}
