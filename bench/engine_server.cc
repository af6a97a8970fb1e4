// bench/engine_server.cc — the engine alone, for scripts/bench until (or instead of)
// `tollgate serve`: the built-in routes (/healthz, /readyz, /metrics) on one address.
//
//   engine_server [--listen HOST:PORT] [--shards N] [--io uring|epoll]
//
// Runs until SIGTERM or SIGINT, then drains and exits 0.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/engine.h"

int main(int argc, char** argv) {
  using namespace tollgate::engine;
  block_termination_signals();
  options o;
  o.shards = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--listen") {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos) {
        std::fprintf(stderr, "engine_server: --listen wants HOST:PORT\n");
        return 2;
      }
      o.host = value.substr(0, colon);
      o.port = static_cast<std::uint16_t>(std::strtoul(value.c_str() + colon + 1, nullptr, 10));
    } else if (flag == "--shards") {
      o.shards = static_cast<unsigned>(std::strtoul(value.c_str(), nullptr, 10));
    } else if (flag == "--io") {
      o.io = value == "epoll" ? io_backend::epoll : io_backend::uring;
    } else {
      std::fprintf(stderr, "engine_server: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  auto s = server::create(o, route_table{});
  if (!s) {
    std::fprintf(stderr, "engine_server: %s\n", std::string(message_of(s.error())).c_str());
    return 1;
  }
  std::fprintf(stderr, "engine_server: listening on %s:%u (%s)\n", o.host.c_str(), (*s)->port(),
               (*s)->backend() == io_backend::uring ? "io_uring" : "epoll");
  run_until_signal(**s);
  return 0;
}
