// tests/engine/server_test.cc — the engine over real loopback sockets, every test
// run on both backends (io_uring and epoll).
#include "engine/engine.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/engine/client.h"

namespace tollgate::engine {
namespace {

using namespace std::chrono_literals;
using testing::client;
using testing::http_response;

std::string get(std::string_view path, std::string_view extra = {}) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

class server_test : public ::testing::TestWithParam<io_backend> {
 protected:
  // start creates and runs a server with `routes` plus the test's standard ones.
  void start(options o = {}, route_table routes = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    if (o.shards == 0) o.shards = 2;
    o.io = GetParam();
    o.pin_shards = false;
    if (o.offload_threads == 0) o.offload_threads = 4;
    routes.add(method::get, "/n/{id}", route_kind::hot, [](const request& q, response& r) {
      r.set_body("text/plain", q.params[0]);
    });
    routes.add(method::post, "/echo", route_kind::hot, [](const request& q, response& r) {
      r.set_body("application/octet-stream", q.body);
    });
    routes.add(method::get, "/slow/{ms}", route_kind::slow, [this](const request& q, response& r) {
      slow_entered.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(q.params[0]))));
      r.set_body("text/plain", "slow " + std::string(q.params[0]));
    });
    routes.add(method::get, "/stream/{n}", route_kind::slow, [this](const request& q, response& r) {
      const int n = std::stoi(std::string(q.params[0]));
      auto next = std::make_shared<int>(0);
      r.stream("text/plain", [n, next, this](std::string& out) {
        stream_calls.fetch_add(1);
        out = "piece-" + std::to_string(*next) + ";";
        return ++*next < n;
      });
    });
    auto s = server::create(std::move(o), std::move(routes));
    ASSERT_TRUE(s.has_value()) << message_of(s.error());
    srv = std::move(*s);
    EXPECT_EQ(srv->backend(), GetParam());
    runner = std::thread([this] { srv->run(); });
  }

  void TearDown() override {
    if (srv) srv->stop();
    if (runner.joinable()) runner.join();
  }

  std::uint16_t port() const { return srv->port(); }

  std::unique_ptr<server> srv;
  std::thread runner;
  std::atomic<int> slow_entered{0};
  std::atomic<int> stream_calls{0};
};

void expect_json_error(const std::optional<http_response>& r, int status, std::string_view code) {
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, status);
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_NE(r->body.find("\"error\":\"" + std::string(code) + "\""), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"message\":\""), std::string::npos) << r->body;
}

// expect_error_then_close sends `request` on a new connection and expects the JSON
// error `status`/`code` with Connection: close, then the server closing.
void expect_error_then_close(std::uint16_t port, std::string_view request, int status,
                             std::string_view code) {
  client c(port);
  ASSERT_TRUE(c.send(request));
  auto r = c.read_response();
  expect_json_error(r, status, code);
  if (r) {
    EXPECT_EQ(r->header("Connection"), "close");
  }
  EXPECT_TRUE(c.at_eof());
}

// ready_status asks /readyz on `c` until it answers 200 or 3 s pass, and returns the
// last status (0: the connection failed).
int ready_status(client& c) {
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    if (!c.send(get("/readyz"))) return 0;
    auto r = c.read_response();
    if (!r) return 0;
    if (r->status == 200 || std::chrono::steady_clock::now() - t0 >= 3s) return r->status;
    std::this_thread::sleep_for(10ms);
  }
}

// metric reads one unlabelled counter from /metrics on `c` (-1: no answer or no such line).
long metric(client& c, std::string_view name) {
  if (!c.send(get("/metrics"))) return -1;
  auto r = c.read_response();
  if (!r) return -1;
  const std::string line = "\n" + std::string(name) + " ";
  const auto at = r->body.find(line);
  return at == std::string::npos ? -1 : std::stol(r->body.substr(at + line.size()));
}

// stalls reads tollgate_shard_stalls_total from /metrics on `c` (-1: no answer or no
// such line).
int stalls(client& c) { return static_cast<int>(metric(c, "tollgate_shard_stalls_total")); }

