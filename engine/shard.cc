// engine/shard.cc — a shard's event loop, connection table, timers and drain.
#include "engine/shard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace tollgate::engine {
namespace {

// Connections refused over max_connections still take a slot while their 503 is
// sent; past this many at once they are closed without an answer.
constexpr std::size_t max_refusing = 256;

void peer_of(int fd, ip_address& ip, std::uint16_t& port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ip = {};
  port = 0;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ip.bytes[10] = ip.bytes[11] = 0xff;
    std::memcpy(ip.bytes.data() + 12, &a->sin_addr, 4);
    ip.is_v4 = true;
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::memcpy(ip.bytes.data(), &a->sin6_addr, 16);
    ip.is_v4 = IN6_IS_ADDR_V4MAPPED(&a->sin6_addr);
    port = ntohs(a->sin6_port);
  }
}

}  // namespace

shard::shard(server_shared& shared, unsigned index, int listen_fd)
    : shared_(shared),
      index_(index),
      listen_fd_(listen_fd),
      stats_(std::make_unique<shard_stats>(shared.routes.routes().size())) {
  // Blocking: io_uring completes reads of a non-blocking fd with -EAGAIN instead of
  // waiting, and epoll reads it only once it is readable.
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    std::fprintf(stderr, "tollgate: shard %u: eventfd: %s\n", index, std::strerror(errno));
    std::abort();
  }
}

shard::~shard() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  ::close(wake_fd_);
}

void shard::tick() {
  now_ = shared_.opts.clock ? shared_.opts.clock()
                            : unix_time(std::chrono::system_clock::now().time_since_epoch());
  batch_start_ = std::chrono::steady_clock::now();
}

void shard::run() {
  tick();
  if (shared_.backend == io_backend::uring) {
    auto l = make_uring_loop(*this, listen_fd_, wake_fd_);
    if (l) {
      loop_ = std::move(*l);
    } else if (!shared_.fallback_warned.exchange(true)) {
      std::fprintf(stderr, "tollgate: warning: io_uring unavailable (%s); serving with epoll\n",
                   l.error().c_str());
    }
  }
  if (!loop_) {
    auto l = make_epoll_loop(*this, listen_fd_, wake_fd_);
    if (!l) {
      std::fprintf(stderr, "tollgate: shard %u: %s\n", index_, l.error().c_str());
      std::abort();
    }
    loop_ = std::move(*l);
  }
  const shard_hooks& hooks = shared_.opts.hooks;
  if (hooks.start == nullptr || hooks.start(hooks.context, index_)) {
    shared_.serving.fetch_add(1, std::memory_order_release);
    counted_serving_ = true;
  }
  for (;;) {
    if (!draining_ && shared_.stopping.load(std::memory_order_acquire)) begin_drain();
    if (draining_) {
      if (live_ == 0 && stats_->offload_in_flight.load(std::memory_order_relaxed) == 0) break;
      if (now_ >= drain_deadline_) {
        for (auto& c : conns_) {
          if (c->in_use) close(*c);
        }
      }
    }
    loop_->poll(next_timeout());
    expire_timers();
    if (hooks.iteration != nullptr) hooks.iteration(hooks.context, index_);
    check_stall();
  }
  if (counted_serving_) shared_.serving.fetch_sub(1, std::memory_order_release);
  loop_.reset();
}

std::chrono::milliseconds shard::next_timeout() const {
  using std::chrono::milliseconds;
  milliseconds t(1000);
  auto until = [&](unix_time at) {
    const auto d = std::chrono::ceil<milliseconds>(at - now_);
    if (d < t) t = d < milliseconds(0) ? milliseconds(0) : d;
  };
  if (const deadline_hook* h = short_timers_.front()) until(h->at);
  if (const deadline_hook* h = long_timers_.front()) until(h->at);
  if (const deadline_hook* h = linger_timers_.front()) until(h->at);
  if (draining_) until(drain_deadline_);
  return t;
}

