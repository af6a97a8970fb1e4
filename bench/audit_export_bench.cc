// bench/audit_export_bench — memory of a large audit export (issue 5: exporting
// 1,000,000 entries as CSV keeps peak RSS within 64 MiB of idle RSS). Not a BM_
// bench: bench/audit_export.sh drives it.
//
//   audit_export_bench fill DIR N   creates a store in DIR (admin "admin" /
//                                   "Admin-Password-1") and appends N audit entries
//                                   through the store API, 10,000 per write txn.
//   audit_export_bench serve DIR    serves the management API of DIR on 127.0.0.1
//                                   (port printed on stdout) until SIGTERM/SIGINT.
//
// fill and serve are separate processes so the pages fill touched do not count in
// the server's idle RSS.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "api/api.h"
#include "crypto/password.h"
#include "store/store.h"

namespace {

using namespace tollgate;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int fill(const std::string& dir, std::uint64_t n) {
  crypto::password::hasher h;
  store::init_params p{.admin_user_id = "usr_admin", .admin_username = "admin",
                       .admin_password_hash = h.hash("Admin-Password-1").value(),
                       .admin_email = "", .now = now_ns()};
  if (auto r = store::store::init(dir, p); !r && r.error() != store::errc::already_initialised) {
    std::fprintf(stderr, "init: %s\n", std::string(store::message_of(r.error())).c_str());
    return 1;
  }
  auto db = store::store::open(dir);
  if (!db) return 1;
  constexpr std::uint64_t per_txn = 10'000;
  for (std::uint64_t done = 0; done < n;) {
    std::uint64_t k = std::min(per_txn, n - done);
    auto r = (*db)->write([&](store::write_txn& t) -> store::result<void> {
      for (std::uint64_t i = 0; i < k; ++i) {
        store::audit_entry e;
        e.timestamp = now_ns();
        e.user_id = "usr_" + std::to_string((done + i) % 5000);
        e.actor_id = e.user_id;
        e.action = (done + i) % 3 == 0 ? "login_failed" : "login";
        e.success = (done + i) % 3 != 0;
        e.ip_address = "192.0.2." + std::to_string((done + i) % 250);
        e.user_agent = "Mozilla/5.0 (X11; Linux x86_64) bench";
        e.details_json = R"({"method":"password","session_id":"ses_0123456789abcdefghij"})";
        if (auto a = t.append_audit(e); !a) return std::unexpected(a.error());
      }
      return {};
    });
    if (!r) {
      std::fprintf(stderr, "append: %s\n", std::string(store::message_of(r.error())).c_str());
      return 1;
    }
    done += k;
  }
  std::printf("appended %llu\n", static_cast<unsigned long long>(n));
  return 0;
}

std::atomic<engine::server*> running{nullptr};

int serve(const std::string& dir) {
  auto db = store::store::open(dir);
  if (!db) return 1;
  crypto::password::hasher hasher;
  crypto::trust_store trust;
  api::config cfg;
  auto tokens = api::token_service::create(**db, trust, cfg, now_ns() / 1'000'000'000);
  if (!tokens) return 1;
  api::services svc{db->get(), &hasher, tokens->get(), cfg};
  engine::route_table routes;
  api::register_routes(routes, svc);
  engine::options o;
  o.port = 0;
  o.shards = 1;
  o.pin_shards = false;
  o.offload_threads = 2;
  auto srv = engine::server::create(o, std::move(routes));
  if (!srv) return 1;
  running = srv->get();
  std::signal(SIGTERM, [](int) { if (auto* s = running.load()) s->stop(); });
  std::signal(SIGINT, [](int) { if (auto* s = running.load()) s->stop(); });
  std::printf("%u\n", static_cast<unsigned>((*srv)->port()));
  std::fflush(stdout);
  (*srv)->run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "fill") return fill(argv[2], std::strtoull(argv[3], nullptr, 10));
  if (argc == 3 && std::string(argv[1]) == "serve") return serve(argv[2]);
  std::fprintf(stderr, "usage: audit_export_bench fill DIR N | serve DIR\n");
  return 2;
}