// kernel_at_least says whether the running kernel's release is at least major.minor.
bool kernel_at_least(int major, int minor) {
  utsname u{};
  int ma = 0, mi = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

TEST_P(server_test, a_busy_shard_with_many_connections_batches_its_waits_and_answers_everything) {
  if (GetParam() != io_backend::uring) GTEST_SKIP() << "batched waits are an io_uring feature";
  options o;
  o.shards = 1;
  start(o);
  constexpr int connections = 48;
  std::vector<std::unique_ptr<client>> cs;
  for (int i = 0; i < connections; ++i) {
    cs.push_back(std::make_unique<client>(port()));
    ASSERT_TRUE(cs.back()->connected());
  }
  // Rounds of one request per connection, answers checked, until the shard has
  // batched a wait (or 3 s): every answer must still be right and in order.
  client probe(port());
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  long batched = 0;
  int round = 0;
  while (batched == 0 && std::chrono::steady_clock::now() < deadline) {
    for (int k = 0; k < 50; ++k, ++round) {
      for (int i = 0; i < connections; ++i) ASSERT_TRUE(cs[i]->send(get("/n/" + std::to_string(round * 100 + i))));
      for (int i = 0; i < connections; ++i) {
        auto r = cs[i]->read_response();
        ASSERT_TRUE(r.has_value()) << "round " << round << " connection " << i;
        ASSERT_EQ(r->body, std::to_string(round * 100 + i));
      }
    }
    batched = metric(probe, "tollgate_batched_waits_total");
    ASSERT_GE(batched, 0);
  }
  // Min-wait waits exist from Linux 6.12 on; before, the loop never batches.
  if (kernel_at_least(6, 12)) {
    EXPECT_GT(batched, 0);
  } else {
    EXPECT_EQ(batched, 0);
  }
}

TEST_P(server_test, keep_alive_serves_many_requests_on_one_connection) {
  start();
  client c(port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.send(get("/healthz")));
    auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"status":"ok"})");
    EXPECT_EQ(r->header("Content-Length"), "15");
    EXPECT_TRUE(r->header("Date").has_value());
    EXPECT_FALSE(r->header("Connection").has_value());
  }
}

TEST_P(server_test, hundred_pipelined_requests_in_one_write_are_answered_in_order) {
  start();
  client c(port());
  std::string burst;
  for (int i = 0; i < 100; ++i) burst += get("/n/" + std::to_string(i));
  ASSERT_TRUE(c.send(burst));
  for (int i = 0; i < 100; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, std::to_string(i));
  }
}

TEST_P(server_test, request_arriving_one_byte_at_a_time) {
  start();
  client c(port());
  const std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
  for (char ch : req) {
    ASSERT_TRUE(c.send(std::string_view(&ch, 1)));
    std::this_thread::sleep_for(1ms);
  }
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
}

TEST_P(server_test, thousand_concurrent_connections_are_each_served) {
  constexpr int count = 1000;
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_cur < 2 * count + 100) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 2 * count + 100);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
  }
  ASSERT_GE(lim.rlim_cur, 2 * count + 100u) << "RLIMIT_NOFILE too low for this test";
  start();
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<client>(port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
  }
  for (int i = 0; i < count; ++i) ASSERT_TRUE(clients[i]->send(get("/n/" + std::to_string(i))));
  for (int i = 0; i < count; ++i) {
    auto r = clients[i]->read_response();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->body, std::to_string(i));
  }
}

struct limit_case {
  const char* name;
  std::string request;
  int status;
  const char* code;
};

