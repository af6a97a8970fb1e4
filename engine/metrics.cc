// engine/metrics.cc — per-shard counters and the Prometheus text format.
#include "engine/metrics.h"

#include <cstdio>

namespace tollgate::engine {
namespace {

constexpr std::array<std::uint8_t, 600> make_status_index() {
  std::array<std::uint8_t, 600> index{};
  for (auto& i : index) i = static_cast<std::uint8_t>(tracked_statuses.size());
  for (std::size_t i = 0; i < tracked_statuses.size(); ++i) {
    index[static_cast<std::size_t>(tracked_statuses[i])] = static_cast<std::uint8_t>(i);
  }
  return index;
}
constexpr auto status_index = make_status_index();

std::size_t status_slot(int status) {
  return status >= 0 && status < static_cast<int>(status_index.size())
             ? status_index[static_cast<std::size_t>(status)]
             : tracked_statuses.size();
}

std::string_view method_name(method m) {
  switch (m) {
    case method::get: return "GET";
    case method::head: return "HEAD";
    case method::post: return "POST";
    case method::put: return "PUT";
    case method::patch: return "PATCH";
    case method::delete_: return "DELETE";
    case method::options: return "OPTIONS";
    case method::other: return "OTHER";
  }
  return "OTHER";
}

void append_u64(std::string& out, std::uint64_t v) {
  char text[24];
  const int n = std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(v));
  out.append(text, static_cast<std::size_t>(n));
}

std::uint64_t sum(std::span<const shard_stats* const> shards, counter shard_stats::*field) {
  std::uint64_t total = 0;
  for (const shard_stats* s : shards) total += (s->*field).load(std::memory_order_relaxed);
  return total;
}

// Route patterns are ours, but a label value must still escape '\', '"' and newlines.
void append_label(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') { out.append("\\n"); continue; }
    out.push_back(c);
  }
}

}  // namespace

// Rounded up to whole 64-byte lines (8 counters).
static std::size_t padded(std::size_t n) { return (n + 7) / 8 * 8; }

shard_stats::shard_stats(std::size_t routes)
    : route_slots(routes + 1),
      requests(new (std::align_val_t{64}) counter[padded((routes + 1) * status_slots)]) {
  for (std::size_t i = 0; i < route_slots * status_slots; ++i) {
    requests[i].store(0, std::memory_order_relaxed);
  }
}

void shard_stats::record(std::size_t route, int status, std::chrono::nanoseconds took) {
  bump(requests[route * status_slots + status_slot(status)]);
  const auto us = static_cast<std::uint64_t>(took.count() / 1000);
  std::size_t b = 0;
  while (b < latency_bounds_us.size() && us > latency_bounds_us[b]) ++b;
  bump(latency[b]);
  bump(latency_sum_ns, static_cast<std::uint64_t>(took.count()));
}

void render_metrics(std::string& out, std::span<const shard_stats* const> shards,
                    const route_table& routes) {
  if (shards.empty()) return;
  const std::size_t route_slots = shards[0]->route_slots;
  out.append("# HELP tollgate_http_requests_total HTTP requests answered, by route pattern and status.\n"
             "# TYPE tollgate_http_requests_total counter\n");
  for (std::size_t r = 0; r < route_slots; ++r) {
    for (std::size_t st = 0; st < status_slots; ++st) {
      std::uint64_t n = 0;
      for (const shard_stats* s : shards) {
        n += s->requests[r * status_slots + st].load(std::memory_order_relaxed);
      }
      if (n == 0) continue;
      out.append("tollgate_http_requests_total{route=\"");
      if (r < routes.routes().size()) {
        append_label(out, routes.routes()[r].pattern);
        out.append("\",method=\"");
        out.append(method_name(routes.routes()[r].verb));
      } else {
        out.append("unmatched\",method=\"any");
      }
      out.append("\",status=\"");
      if (st < tracked_statuses.size()) {
        append_u64(out, static_cast<std::uint64_t>(tracked_statuses[st]));
      } else {
        out.append("other");
      }
      out.append("\"} ");
      append_u64(out, n);
      out.push_back('\n');
    }
  }

  out.append("# HELP tollgate_http_request_duration_seconds Time from a request's bytes reaching the shard to its response being queued.\n"
             "# TYPE tollgate_http_request_duration_seconds histogram\n");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= latency_bounds_us.size(); ++b) {
    for (const shard_stats* s : shards) cumulative += s->latency[b].load(std::memory_order_relaxed);
    out.append("tollgate_http_request_duration_seconds_bucket{le=\"");
    if (b < latency_bounds_us.size()) {
      char text[32];
      const int n = std::snprintf(text, sizeof text, "%g", latency_bounds_us[b] / 1e6);
      out.append(text, static_cast<std::size_t>(n));
    } else {
      out.append("+Inf");
    }
    out.append("\"} ");
    append_u64(out, cumulative);
    out.push_back('\n');
  }
  {
    char text[48];
    const int n = std::snprintf(text, sizeof text, "%.9f",
                                static_cast<double>(sum(shards, &shard_stats::latency_sum_ns)) / 1e9);
    out.append("tollgate_http_request_duration_seconds_sum ");
    out.append(text, static_cast<std::size_t>(n));
    out.append("\ntollgate_http_request_duration_seconds_count ");
    append_u64(out, cumulative);
    out.push_back('\n');
  }

  struct simple {
    const char* name;
    const char* type;
    const char* help;
    counter shard_stats::*field;
  };
  static constexpr simple simples[] = {
      {"tollgate_open_connections", "gauge", "Open client connections.", &shard_stats::open_connections},
      {"tollgate_offload_queue_depth", "gauge", "Slow requests and stream pieces queued or running on the offload pool.", &shard_stats::offload_in_flight},
      {"tollgate_connections_accepted_total", "counter", "Connections accepted.", &shard_stats::accepted},
      {"tollgate_connections_refused_total", "counter", "Connections refused over max_connections (503).", &shard_stats::refused},
      {"tollgate_recv_no_buffers_total", "counter", "io_uring receives that found the provided buffer ring empty.", &shard_stats::recv_no_buffers},
      {"tollgate_batched_waits_total", "counter", "io_uring waits that asked for a batch of completions (busy shard, many connections).", &shard_stats::batched_waits},
      {"tollgate_shard_stalls_total", "counter", "Shard loop iterations longer than the stall threshold.", &shard_stats::stalls},
  };
  for (const simple& m : simples) {
    out.append("# HELP ").append(m.name).append(" ").append(m.help).append("\n# TYPE ");
    out.append(m.name).append(" ").append(m.type).append("\n").append(m.name).append(" ");
    append_u64(out, sum(shards, m.field));
    out.push_back('\n');
  }
}

}  // namespace tollgate::engine
