// engine/engine.h — the shard-per-core HTTP/1.1 server that every route runs on.
//
// Threading: a server owns N shards, each a thread pinned to a core with its own
// io_uring ring (or epoll instance), its own SO_REUSEPORT listener, connections and
// buffers. A connection never moves between shards. Hot routes run inline on the
// shard thread that read the request; they must never block, lock, allocate per
// request or throw. Slow routes run on the offload pool (Boost.Asio thread_pool)
// with a private copy of the request; their response is posted back to the owning
// shard, which writes it. route_table is built before the server starts and is
// read-only afterwards. server::stop() may be called from any thread, and from a
// signal handler: it only stores an atomic flag and writes to eventfds.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/http.h"

namespace tollgate::engine {

using http::header;
using http::method;

// ip_address is an IPv4 or IPv6 address; IPv4 is stored IPv4-mapped
// (::ffff:a.b.c.d) so one 16-byte compare path serves both families.
struct ip_address {
  std::array<std::uint8_t, 16> bytes{};
  bool is_v4 = false;

  // to_string formats the address (dotted quad for IPv4, RFC 5952 for IPv6).
  std::string to_string() const;
  friend bool operator==(const ip_address&, const ip_address&) = default;
};

// unix_time is a wall-clock instant in nanoseconds since the epoch. The engine reads
// the clock once per event-loop iteration and hands that value to every request, so
// handlers never read the clock themselves (tests inject one via options::clock).
using unix_time = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;
using clock_fn = std::function<unix_time()>;

// shard_services are what a handler may ask of the shard running it.
class shard_services {
 public:
  virtual ~shard_services() = default;
  // index is the shard's number, 0 .. shards-1.
  virtual unsigned index() const = 0;
  // defer runs `work` on the offload pool, fire and forget.
  // WARNING: allocates and takes the pool's lock; for rare events only (a lazily
  // recorded session activity, an audit entry rate-limited to once a minute).
  virtual void defer(std::function<void()> work) = 0;
};

// request is one parsed HTTP request. On hot routes every view points into the
// connection's read buffer and is valid only until the handler returns. On slow
// routes the views point into the request's private copy, valid until the handler
// returns.
struct request {
  method verb = method::other;
  std::string_view method_text;
  std::string_view target;  // path and query as sent
  std::string_view path;    // before '?', not decoded
  std::string_view query;   // after '?', not decoded
  std::span<const header> headers;
  std::string_view body;    // de-chunked
  std::span<const std::string_view> params;  // values of the route's {name} segments, in order
  ip_address peer;          // the TCP peer, not X-Forwarded-For
  std::uint16_t peer_port = 0;
  unix_time now{};          // the shard's clock reading for this request
  shard_services* shard = nullptr;

