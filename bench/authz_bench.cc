// bench/authz_bench.cc — the per-request costs of authz/ and codec/ on the hot path.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "authz/cidr.h"
#include "authz/forward_rules.h"
#include "authz/permissions.h"
#include "authz/rate_limiter.h"
#include "authz/token_cache.h"
#include "codec/path.h"

namespace {

using namespace tollgate;
using namespace std::chrono_literals;

const engine::unix_time t0{std::chrono::seconds(1'700'000'000)};

// A typical user: a role with a handful of names, two groups with a pattern each.
authz::permission_set typical_set() {
  std::vector<authz::grant> g = {
      {"bots.use", "role:user"},          {"profile.edit", "role:user"},
      {"tickets.read", "role:user"},      {"documents:read:public", "role:user"},
      {"kb.edit", "group:support_team"},  {"tickets.*", "group:support_team"},
      {"machines:*:assigned", "group:operators"}, {"components:read:all", "group:operators"},
  };
  return *authz::permission_set::compile(g);
}

void BM_PermissionCheck_Exact(benchmark::State& state) {
  const auto set = typical_set();
  for (auto _ : state) benchmark::DoNotOptimize(set.check("profile.edit"));
}
BENCHMARK(BM_PermissionCheck_Exact);

void BM_PermissionCheck_Pattern(benchmark::State& state) {
  const auto set = typical_set();
  for (auto _ : state) benchmark::DoNotOptimize(set.check("machines:operate:assigned"));
}
BENCHMARK(BM_PermissionCheck_Pattern);

void BM_PermissionCheck_Miss(benchmark::State& state) {
  const auto set = typical_set();
  for (auto _ : state) benchmark::DoNotOptimize(set.check("users.manage"));
}
BENCHMARK(BM_PermissionCheck_Miss);

void BM_RateLimiterAllow(benchmark::State& state) {
  // 1e9/second: effectively never denies, so every call does the full CAS update.
  authz::rate_limiter rl(*authz::make_rate(1'000'000'000, 1s), 1 << 16, 0x5eed);
  auto now = t0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rl.allow("user:u_0123456789", now));
    now += 1ns;
  }
}
BENCHMARK(BM_RateLimiterAllow);

void BM_RateLimiterAllow_Threads(benchmark::State& state) {
  // One key hammered from every benchmark thread: the worst case for the CAS loop.
  static authz::rate_limiter rl(*authz::make_rate(1'000'000'000, 1s), 1 << 16, 0x5eed);
  std::int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(rl.allow("user:hot", t0 + std::chrono::nanoseconds(++i)));
}
BENCHMARK(BM_RateLimiterAllow_Threads)->Threads(2);

void BM_CidrMatch(benchmark::State& state) {
  const auto list = *authz::ip_allowlist::from_comma_list(
      "142.250.67.0/24, 10.0.0.0/8, 2001:db8::/32, 192.168.1.17");
  const auto addr = *authz::parse_ip("192.168.1.17");  // the last range: worst case
  for (auto _ : state) benchmark::DoNotOptimize(list.contains(addr));
}
BENCHMARK(BM_CidrMatch);

void BM_ClientAddress(benchmark::State& state) {
  const auto trusted = *authz::ip_allowlist::from_comma_list("127.0.0.1/32, ::1/128");
  const auto peer = *authz::parse_ip("127.0.0.1");
  for (auto _ : state)
    benchmark::DoNotOptimize(authz::client_address(peer, "203.0.113.7, 198.51.100.23", trusted));
}
BENCHMARK(BM_ClientAddress);

struct identity {
  std::uint64_t user_ref, session_ref;
  std::uint32_t permissions_ref;
  std::uint8_t issuer_kind;
  char user_id[35];
};

void BM_TokenCacheHit(benchmark::State& state) {
  // ~300-byte tokens, 2,000 of them cached (few enough that no set of 8 overflows),
  // looked up round-robin: the hash of the token plus the lookup.
  authz::token_cache<identity> cache(16384, 0xc0ffee);
  std::vector<std::string> tokens;
  for (int i = 0; i < 2000; ++i) {
    std::string t = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.";
    t += std::to_string(i * 7919);
    t.resize(300, 'Q');
    cache.insert(cache.key_of(t), t0 + 1h, identity{}, t0);
    tokens.push_back(std::move(t));
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const auto* hit = cache.find(tokens[i], t0);
    benchmark::DoNotOptimize(hit);
    if (++i == tokens.size()) i = 0;
  }
  if (cache.counters().misses != 0) state.SkipWithError("unexpected cache miss");
}
BENCHMARK(BM_TokenCacheHit);

void BM_NormalisePath(benchmark::State& state) {
  const std::string_view uri = "/api/v1/bots/%2e%2e/bots/4711//logs/./today?since=1700000000";
  char out[128];
  for (auto _ : state) benchmark::DoNotOptimize(codec::normalise_path(uri, out));
}
BENCHMARK(BM_NormalisePath);

void BM_ForwardRuleMatch(benchmark::State& state) {
  std::vector<authz::forward_rule> r = {{"GET", "/bots/*", "bots.use"},
                                        {"POST", "/bots/**", "bots.manage"},
                                        {"*", "/admin/**", "system.configure"},
                                        {"GET", "/api/v1/bots/*/logs/*", "bots.use"}};
  const auto rules = *authz::forward_rules::compile(r);
  for (auto _ : state) benchmark::DoNotOptimize(rules.match("GET", "/api/v1/bots/4711/logs/today"));
}
BENCHMARK(BM_ForwardRuleMatch);

}  // namespace
BENCHMARK_MAIN();
