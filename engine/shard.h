// engine/shard.h — one shard: its thread's event loop, connections, timers and
// counters. Private to engine/.
//
// Threading: everything here runs on the shard's thread except wake() and complete(),
// which any thread may call (complete() takes the shard's small completion lock; it
// is used by the offload pool, never by the hot path).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/connection.h"
#include "engine/engine.h"
#include "engine/io_loop.h"
#include "engine/metrics.h"
#include "engine/router.h"
#include "engine/timer.h"

namespace tollgate::engine {

class offload_pool;

// server_shared is what every shard reads from its server.
struct server_shared {
  options opts;
  route_table routes;
  std::unique_ptr<router> routes_index;
  offload_pool* pool = nullptr;
  io_backend backend = io_backend::uring;
  unsigned shard_count = 1;
  std::atomic<bool> stopping{false};
  std::atomic<unsigned> serving{0};
  std::atomic<std::size_t> open_connections{0};  // all shards; written on accept/close only
  std::atomic<bool> fallback_warned{false};
};

class shard final : public shard_services {
 public:
  shard(server_shared& shared, unsigned index, int listen_fd);
  ~shard() override;
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  // run serves until the server stops and the drain completes. May block.
  void run();
  // wake interrupts the loop's wait; thread-safe and async-signal-safe.
  void wake();
  // complete hands a finished slow job back; called on the offload pool.
  void complete(std::unique_ptr<slow_job> job);

  // shard_services
  unsigned index() const override { return index_; }
  void defer(std::function<void()> work) override;

  // For the io loop (shard thread only):
  void tick();
  void on_accept(int fd);
  void on_data(connection& c, char* data, std::size_t size);
  void on_eof(connection& c);
  void on_error(connection& c);
  void on_sent(connection& c, std::size_t n);
  void on_wake();
  connection* find(std::uint32_t slot, std::uint32_t generation);
  void release(connection& c);
  shard_stats& stats() { return *stats_; }
  std::size_t live_connections() const { return live_; }

  // For connections (shard thread only):
  unix_time now() const { return now_; }
  std::chrono::steady_clock::time_point batch_start() const { return batch_start_; }
  std::string_view date_line() { return dates_.line(now_); }
  const router& routes_index() const { return *shared_.routes_index; }
  const route_table& routes() const { return shared_.routes; }
  const options& opts() const { return shared_.opts; }
  bool draining() const { return draining_; }
  // submit runs a slow job's route (or its stream's next piece) on the offload pool.
  void submit(std::unique_ptr<slow_job> job);
  const shard_stats* stats_view() const { return stats_.get(); }

 private:
  void settle(connection& c);
  void close(connection& c);
  void arm_timer(connection& c);
  void expire_timers();
  void begin_drain();
  std::chrono::milliseconds next_timeout() const;
  void check_stall();

  server_shared& shared_;
  unsigned index_;
  int listen_fd_;
  int wake_fd_ = -1;
  std::unique_ptr<io_loop> loop_;
  std::unique_ptr<shard_stats> stats_;
  std::vector<std::unique_ptr<connection>> conns_;
  std::vector<std::uint32_t> free_slots_;
  std::size_t live_ = 0;
  std::size_t refusing_ = 0;
  deadline_list short_timers_;   // header_timeout: fresh connections, heads
  deadline_list long_timers_;    // idle_timeout: keep-alive idle, bodies, stalled writes
  deadline_list linger_timers_;  // linger_time(): half-closed, waiting for the client's EOF
  std::chrono::milliseconds linger_time() const;
  date_cache dates_;
  unix_time now_{};
  std::chrono::steady_clock::time_point batch_start_{};
  std::chrono::steady_clock::time_point last_stall_log_{};
  bool draining_ = false;
  bool counted_serving_ = false;
  unix_time drain_deadline_{};

  std::mutex done_lock_;
  std::vector<std::unique_ptr<slow_job>> done_;
  std::vector<std::unique_ptr<slow_job>> done_swap_;
};

// offload_pool runs slow work off the shards (a Boost.Asio thread_pool) on threads
// lowered to `priority`.
class offload_pool {
 public:
  offload_pool(unsigned threads, offload_priority priority);
  ~offload_pool();
  void post(std::move_only_function<void()> work);
  // join waits for every posted task to finish. May block.
  void join();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tollgate::engine