void shard::wake() {
  const std::uint64_t one = 1;
  // Only fails when the counter would overflow, which then already wakes the loop.
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void shard::on_accept(int fd) {
  if (draining_) {
    ::close(fd);
    return;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ip_address peer;
  std::uint16_t port = 0;
  peer_of(fd, peer, port);
  bool refused = false;
  if (shared_.open_connections.fetch_add(1, std::memory_order_relaxed) >= shared_.opts.max_connections) {
    shared_.open_connections.fetch_sub(1, std::memory_order_relaxed);
    refused = true;
    bump(stats_->refused);
    if (refusing_ >= max_refusing) {
      ::close(fd);
      return;
    }
  }
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(conns_.size());
    conns_.push_back(std::make_unique<connection>(*this, slot));
  }
  connection& c = *conns_[slot];
  c.in_use = true;
  c.refused = refused;
  ++live_;
  if (refused) {
    ++refusing_;
  } else {
    bump(stats_->accepted);
    bump(stats_->open_connections);
  }
  c.open(fd, peer, port, refused);
  loop_->start(c);
  settle(c);
}

void shard::on_data(connection& c, char* data, std::size_t size) {
  if (c.state() == connection::phase::closed) return;
  c.on_bytes(data, size);
  settle(c);
}

void shard::on_eof(connection& c) {
  if (c.state() == connection::phase::closed) return;
  c.on_peer_eof();
  settle(c);
}

void shard::on_error(connection& c) { close(c); }

void shard::on_sent(connection& c, std::size_t n) {
  if (c.state() == connection::phase::closed) return;
  c.on_sent(n);
  settle(c);
}

void shard::settle(connection& c) {
  using phase = connection::phase;
  if (!c.in_use || c.state() == phase::closed) return;
  if (c.wants_close_now()) {
    close(c);
    return;
  }
  if (c.has_output() && !c.io.sending) loop_->want_send(c);
  if (!c.has_output()) {
    const phase p = c.state();
    if (c.stream_ready()) {
      submit(c.take_stream_job());
    } else if (c.close_after_output() && p != phase::slow && p != phase::stream && p != phase::linger) {
      if (c.peer_eof()) {
        close(c);
        return;
      }
      // Closing with unread input would reset the connection and could destroy the
      // response before the client reads it; shut the write side and drain instead.
      loop_->shutdown_write(c);
      c.set_linger();
    } else if (c.peer_eof() && p == phase::idle && c.input_empty()) {
      close(c);
      return;
    }
  }
  arm_timer(c);
}

void shard::arm_timer(connection& c) {
  using kind = connection::timer_kind;
  using phase = connection::phase;
  kind want = kind::none;
  switch (c.state()) {
    case phase::idle: want = c.served_any() ? kind::idle : kind::fresh; break;
    case phase::head: want = kind::head; break;
    case phase::body: want = kind::body; break;
    case phase::linger: want = kind::linger; break;
    case phase::slow:
    case phase::stream:
    case phase::closed: want = kind::none; break;
  }
  if (want == kind::none) {
    c.timer.unlink();
    c.timer_is = kind::none;
    return;
  }
  // Idle and body timers restart on activity; the others run from when they began,
  // so a client trickling a head byte by byte still meets the header timeout.
  const bool restarts = want == kind::idle || want == kind::body;
  if (c.timer_is == want && c.timer.linked() && !restarts) return;
  if (want == kind::idle || want == kind::body) {
    long_timers_.push_back(c.timer, now_ + shared_.opts.idle_timeout);
  } else if (want == kind::linger) {
    linger_timers_.push_back(c.timer, now_ + linger_time());
  } else {
    short_timers_.push_back(c.timer, now_ + shared_.opts.header_timeout);
  }
  c.timer_is = want;
}

// A lingering close only protects a response already sent from a reset; a client
// that reads its response closes within milliseconds, so the wait is short.
std::chrono::milliseconds shard::linger_time() const {
  return std::min<std::chrono::milliseconds>(shared_.opts.header_timeout, std::chrono::seconds(1));
}

void shard::expire_timers() {
  for (deadline_list* list : {&short_timers_, &long_timers_, &linger_timers_}) {
    while (deadline_hook* h = list->front()) {
      if (h->at > now_) break;
      connection& c = *h->owner;
      h->unlink();
      if (c.on_timeout()) {
        close(c);
      } else {
        c.timer_is = connection::timer_kind::none;
        settle(c);
      }
    }
  }
}

void shard::check_stall() {
  const auto end = std::chrono::steady_clock::now();
  const auto took = end - batch_start_;
  if (took <= shared_.opts.stall_threshold) return;
  bump(stats_->stalls);
  if (end - last_stall_log_ < std::chrono::seconds(1)) return;
  last_stall_log_ = end;
  std::fprintf(stderr,
               "tollgate: shard %u: one loop iteration took %lld ms (threshold %lld ms); a hot "
               "route may be blocking\n",
               index_,
               static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()),
               static_cast<long long>(shared_.opts.stall_threshold.count()));
}

