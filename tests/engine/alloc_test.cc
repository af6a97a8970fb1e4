// tests/engine/alloc_test.cc — the hot path allocates nothing per request after
// warm-up, on both backends. Counts every operator new made by any thread other than
// the test's own (the client), while requests flow over one keep-alive connection.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "tests/engine/client.h"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
thread_local bool is_client_thread = false;
}  // namespace

// GCC sees malloc in new and free in delete and warns; for replacement functions
// that pairing is exactly right.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (counting.load(std::memory_order_relaxed) && !is_client_thread) {
    allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace tollgate::engine {
namespace {

class alloc_test : public ::testing::TestWithParam<io_backend> {};

TEST_P(alloc_test, hot_requests_allocate_nothing_after_warm_up) {
  is_client_thread = true;
  allocations = 0;
  options o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.shards = 1;
  o.io = GetParam();
  o.pin_shards = false;
  o.offload_threads = 2;
  route_table routes;
  routes.add(method::get, "/users/{id}", route_kind::hot, [](const request& q, response& r) {
    r.add_header("X-User", q.params[0]);
    r.set_body("application/json", q.header_value("X-Token"));
  });
  // The control: a route that allocates on the shard thread must be counted.
  routes.add(method::get, "/allocates", route_kind::hot, [](const request&, response& r) {
    auto* kept = new std::string(200, 'x');
    r.set_body("text/plain", *kept);
    delete kept;
  });
  auto s = server::create(std::move(o), std::move(routes));
  ASSERT_TRUE(s.has_value());
  std::thread runner([&] { (*s)->run(); });
  {
    testing::client c((*s)->port());
    std::string batch;
    for (int i = 0; i < 8; ++i) {
      batch += "GET /users/" + std::to_string(100 + i) +
               " HTTP/1.1\r\nHost: t\r\nX-Token: abcdefghijklmnopqrstuvwxyz\r\n\r\n";
    }
    batch += "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /missing HTTP/1.1\r\nHost: t\r\n\r\n";
    auto round = [&] {
      ASSERT_TRUE(c.send(batch));
      for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.read_response().has_value());
    };
    for (int i = 0; i < 50; ++i) round();  // warm-up: buffers reach their working size
    counting = true;
    for (int i = 0; i < 200; ++i) round();
    counting = false;
    EXPECT_EQ(allocations.load(), 0);
    counting = true;
    ASSERT_TRUE(c.send("GET /allocates HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_TRUE(c.read_response().has_value());
    counting = false;
    EXPECT_GE(allocations.load(), 1) << "the counter does not see the shard's allocations";
  }
  (*s)->stop();
  runner.join();
}

INSTANTIATE_TEST_SUITE_P(backends, alloc_test, ::testing::Values(io_backend::uring, io_backend::epoll),
                         [](const ::testing::TestParamInfo<io_backend>& p) {
                           return std::string(p.param == io_backend::uring ? "uring" : "epoll");
                         });

}  // namespace
}  // namespace tollgate::engine
