// api/hot.h — the hot routes: GET /api/v1/security/auth/verify, GET
// /api/v1/security/auth/forward, POST /oauth2/introspect; the API key routes; the
// external issuers of the config.
//
// Threading: hot_state::create, load_issuers and register_hot_routes run once at
// startup on the main thread (they allocate and may block on the store). The hot
// routes run inline on the shard that read the request and never block, lock, throw
// or make a syscall of their own once the shard is warm (api/README.md says how that
// was checked); their per-shard state is built on each shard's thread before it
// serves, by the start hook of shard_hooks(), which the server must install. The
// API key routes are slow routes (offload pool: LMDB writes). The issuer reloader
// owns one thread that re-reads jwks_file documents and publishes them through the
// trust store; it never touches a shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/api.h"
#include "authz/rate_limiter.h"
#include "crypto/jws.h"
#include "engine/engine.h"
#include "store/store.h"

namespace tollgate::api::hot {

using api::services;

struct hot_config {
  std::size_t max_token_bytes = 4096;           // auth.max_token_bytes
  std::string own_issuer_name = "tollgate";     // the trust-store name of our own tokens
  std::vector<std::string> trusted_proxies;     // server.trusted_proxies
  authz::rate verify_per_subject = authz::rate::disabled();
  authz::rate api_key_generation_per_user = authz::rate::disabled();
  struct rule {
    std::string method, path, permission;
  };
  std::vector<rule> forward_rules;              // [[forward.rules]], in order
  std::size_t token_cache_entries = 32768;      // per shard
  std::size_t rate_limit_slots = std::size_t{1} << 17;  // shared, 16 bytes each
  std::int64_t idle_timeout_minutes = 30;       // until settings.security says otherwise
  std::uint64_t seed = 0;                       // 0: random (hash seeds)
};

class hot_state;
// hot_state_ptr owns a hot_state; its type stays private to api/.
struct hot_state_deleter {
  void operator()(hot_state* hs) const;
};
using hot_state_ptr = std::unique_ptr<hot_state, hot_state_deleter>;

// make_hot_state builds the shared hot-path state: compiles forward rules and trusted
// proxies (an error names the entry), loads or creates the API key server secret
// (meta "api_key_secret", 32 random bytes made at first start).
[[gnu::cold]] std::expected<hot_state_ptr, std::string> make_hot_state(
    store::store& db, crypto::trust_store& trust, const hot_config& cfg);

// register_hot_routes adds verify, forward and introspect (hot) and the API key
// routes (slow). `hs` must outlive the server. The API key routes authenticate the
// caller with `authenticate_caller`: it returns the caller's user id and whether it
// holds users.manage, or an empty id when unauthenticated (api/ management's
// authenticate() in production; tests pass their own).
struct caller {
  std::string user_id;  // empty: not authenticated
  bool manages_users = false;
};
using caller_fn = std::function<caller(const engine::request&)>;
[[gnu::cold]] void register_hot_routes(engine::route_table& routes, hot_state& hs, caller_fn authenticate_caller);
// management_caller authenticates API key route callers like every management route
// (api/api.h: a tollgate access token with a live session). `svc` must outlive it.
caller_fn management_caller(const services& svc);

// shard_hooks returns the hooks the hot routes need in engine::options::hooks:
// start builds each shard's state (verifier, scratch, the verified-token cache of
// token_cache_entries entries, store reader) before the shard serves, so no request
// allocates it; iteration reports the shard's verifier quiescent once per loop
// iteration, so the trust store frees retired key sets (rotations, JWKS reloads)
// even while the shard is idle. Without them every hot route answers 503. `hs` must
// outlive the server.
engine::shard_hooks shard_hooks(hot_state& hs);

// metrics_source returns the /metrics contribution of the hot path: verify outcomes
// by reason and route family, cache hits and misses, rate-limit rejections,
// ip_denied count.
std::function<void(std::string&)> metrics_source(const hot_state& hs);

// issuer is one [[issuers]] entry: exactly one of jwks_file and jwks_url.
struct issuer {
  std::string name, iss;
  std::vector<std::string> audiences;
  std::vector<std::string> algorithms;  // JWA names
  std::string jwks_file;
  std::string jwks_url;                 // http(s)://, fetched by crypto::url_fetch
  std::int64_t refresh_seconds = 300;
  std::int64_t leeway_seconds = 30;
};

// issuer_loader keeps external issuers' key sets current (crypto::jwks_source): each
// jwks_file or jwks_url is read at startup (a failure fails startup) and again every
// refresh_seconds, or early when a verifier saw an unknown kid (rate-limited by the
// source); a reload that fails keeps the last good set.
class issuer_loader {
 public:
  virtual ~issuer_loader() = default;
};
[[gnu::cold]] std::expected<std::unique_ptr<issuer_loader>, std::string> load_issuers(
    crypto::trust_store& trust, std::vector<issuer> issuers);

}  // namespace tollgate::api::hot
