// engine/uring_loop.cc — the io_uring backend (raw liburing).
//
// What makes it cheap, per loop iteration: one io_uring_enter that both submits
// everything queued (sends, re-arms) and waits; completions reaped in one batch
// (io_uring_for_each_cqe + io_uring_cq_advance); a multishot accept and one multishot
// recv per connection that stay armed across requests, so a keep-alive request costs
// no submission at all on the read side; received bytes land in a provided buffer
// ring shared by all connections of the shard (no per-connection read buffer, buffers
// go back to the ring in one batch); and all pipelined responses of a connection go
// out in one send. SINGLE_ISSUER|DEFER_TASKRUN lets the kernel run completion work
// only when we enter it, instead of interrupting the shard with task work.
//
// Under load from many connections the wait is batched (Linux 6.12+,
// IORING_FEAT_MIN_TIMEOUT): it returns at batch_events completions, or once
// batch_wait_us has passed with at least one.
// Without it a shard that keeps up with its clients enters the kernel about once per
// completion (a send's completion is already there when the submit returns, so the
// next enter returns at once) and sleeps and wakes for nearly every request; on the
// paravirtualised build VM a sleep and wake-up costs more than the request itself.
// Measured with perf stat on GET /healthz, keep-alive, 64 connections: CPU per request
// 10.5-10.9 -> 7.4-8.9 us, io_uring_enter calls per request 0.4-1.1 -> 0.03-0.07
// (bench/RESULTS.md, "engine: batched waits, perf stat A/B"). Lightly loaded shards, and shards with few connections, wait for
// one completion as before: with 8 busy connections a batched wait made the shard
// and its clients take turns and halved throughput.
#include <liburing.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "engine/io_loop.h"
#include "engine/shard.h"

namespace tollgate::engine {
namespace {

constexpr unsigned sq_entries = 1024;
constexpr unsigned cq_entries = 16384;
constexpr unsigned buffer_count = 1024;  // power of two (ring mask)
constexpr unsigned buffer_size = 4096;
constexpr unsigned buffer_group = 0;

constexpr unsigned batch_events = 64;
constexpr std::size_t batch_min_connections = 32;
constexpr std::uint32_t batch_wait_us = 100;
// Completions per millisecond from which a shard counts as loaded and batches its
// waits (a keep-alive request is two: its receive and its send): ~20,000 requests/s.
constexpr std::uint64_t loaded_completions_per_ms = 40;
// Not in Debian 12's kernel headers or liburing 2.3 (io_uring_submit_and_wait_min_timeout
// is liburing 2.8): the 6.12 feature bit, and the wait argument whose former `pad`
// is `min_wait_usec` since then.
constexpr unsigned feat_min_timeout = 1U << 15;
struct getevents_arg {
  std::uint64_t sigmask;
  std::uint32_t sigmask_sz;
  std::uint32_t min_wait_usec;
  std::uint64_t ts;
};
static_assert(sizeof(getevents_arg) == sizeof(io_uring_getevents_arg));

enum class op : std::uint8_t { accept = 1, recv, send, wake, ignore };

constexpr std::uint64_t tag(op o, std::uint32_t slot = 0, std::uint32_t generation = 0) {
  return (static_cast<std::uint64_t>(o) << 56) | (static_cast<std::uint64_t>(slot & 0xffffff) << 32) |
         generation;
}
constexpr op op_of(std::uint64_t t) { return static_cast<op>(t >> 56); }
constexpr std::uint32_t slot_of(std::uint64_t t) { return static_cast<std::uint32_t>(t >> 32) & 0xffffff; }
constexpr std::uint32_t generation_of(std::uint64_t t) { return static_cast<std::uint32_t>(t); }

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// init_ring sets up a ring with the cheapest task-running mode the kernel offers.
int init_ring(io_uring& ring) {
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
            IORING_SETUP_SUBMIT_ALL;
  p.cq_entries = cq_entries;
  int r = io_uring_queue_init_params(sq_entries, &ring, &p);
  if (r == -EINVAL) {  // before 6.1: no DEFER_TASKRUN
    p = {};
    p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    p.cq_entries = cq_entries;
    r = io_uring_queue_init_params(sq_entries, &ring, &p);
  }
  return r;
}

// check_ring fails when an opcode or feature the loop relies on is missing.
std::expected<void, std::string> check_ring(io_uring& ring) {
  if (!(ring.features & IORING_FEAT_NODROP) || !(ring.features & IORING_FEAT_EXT_ARG)) {
    return std::unexpected(std::string("kernel lacks IORING_FEAT_NODROP/EXT_ARG"));
  }
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) return std::unexpected(std::string("cannot probe io_uring opcodes"));
  // SEND_ZC is not used; its presence (6.0) stands for multishot recv, which no probe reports.
  const int needed[] = {IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_READ,
                        IORING_OP_ASYNC_CANCEL, IORING_OP_SEND_ZC};
  bool ok = true;
  for (int o : needed) ok = ok && io_uring_opcode_supported(probe, o);
  io_uring_free_probe(probe);
  if (!ok) return std::unexpected(std::string("kernel lacks an io_uring opcode (needs 6.0+)"));
  return {};
}

class uring_loop final : public io_loop {
 public:
  uring_loop(shard& s, int listen_fd, int wake_fd) : s_(s), listen_fd_(listen_fd), wake_fd_(wake_fd) {}