  // header_value returns the first header named `name` (ASCII case-insensitive), or
  // an empty view when absent.
  std::string_view header_value(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

// response is what a handler fills in. Storage keeps its capacity between requests,
// so after warm-up a hot handler that writes a body of the usual size allocates
// nothing. The engine adds Date, Content-Length (or chunked framing) and Connection.
class response {
 public:
  // chunk_source appends the next piece of a streamed body to `out` and returns
  // true while more follows. Called on the offload pool, one call at a time, only
  // when the connection has drained what was sent, so memory stays flat.
  using chunk_source = std::function<bool(std::string& out)>;

  void set_status(int status) { status_ = status; }
  int status() const { return status_; }

  // add_header appends a header; name and value are copied. Values must not contain
  // CR or LF (checked; such a header is dropped).
  void add_header(std::string_view name, std::string_view value);

  // set_body replaces the body with a copy of `body`.
  void set_body(std::string_view content_type, std::string_view body);
  // body gives direct access to the body buffer, to format into it without a copy.
  std::string& body() { return body_; }
  void set_content_type(std::string_view content_type) { content_type_.assign(content_type); }

  // stream makes the body a chunked stream produced by `next` (slow routes only).
  void stream(std::string_view content_type, chunk_source next);

  // close_connection asks the engine to close the connection after this response.
  void close_connection() { close_ = true; }

  // For the engine:
  std::string_view header_block() const { return headers_; }  // "Name: value\r\n"...
  std::string_view content_type() const { return content_type_; }
  std::string_view body_view() const { return body_; }
  bool closes() const { return close_; }
  chunk_source& streamer() { return stream_; }
  // reset clears everything but keeps the buffers' capacity.
  void reset();

 private:
  int status_ = 200;
  bool close_ = false;
  std::string headers_;
  std::string content_type_;
  std::string body_;
  chunk_source stream_;
};

enum class route_kind : std::uint8_t {
  hot,   // inline on the shard: microseconds, never blocks
  slow,  // on the offload pool: may block (Argon2id, LMDB writes, exports)
};

using handler = std::function<void(const request&, response&)>;

// route_table collects routes before the server starts.
class route_table {
 public:
  struct route {
    method verb;
    std::string pattern;  // "/api/v1/security/users/{id}"; "{name}" matches one segment
    route_kind kind;
    handler run;
  };

  // add registers a route. A GET route also answers HEAD (body omitted). Patterns
  // with the same shape but different parameter names are the same route; adding
  // one twice aborts at startup.
  void add(method verb, std::string_view pattern, route_kind kind, handler run);
  const std::vector<route>& routes() const { return routes_; }

 private:
  std::vector<route> routes_;
};

enum class io_backend : std::uint8_t { uring, epoll };

// shard_hooks let the layers above keep per-shard state (a verifier, caches) in step
// with each shard's loop without the engine knowing what it is. Both run on the
// shard's own thread with its index, 0 .. shards-1. Plain function pointers rather
// than std::function: `noexcept` is part of their type, so a hook that may throw does
// not compile, and a call is one indirect call with nothing to allocate.
struct shard_hooks {
  void* context = nullptr;  // passed to both; must outlive the server
  // start runs once before the shard serves: /readyz counts the shard only after it
  // returns true (false: the shard still serves, but /readyz stays 503, so a shard
  // whose state could not be built is never reported ready), and the stall detector
  // does not time it. Build per-shard state here so that no request pays for it. May
  // allocate and may block briefly. Null: none.
  bool (*start)(void* context, unsigned shard) noexcept = nullptr;
  // iteration runs once per loop iteration, after that iteration's events and
  // timers, and so at least once a second on an idle shard. It is timed with the
  // iteration by the stall detector. Never blocks; must not allocate, lock or make a
  // syscall. Null: none.
  void (*iteration)(void* context, unsigned shard) noexcept = nullptr;
};

// offload_priority says how offload threads share the cores with the shards, so that
// Argon2id and exports take the CPU the shards leave idle.
struct offload_priority {
  // idle: SCHED_IDLE, the pool runs only on CPU time no shard wants; a shard that
  // wakes preempts it at once. On 2 cores, verify during saturating logins kept
  // 0.89-0.93x of its throughput alone against 0.72-0.80x at nice 10 (same binary,
  // switched with chrt); with batched waits too, 0.96x (bench/RESULTS.md, login
  // sections).
  // The price: when the hot path keeps every core busy, logins and management writes
  // get a sliver of CPU and slow down instead of the hot path.
  // Otherwise SCHED_OTHER at `nice` (0..19): the pool keeps a share of busy cores.
  bool idle = true;
  int nice = 10;
};

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 picks a free port (tests); see server::port()
  unsigned shards = 0;        // 0: one per online core
  io_backend io = io_backend::uring;  // uring falls back to epoll with one warning
  bool pin_shards = true;
  http::limits limits;
  std::chrono::milliseconds header_timeout{10'000};  // whole head must arrive: else 408
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive connection with no request
  std::size_t max_connections = 10'000;              // per server; beyond: 503, then close
  unsigned offload_threads = 0;                       // 0: max(2, cores)
  offload_priority offload_sched;                     // set on each pool thread's first task
  std::chrono::milliseconds drain_timeout{30'000};   // stop(): then open connections are cut
  std::chrono::milliseconds stall_threshold{100};    // a loop iteration longer is logged
  clock_fn clock;                                     // empty: the system clock
  // ready reports whether the rest of the process (the store) is ready; /readyz is
  // 200 only when it is true and every shard serves. Empty: always ready.
  std::function<bool()> ready;
  // metrics_sources append Prometheus text for /metrics (called on the offload pool).
  std::vector<std::function<void(std::string& out)>> metrics_sources;
  shard_hooks hooks;
};

enum class errc : std::uint8_t {
  ok = 0,
  bad_address,      // host is not a numeric IPv4/IPv6 address
  bind_failed,      // address in use or not permitted
  uring_unavailable,  // only when io_uring was required and could not be set up
  thread_failed,
};

std::string_view message_of(errc e);

// server runs the shards. create() binds every listener (so a bad address fails
// before anything runs); run() serves until stop() and then drains: it stops
// accepting, finishes in-flight requests (including slow ones), closes idle
// connections, and returns.
class server {
 public:
  [[gnu::cold]] static std::expected<std::unique_ptr<server>, errc> create(options opts,
                                                                          route_table routes);
  virtual ~server() = default;

  // port is the bound port (useful when options::port was 0).
  virtual std::uint16_t port() const = 0;
  // backend is the io backend actually in use after any fallback.
  virtual io_backend backend() const = 0;
  // run blocks until stop() and the drain complete. May block.
  virtual void run() = 0;
  // stop starts a graceful drain; thread-safe and async-signal-safe, returns at once.
  virtual void stop() = 0;
};

// block_termination_signals blocks SIGTERM and SIGINT in the calling thread. Threads
// started afterwards inherit the mask, so call it first in main(), before any thread
// exists; then only run_until_signal sees those signals.
void block_termination_signals();

// run_until_signal runs `s` on the calling thread until SIGTERM or SIGINT arrives
// (read through a signalfd), then drains it with server::stop() and returns once
// run() has returned. Returns the signal number, or 0 when run() returned because
// stop() was called elsewhere. May block. The engine's own threads (shards, offload
// pool) are created inside run() and inherit the blocked mask.
int run_until_signal(server& s);

}  // namespace tollgate::engine