TEST_P(server_test, each_limit_answers_its_status_and_closes) {
  options o;
  o.limits.max_header_bytes = 1024;
  o.limits.max_body_bytes = 100;
  start(o);
  const std::vector<limit_case> cases = {
      {"431 headers", "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", 431,
       "request_header_fields_too_large"},
      {"414 request line", "GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414,
       "uri_too_long"},
      {"413 content-length", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n", 413,
       "payload_too_large"},
      {"413 chunked", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n" +
                          std::string(128, 'x') + "\r\n0\r\n\r\n",
       413, "payload_too_large"},
      {"400 request line", "GET\r\n\r\n", 400, "invalid_request"},
      {"400 bad method line", "GET /x HTTP/1.1 extra\r\nHost: t\r\n\r\n", 400, "invalid_request"},
      {"400 header", "GET /healthz HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400, "invalid_request"},
      {"400 header without colon", "GET /healthz HTTP/1.1\r\nHost: t\r\nnocolon\r\n\r\n", 400,
       "invalid_request"},
  };
  for (const limit_case& k : cases) {
    SCOPED_TRACE(k.name);
    expect_error_then_close(port(), k.request, k.status, k.code);
  }
}

TEST_P(server_test, header_timeout_answers_408) {
  options o;
  o.header_timeout = 200ms;
  start(o);
  client c(port());
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHo"));
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.read_response();
  expect_json_error(r, 408, "request_timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_TRUE(c.at_eof());
}

TEST_P(server_test, slow_head_trickle_still_meets_the_header_timeout) {
  options o;
  o.header_timeout = 300ms;
  start(o);
  client c(port());
  // A byte every 50 ms never lets the head complete; the timer must not restart.
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<http_response> r;
  for (char ch : std::string("GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")) {
    if (!c.send(std::string_view(&ch, 1))) break;
    std::this_thread::sleep_for(50ms);
    if (std::chrono::steady_clock::now() - t0 > 1s) break;
  }
  r = c.read_response();
  expect_json_error(r, 408, "request_timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_P(server_test, idle_keep_alive_connection_is_closed_silently) {
  options o;
  o.idle_timeout = 200ms;
  start(o);
  client c(port());
  ASSERT_TRUE(c.send(get("/healthz")));
  ASSERT_TRUE(c.read_response().has_value());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.at_eof());  // no 408, just the close
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_P(server_test, connection_cap_refuses_with_503) {
  options o;
  o.max_connections = 2;
  o.shards = 1;
  start(o);
  client a(port());
  client b(port());
  for (client* c : {&a, &b}) {
    ASSERT_TRUE(c->send(get("/healthz")));
    auto r = c->read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  client refused(port());
  auto r = refused.read_response();
  expect_json_error(r, 503, "unavailable");
  EXPECT_TRUE(refused.at_eof());
  // The two served connections keep working, and a slot frees when one closes.
  ASSERT_TRUE(a.send(get("/healthz")));
  EXPECT_EQ(a.read_response()->status, 200);
}

TEST_P(server_test, unknown_path_is_404_and_wrong_method_is_405_with_allow) {
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/nope")));
  auto r = c.read_response();
  expect_json_error(r, 404, "not_found");
  ASSERT_TRUE(c.send("DELETE /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.read_response();
  expect_json_error(r, 405, "method_not_allowed");
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->header("Allow").has_value());
  EXPECT_NE(r->header("Allow")->find("GET"), std::string::npos);
  // Both keep the connection open.
  ASSERT_TRUE(c.send(get("/healthz")));
  EXPECT_EQ(c.read_response()->status, 200);
}

TEST_P(server_test, chunked_request_body_is_decoded) {
  start();
  client c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n"));
  std::this_thread::sleep_for(20ms);  // the rest arrives in another read
  ASSERT_TRUE(c.send("6\r\n world\r\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
}

TEST_P(server_test, expect_100_continue_gets_an_interim_response) {
  start();
  client c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.read_response();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("abc"));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "abc");
}

TEST_P(server_test, expect_100_continue_for_no_route_gets_the_final_answer_instead) {
  start();
  struct unrouted_case {
    const char* request;
    int status;
    const char* code;
  };
  for (const unrouted_case& k :
       {unrouted_case{"POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
                      404, "not_found"},
        unrouted_case{"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
                      405, "method_not_allowed"}}) {
    SCOPED_TRACE(k.request);
    expect_error_then_close(port(), k.request, k.status, k.code);
  }
}

TEST_P(server_test, limits_hold_when_the_head_trickles_in_without_line_ends) {
  options o;
  o.limits.max_header_bytes = 1024;
  start(o);
  struct trickle_case {
    std::string start;
    int status;
    const char* code;
  };
  for (const trickle_case& k : {trickle_case{"GET /", 414, "uri_too_long"},
                                trickle_case{"GET / HTTP/1.1\r\nHost: t\r\nX-Big: ", 431,
                                             "request_header_fields_too_large"}}) {
    SCOPED_TRACE(k.code);
    client c(port());
    ASSERT_TRUE(c.send(k.start));
    const std::string piece(16, 'a');
    for (int i = 0; i < 2000 / 16; ++i) {
      if (!c.send(piece)) break;  // the server may answer and close once past the limit
    }
    auto r = c.read_response();
    expect_json_error(r, k.status, k.code);
  }
}

TEST_P(server_test, head_answers_get_routes_without_a_body) {
  start();
  client c(port());
  ASSERT_TRUE(c.send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + get("/n/7")));
  auto h = c.read_response(true);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->header("Content-Length"), "15");
  auto r = c.read_response();  // would be garbled if HEAD had sent a body
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "7");
}

// scheduling_of_this_thread answers "<policy> <nice>" of the thread that ran the route.
void scheduling_of_this_thread(const request&, response& r) {
  const int policy = ::sched_getscheduler(0);
  const int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  r.set_body("text/plain", std::string(policy == SCHED_IDLE ? "idle " : policy == SCHED_OTHER ? "other " : "? ") +
                               std::to_string(nice));
}

route_table scheduling_routes() {
  route_table routes;
  routes.add(method::get, "/sched/slow", route_kind::slow, scheduling_of_this_thread);
  routes.add(method::get, "/sched/hot", route_kind::hot, scheduling_of_this_thread);
  return routes;
}

// expect_scheduling asks for `path` several times on one connection (so that more than one pool
// thread answers a slow route) and expects `want` every time.
void expect_scheduling(std::uint16_t port, const std::string& path, const std::string& want) {
  client c(port);
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(c.send(get(path)));
    auto r = c.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, want) << path << " answer " << i;
  }
}

