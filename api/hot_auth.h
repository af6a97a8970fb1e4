// api/hot_auth.h — PRIVATE to api/: the credential authenticator of the hot path
// (verify, forward-auth, introspection) and its per-shard state.
//
// Threading: one hot_state per process, built at startup ([[gnu::cold]]) and shared by
// every shard; what it holds that shards share is immutable (forward rules, trusted
// proxies) or lock-free (the GCRA limiters, the trust store's snapshots, LMDB). Each
// shard gets its own shard_ctx (verifier, scratch, verified-token cache, permission-set
// cache, store reader, counters), built by warm_up() on that shard's thread before it
// serves (engine shard_hooks::start) and used only from that thread afterwards.
// authenticate() never blocks, locks, throws or makes a syscall of its own once the
// shard is warm: it allocates only when it compiles a permission set it has not seen
// (a user's first request, or after a role/group change), and hands rare work (audit
// entries, last-used stamps, session activity) to shard_services::defer.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/hot.h"
#include "authz/cidr.h"
#include "authz/forward_rules.h"
#include "authz/permissions.h"
#include "authz/rate_limiter.h"
#include "authz/token_cache.h"
#include "crypto/api_key.h"
#include "crypto/jws.h"
#include "engine/engine.h"
#include "store/store.h"

namespace tollgate::api::hot {

// reason is why a request was answered as it was; counted per shard for /metrics.
enum class reason : std::uint8_t {
  ok,
  no_credential,     // 401, plain `Bearer` challenge
  malformed,         // 401: not a Bearer/Basic/API key header we can read
  too_large,         // 401: over max_token_bytes
  invalid_token,     // 401: the verifier refused it
  expired,           // 401
  unknown_issuer,    // 401
  session_revoked,   // 401: logout, revoke, eviction, idle timeout
  user_unusable,     // 401: deactivated, locked, pending, deleted
  key_invalid,       // 401: unknown key id or wrong secret
  key_revoked,       // 401
  key_expired,       // 401
  ip_denied,         // 403: API user outside allowed_ips
  forbidden,         // 403: permission not granted
  rate_limited,      // 429
  bad_request,       // 400: bad query, X-Forwarded-For, forward URI
  unavailable,       // 503: the store could not be read
  count_,
};
inline constexpr std::size_t reason_count = static_cast<std::size_t>(reason::count_);
std::string_view name_of(reason r);
int status_of(reason r);

enum class cred_kind : std::uint8_t { own_token, external_token, api_key };

// perm_entry is one compiled permission set with the text the answers need, cached
// per shard by (key, version). For own tokens the key is the user id's hash and the
// version the store's permissions version; for API keys with explicit permissions,
// the key id's hash; for external tokens, the hash of the claims they come from.
struct perm_entry {
  std::uint64_t key = 0;
  std::uint32_t version = 0;
  bool used = false;
  authz::permission_set set;
  std::string json;    // ["a","b"] — the permissions array of /auth/verify
  std::string scope;   // "a b" — RFC 7662 scope
  std::string roles;   // "admin,user" — X-Auth-Roles
  std::string groups;  // "support_team" — X-Auth-Groups
};

// identity is an authenticated credential. Views point into the shard_ctx and live
// until the shard's next authenticate().
struct identity {
  cred_kind kind = cred_kind::own_token;
  std::string_view user_id, username, session_id, key_id, issuer_name;
  std::int64_t exp = 0;  // seconds; 0: no expiry (API key)
  std::int64_t iat = 0;  // seconds; 0: unknown
  const perm_entry* perms = nullptr;        // never null on success
  const perm_entry* owner_perms = nullptr;  // API keys with explicit permissions: the owner's
  // granted answers whether `permission` is granted (for an API key with explicit
  // permissions: by the key and still by its owner).
  bool granted(std::string_view permission) const noexcept;
};

// cached is what the verified-token cache keeps for a JWT. Fixed sizes keep it
// trivially copyable; a token whose fields do not fit is verified every time.
struct cached {
  cred_kind kind = cred_kind::own_token;
  std::uint8_t user_len = 0, name_len = 0, sid_len = 0, issuer_len = 0;
  std::int64_t exp = 0, iat = 0;
  std::uint64_t perm_key = 0;  // external tokens: key of their perm_entry
  std::array<char, 128> user_id{};
  std::array<char, 64> username{};
  std::array<char, 48> sid{};  // session id, or the key id of an API key
  std::array<char, 32> issuer{};
};

// shard_stats are one shard's counters: written by the shard (relaxed load+store, no
// locked instruction), read by /metrics from the offload pool.
struct alignas(64) shard_stats {
  std::array<std::atomic<std::uint64_t>, reason_count> outcomes{};
  std::atomic<std::uint64_t> cache_hits{0}, cache_misses{0};
};

class hot_state;

// shard_ctx is one shard's working state (see Threading above).
struct shard_ctx {
  [[gnu::cold]] shard_ctx(hot_state& hs, std::unique_ptr<store::reader> r);
  crypto::verifier verifier;
  std::unique_ptr<crypto::verify_scratch> scratch;
  authz::token_cache<cached> cache;
  std::unique_ptr<store::reader> reader;
  bool reader_open = false;  // begun for this authentication (own tokens, API keys)
  std::vector<perm_entry> perms;  // direct-mapped by key
  shard_stats stats;
  cached current;                 // the identity's backing storage
  std::uint64_t trust_version = 0;  // trust store version the cache was filled under
  std::vector<char> decode_buf;   // decoded queries, form bodies and forward paths
};

// hot_state is everything the hot routes share.
class hot_state {
 public:
  [[gnu::cold]] static std::expected<std::unique_ptr<hot_state>, std::string> create(
      store::store& db, crypto::trust_store& trust, const hot_config& cfg);

