// cli/serve.cc — `tollgate serve`: settings → store → engine, until SIGTERM.
#include <cstdio>
#include <memory>

#include "cli/cli.h"
#include "engine/engine.h"
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
  return o;
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

  engine::route_table routes;
  auto server = engine::server::create(engine_options(*s), std::move(routes));
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
