// engine/metrics.h — per-shard counters and their Prometheus rendering. Private to
// engine/.
//
// Threading: each shard_stats has one writer, its shard thread, which updates with
// relaxed load+store (a plain add on x86, no locked instruction); /metrics reads every
// shard's counters with relaxed loads from the offload pool. Nothing is written across
// shards, and each shard_stats starts on its own cache line.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <string>

#include "engine/engine.h"

namespace tollgate::engine {

using counter = std::atomic<std::uint64_t>;

// bump adds to a counter that only the calling thread writes.
inline void bump(counter& c, std::uint64_t by = 1) {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
inline void drop(counter& c) { c.store(c.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed); }

// The statuses counted one by one; anything else is counted as "other".
inline constexpr std::array<int, 37> tracked_statuses = {
    200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401,
    403, 404, 405, 406, 408, 409, 410, 411, 412, 413, 414, 415, 416,
    422, 423, 426, 429, 431, 500, 501, 502, 503, 504, 505};
inline constexpr std::size_t status_slots = tracked_statuses.size() + 1;

// Upper bounds of the latency histogram, in microseconds.
inline constexpr std::array<std::uint32_t, 16> latency_bounds_us = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

struct alignas(64) shard_stats {
  // routes: the route table's size; slot `routes` counts requests no route matched.
  explicit shard_stats(std::size_t routes);

  // record counts one answered request. `route` is an index into the route table or
  // the unmatched slot.
  void record(std::size_t route, int status, std::chrono::nanoseconds latency);

  // Whole cache lines of its own, so no other shard's data shares them.
  struct line_delete {
    void operator()(counter* p) const { ::operator delete[](p, std::align_val_t{64}); }
  };
  std::size_t route_slots;
  std::unique_ptr<counter[], line_delete> requests;  // [route_slots][status_slots]
  std::array<counter, latency_bounds_us.size() + 1> latency{};
  counter latency_sum_ns{0};
  counter open_connections{0};
  counter offload_in_flight{0};
  counter accepted{0};
  counter refused{0};
  counter recv_no_buffers{0};
  counter batched_waits{0};
  counter stalls{0};
};

// render_metrics appends the Prometheus text exposition of every shard's counters.
void render_metrics(std::string& out, std::span<const shard_stats* const> shards,
                    const route_table& routes);

}  // namespace tollgate::engine