  // warm_up builds shard `shard`'s context; run on that shard's thread before it
  // serves (shard_hooks start). When the store refuses a reader it logs one line,
  // returns false (the shard is not ready) and the shard's hot routes answer 503.
  [[gnu::cold]] bool warm_up(unsigned shard) noexcept;
  // quiescent reports shard `shard`'s verifier quiescent (shard_hooks iteration: no
  // request is in progress between loop iterations). Never blocks, never allocates.
  void quiescent(unsigned shard) noexcept;
  // ctx returns the calling shard's context, or nullptr when warm_up did not build
  // one (the store refused a reader, or the hooks were not installed): answer 503.
  shard_ctx* ctx(const engine::request& req) noexcept;

  struct failure {
    reason why = reason::invalid_token;
    bool credential_given = true;
    std::string_view message = "invalid token";
  };
  struct options {
    bool allow_basic = false;  // HTTP Basic key_id:secret (introspection callers)
    bool check_source = true;  // API users' allowed_ips against the client address
  };
  // authenticate finds and checks the request's credential. Between begin_request and
  // end_request the shard's store reader holds one snapshot. Never blocks.
  std::expected<identity, failure> authenticate(shard_ctx& c, const engine::request& req,
                                                const engine::ip_address& client,
                                                options opt) noexcept;
  // authenticate_token checks a bare credential (introspection's token=): a JWT or an
  // API key, with every check but the source address.
  std::expected<identity, failure> authenticate_token(shard_ctx& c, const engine::request& req,
                                                      std::string_view token) noexcept;

  // client_of applies the trusted_proxies rule to the request.
  std::expected<engine::ip_address, authz::cidr_errc> client_of(const engine::request& req) const noexcept;
  const authz::ip_allowlist& trusted_proxies() const { return trusted_; }

  // limit counts one request of the identity's subject against verify_per_subject.
  authz::decision limit(const identity& id, engine::unix_time now) noexcept;

