// bench/http_parser_bench.cc — engine/http.cc parser and engine/router.cc lookup.
#include <benchmark/benchmark.h>

#include <array>
#include <string>

#include "engine/http.h"
#include "engine/router.h"

namespace {

namespace http = tollgate::engine::http;
using tollgate::engine::method;

// What nginx auth_request sends for a typical gateway call: about 300 bytes.
const std::string typical =
    "GET /auth/verify?permission=bots.use HTTP/1.1\r\n"
    "Host: tollgate.internal:8080\r\n"
    "Authorization: Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c3JfMTIzIiwiZXhwIjoxNzAwMDAwMDAwfQ."
    "MEUCIQDx7rZ1c2lnbmF0dXJlc2lnbmF0dXJl\r\n"
    "X-Original-URI: /bots/42/run\r\n"
    "X-Forwarded-For: 10.1.2.3\r\n"
    "User-Agent: nginx/1.22.1\r\n"
    "Accept: */*\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

void BM_ParseTypicalRequest(benchmark::State& state) {
  std::array<http::header, 32> slots;
  http::request_head head;
  for (auto _ : state) {
    auto r = http::parse_request_head(typical, http::limits{}, slots, head);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(head);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(typical.size()));
  state.counters["bytes"] = static_cast<double>(typical.size());
}
BENCHMARK(BM_ParseTypicalRequest);

// 16 requests back to back in one buffer, as a keep-alive gateway pipelines them.
void BM_ParsePipelined(benchmark::State& state) {
  std::string buf;
  constexpr int n = 16;
  for (int i = 0; i < n; ++i) buf += typical;
  std::array<http::header, 32> slots;
  http::request_head head;
  for (auto _ : state) {
    std::string_view rest = buf;
    while (!rest.empty()) {
      auto r = http::parse_request_head(rest, http::limits{}, slots, head);
      benchmark::DoNotOptimize(head);
      rest.remove_prefix(r.consumed);
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_ParsePipelined);

void BM_RouterFind(benchmark::State& state) {
  tollgate::engine::route_table t;
  const char* patterns[] = {
      "/healthz", "/readyz", "/metrics", "/auth/verify", "/auth/forward", "/oauth2/introspect",
      "/api/v1/security/users", "/api/v1/security/users/{id}", "/api/v1/security/users/{id}/roles",
      "/api/v1/security/users/{id}/permissions/{permission}", "/api/v1/security/users/{id}/sessions",
      "/api/v1/security/users/{id}/api-keys", "/api/v1/security/groups", "/api/v1/security/groups/{id}/members",
      "/api/v1/security/audit/logs", "/api/v1/security/settings/security", "/api/auth/login", "/api/auth/me"};
  for (const char* p : patterns) t.add(method::get, p, tollgate::engine::route_kind::hot, {});
  const tollgate::engine::router r(t);
  const std::string_view paths[] = {"/auth/verify", "/api/v1/security/users/usr_12/permissions/bots.use",
                                    "/api/v1/security/groups/grp_1/members", "/nope/x"};
  std::array<std::string_view, 4> params;
  for (auto _ : state) {
    for (std::string_view p : paths) {
      auto m = r.find(method::get, p, params);
      benchmark::DoNotOptimize(m);
    }
  }
  state.SetItemsProcessed(state.iterations() * 4);
}
BENCHMARK(BM_RouterFind);

}  // namespace

BENCHMARK_MAIN();
