// engine/epoll_loop.cc — the epoll backend, for kernels or sandboxes without
// io_uring. Edge-triggered, non-blocking sockets; the HTTP logic is the shard's.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "engine/io_loop.h"
#include "engine/shard.h"

namespace tollgate::engine {
namespace {

constexpr std::uint64_t listen_tag = ~std::uint64_t{0};
constexpr std::uint64_t wake_tag = ~std::uint64_t{0} - 1;
constexpr std::size_t read_size = 64 * 1024;
constexpr int accepts_per_event = 64;

std::uint64_t tag(const connection& c) {
  return (static_cast<std::uint64_t>(c.slot()) << 32) | c.generation;
}

class epoll_loop final : public io_loop {
 public:
  epoll_loop(shard& s, int listen_fd, int wake_fd)
      : s_(s), listen_fd_(listen_fd), wake_fd_(wake_fd), read_buf_(read_size) {}

  ~epoll_loop() override {
    if (ep_ >= 0) ::close(ep_);
  }

  std::expected<void, std::string> init() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) return std::unexpected(std::string("epoll_create1: ") + std::strerror(errno));
    const int fl = ::fcntl(listen_fd_, F_GETFL);
    if (fl < 0 || ::fcntl(listen_fd_, F_SETFL, fl | O_NONBLOCK) < 0) {
      return std::unexpected(std::string("fcntl: ") + std::strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: a bounded accept loop may leave some behind
    ev.data.u64 = listen_tag;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, listen_fd_, &ev) < 0) {
      return std::unexpected(std::string("epoll_ctl: ") + std::strerror(errno));
    }
    ev.data.u64 = wake_tag;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, wake_fd_, &ev) < 0) {
      return std::unexpected(std::string("epoll_ctl: ") + std::strerror(errno));
    }
    return {};
  }

  void poll(std::chrono::milliseconds timeout) override {
    flush();
    // Output left over by the fairness bound must not wait for an event that will
    // not come (the socket is still writable): poll without blocking.
    const int wait_ms = sends_.empty() ? static_cast<int>(timeout.count()) : 0;
    const int n = ::epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), wait_ms);
    s_.tick();
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events_[static_cast<std::size_t>(i)];
      if (ev.data.u64 == listen_tag) {
        accept_some();
      } else if (ev.data.u64 == wake_tag) {
        std::uint64_t value;
        [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &value, sizeof value);
        s_.on_wake();
      } else {
        on_socket(ev);
      }
    }
    flush();
  }

  void start(connection& c) override {
    epoll_event ev{};  // accept4 made the socket non-blocking
    // Registered once for both directions: no epoll_ctl per request.
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = tag(c);
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) < 0) s_.on_error(c);
  }

  void want_send(connection& c) override {
    if (c.io.send_queued) return;
    c.io.send_queued = true;
    sends_.push_back(ref{c.slot(), c.generation});
  }

  void shutdown_write(connection& c) override { ::shutdown(c.fd, SHUT_WR); }

  void close(connection& c) override {
    ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    s_.release(c);
  }

  void stop_accepting() override {
    if (listen_fd_ < 0) return;
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }

 private:
  struct ref {
    std::uint32_t slot;
    std::uint32_t generation;
  };

  void accept_some() {
    for (int i = 0; i < accepts_per_event && listen_fd_ >= 0; ++i) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or EMFILE & co: retried on the next event
      s_.on_accept(fd);
    }
  }

  void on_socket(const epoll_event& ev) {
    const auto slot = static_cast<std::uint32_t>(ev.data.u64 >> 32);
    const auto generation = static_cast<std::uint32_t>(ev.data.u64);
    connection* c = s_.find(slot, generation);
    if (c == nullptr) return;
    if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      read_all(*c, (ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
      if (s_.find(slot, generation) != c) return;
    }
    if ((ev.events & EPOLLOUT) && c->has_output()) want_send(*c);
  }

  // read_all reads until the socket is drained, as edge triggering requires. A short
  // read means drained, unless the peer also hung up (then read on to see the EOF).
  void read_all(connection& c, bool hangup) {
    const std::uint32_t slot = c.slot();
    const std::uint32_t generation = c.generation;
    for (;;) {
      const ssize_t n = ::recv(c.fd, read_buf_.data(), read_buf_.size(), 0);
      if (n > 0) {
        s_.on_data(c, read_buf_.data(), static_cast<std::size_t>(n));
        if (s_.find(slot, generation) != &c || c.fd < 0) return;
        if (static_cast<std::size_t>(n) < read_buf_.size() && !hangup) return;
        continue;
      }
      if (n == 0) {
        s_.on_eof(c);
        return;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) s_.on_error(c);
      return;
    }
  }

  // flush writes queued output until done or the socket is full (then EPOLLOUT's
  // edge brings the connection back). on_sent may queue more (parsing resumes). A
  // client that reads as fast as we write gets at most sends_per_flush writes per
  // iteration, then waits for the next one, so it cannot starve the others.
  void flush() {
    constexpr int sends_per_flush = 8;
    std::swap(sends_, flushing_);
    for (std::size_t i = 0; i < flushing_.size(); ++i) {
      const ref r = flushing_[i];
      connection* c = s_.find(r.slot, r.generation);
      if (c == nullptr) continue;
      c->io.send_queued = false;
      for (int budget = sends_per_flush; c->fd >= 0; --budget) {
        if (budget == 0) {
          want_send(*c);
          break;
        }
        const std::string_view out = c->begin_send();
        if (out.empty()) break;
        const ssize_t n = ::send(c->fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN && errno != EWOULDBLOCK) s_.on_error(*c);
          break;
        }
        s_.on_sent(*c, static_cast<std::size_t>(n));
        if (s_.find(r.slot, r.generation) != c) break;
        if (c->io.send_queued) {  // on_sent queued it again: keep writing now
          c->io.send_queued = false;
          std::erase_if(sends_, [&](const ref& q) { return q.slot == r.slot && q.generation == r.generation; });
        }
      }
    }
    flushing_.clear();
  }

  shard& s_;
  int ep_ = -1;
  int listen_fd_;
  int wake_fd_;
  std::vector<char> read_buf_;
  std::array<epoll_event, 256> events_{};
  std::vector<ref> sends_;     // connections with output to write
  std::vector<ref> flushing_;  // the list flush() is working through
};

}  // namespace

std::expected<std::unique_ptr<io_loop>, std::string> make_epoll_loop(shard& s, int listen_fd, int wake_fd) {
  auto loop = std::make_unique<epoll_loop>(s, listen_fd, wake_fd);
  if (auto ok = loop->init(); !ok) return std::unexpected(ok.error());
  return loop;
}

}  // namespace tollgate::engine