  const hot_config& cfg() const { return cfg_; }
  const authz::forward_rules& rules() const { return rules_; }
  store::store& db() { return db_; }
  const crypto::api_key_hasher& hasher() const { return *hasher_; }
  authz::rate_limiter& key_generation_limiter() { return key_generation_; }
  void render_metrics(std::string& out) const;
  void count(shard_ctx& c, reason r) noexcept;

  hot_state(const hot_state&) = delete;
  hot_state& operator=(const hot_state&) = delete;
  ~hot_state();

 private:
  friend struct shard_ctx;
  hot_state(store::store& db, crypto::trust_store& trust, const hot_config& cfg);

  std::expected<identity, failure> check_credential(shard_ctx& c, const engine::request& req,
                                                    std::string_view credential) noexcept;
  std::expected<identity, failure> check_jwt(shard_ctx& c, const engine::request& req,
                                             std::string_view token) noexcept;
  std::expected<identity, failure> check_api_key(shard_ctx& c, const engine::request& req,
                                                 const crypto::api_key_parts& key) noexcept;
  std::expected<identity, failure> check_own_live(shard_ctx& c, const engine::request& req,
                                                  identity id) noexcept;
  const perm_entry* user_perms(shard_ctx& c, std::string_view user_id) noexcept;
  const perm_entry* key_perms(shard_ctx& c, std::string_view key_id, std::string_view lines) noexcept;
  const perm_entry* external_perms(shard_ctx& c, const crypto::verified_claims& v) noexcept;
  const perm_entry* find_perms(shard_ctx& c, std::uint64_t key, std::uint32_t version) noexcept;
  bool source_allowed(shard_ctx& c, const engine::request& req, const identity& id,
                      const engine::ip_address& client) noexcept;
  void note_session_activity(const engine::request& req, std::string_view sid) noexcept;
  void note_key_use(const engine::request& req, std::string_view key_id) noexcept;

  store::store& db_;
  crypto::trust_store& trust_;
  hot_config cfg_;
  authz::forward_rules rules_;
  authz::ip_allowlist trusted_;
  std::unique_ptr<crypto::api_key_hasher> hasher_;
  authz::rate_limiter verify_limit_;
  authz::rate_limiter key_generation_;
  // Once-a-minute gates shared by all shards, so rare work runs once per subject per
  // minute in total: ip_denied audit entries, session activity, API key last_used.
  authz::rate_limiter once_a_minute_;
  std::atomic<std::int64_t> idle_timeout_ns_;
  std::uint64_t seed_ = 0;
  static constexpr std::size_t max_shards = 256;
  std::array<std::atomic<shard_ctx*>, max_shards> shards_{};
  std::array<std::unique_ptr<shard_ctx>, max_shards> owned_{};
};

// Helpers shared by the route files.

// write_json_string appends `s` as a JSON string (quotes included).
void write_json_string(std::string& out, std::string_view s);
// write_rfc3339 appends the UTC instant `seconds` as "2024-01-15T15:00:00Z".
void write_rfc3339(std::string& out, std::int64_t seconds);
// write_uint appends a decimal number.
void write_uint(std::string& out, std::uint64_t v);
// send_hot_error writes {"error","message"} (or an empty body when `empty_body`), with
// WWW-Authenticate on 401 and Retry-After/RateLimit-* on 429.
void send_hot_error(engine::response& res, reason r, std::string_view message, bool credential_given,
                    bool empty_body, const authz::decision* limit = nullptr);
void add_rate_headers(engine::response& res, const authz::decision& d);

// The route handlers (verify.cc, forward.cc, introspect.cc, api_keys.cc).
void handle_verify(hot_state& hs, const engine::request& req, engine::response& res);
void handle_forward(hot_state& hs, const engine::request& req, engine::response& res);
void handle_introspect(hot_state& hs, const engine::request& req, engine::response& res);
void register_api_key_routes(engine::route_table& routes, hot_state& hs, caller_fn authenticate_caller);

}  // namespace tollgate::api::hot
