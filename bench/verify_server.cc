// bench/verify_server.cc — the hot routes on the engine, for scripts/bench's verify
// section until `tollgate serve` wires them (and accepts an HS256 external issuer):
// /api/v1/security/auth/verify, /auth/forward and /oauth2/introspect with one
// external issuer from a JWKS file, over a store created in DATA_DIR if absent.
//
//   verify_server --listen HOST:PORT --data-dir DIR --jwks FILE --issuer ISS
//                 --audience AUD [--shards N] [--algorithms HS256,ES256]
//                 [--verify-per-second N]
//
// Runs until SIGTERM or SIGINT, then drains and exits 0.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/hot.h"
#include "engine/engine.h"
#include "store/store.h"

namespace {

int usage(const char* why) {
  std::fprintf(stderr, "verify_server: %s\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tollgate;
  engine::block_termination_signals();
  engine::options o;
  o.shards = 1;
  std::string data_dir, jwks, iss, aud, algorithms = "HS256,ES256";
  std::uint64_t per_second = 1000000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--listen") {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos) return usage("--listen wants HOST:PORT");
      o.host = value.substr(0, colon);
      o.port = static_cast<std::uint16_t>(std::strtoul(value.c_str() + colon + 1, nullptr, 10));
    } else if (flag == "--shards") {
      o.shards = static_cast<unsigned>(std::strtoul(value.c_str(), nullptr, 10));
    } else if (flag == "--data-dir") {
      data_dir = value;
    } else if (flag == "--jwks") {
      jwks = value;
    } else if (flag == "--issuer") {
      iss = value;
    } else if (flag == "--audience") {
      aud = value;
    } else if (flag == "--algorithms") {
      algorithms = value;
    } else if (flag == "--verify-per-second") {
      per_second = std::strtoull(value.c_str(), nullptr, 10);
    } else {
      return usage("unknown flag");
    }
  }
  if (data_dir.empty() || jwks.empty() || iss.empty()) return usage("--data-dir, --jwks and --issuer are required");

  auto db = store::store::open(data_dir);
  if (!db && db.error() == store::errc::not_initialised) {
    store::init_params p;
    p.admin_user_id = "usr_admin";
    p.admin_username = "admin";
    p.admin_password_hash = "!";  // no login on this server
    if (!store::store::init(data_dir, p)) return usage("cannot create the store");
    db = store::store::open(data_dir);
  }
  if (!db) return usage("cannot open the store");

  crypto::trust_store trust;
  api::hot::issuer is;
  is.name = "bench";
  is.iss = iss;
  if (!aud.empty()) is.audiences = {aud};
  for (std::size_t start = 0; start <= algorithms.size();) {
    const auto comma = algorithms.find(',', start);
    is.algorithms.push_back(algorithms.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  is.jwks_file = jwks;
  auto loader = api::hot::load_issuers(trust, {is});
  if (!loader) return usage(loader.error().c_str());

  api::hot::hot_config cfg;
  auto r = authz::make_rate(per_second, std::chrono::seconds(1));
  if (!r) return usage("--verify-per-second: bad rate");
  cfg.verify_per_subject = *r;
  auto hs = api::hot::make_hot_state(**db, trust, cfg);
  if (!hs) return usage(hs.error().c_str());
  engine::route_table routes;
  api::hot::register_hot_routes(routes, **hs, [](const engine::request&) { return api::hot::caller{}; });
  o.metrics_sources.push_back(api::hot::metrics_source(**hs));
  auto s = engine::server::create(o, std::move(routes));
  if (!s) return usage(std::string(engine::message_of(s.error())).c_str());
  std::fprintf(stderr, "verify_server: listening on %s:%u (%s)\n", o.host.c_str(), (*s)->port(),
               (*s)->backend() == engine::io_backend::uring ? "io_uring" : "epoll");
  engine::run_until_signal(**s);
  return 0;
}
