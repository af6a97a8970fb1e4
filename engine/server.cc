// engine/server.cc — server creation (listeners, backend choice, built-in routes),
// the shard threads, stop and the signal helper.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "engine/io_loop.h"
#include "engine/metrics.h"
#include "engine/router.h"
#include "engine/shard.h"

namespace tollgate::engine {
namespace {

constexpr int listen_backlog = 4096;

// allowed_cpus lists the CPUs this process may run on (taskset, cgroups).
std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(i, &set)) cpus.push_back(i);
    }
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

struct address {
  sockaddr_storage storage{};
  socklen_t size = 0;
};

std::expected<address, errc> parse_address(const std::string& host, std::uint16_t port) {
  address a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.size = sizeof *v4;
    return a;
  }
  const std::string bare = host.size() > 2 && host.front() == '[' && host.back() == ']'
                               ? host.substr(1, host.size() - 2)
                               : host;
  if (::inet_pton(AF_INET6, bare.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.size = sizeof *v6;
    return a;
  }
  return std::unexpected(errc::bad_address);
}

void set_port(address& a, std::uint16_t port) {
  if (a.storage.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port = htons(port);
  }
}

int open_listener(const address& a) {
  const int fd = ::socket(a.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.size) != 0 ||
      ::listen(fd, listen_backlog) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class server_impl final : public server {
 public:
  ~server_impl() override {
    // Shards own their listeners from construction; without run() they close them.
    shards_.clear();
  }

  std::uint16_t port() const override { return port_; }
  io_backend backend() const override { return shared_.backend; }

  void run() override {
    if (ran_.exchange(true)) return;
    const auto cpus = allowed_cpus();
    const unsigned threads = shared_.opts.offload_threads != 0
                                 ? shared_.opts.offload_threads
                                 : std::max(2u, static_cast<unsigned>(cpus.size()));
    offload_pool pool(threads, shared_.opts.offload_sched);
    shared_.pool = &pool;
    std::vector<std::thread> running;
    running.reserve(shards_.size());
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      running.emplace_back([this, i, &cpus] {
        if (shared_.opts.pin_shards) {
          cpu_set_t set;
          CPU_ZERO(&set);
          CPU_SET(cpus[i % cpus.size()], &set);
          ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
        }
        shards_[i]->run();
      });
    }
    for (std::thread& t : running) t.join();
    // Deferred work (shard_services::defer) may still be running; it finishes first.
    pool.join();
    shared_.pool = nullptr;
  }

  void stop() override {
    shared_.stopping.store(true, std::memory_order_release);
    for (const auto& s : shards_) s->wake();
  }

  static std::expected<std::unique_ptr<server>, errc> make(options opts, route_table routes);

 private:
  bool ready() const {
    return shared_.serving.load(std::memory_order_acquire) == shared_.shard_count &&
           !shared_.stopping.load(std::memory_order_relaxed) &&
           (!shared_.opts.ready || shared_.opts.ready());
  }
  void add_builtin_routes();

  server_shared shared_;
  std::vector<std::unique_ptr<shard>> shards_;
  std::uint16_t port_ = 0;
  std::atomic<bool> ran_{false};
};

void server_impl::add_builtin_routes() {
  shared_.routes.add(method::get, "/healthz", route_kind::hot, [](const request&, response& r) {
    r.set_body("application/json", R"({"status":"ok"})");
  });
  shared_.routes.add(method::get, "/readyz", route_kind::hot, [this](const request&, response& r) {
    if (ready()) {
      r.set_body("application/json", R"({"status":"ready"})");
    } else {
      r.set_status(503);
      r.set_body("application/json",
                 R"({"error":"not_ready","message":"the store is not open or a shard is not serving"})");
    }
  });
  // Slow: metrics_sources may take locks or read the store.
  shared_.routes.add(method::get, "/metrics", route_kind::slow, [this](const request&, response& r) {
    std::vector<const shard_stats*> stats;
    stats.reserve(shards_.size());
    for (const auto& s : shards_) stats.push_back(s->stats_view());
    std::string& out = r.body();
    render_metrics(out, stats, shared_.routes);
    for (const auto& source : shared_.opts.metrics_sources) source(out);
    r.set_content_type("text/plain; version=0.0.4; charset=utf-8");
  });
}

std::expected<std::unique_ptr<server>, errc> server_impl::make(options opts, route_table routes) {
  auto addr = parse_address(opts.host, opts.port);
  if (!addr) return std::unexpected(addr.error());
  const auto cpus = allowed_cpus();
  const unsigned count = opts.shards != 0 ? opts.shards : static_cast<unsigned>(cpus.size());

  std::vector<int> listeners;
  auto fail = [&](errc e) {
    for (int fd : listeners) ::close(fd);
    return std::unexpected(e);
  };
  for (unsigned i = 0; i < count; ++i) {
    const int fd = open_listener(*addr);
    if (fd < 0) return fail(errc::bind_failed);
    listeners.push_back(fd);
    if (i == 0 && opts.port == 0) {
      // The other shards must share the port the kernel picked for the first.
      address bound;
      bound.size = sizeof bound.storage;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound.storage), &bound.size);
      const std::uint16_t picked = ntohs(bound.storage.ss_family == AF_INET
                                             ? reinterpret_cast<sockaddr_in*>(&bound.storage)->sin_port
                                             : reinterpret_cast<sockaddr_in6*>(&bound.storage)->sin6_port);
      set_port(*addr, picked);
      opts.port = picked;
    }
  }

  io_backend backend = opts.io;
  if (backend == io_backend::uring) {
    // The throwaway ring lives on its own thread: tearing a ring down queues kernel
    // task work on its creator, which would interrupt the caller's next blocking call
    // with EINTR.
    std::expected<void, std::string> ok;
    std::thread([&ok] { ok = probe_uring(); }).join();
    if (!ok) {
      std::fprintf(stderr, "tollgate: warning: io_uring unavailable (%s); serving with epoll\n",
                   ok.error().c_str());
      backend = io_backend::epoll;
    }
  }

  auto s = std::unique_ptr<server_impl>(new server_impl());
  s->port_ = opts.port;
  s->shared_.opts = std::move(opts);
  s->shared_.routes = std::move(routes);
  s->shared_.backend = backend;
  s->shared_.shard_count = count;
  s->shared_.fallback_warned.store(backend == io_backend::epoll);
  s->add_builtin_routes();
  s->shared_.routes_index = std::make_unique<router>(s->shared_.routes);
  for (unsigned i = 0; i < count; ++i) {
    s->shards_.push_back(std::make_unique<shard>(s->shared_, i, listeners[i]));
  }
  return s;
}

}  // namespace

std::expected<std::unique_ptr<server>, errc> server::create(options opts, route_table routes) {
  return server_impl::make(std::move(opts), std::move(routes));
}

void block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int run_until_signal(server& s) {
  block_termination_signals();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  const int sig_fd = ::signalfd(-1, &set, SFD_CLOEXEC);
  const int done_fd = ::eventfd(0, EFD_CLOEXEC);
  int received = 0;
  std::thread watcher([&] {
    pollfd fds[2] = {{sig_fd, POLLIN, 0}, {done_fd, POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents & POLLIN) {
        signalfd_siginfo info{};
        if (::read(sig_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          received = static_cast<int>(info.ssi_signo);
        }
        s.stop();
        return;
      }
      if (fds[1].revents & POLLIN) return;
    }
  });
  s.run();
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(done_fd, &one, sizeof one);
  watcher.join();
  ::close(sig_fd);
  ::close(done_fd);
  return received;
}

}  // namespace tollgate::engine