void shard::close(connection& c) {
  if (!c.in_use || c.state() == connection::phase::closed) return;
  c.set_closed();
  c.timer.unlink();
  c.timer_is = connection::timer_kind::none;
  if (c.refused) {
    --refusing_;
  } else {
    shared_.open_connections.fetch_sub(1, std::memory_order_relaxed);
    drop(stats_->open_connections);
  }
  loop_->close(c);
}

void shard::release(connection& c) {
  ++c.generation;
  c.reset();
  free_slots_.push_back(c.slot());
  --live_;
}

connection* shard::find(std::uint32_t slot, std::uint32_t generation) {
  if (slot >= conns_.size()) return nullptr;
  connection* c = conns_[slot].get();
  return c->in_use && c->generation == generation ? c : nullptr;
}

void shard::submit(std::unique_ptr<slow_job> job) {
  bump(stats_->offload_in_flight);
  shared_.pool->post([j = std::move(job)]() mutable {
    if (j->what == slow_job::stage::respond) {
      j->route->run(j->req, j->resp);
    } else {
      j->chunk.clear();
      j->more = j->resp.streamer()(j->chunk);
    }
    shard* owner = j->owner;
    owner->complete(std::move(j));
  });
}

void shard::complete(std::unique_ptr<slow_job> job) {
  bool was_empty;
  {
    std::lock_guard lock(done_lock_);
    was_empty = done_.empty();
    done_.push_back(std::move(job));
  }
  if (was_empty) wake();
}

void shard::on_wake() {
  {
    std::lock_guard lock(done_lock_);
    std::swap(done_, done_swap_);
  }
  for (std::unique_ptr<slow_job>& j : done_swap_) {
    drop(stats_->offload_in_flight);
    connection* c = find(j->slot, j->generation);
    if (c == nullptr || c->state() == connection::phase::closed) continue;  // closed meanwhile
    c->on_job_done(std::move(j));
    settle(*c);
  }
  done_swap_.clear();
  if (!draining_ && shared_.stopping.load(std::memory_order_acquire)) begin_drain();
}

void shard::begin_drain() {
  draining_ = true;
  drain_deadline_ = now_ + shared_.opts.drain_timeout;
  if (counted_serving_) {
    shared_.serving.fetch_sub(1, std::memory_order_release);
    counted_serving_ = false;
  }
  loop_->stop_accepting();
  listen_fd_ = -1;
  for (auto& c : conns_) {
    if (!c->in_use || c->state() == connection::phase::closed) continue;
    c->begin_drain();
    settle(*c);
  }
}

void shard::defer(std::function<void()> work) {
  shared_.pool->post([w = std::move(work)]() { w(); });
}

}  // namespace tollgate::engine
