// cli/serve.cc — `tollgate serve`: settings → store → engine, until SIGTERM.
#include <cstdio>
#include <memory>

#include <chrono>
#include <random>

#include "api/api.h"
#include "api/hot.h"
#include "cli/cli.h"
#include "crypto/jws.h"
#include "crypto/password.h"
#include "engine/engine.h"
#include "policy/notifier.h"
#include "store/store.h"

namespace tollgate::cli {
namespace {

bool serve_flag(std::string_view name) { return name == "--config" || config::find_flag(name) != nullptr; }

engine::options engine_options(const config::settings& s) {
  engine::options o;
  o.host = s.server.host;
  o.port = s.server.port;
  o.shards = s.server.shards;
  switch (s.server.io) {
    case config::io_mode::uring: o.io = engine::io_backend::uring; break;
    case config::io_mode::epoll: o.io = engine::io_backend::epoll; break;
  }
  o.limits.max_header_bytes = s.server.max_header_bytes;
  o.limits.max_body_bytes = s.server.max_body_bytes;
  o.header_timeout = s.server.header_timeout;
  o.idle_timeout = s.server.idle_timeout;
  o.max_connections = s.server.max_connections;
  o.offload_sched = {.idle = s.server.offload_idle, .nice = s.server.offload_nice};
  return o;
}

std::expected<api::config, std::string> api_config(const config::settings& s) {
  api::config c;
  c.issuer = s.tokens.issuer;
  c.audience = s.tokens.audience;
  const auto alg = crypto::parse_alg(s.tokens.algorithm);
  if (!alg) return std::unexpected("tokens.algorithm: " + s.tokens.algorithm + " is not supported");
  c.algorithm = *alg;
  c.access_ttl_seconds = s.tokens.access_ttl.count();
  c.leeway_seconds = s.tokens.leeway.count();
  c.refresh_reuse_grace_seconds = s.auth.refresh_reuse_grace.count();
  c.registration_open = s.auth.registration == config::registration_mode::open;
  c.max_body_bytes = s.server.max_body_bytes;
  c.max_token_bytes = s.auth.max_token_bytes;
  return c;
}

}  // namespace

void print_serve_help() {
  std::puts(
      "usage: tollgate serve [--config FILE] [flags]\n"
      "\n"
      "Serves the verify, forward-auth and management API. Runs until SIGTERM or SIGINT,\n"
      "then drains connections and exits 0. Precedence: flag > TOLLGATE_* variable >\n"
      "config file > default. [[issuers]] and [[forward.rules]] are set in the file.\n"
      "\n"
      "  --config FILE\n      TOML config file");
  for (const config::key_info& k : config::keys()) {
    std::printf("  %.*s VALUE\n      %.*s; %.*s.%.*s, %.*s\n", static_cast<int>(k.flag.size()), k.flag.data(),
                static_cast<int>(k.help.size()), k.help.data(), static_cast<int>(k.section.size()), k.section.data(),
                static_cast<int>(k.key.size()), k.key.data(), static_cast<int>(k.env.size()), k.env.data());
  }
}

int serve(std::span<char* const> args) {
  bool help = false;
  auto opts = parse_options(args, serve_flag, &help);
  if (!opts) return fail(exit_usage, "serve: " + opts.error() + " (see tollgate serve --help)");
  if (help) {
    print_serve_help();
    return exit_ok;
  }
  std::string config_file;
  for (const option& o : *opts) {
    if (o.name == "--config") config_file = o.value;
  }
  auto s = settings_from(config_file, *opts, "serve");
  if (!s) return s.error();

  // Before any thread exists, so the engine's threads inherit the blocked mask and
  // only run_until_signal's signalfd sees SIGTERM/SIGINT.
  engine::block_termination_signals();

  auto db = store::store::open(s->store.data_dir);
  if (!db) {
    const bool missing = db.error() == store::errc::not_initialised;
    return fail(exit_runtime, "serve: " + s->store.data_dir + ": " + std::string(store::message_of(db.error())) +
                                  (missing ? " (run tollgate init first)" : ""));
  }

  // Everything the routes point to is declared before the server, so it outlives it.
  auto acfg = api_config(*s);
  if (!acfg) return fail(exit_usage, "serve: config: " + acfg.error());
  crypto::trust_store trust;
  const auto now_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto tokens = api::token_service::create(**db, trust, *acfg, now_seconds);
  if (!tokens) return fail(exit_runtime, "serve: token keys: " + tokens.error());
  auto rate_of = [](const config::rate& r) {
    return authz::make_rate(r.count, r.period, r.burst).value_or(authz::rate::disabled());
  };
  // Limits shared by every shard; random seeds so clients cannot aim hash collisions.
  std::random_device seed;
  authz::rate_limiter login_limiter(rate_of(s->rate_limits.login_per_ip), 1 << 16,
                                    (std::uint64_t{seed()} << 32) | seed());
  authz::rate_limiter reset_limiter(rate_of(s->rate_limits.password_reset_per_email), 1 << 16,
                                    (std::uint64_t{seed()} << 32) | seed());
  auto notifier = policy::notify::make_notifier(
      s->store.data_dir, s->notifier.outbox, {.url = s->notifier.webhook_url, .ca_file = s->notifier.webhook_ca_file});
  if (!notifier) {
    std::string why(policy::notify::message(notifier.error()));
    // The message names the key; the path says which file that was (the default, perhaps).
    if (notifier.error() == policy::notify::errc::ca_file_unreadable) why += ": " + s->notifier.webhook_ca_file;
    return fail(exit_usage, "serve: notifier: " + why);
  }
  const crypto::password::hasher hasher;
  api::services svc{db->get(), &hasher, tokens->get(), *acfg};
  svc.login_limiter = &login_limiter;
  svc.reset_limiter = &reset_limiter;
  svc.notifier = notifier->get();
  auto trusted = authz::ip_allowlist::from_strings(std::span<const std::string>(s->server.trusted_proxies));
  if (!trusted) return fail(exit_usage, "serve: server.trusted_proxies: " + std::string(authz::message_of(trusted.error().code)));
  svc.trusted_proxies = std::move(*trusted);
  engine::route_table routes;
  api::register_routes(routes, svc);

  // The hot path (api/hot.h): external issuers, then verify/forward/introspect and
  // the API key routes.
  std::vector<api::hot::issuer> issuers;
  for (const auto& is : s->issuers)
    issuers.push_back({is.name, is.issuer, is.audiences, is.algorithms, is.jwks_file, is.jwks_url,
                       is.refresh.count(), s->tokens.leeway.count()});
  auto loader = api::hot::load_issuers(trust, std::move(issuers));
  if (!loader) return fail(exit_usage, "serve: " + loader.error());
  api::hot::hot_config hc;
  hc.max_token_bytes = s->auth.max_token_bytes;
  hc.trusted_proxies = s->server.trusted_proxies;
  hc.verify_per_subject = rate_of(s->rate_limits.verify_per_subject);
  hc.api_key_generation_per_user = rate_of(s->rate_limits.api_key_generation_per_user);
  for (const auto& r : s->forward_rules) hc.forward_rules.push_back({r.method, r.path, r.permission});
  auto hot = api::hot::make_hot_state(**db, trust, hc);
  if (!hot) return fail(exit_usage, "serve: " + hot.error());
  api::hot::register_hot_routes(routes, **hot, api::hot::management_caller(svc));
  engine::options eo = engine_options(*s);
  eo.metrics_sources.push_back(api::hot::metrics_source(**hot));
  eo.hooks = api::hot::shard_hooks(**hot);
  auto server = engine::server::create(std::move(eo), std::move(routes));
  if (!server) {
    return fail(exit_runtime, "serve: " + s->server.listen + ": " + std::string(engine::message_of(server.error())));
  }
  const bool v6 = s->server.host.find(':') != std::string::npos;
  std::fprintf(stderr, "tollgate: serving on %s%s%s:%u (%s)\n", v6 ? "[" : "", s->server.host.c_str(), v6 ? "]" : "",
               static_cast<unsigned>((*server)->port()),
               (*server)->backend() == engine::io_backend::uring ? "io_uring" : "epoll");
  engine::run_until_signal(**server);
  return exit_ok;
}

}  // namespace tollgate::cli
