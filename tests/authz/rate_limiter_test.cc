#include "authz/rate_limiter.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace tollgate::authz {
namespace {

using namespace std::chrono_literals;
using engine::unix_time;

const unix_time t0{std::chrono::seconds(1'700'000'000)};

std::string numbered(std::string_view prefix, int i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}
constexpr std::uint64_t seed = 0x5eed;

rate must_rate(std::uint64_t count, std::chrono::nanoseconds period, std::uint64_t burst = 0) {
  auto r = make_rate(count, period, burst);
  EXPECT_TRUE(r.has_value()) << count;
  return r.value_or(rate{});
}

// --- construction -------------------------------------------------------------------

struct make_case {
  std::uint64_t count;
  std::chrono::nanoseconds period;
  std::uint64_t burst;
  std::expected<rate, rate_errc> want;
};
class MakeRate : public testing::TestWithParam<make_case> {};
TEST_P(MakeRate, Table) {
  const auto& c = GetParam();
  EXPECT_EQ(make_rate(c.count, c.period, c.burst), c.want) << c.count << "/" << c.period.count();
}
const auto err = [](rate_errc e) { return std::unexpected(e); };
INSTANTIATE_TEST_SUITE_P(
    Limits, MakeRate,
    testing::Values(make_case{1000, 1s, 0, rate{1000, 1s, 1000}},
                    make_case{5, 1min, 0, rate{5, 1min, 5}},
                    make_case{10, 24h, 2, rate{10, 24h, 2}},
                    make_case{0, 1s, 7, rate::disabled()},
                    make_case{0, 0s, 0, rate::disabled()},
                    make_case{1'000'000'000, 1s, 0, rate{1'000'000'000, 1s, 1'000'000'000}},
                    make_case{1'000'000'001, 1s, 0, err(rate_errc::bad_count)},
                    make_case{1, 0s, 0, err(rate_errc::bad_period)},
                    make_case{1, -1s, 0, err(rate_errc::bad_period)},
                    make_case{5, 1min, 1'000'000'001, err(rate_errc::bad_burst)},
                    // tau = (B - 1) * T must not overflow: 10^9 * 1 day does
                    make_case{1, 24h * 1000, 1'000'000'000, err(rate_errc::bad_burst)}));

TEST(RateErrc, EveryCodeHasAMessage) {
  for (auto e : {rate_errc::ok, rate_errc::bad_count, rate_errc::bad_period, rate_errc::bad_burst})
    EXPECT_FALSE(message_of(e).empty());
}

// --- single subject, fake clock ----------------------------------------------------

TEST(RateLimiter, ExactCountsAtTheBoundaries) {
  rate_limiter rl(must_rate(5, 1min), 1024, seed);  // T = 12 s, B = 5
  for (std::uint64_t i = 0; i < 5; ++i) {
    const auto d = rl.allow("ip:192.0.2.1", t0);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 5u);
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.reset, 12s * (i + 1));
    EXPECT_EQ(d.retry_after, 0ns);
  }
  auto d = rl.allow("ip:192.0.2.1", t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(d.table_full);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.retry_after, 12s);
  EXPECT_EQ(d.reset, 60s);
  EXPECT_EQ(ceil_seconds(d.retry_after), 12u);
  // One nanosecond before the next emission: still refused, and it does not count.
  d = rl.allow("ip:192.0.2.1", t0 + 12s - 1ns);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 1ns);
  EXPECT_EQ(ceil_seconds(d.retry_after), 1u);
  d = rl.allow("ip:192.0.2.1", t0 + 12s);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_FALSE(rl.allow("ip:192.0.2.1", t0 + 12s).allowed);
  // After a full minute of silence the whole burst is back.
  d = rl.allow("ip:192.0.2.1", t0 + 12s + 60s);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 4u);
}

TEST(RateLimiter, BurstOneSpacesRequestsByTheInterval) {
  rate_limiter rl(must_rate(10, 1s, 1), 64, seed);
  EXPECT_TRUE(rl.allow("u", t0).allowed);
  EXPECT_EQ(rl.allow("u", t0).retry_after, 100ms);
  EXPECT_FALSE(rl.allow("u", t0 + 99ms).allowed);
  EXPECT_TRUE(rl.allow("u", t0 + 100ms).allowed);
  EXPECT_EQ(rl.limit().burst, 1u);
}

TEST(RateLimiter, AtMostBurstPlusRateMinusOneInAnyWindow) {
  // Hammer every millisecond for one period: B at once, then one per T.
  rate_limiter rl(must_rate(60, 1min), 64, seed);
  int allowed = 0;
  for (auto t = t0; t < t0 + 60s; t += 1ms) allowed += rl.allow("k", t).allowed;
  EXPECT_EQ(allowed, 60 + 60 - 1);
}

TEST(RateLimiter, PeriodNotAMultipleOfTheCountErrsOnTheLowSide) {
  rate_limiter rl(must_rate(7, 1s, 1), 64, seed);  // T = ceil(1e9/7) ns
  int allowed = 0;
  for (auto t = t0; t < t0 + 7s; t += 1ms) allowed += rl.allow("k", t).allowed;
  EXPECT_LE(allowed, 49);
  EXPECT_GE(allowed, 48);
}

TEST(RateLimiter, SubjectsAreIndependent) {
  rate_limiter rl(must_rate(1, 1h), 64, seed);
  EXPECT_TRUE(rl.allow("email:a@example.com", t0).allowed);
  EXPECT_FALSE(rl.allow("email:a@example.com", t0).allowed);
  EXPECT_TRUE(rl.allow("email:b@example.com", t0).allowed);
}

TEST(RateLimiter, DisabledAllowsEverything) {
  rate_limiter rl(rate::disabled(), 16, seed);
  for (int i = 0; i < 1000; ++i) {
    const auto d = rl.allow("x", t0);
    ASSERT_TRUE(d.allowed);
    EXPECT_EQ(d.limit, 0u);
  }
}

TEST(RateLimiter, MemoryIsFixedAtConstruction) {
  rate_limiter rl(must_rate(1, 1s), 1000, seed);
  EXPECT_EQ(rl.slots(), 1024u);
  EXPECT_EQ(rl.bytes(), 1024u * 16);
  EXPECT_EQ(rate_limiter::bytes_per_slot(), 16u);
}

// --- full table ---------------------------------------------------------------------

TEST(RateLimiter, FullTableFailsClosedThenReusesExpiredSlots) {
  rate_limiter rl(must_rate(1, 1min), 16, seed, 16);  // one window = the table
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(rl.allow(numbered("s", i), t0).allowed) << i;
  auto d = rl.allow("newcomer", t0 + 1s);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.table_full);
  EXPECT_EQ(d.retry_after, 59s);  // when the first slot frees up
  // Once the tracked subjects are back at full allowance their slots are reusable.
  d = rl.allow("newcomer", t0 + 60s);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(rl.allow("newcomer", t0 + 60s).allowed);  // and now it is tracked
}

TEST(RateLimiter, FloodingOtherSubjectsCannotResetALimitedOne) {
  rate_limiter rl(must_rate(2, 1min), 16, seed, 16);
  ASSERT_TRUE(rl.allow("attacker", t0).allowed);
  ASSERT_TRUE(rl.allow("attacker", t0).allowed);
  ASSERT_FALSE(rl.allow("attacker", t0).allowed);
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 1000; ++i) rl.allow(numbered("sock", i), t0 + 1s * round);
  // Still limited until the attacker's own TAT passes; then exactly one more.
  EXPECT_FALSE(rl.allow("attacker", t0 + 29s).allowed);
  EXPECT_TRUE(rl.allow("attacker", t0 + 30s).allowed);
  EXPECT_FALSE(rl.allow("attacker", t0 + 30s).allowed);
}

// --- threads --------------------------------------------------------------------------

TEST(RateLimiter, ThreadsHammeringOneKeyGetExactlyTheBurst) {
  constexpr std::uint64_t burst = 5000;
  rate_limiter rl(must_rate(5000, 1h), 1024, seed);
  ASSERT_EQ(rl.limit().burst, burst);
  std::atomic<std::uint64_t> allowed{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th)
    threads.emplace_back([&] {
      std::uint64_t mine = 0;
      for (int i = 0; i < 4000; ++i) mine += rl.allow("hot-subject", t0).allowed;
      allowed += mine;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), burst);
}

TEST(RateLimiter, ThreadsWithAnAdvancingClockGetExactlyTheRate) {
  // Each thread reads the same shared clock; every T one more request is allowed.
  rate_limiter rl(must_rate(1000, 1s, 1), 64, seed);
  std::atomic<std::int64_t> clock_ns{t0.time_since_epoch().count()};
  std::atomic<std::uint64_t> allowed{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < 3; ++th)
    threads.emplace_back([&] {
      std::uint64_t mine = 0;
      for (int i = 0; i < 20000; ++i) {
        // 10 µs steps: 100 attempts per emission interval across threads.
        const auto now = unix_time(std::chrono::nanoseconds(clock_ns.fetch_add(10'000)));
        mine += rl.allow("k", now).allowed;
      }
      allowed += mine;
    });
  for (auto& th : threads) th.join();
  // 60000 ticks of 10 µs = 600 ms: at most one at t0 and one per ms after it. A thread
  // preempted between reading the clock and asking may arrive after a later tick, so
  // an interval can start late and fewer may pass — never more.
  EXPECT_LE(allowed.load(), 600u);
  EXPECT_GE(allowed.load(), 500u);
}

TEST(RateLimiter, ThreadsOnManyKeysCountEachExactly) {
  constexpr int keys = 64;
  rate_limiter rl(must_rate(50, 1min), 256, seed);
  std::vector<std::atomic<int>> allowed(keys);
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th)
    threads.emplace_back([&, th] {
      for (int i = 0; i < 100 * keys; ++i) {
        const int k = (i + th * 17) % keys;
        if (rl.allow(numbered("key", k), t0).allowed) ++allowed[k];
      }
    });
  for (auto& th : threads) th.join();
  for (int k = 0; k < keys; ++k) EXPECT_EQ(allowed[k].load(), 50) << k;
}

}  // namespace
}  // namespace tollgate::authz