TEST_P(server_test, offload_threads_run_at_idle_priority_by_default_and_shards_do_not) {
  ASSERT_EQ(::sched_getscheduler(0), SCHED_OTHER) << "the test needs to run as SCHED_OTHER";
  const int own = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  start(options{}, scheduling_routes());
  expect_scheduling(port(), "/sched/slow", "idle " + std::to_string(own));
  expect_scheduling(port(), "/sched/hot", "other " + std::to_string(own));
}

TEST_P(server_test, offload_threads_run_at_the_configured_nice_value_and_shards_do_not) {
  const int own = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  ASSERT_LT(own, 7) << "the test needs to run below nice 7";
  options o;
  o.offload_sched = {.idle = false, .nice = 7};
  start(o, scheduling_routes());
  expect_scheduling(port(), "/sched/slow", "other 7");
  expect_scheduling(port(), "/sched/hot", "other " + std::to_string(own));
}

TEST_P(server_test, slow_route_runs_off_the_shard_and_keeps_pipelined_order) {
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/n/1") + get("/slow/100") + get("/n/2")));
  auto r1 = c.read_response();
  auto r2 = c.read_response();
  auto r3 = c.read_response();
  ASSERT_TRUE(r1 && r2 && r3);
  EXPECT_EQ(r1->body, "1");
  EXPECT_EQ(r2->body, "slow 100");
  EXPECT_EQ(r3->body, "2");
  // While a slow route sleeps, other connections on the same shards are served.
  client slow(port());
  ASSERT_TRUE(slow.send(get("/slow/300")));
  while (slow_entered.load() < 2) std::this_thread::sleep_for(1ms);
  const auto t0 = std::chrono::steady_clock::now();
  client fast(port());
  ASSERT_TRUE(fast.send(get("/healthz")));
  EXPECT_EQ(fast.read_response()->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_EQ(slow.read_response()->body, "slow 300");
}

TEST_P(server_test, closing_during_a_slow_request_is_harmless) {
  start();
  for (int i = 0; i < 20; ++i) {
    client c(port());
    ASSERT_TRUE(c.send(get("/slow/20")));
  }  // each closes at once, before its answer
  while (slow_entered.load() < 20) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(50ms);
  client c(port());
  ASSERT_TRUE(c.send(get("/healthz")));
  EXPECT_EQ(c.read_response()->status, 200);
}

TEST_P(server_test, streamed_response_arrives_chunked_piece_by_piece) {
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/stream/50") + get("/n/9")));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("Transfer-Encoding"), "chunked");
  std::string want;
  for (int i = 0; i < 50; ++i) want += "piece-" + std::to_string(i) + ";";
  EXPECT_EQ(r->body, want);
  EXPECT_EQ(stream_calls.load(), 50);
  auto after = c.read_response();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->body, "9");
}

