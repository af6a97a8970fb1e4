#include "authz/token_cache.h"

#include <string>

#include <gtest/gtest.h>

namespace tollgate::authz {
namespace {

using namespace std::chrono_literals;
using engine::unix_time;

const unix_time t0{std::chrono::seconds(1'700'000'000)};
constexpr std::uint64_t seed = 0xc0ffee;

// The shape an api handler might cache: fixed-size, trivially copyable.
struct identity {
  std::uint64_t user_ref = 0;
  std::uint64_t session_ref = 0;
  std::uint32_t permissions_ref = 0;
  std::uint8_t issuer_kind = 0;
  char user_id[35] = {};
};

std::string token(int i) {
  std::string t = "eyJhbGciOiJFUzI1NiJ9.";
  t += std::to_string(i);
  t.append(250, 'x');
  return t;
}

TEST(TokenCache, HitUntilExpiryThenMiss) {
  token_cache<identity> cache(1024, seed);
  const auto key = cache.key_of(token(1));
  EXPECT_EQ(cache.find(key, t0), nullptr);
  cache.insert(key, t0 + 60s, identity{.user_ref = 42}, t0);
  const identity* hit = cache.find(token(1), t0 + 59s);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->user_ref, 42u);
  EXPECT_NE(cache.find(key, t0 + 60s - 1ns), nullptr);
  EXPECT_EQ(cache.find(key, t0 + 60s), nullptr);  // exp is exclusive
  EXPECT_EQ(cache.find(key, t0 + 3600s), nullptr);
  EXPECT_EQ(cache.counters().hits, 2u);
  EXPECT_EQ(cache.counters().misses, 3u);
}

TEST(TokenCache, NeverStoresAnAlreadyExpiredToken) {
  token_cache<identity> cache(64, seed);
  cache.insert(cache.key_of(token(1)), t0, identity{}, t0);
  cache.insert(cache.key_of(token(2)), t0 - 1s, identity{}, t0);
  EXPECT_EQ(cache.find(token(1), t0 - 1s), nullptr);
  EXPECT_EQ(cache.find(token(2), t0 - 2s), nullptr);
  EXPECT_EQ(cache.counters().inserts, 0u);
}

TEST(TokenCache, DistinguishesTokensAndSeeds) {
  token_cache<identity> cache(1024, seed);
  for (int i = 0; i < 100; ++i) cache.insert(cache.key_of(token(i)), t0 + 1h, identity{.user_ref = std::uint64_t(i)}, t0);
  for (int i = 0; i < 100; ++i) {
    const identity* hit = cache.find(token(i), t0);
    ASSERT_NE(hit, nullptr) << i;
    EXPECT_EQ(hit->user_ref, std::uint64_t(i));
  }
  EXPECT_EQ(cache.find(token(100), t0), nullptr);
  // A prefix or an extension of a cached token is a different token.
  EXPECT_EQ(cache.find(token(1).substr(0, 200), t0), nullptr);
  EXPECT_EQ(cache.find(token(1) + "x", t0), nullptr);
  // Another process's seed gives other keys.
  EXPECT_NE(make_token_key(token(1), seed), make_token_key(token(1), seed + 1));
}

TEST(TokenCache, ReinsertReplacesInPlace) {
  token_cache<identity> cache(8, seed);
  const auto key = cache.key_of(token(1));
  cache.insert(key, t0 + 10s, identity{.user_ref = 1}, t0);
  cache.insert(key, t0 + 20s, identity{.user_ref = 2}, t0);
  ASSERT_NE(cache.find(key, t0 + 15s), nullptr);
  EXPECT_EQ(cache.find(key, t0 + 15s)->user_ref, 2u);
  EXPECT_EQ(cache.counters().evictions, 0u);
}

TEST(TokenCache, FullSetEvictsExpiredFirstThenLeastRecentlyUsed) {
  token_cache<identity, 4> cache(4, seed);  // one set of four ways
  ASSERT_EQ(cache.capacity(), 4u);
  for (int i = 0; i < 4; ++i) cache.insert(cache.key_of(token(i)), t0 + 1h, identity{}, t0);
  cache.insert(cache.key_of(token(9)), t0 + 1s, identity{}, t0);  // evicts token 0 (LRU)
  EXPECT_EQ(cache.counters().evictions, 1u);
  EXPECT_EQ(cache.find(token(0), t0), nullptr);
  // Touch 1, so 2 is now the least recently used live entry.
  ASSERT_NE(cache.find(token(1), t0), nullptr);
  // At t0+2s token 9 has expired: it is replaced before any live entry.
  cache.insert(cache.key_of(token(10)), t0 + 1h, identity{}, t0 + 2s);
  EXPECT_EQ(cache.counters().evictions, 1u);
  for (int i : {1, 2, 3, 10}) EXPECT_NE(cache.find(token(i), t0 + 2s), nullptr) << i;
  // Now full of live entries: the LRU one goes (1 was touched before 2, 3 and 10).
  ASSERT_NE(cache.find(token(2), t0 + 2s), nullptr);
  ASSERT_NE(cache.find(token(3), t0 + 2s), nullptr);
  ASSERT_NE(cache.find(token(10), t0 + 2s), nullptr);
  cache.insert(cache.key_of(token(11)), t0 + 1h, identity{}, t0 + 2s);
  EXPECT_EQ(cache.find(token(1), t0 + 2s), nullptr);
  EXPECT_NE(cache.find(token(11), t0 + 2s), nullptr);
}

TEST(TokenCache, EraseAndClear) {
  token_cache<identity> cache(64, seed);
  const auto a = cache.key_of(token(1)), b = cache.key_of(token(2));
  cache.insert(a, t0 + 1h, identity{}, t0);
  cache.insert(b, t0 + 1h, identity{}, t0);
  EXPECT_TRUE(cache.erase(a));
  EXPECT_FALSE(cache.erase(a));
  EXPECT_EQ(cache.find(a, t0), nullptr);
  EXPECT_NE(cache.find(b, t0), nullptr);
  cache.clear();
  EXPECT_EQ(cache.find(b, t0), nullptr);
}

TEST(TokenCache, MemoryIsFixed) {
  token_cache<identity> cache(1000, seed);
  EXPECT_EQ(cache.capacity(), 1024u);  // 125 sets of 8, rounded up to 128
  EXPECT_EQ(token_cache<identity>::entry_bytes(), 40 + sizeof(identity));
  EXPECT_EQ(cache.bytes(), 1024 * (40 + sizeof(identity)));
}

}  // namespace
}  // namespace tollgate::authz