  ~uring_loop() override {
    if (ring_ready_) io_uring_queue_exit(&ring_);
    if (buf_ring_ != nullptr) ::munmap(buf_ring_, buf_ring_bytes());
    if (buffers_ != nullptr) ::munmap(buffers_, static_cast<std::size_t>(buffer_count) * buffer_size);
  }

  std::expected<void, std::string> init() {
    const int r = init_ring(ring_);
    if (r < 0) return std::unexpected(errno_text("io_uring_setup", -r));
    ring_ready_ = true;
    if (auto ok = check_ring(ring_); !ok) return ok;
    can_batch_ = (ring_.features & feat_min_timeout) != 0;
    void* mem = ::mmap(nullptr, buf_ring_bytes(), PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return std::unexpected(errno_text("mmap", errno));
    buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(buf_ring_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
    reg.ring_entries = buffer_count;
    reg.bgid = buffer_group;
    if (const int e = io_uring_register_buf_ring(&ring_, &reg, 0); e < 0) {
      return std::unexpected(errno_text("io_uring_register_buf_ring", -e));
    }
    mem = ::mmap(nullptr, static_cast<std::size_t>(buffer_count) * buffer_size, PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return std::unexpected(errno_text("mmap", errno));
    buffers_ = static_cast<char*>(mem);
    for (unsigned i = 0; i < buffer_count; ++i) recycle(static_cast<std::uint16_t>(i));
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(recycled_));
    recycled_ = 0;
    accept_wanted_ = true;
    wake_wanted_ = true;
    return {};
  }

  void poll(std::chrono::milliseconds timeout) override {
    flush();
    __kernel_timespec ts{};
    ts.tv_sec = timeout.count() / 1000;
    ts.tv_nsec = (timeout.count() % 1000) * 1'000'000;
    io_uring_cqe* cqe = nullptr;
    // Both return -ETIME on timeout and -EINTR on a signal; either just ends the wait.
    if (loaded_ && s_.live_connections() >= batch_min_connections && timeout.count() != 0) {
      bump(s_.stats().batched_waits);
      submit_and_wait_batch(ts);
    } else {
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
    s_.tick();
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      handle(*cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    measure_load(seen);
    if (recycled_ != 0) {
      io_uring_buf_ring_advance(buf_ring_, static_cast<int>(recycled_));
      recycled_ = 0;
    }
  }

  void start(connection& c) override { queue_rearm(c); }

  void want_send(connection& c) override {
    if (c.io.send_queued) return;
    c.io.send_queued = true;
    sends_.push_back(ref{c.slot(), c.generation});
  }

  void shutdown_write(connection& c) override { ::shutdown(c.fd, SHUT_WR); }

  void close(connection& c) override {
    if (c.io.reading) {
      // The armed receive holds the socket open past close(); cancel it.
      io_uring_prep_cancel64(sqe(), tag(op::recv, c.slot(), c.generation), 0);
      last_sqe_->user_data = tag(op::ignore);
    }
    ::close(c.fd);
    c.fd = -1;
    if (c.io.sending) {
      // The kernel still reads the sending buffer: release on the send's completion,
      // which the cancel makes prompt even if the client stopped reading.
      io_uring_prep_cancel64(sqe(), tag(op::send, c.slot(), c.generation), 0);
      last_sqe_->user_data = tag(op::ignore);
      c.io.release_pending = true;
    } else {
      s_.release(c);
    }
  }

  void stop_accepting() override {
    if (listen_fd_ < 0) return;
    accept_wanted_ = false;
    io_uring_prep_cancel64(sqe(), tag(op::accept), 0);
    last_sqe_->user_data = tag(op::ignore);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }

 private:
  struct ref {
    std::uint32_t slot;
    std::uint32_t generation;
  };

  static std::size_t buf_ring_bytes() { return sizeof(io_uring_buf) * buffer_count; }

  // submit_and_wait_batch is io_uring_submit_and_wait_timeout with a minimum wait:
  // liburing's own SQ flush (publish the new tail), then one io_uring_enter.
  void submit_and_wait_batch(__kernel_timespec& ts) {
    io_uring_sq& sq = ring_.sq;
    const unsigned tail = sq.sqe_tail;
    if (sq.sqe_head != tail) {
      sq.sqe_head = tail;
      IO_URING_WRITE_ONCE(*sq.ktail, tail);
    }
    const unsigned to_submit = tail - IO_URING_READ_ONCE(*sq.khead);
    getevents_arg arg{};
    arg.min_wait_usec = batch_wait_us;
    arg.ts = reinterpret_cast<std::uint64_t>(&ts);
    (void)io_uring_enter2(ring_.ring_fd, to_submit, batch_events, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
                          reinterpret_cast<sigset_t*>(&arg), sizeof arg);
  }

  // measure_load decides, once per millisecond or more, whether the next waits batch.
  void measure_load(unsigned completions) {
    if (!can_batch_) return;
    window_completions_ += completions;
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(s_.now() - window_start_).count();
    if (elapsed == 0) return;
    // A wall clock set back (elapsed < 0) starts a new window.
    loaded_ = elapsed > 0 && window_completions_ >= loaded_completions_per_ms * static_cast<std::uint64_t>(elapsed);
    window_start_ = s_.now();
    window_completions_ = 0;
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* e = io_uring_get_sqe(&ring_);
    if (e == nullptr) {  // submission queue full: hand it to the kernel and retry
      io_uring_submit(&ring_);
      e = io_uring_get_sqe(&ring_);
    }
    last_sqe_ = e;
    return e;
  }

  void recycle(std::uint16_t bid) {
    io_uring_buf_ring_add(buf_ring_, buffers_ + static_cast<std::size_t>(bid) * buffer_size, buffer_size,
                          bid, io_uring_buf_ring_mask(buffer_count), static_cast<int>(recycled_));
    ++recycled_;
  }

  void queue_rearm(connection& c) {
    if (c.io.rearm_queued) return;
    c.io.rearm_queued = true;
    rearms_.push_back(ref{c.slot(), c.generation});
  }

  // flush turns everything queued during the last batch into SQEs. Sends and
  // receives are prepared only here, right before the submit, so none can name an
  // fd that a later event of the same batch closed.
  void flush() {
    if (accept_wanted_ && !accept_armed_ && listen_fd_ >= 0) {
      io_uring_prep_multishot_accept(sqe(), listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      last_sqe_->user_data = tag(op::accept);
      accept_armed_ = true;
    }
    if (wake_wanted_) {
      io_uring_prep_read(sqe(), wake_fd_, &wake_value_, sizeof wake_value_, 0);
      last_sqe_->user_data = tag(op::wake);
      wake_wanted_ = false;
    }
    for (const ref& r : rearms_) {
      connection* c = s_.find(r.slot, r.generation);
      if (c == nullptr) continue;
      c->io.rearm_queued = false;
      if (c->fd < 0 || c->io.reading) continue;
      io_uring_prep_recv_multishot(sqe(), c->fd, nullptr, 0, 0);
      last_sqe_->flags |= IOSQE_BUFFER_SELECT;
      last_sqe_->buf_group = buffer_group;
      last_sqe_->user_data = tag(op::recv, c->slot(), c->generation);
      c->io.reading = true;
    }
    rearms_.clear();
    for (const ref& r : sends_) {
      connection* c = s_.find(r.slot, r.generation);
      if (c == nullptr) continue;
      c->io.send_queued = false;
      if (c->fd < 0 || c->io.sending) continue;
      const std::string_view out = c->begin_send();
      if (out.empty()) continue;
      io_uring_prep_send(sqe(), c->fd, out.data(), out.size(), MSG_NOSIGNAL);
      last_sqe_->user_data = tag(op::send, c->slot(), c->generation);
      c->io.sending = true;
    }
    sends_.clear();
  }

  void handle(const io_uring_cqe& cqe) {
    const std::uint64_t t = cqe.user_data;
    switch (op_of(t)) {
      case op::accept: on_accept(cqe); return;
      case op::recv: on_recv(cqe, slot_of(t), generation_of(t)); return;
      case op::send: on_send(cqe, slot_of(t), generation_of(t)); return;
      case op::wake:
        wake_wanted_ = true;
        s_.on_wake();
        return;
      case op::ignore: return;
    }
  }

  void on_accept(const io_uring_cqe& cqe) {
    if (!(cqe.flags & IORING_CQE_F_MORE)) accept_armed_ = false;  // re-armed at the next flush
    if (cqe.res >= 0) {
      if (accept_wanted_) {
        s_.on_accept(cqe.res);
      } else {
        ::close(cqe.res);
      }
    }
  }

  void on_recv(const io_uring_cqe& cqe, std::uint32_t slot, std::uint32_t generation) {
    const bool has_buffer = cqe.flags & IORING_CQE_F_BUFFER;
    const auto bid = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    const bool more = cqe.flags & IORING_CQE_F_MORE;
    connection* c = s_.find(slot, generation);
    if (c == nullptr) {  // closed since; only the buffer matters
      if (has_buffer) recycle(bid);
      return;
    }
    if (!more) c->io.reading = false;
    if (cqe.res > 0 && has_buffer) {
      s_.on_data(*c, buffers_ + static_cast<std::size_t>(bid) * buffer_size, static_cast<std::size_t>(cqe.res));
      recycle(bid);
      if (!more && s_.find(slot, generation) == c && c->fd >= 0) queue_rearm(*c);
      return;
    }
    if (has_buffer) recycle(bid);
    if (cqe.res == 0) {
      s_.on_eof(*c);
    } else if (cqe.res == -ENOBUFS) {
      // The ring ran dry during this batch; buffers are back by the next submit.
      bump(s_.stats().recv_no_buffers);
      if (c->fd >= 0) queue_rearm(*c);
    } else if (cqe.res != -ECANCELED) {
      s_.on_error(*c);
    }
  }

  void on_send(const io_uring_cqe& cqe, std::uint32_t slot, std::uint32_t generation) {
    connection* c = s_.find(slot, generation);
    if (c == nullptr) return;
    c->io.sending = false;
    if (c->io.release_pending) {
      s_.release(*c);
      return;
    }
    if (cqe.res < 0) {
      s_.on_error(*c);
      return;
    }
    s_.on_sent(*c, static_cast<std::size_t>(cqe.res));
  }

  shard& s_;
  io_uring ring_{};
  bool ring_ready_ = false;
  int listen_fd_;
  int wake_fd_;
  io_uring_sqe* last_sqe_ = nullptr;
  io_uring_buf_ring* buf_ring_ = nullptr;
  char* buffers_ = nullptr;
  unsigned recycled_ = 0;
  bool can_batch_ = false;
  bool loaded_ = false;
  unix_time window_start_{};
  std::uint64_t window_completions_ = 0;
  bool accept_wanted_ = false;
  bool accept_armed_ = false;
  bool wake_wanted_ = false;
  std::uint64_t wake_value_ = 0;
  std::vector<ref> rearms_;
  std::vector<ref> sends_;
};

}  // namespace

std::expected<std::unique_ptr<io_loop>, std::string> make_uring_loop(shard& s, int listen_fd, int wake_fd) {
  auto loop = std::make_unique<uring_loop>(s, listen_fd, wake_fd);
  if (auto ok = loop->init(); !ok) return std::unexpected(ok.error());
  return loop;
}

std::expected<void, std::string> probe_uring() {
  io_uring ring{};
  const int r = init_ring(ring);
  if (r < 0) return std::unexpected(errno_text("io_uring_setup", -r));
  auto ok = check_ring(ring);
  if (ok) {
    // Provided buffer rings (5.19) cannot be probed as an opcode; register a tiny one.
    void* mem = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) {
      ok = std::unexpected(errno_text("mmap", errno));
    } else {
      io_uring_buf_reg reg{};
      reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
      reg.ring_entries = 8;
      reg.bgid = buffer_group;
      if (const int e = io_uring_register_buf_ring(&ring, &reg, 0); e < 0) {
        ok = std::unexpected(errno_text("io_uring_register_buf_ring", -e));
      } else {
        io_uring_unregister_buf_ring(&ring, buffer_group);
      }
      ::munmap(mem, 4096);
    }
  }
  io_uring_queue_exit(&ring);
  return ok;
}

}  // namespace tollgate::engine