TEST_P(server_test, http10_gets_keep_alive_only_when_asked) {
  start();
  client c(port());
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("Connection"), "keep-alive");
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.0\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.at_eof());
}

TEST_P(server_test, readyz_follows_the_ready_callback) {
  std::atomic<bool> ready{false};
  options o;
  o.ready = [&ready] { return ready.load(); };
  start(o);
  client c(port());
  ASSERT_TRUE(c.send(get("/readyz")));
  expect_json_error(c.read_response(), 503, "not_ready");
  ready = true;
  // Every shard must also be serving; the other shard's thread may still be starting.
  EXPECT_EQ(ready_status(c), 200);
  srv->stop();  // draining: not ready any more (or already closed)
  ASSERT_TRUE(c.send(get("/readyz")));
  auto r = c.read_response();
  EXPECT_TRUE(!r.has_value() || r->status == 503);
}

TEST_P(server_test, metrics_count_requests_by_route_and_status) {
  options o;
  o.metrics_sources.push_back([](std::string& out) { out += "extra_source_metric 1\n"; });
  start(o);
  client c(port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(get("/healthz")));
    ASSERT_TRUE(c.read_response().has_value());
  }
  ASSERT_TRUE(c.send(get("/nope")));
  ASSERT_TRUE(c.read_response().has_value());
  ASSERT_TRUE(c.send(get("/metrics")));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("tollgate_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 3"),
            std::string::npos) << r->body;
  EXPECT_NE(r->body.find("route=\"unmatched\",method=\"any\",status=\"404\"} 1"), std::string::npos);
  EXPECT_NE(r->body.find("tollgate_http_request_duration_seconds_count 4"), std::string::npos);
  EXPECT_NE(r->body.find("tollgate_open_connections 1"), std::string::npos);
  EXPECT_NE(r->body.find("tollgate_offload_queue_depth 1"), std::string::npos);  // /metrics itself
  EXPECT_NE(r->body.find("extra_source_metric 1\n"), std::string::npos);
}

TEST_P(server_test, graceful_shutdown_answers_requests_in_flight) {
  start();
  constexpr int count = 20;
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<client>(port()));
    ASSERT_TRUE(clients.back()->send(get("/slow/100")));
  }
  client idle(port());
  ASSERT_TRUE(idle.send(get("/healthz")));
  ASSERT_TRUE(idle.read_response().has_value());
  // A client half way through its head when the drain starts still gets an answer.
  client partial(port());
  ASSERT_TRUE(partial.send("GET /n/5 HTTP/1.1\r\n"));
  std::this_thread::sleep_for(50ms);  // accepted and reading its head
  const auto t0 = std::chrono::steady_clock::now();
  while (slow_entered.load() < 4 && std::chrono::steady_clock::now() - t0 < 5s) {
    std::this_thread::sleep_for(1ms);
  }
  srv->stop();
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(partial.send("Host: t\r\n\r\n"));
  for (int i = 0; i < count; ++i) {
    auto r = clients[i]->read_response();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "slow 100");
    EXPECT_EQ(r->header("Connection"), "close");
  }
  auto p = partial.read_response();
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->body, "5");
  EXPECT_TRUE(idle.at_eof());
  runner.join();  // run() returns once drained
  client late(port(), 500);
  EXPECT_FALSE(late.connected() && late.send(get("/healthz")) && late.read_response().has_value());
}

TEST_P(server_test, large_responses_survive_partial_sends) {
  route_table routes;
  routes.add(method::get, "/big/{n}", route_kind::hot, [](const request& q, response& r) {
    r.set_body("application/octet-stream", std::string(std::size_t{4} << 20, q.params[0][0]));
  });
  start({}, std::move(routes));
  client c(port());
  ASSERT_TRUE(c.send(get("/big/a") + get("/big/b") + get("/n/3")));
  for (char want : {'a', 'b'}) {
    auto r = c.read_response();
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->body.size(), std::size_t{4} << 20);
    EXPECT_EQ(r->body.find_first_not_of(want), std::string::npos);
  }
  EXPECT_EQ(c.read_response()->body, "3");
}

TEST_P(server_test, drain_timeout_cuts_a_client_that_never_reads) {
  options o;
  o.drain_timeout = 300ms;
  route_table routes;
  routes.add(method::get, "/big", route_kind::hot, [](const request&, response& r) {
    r.set_body("application/octet-stream", std::string(1 << 20, 'b'));
  });
  start(o, std::move(routes));
  client c(port());
  std::string burst;
  for (int i = 0; i < 8; ++i) burst += get("/big");
  ASSERT_TRUE(c.send(burst));  // and never read: the server's sends stall
  std::this_thread::sleep_for(100ms);
  const auto t0 = std::chrono::steady_clock::now();
  srv->stop();
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

// Regression guard for the state machine as a whole (the parser has its own fuzzer):
// random bytes after plausible prefixes, then EOF. Every connection must end with the
// server closing it, and the server must still serve afterwards.
TEST_P(server_test, random_bytes_always_end_in_a_close_never_a_hang) {
  start();
  std::mt19937 rng(20240115);
  const std::string alphabet = "\r\n\r\n :;0123456789abcdefABCDEF/GETPOSTHTTP/1.1\t?=&%chunked";
  const std::string prefixes[] = {
      "", "GET /healthz HTTP/1.1\r\nHost: t\r\n",
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n", get("/n/1")};
  for (int i = 0; i < 200; ++i) {
    client c(port());
    std::string bytes = prefixes[rng() % std::size(prefixes)];
    const std::size_t n = rng() % 600;
    for (std::size_t k = 0; k < n; ++k) bytes.push_back(alphabet[rng() % alphabet.size()]);
    if (!c.send(bytes)) continue;  // the server may already have answered 400 and closed
    ::shutdown(c.fd(), SHUT_WR);
    bool closed = false;
    for (int reads = 0; reads < 10000 && !closed; ++reads) {
      char buf[4096];
      ssize_t got;
      do {
        got = ::recv(c.fd(), buf, sizeof buf, 0);
      } while (got < 0 && errno == EINTR);
      closed = got == 0 || (got < 0 && errno == ECONNRESET);
      if (got < 0 && !closed) break;  // timeout: the server hung on this input
    }
    ASSERT_TRUE(closed) << "input " << i << ": " << ::testing::PrintToString(bytes);
  }
  client c(port());
  ASSERT_TRUE(c.send(get("/healthz")));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_P(server_test, injected_clock_drives_date_and_request_now) {
  options o;
  o.clock = [] { return unix_time(std::chrono::seconds(1705330800)); };  // 2024-01-15T15:00:00Z
  route_table routes;
  routes.add(method::get, "/now", route_kind::hot, [](const request& q, response& r) {
    r.set_body("text/plain", std::to_string(q.now.time_since_epoch().count()));
  });
  start(o, std::move(routes));
  client c(port());
  ASSERT_TRUE(c.send(get("/now")));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("Date"), "Mon, 15 Jan 2024 15:00:00 GMT");
  EXPECT_EQ(r->body, "1705330800000000000");
}

TEST_P(server_test, stall_detector_counts_a_blocking_hot_route) {
  options o;
  o.stall_threshold = 30ms;
  route_table routes;
  routes.add(method::get, "/blocks", route_kind::hot, [](const request&, response& r) {
    std::this_thread::sleep_for(80ms);  // what a hot route must never do
    r.set_body("text/plain", "late");
  });
  start(o, std::move(routes));
  client c(port());
  ASSERT_TRUE(c.send(get("/blocks")));
  ASSERT_TRUE(c.read_response().has_value());
  EXPECT_GE(stalls(c), 1);
}

// The start hook runs on each shard before it counts as serving and is not timed as a
// stall; the iteration hook keeps running on an idle shard (its loop wakes at least
// once a second), which is what lets per-shard state report quiescence.
TEST_P(server_test, shard_hooks_run_before_serving_and_every_iteration) {
  struct seen {
    std::array<std::atomic<int>, 2> started{};
    std::array<std::atomic<long>, 2> iterations{};
    std::atomic<bool> iterated_before_start{false};
  } hooks_seen;
  options o;
  o.stall_threshold = 30ms;
  o.hooks.context = &hooks_seen;
  o.hooks.start = [](void* ctx, unsigned shard) noexcept {
    auto& h = *static_cast<seen*>(ctx);
    std::this_thread::sleep_for(80ms);  // slow warm-up: must neither stall nor serve early
    h.started[shard].fetch_add(1);
    return true;
  };
  o.hooks.iteration = [](void* ctx, unsigned shard) noexcept {
    auto& h = *static_cast<seen*>(ctx);
    if (h.started[shard].load() == 0) h.iterated_before_start = true;
    h.iterations[shard].fetch_add(1);
  };
  start(o);
  client c(port());
  ASSERT_EQ(ready_status(c), 200);
  EXPECT_EQ(hooks_seen.started[0].load(), 1);
  EXPECT_EQ(hooks_seen.started[1].load(), 1);
  const long before[2] = {hooks_seen.iterations[0].load(), hooks_seen.iterations[1].load()};
  std::this_thread::sleep_for(1500ms);  // no traffic: only the loops' own wake-ups
  EXPECT_GT(hooks_seen.iterations[0].load(), before[0]);
  EXPECT_GT(hooks_seen.iterations[1].load(), before[1]);
  EXPECT_FALSE(hooks_seen.iterated_before_start.load());
  EXPECT_EQ(stalls(c), 0);
  srv->stop();  // the hooks point at this frame
  runner.join();
}

TEST_P(server_test, a_shard_whose_start_hook_fails_serves_but_is_never_ready) {
  options o;
  o.hooks.start = [](void*, unsigned shard) noexcept { return shard != 1; };
  start(o);
  client c(port());
  EXPECT_EQ(ready_status(c), 503);  // asked for 3 s
  ASSERT_TRUE(c.send(get("/healthz")));
  auto live = c.read_response();
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->status, 200);
}

INSTANTIATE_TEST_SUITE_P(backends, server_test, ::testing::Values(io_backend::uring, io_backend::epoll),
                         [](const ::testing::TestParamInfo<io_backend>& p) {
                           return std::string(p.param == io_backend::uring ? "uring" : "epoll");
                         });

TEST(server, bad_host_is_refused_at_create) {
  options o;
  o.host = "not-an-ip";
  o.port = 0;
  auto s = server::create(o, {});
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error(), errc::bad_address);
}

TEST(server, stop_before_run_returns_at_once) {
  options o;
  o.port = 0;
  o.shards = 1;
  auto s = server::create(o, {});
  ASSERT_TRUE(s.has_value());
  (*s)->stop();
  (*s)->run();
  SUCCEED();
}

TEST(server, run_until_signal_drains_on_sigterm_and_returns_the_signal) {
  // Blocked here first, so the threads created below inherit the mask and SIGTERM
  // can only be taken by run_until_signal's signalfd.
  block_termination_signals();
  options o;
  o.port = 0;
  o.shards = 1;
  auto s = server::create(o, {});
  ASSERT_TRUE(s.has_value());
  std::atomic<int> got{-1};
  std::thread runner([&] { got = run_until_signal(**s); });
  {
    client c((*s)->port());
    ASSERT_TRUE(c.send(get("/healthz")));
    ASSERT_TRUE(c.read_response().has_value());
  }
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  runner.join();
  EXPECT_EQ(got.load(), SIGTERM);
}

}  // namespace
}  // namespace tollgate::engine
