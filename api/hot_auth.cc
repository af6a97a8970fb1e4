// The hot-path authenticator: credential extraction, JWT verification behind the
// per-shard verified-token cache, API keys, revocation and status checks through the
// shard's store reader, compiled permission sets cached per shard, API-user source
// rules, the subject rate limit and the counters.
#include "api/hot_auth.h"

#include <openssl/base64.h>
#include <openssl/rand.h>
#include <strings.h>
#include <xxhash.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstring>

#include "api/api.h"
#include "api/internal.h"

namespace tollgate::api::hot {

namespace {

constexpr std::size_t perm_slots = 1024;  // per shard, direct-mapped
constexpr std::string_view secret_meta_key = "api_key_secret";
constexpr std::int64_t ns_per_s = 1'000'000'000;

std::int64_t seconds_of(engine::unix_time t) { return t.time_since_epoch().count() / ns_per_s; }
std::int64_t ns_of(engine::unix_time t) { return t.time_since_epoch().count(); }

template <std::size_t N>
bool copy_into(std::array<char, N>& dst, std::uint8_t& len, std::string_view s) {
  if (s.size() > N) return false;
  if (!s.empty()) std::memcpy(dst.data(), s.data(), s.size());  // an empty view may hold null
  len = static_cast<std::uint8_t>(s.size());
  return true;
}
template <std::size_t N>
std::string_view view_of(const std::array<char, N>& a, std::uint8_t len) {
  return {a.data(), len};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// starts_with_ci compares an auth scheme, which RFC 9110 makes case-insensitive.
bool scheme_is(std::string_view header, std::string_view scheme) {
  return header.size() > scheme.size() && header[scheme.size()] == ' ' &&
         strncasecmp(header.data(), scheme.data(), scheme.size()) == 0;
}

hot_state::failure fail(reason r, std::string_view message, bool given = true) {
  return {r, given, message};
}

reason reason_of(crypto::errc e) {
  switch (e) {
    case crypto::errc::token_too_large: return reason::too_large;
    case crypto::errc::expired: return reason::expired;
    case crypto::errc::unknown_issuer: return reason::unknown_issuer;
    default: return reason::invalid_token;
  }
}

std::uint64_t hash_text(std::string_view s, std::uint64_t seed) {
  return XXH3_64bits_withSeed(s.data(), s.size(), seed);
}

std::uint64_t hash_list(std::span<const std::string_view> items, std::uint64_t seed) {
  std::uint64_t h = hash_text("[", seed);
  for (auto s : items) {
    h = hash_text(s, h);
    h = hash_text("\n", h);
  }
  return h;
}

// fill_entry builds an entry's answer texts from its grants, roles and groups.
void fill_entry(perm_entry& e, std::span<const authz::grant> grants,
                std::span<const std::string_view> roles, std::span<const std::string_view> groups) {
  e.json.clear();
  e.json.push_back('[');
  e.scope.clear();
  for (std::size_t i = 0; i < grants.size(); ++i) {
    if (i != 0) {
      e.json.push_back(',');
      e.scope.push_back(' ');
    }
    write_json_string(e.json, grants[i].permission);
    e.scope.append(grants[i].permission);
  }
  e.json.push_back(']');
  auto join = [](std::string& out, std::span<const std::string_view> items) {
    out.clear();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i != 0) out.push_back(',');
      out.append(items[i]);
    }
  };
  join(e.roles, roles);
  join(e.groups, groups);
  auto set = authz::permission_set::compile(grants);
  e.set = set ? std::move(*set) : authz::permission_set{};
  e.used = true;
}

}  // namespace

std::string_view name_of(reason r) {
  switch (r) {
    case reason::ok: return "ok";
    case reason::no_credential: return "no_credential";
    case reason::malformed: return "malformed";
    case reason::too_large: return "too_large";
    case reason::invalid_token: return "invalid_token";
    case reason::expired: return "expired";
    case reason::unknown_issuer: return "unknown_issuer";
    case reason::session_revoked: return "session_revoked";
    case reason::user_unusable: return "user_unusable";
    case reason::key_invalid: return "key_invalid";
    case reason::key_revoked: return "key_revoked";
    case reason::key_expired: return "key_expired";
    case reason::ip_denied: return "ip_denied";
    case reason::forbidden: return "forbidden";
    case reason::rate_limited: return "rate_limited";
    case reason::bad_request: return "bad_request";
    case reason::unavailable: return "unavailable";
    case reason::count_: break;
  }
  return "unknown";
}

int status_of(reason r) {
  switch (r) {
    case reason::ok: return 200;
    case reason::no_credential:
    case reason::malformed:
    case reason::too_large:
    case reason::invalid_token:
    case reason::expired:
    case reason::unknown_issuer:
    case reason::session_revoked:
    case reason::user_unusable:
    case reason::key_invalid:
    case reason::key_revoked:
    case reason::key_expired: return 401;
    case reason::ip_denied:
    case reason::forbidden: return 403;
    case reason::rate_limited: return 429;
    case reason::bad_request: return 400;
    case reason::unavailable: return 503;
    case reason::count_: break;
  }
  return 500;
}

bool identity::granted(std::string_view permission) const noexcept {
  if (perms == nullptr || !perms->set.check(permission)) return false;
  return owner_perms == nullptr || owner_perms->set.check(permission).granted;
}

// ---- shared state

shard_ctx::shard_ctx(hot_state& hs, std::unique_ptr<store::reader> r)
    : verifier(hs.trust_, crypto::verifier::options{hs.cfg_.max_token_bytes}),
      scratch(std::make_unique<crypto::verify_scratch>()),
      cache(hs.cfg_.token_cache_entries, hs.seed_),
      reader(std::move(r)),
      perms(perm_slots),
      // The cache starts empty, so it is current for the trust store as it is now:
      // the shard's first request need not clear it (a walk over every entry).
      trust_version(hs.trust_.version()),
      decode_buf(std::max<std::size_t>(16384, 3 * hs.cfg_.max_token_bytes + 1024)) {}

hot_state::hot_state(store::store& db, crypto::trust_store& trust, const hot_config& cfg)
    : db_(db),
      trust_(trust),
      cfg_(cfg),
      verify_limit_(cfg.verify_per_subject, cfg.rate_limit_slots, cfg.seed ^ 0x9e3779b97f4a7c15ull),
      key_generation_(cfg.api_key_generation_per_user, 4096, cfg.seed ^ 0x632be59bd9b4e019ull),
      once_a_minute_(*authz::make_rate(1, std::chrono::minutes(1), 1), cfg.rate_limit_slots,
                     cfg.seed ^ 0x85ebca6b0c2b2ae3ull),
      idle_timeout_ns_(cfg.idle_timeout_minutes * 60 * ns_per_s),
      seed_(cfg.seed) {}

hot_state::~hot_state() = default;

void hot_state_deleter::operator()(hot_state* hs) const { delete hs; }

std::expected<hot_state_ptr, std::string> make_hot_state(store::store& db, crypto::trust_store& trust,
                                                         const hot_config& cfg) {
  auto hs = hot_state::create(db, trust, cfg);
  if (!hs) return std::unexpected(std::move(hs.error()));
  return hot_state_ptr(hs->release());
}

std::expected<std::unique_ptr<hot_state>, std::string> hot_state::create(store::store& db,
                                                                        crypto::trust_store& trust,
                                                                        const hot_config& in) {
  hot_config cfg = in;
  if (cfg.seed == 0) RAND_bytes(reinterpret_cast<std::uint8_t*>(&cfg.seed), sizeof cfg.seed);
  if (cfg.max_token_bytes == 0 || cfg.max_token_bytes > crypto::kMaxTokenBytes)
    return std::unexpected("auth.max_token_bytes: must be between 1 and " + std::to_string(crypto::kMaxTokenBytes));
  std::unique_ptr<hot_state> hs(new hot_state(db, trust, cfg));

  std::vector<authz::forward_rule> rules;
  for (const auto& r : cfg.forward_rules) rules.push_back({r.method, r.path, r.permission});
  auto compiled = authz::forward_rules::compile(rules);
  if (!compiled)
    return std::unexpected("forward.rules[" + std::to_string(compiled.error().index) +
                           "]: " + std::string(authz::message_of(compiled.error().code)));
  hs->rules_ = std::move(*compiled);

  auto trusted = authz::ip_allowlist::from_strings(std::span<const std::string>(cfg.trusted_proxies));
  if (!trusted)
    return std::unexpected("server.trusted_proxies[" + std::to_string(trusted.error().index) +
                           "]: " + std::string(authz::message_of(trusted.error().code)));
  hs->trusted_ = std::move(*trusted);

  // The API key server secret: generated once, kept in the store so keys survive
  // restarts, never logged.
  std::string secret;
  auto w = db.write([&](store::write_txn& t) -> store::result<void> {
    if (auto have = t.get_meta(secret_meta_key)) {
      secret = std::move(*have);
      return {};
    } else if (have.error() != store::errc::not_found) {
      return std::unexpected(have.error());
    }
    secret.assign(32, '\0');
    if (RAND_bytes(reinterpret_cast<std::uint8_t*>(secret.data()), secret.size()) != 1)
      return std::unexpected(store::errc::io_error);
    return t.put_meta(secret_meta_key, secret);
  });
  if (!w) return std::unexpected("store: API key secret: " + std::string(store::message_of(w.error())));
  hs->hasher_ = std::make_unique<crypto::api_key_hasher>(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()));
  if (!hs->hasher_->valid()) return std::unexpected("store: API key secret is shorter than 32 bytes");
  (void)db.read([&](const store::read_txn& t) -> store::result<void> {
    hs->idle_timeout_ns_.store(std::int64_t{api::load_session_policy(t).timeout_minutes} * 60 * ns_per_s);
    return {};
  });
  return hs;
}

bool hot_state::warm_up(unsigned shard) noexcept {
  // The one time this shard's state is built: it allocates several MB (the
  // verified-token cache above all) and takes the trust store's and the store's
  // registration locks, neither of which a request may do.
  if (shard >= max_shards) {
    std::fprintf(stderr, "tollgate: shard %u: the hot path supports %zu shards; its hot routes answer 503\n",
                 shard, max_shards);
    return false;
  }
  auto r = db_.make_reader();
  if (!r) {
    std::fprintf(stderr, "tollgate: shard %u: store reader: %s; its hot routes answer 503\n", shard,
                 std::string(store::message_of(r.error())).c_str());
    return false;
  }
  owned_[shard] = std::make_unique<shard_ctx>(*this, std::move(*r));
  shards_[shard].store(owned_[shard].get(), std::memory_order_release);
  return true;
}

void hot_state::quiescent(unsigned shard) noexcept {
  // Relaxed: warm_up stored it on this same thread.
  if (shard_ctx* c = shard < max_shards ? shards_[shard].load(std::memory_order_relaxed) : nullptr)
    c->verifier.quiescent();
}

shard_ctx* hot_state::ctx(const engine::request& req) noexcept {
  if (req.shard == nullptr) return nullptr;
  const unsigned i = req.shard->index();
  // Relaxed: warm_up stored it on this same thread before the shard served.
  return i < max_shards ? shards_[i].load(std::memory_order_relaxed) : nullptr;
}

engine::shard_hooks shard_hooks(hot_state& hs) {
  engine::shard_hooks h;
  h.context = &hs;
  h.start = [](void* ctx, unsigned shard) noexcept { return static_cast<hot_state*>(ctx)->warm_up(shard); };
  h.iteration = [](void* ctx, unsigned shard) noexcept { static_cast<hot_state*>(ctx)->quiescent(shard); };
  return h;
}

void hot_state::count(shard_ctx& c, reason r) noexcept {
  auto& slot = c.stats.outcomes[static_cast<std::size_t>(r)];
  slot.store(slot.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

std::expected<engine::ip_address, authz::cidr_errc> hot_state::client_of(const engine::request& req) const noexcept {
  return api::client_of(trusted_, req);
}

// ---- permission sets

const perm_entry* hot_state::find_perms(shard_ctx& c, std::uint64_t key, std::uint32_t version) noexcept {
  perm_entry& e = c.perms[key & (perm_slots - 1)];
  return e.used && e.key == key && e.version == version ? &e : nullptr;
}

const perm_entry* hot_state::user_perms(shard_ctx& c, std::string_view user_id) noexcept {
  auto view = c.reader->effective_permissions(user_id);
  // A user without a permissions record has none (a role that grants nothing).
  const std::uint32_t version = view ? view->version : 0;
  const std::uint64_t key = hash_text(user_id, seed_ ^ 1);
  if (const perm_entry* hit = find_perms(c, key, version)) return hit;
  // Cold: this user's first request on this shard, or their grants changed.
  std::vector<authz::grant> grants;
  std::vector<std::string_view> roles, groups;
  if (view) {
    std::size_t cursor = 0;
    std::string_view perm, source;
    while (view->next(cursor, perm, source)) {
      if (authz::validate_permission(perm)) grants.push_back({perm, source});
      auto add = [&](std::vector<std::string_view>& to, std::string_view prefix) {
        if (!source.starts_with(prefix)) return;
        std::string_view name = source.substr(prefix.size());
        if (std::find(to.begin(), to.end(), name) == to.end()) to.push_back(name);
      };
      add(roles, "role:");
      add(groups, "group:");
    }
  }
  perm_entry& e = c.perms[key & (perm_slots - 1)];
  e.key = key;
  e.version = version;
  fill_entry(e, grants, roles, groups);
  return &e;
}

const perm_entry* hot_state::key_perms(shard_ctx& c, std::string_view key_id, std::string_view lines) noexcept {
  // A key's explicit permissions never change after creation: version 1 always.
  const std::uint64_t key = hash_text(key_id, seed_ ^ 2);
  if (const perm_entry* hit = find_perms(c, key, 1)) return hit;
  std::vector<authz::grant> grants;
  while (!lines.empty()) {
    const auto nl = lines.find('\n');
    const std::string_view p = lines.substr(0, nl);
    if (authz::validate_permission(p)) grants.push_back({p, "api_key"});
    lines.remove_prefix(nl == std::string_view::npos ? lines.size() : nl + 1);
  }
  perm_entry& e = c.perms[key & (perm_slots - 1)];
  e.key = key;
  e.version = 1;
  fill_entry(e, grants, {}, {});
  return &e;
}

const perm_entry* hot_state::external_perms(shard_ctx& c, const crypto::verified_claims& v) noexcept {
  const auto& cl = v.claims();
  const auto perms = cl.has_permissions ? cl.permissions : cl.scopes;
  std::uint64_t key = hash_text(v.issuer_name(), seed_ ^ 3);
  key = hash_text(cl.has_permissions ? "p" : "s", key);
  key = hash_list(perms, key);
  key = hash_list(cl.roles, key);
  key = hash_list(cl.groups, key);
  if (const perm_entry* hit = find_perms(c, key, 0)) return hit;
  std::vector<authz::grant> grants;
  for (auto p : perms)
    if (authz::validate_permission(p)) grants.push_back({p, "token"});
  perm_entry& e = c.perms[key & (perm_slots - 1)];
  e.key = key;
  e.version = 0;
  fill_entry(e, grants, cl.roles, cl.groups);
  return &e;
}

// ---- credentials

namespace {

// open_reader begins the shard reader's snapshot on first use in an authentication:
// external tokens never touch the store, so they skip the mdb_txn_renew.
bool open_reader(shard_ctx& c) noexcept {
  if (!c.reader_open) c.reader_open = c.reader->begin() == store::errc::ok;
  return c.reader_open;
}

}  // namespace

std::expected<identity, hot_state::failure> hot_state::check_jwt(shard_ctx& c, const engine::request& req,
                                                                  std::string_view token) noexcept {
  // A key set or issuer change (rotation, a JWKS reload that dropped a key) empties
  // the cache, so no token outlives the key that signed it.
  if (const std::uint64_t v = trust_.version(); v != c.trust_version) {
    c.cache.clear();
    c.trust_version = v;
  }
  const authz::token_key key = c.cache.key_of(token);
  const cached* hit = c.cache.find(key, req.now);
  const perm_entry* ext = nullptr;
  if (hit != nullptr && hit->kind == cred_kind::external_token) {
    ext = find_perms(c, hit->perm_key, 0);
    if (ext == nullptr) hit = nullptr;  // its permission set was evicted: verify again
  }
  auto bump = [](std::atomic<std::uint64_t>& n) { n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); };
  if (hit != nullptr) {
    bump(c.stats.cache_hits);
    c.current = *hit;
  } else {
    bump(c.stats.cache_misses);
    auto v = c.verifier.verify(token, seconds_of(req.now), *c.scratch);
    if (!v) return std::unexpected(fail(reason_of(v.error()), crypto::message_of(v.error())));
    const auto& cl = v->claims();
    cached e{};
    const bool own = v->issuer_name() == cfg_.own_issuer_name;
    if (own && (!cl.has_sid || !cl.has_sub)) return std::unexpected(fail(reason::invalid_token, "token has no session"));
    e.kind = own ? cred_kind::own_token : cred_kind::external_token;
    e.exp = cl.exp;
    e.iat = cl.has_iat ? cl.iat : 0;
    if (!copy_into(e.user_id, e.user_len, cl.sub) || !copy_into(e.username, e.name_len, cl.username) ||
        !copy_into(e.sid, e.sid_len, cl.sid) || !copy_into(e.issuer, e.issuer_len, v->issuer_name()))
      return std::unexpected(fail(reason::invalid_token, "a claim is longer than tollgate supports"));
    if (!own) {
      ext = external_perms(c, *v);
      e.perm_key = ext->key;
    }
    c.current = e;
    // Cached until exp: past it the full verification (with leeway) decides.
    c.cache.insert(key, engine::unix_time(std::chrono::seconds(cl.exp)), e, req.now);
  }
  identity id;
  id.kind = c.current.kind;
  id.user_id = view_of(c.current.user_id, c.current.user_len);
  id.username = view_of(c.current.username, c.current.name_len);
  id.session_id = view_of(c.current.sid, c.current.sid_len);
  id.issuer_name = view_of(c.current.issuer, c.current.issuer_len);
  id.exp = c.current.exp;
  id.iat = c.current.iat;
  if (id.kind == cred_kind::external_token) {
    id.perms = ext;
    return id;
  }
  return check_own_live(c, req, id);
}

std::expected<identity, hot_state::failure> hot_state::check_own_live(shard_ctx& c, const engine::request& req,
                                                                       identity id) noexcept {
  const std::int64_t now = ns_of(req.now);
  if (!open_reader(c)) return std::unexpected(fail(reason::unavailable, "store unavailable"));
  auto s = c.reader->session(id.session_id);
  if (!s) {
    if (s.error() == store::errc::not_found) return std::unexpected(fail(reason::session_revoked, "session not found"));
    return std::unexpected(fail(reason::unavailable, "store unavailable"));
  }
  if (!s->live() || s->user_id != id.user_id) return std::unexpected(fail(reason::session_revoked, "session revoked"));
  if (now - s->last_activity > idle_timeout_ns_.load(std::memory_order_relaxed))
    return std::unexpected(fail(reason::session_revoked, "session expired"));
  auto u = c.reader->user_status(id.user_id);
  if (!u) {
    if (u.error() == store::errc::not_found) return std::unexpected(fail(reason::user_unusable, "user not found"));
    return std::unexpected(fail(reason::unavailable, "store unavailable"));
  }
  if (!u->usable_at(now)) return std::unexpected(fail(reason::user_unusable, "user is not active"));
  id.perms = user_perms(c, id.user_id);
  if (now - s->last_activity > ns_per_s * 60) note_session_activity(req, id.session_id);
  return id;
}

std::expected<identity, hot_state::failure> hot_state::check_api_key(shard_ctx& c, const engine::request& req,
                                                                      const crypto::api_key_parts& parts) noexcept {
  const std::int64_t now = ns_of(req.now);
  if (!open_reader(c)) return std::unexpected(fail(reason::unavailable, "store unavailable"));
  auto k = c.reader->api_key(parts.key_id);
  if (!k) {
    if (k.error() == store::errc::not_found) return std::unexpected(fail(reason::key_invalid, "invalid API key"));
    return std::unexpected(fail(reason::unavailable, "store unavailable"));
  }
  crypto::api_key_hash stored;
  std::memcpy(stored.data(), k->hash, stored.size());
  // The secret is checked first, so revocation and expiry are told only to holders.
  if (!hasher_->matches(parts, stored)) return std::unexpected(fail(reason::key_invalid, "invalid API key"));
  if (!k->live()) return std::unexpected(fail(reason::key_revoked, "API key revoked"));
  if (k->expires_at != 0 && now >= k->expires_at) return std::unexpected(fail(reason::key_expired, "API key expired"));
  auto u = c.reader->user_status(k->user_id);
  if (!u || !u->usable_at(now)) return std::unexpected(fail(reason::user_unusable, "the key's owner is not active"));
  cached e{};
  e.kind = cred_kind::api_key;
  e.exp = k->expires_at == 0 ? 0 : k->expires_at / ns_per_s;
  if (!copy_into(e.user_id, e.user_len, k->user_id) || !copy_into(e.sid, e.sid_len, parts.key_id))
    return std::unexpected(fail(reason::key_invalid, "invalid API key"));
  c.current = e;
  identity id;
  id.kind = cred_kind::api_key;
  id.user_id = view_of(c.current.user_id, c.current.user_len);
  id.key_id = view_of(c.current.sid, c.current.sid_len);
  id.exp = e.exp;
  const perm_entry* owner = user_perms(c, id.user_id);
  if (k->explicit_permissions) {
    id.perms = key_perms(c, id.key_id, k->permission_lines);
    id.owner_perms = owner;
  } else {
    id.perms = owner;
  }
  note_key_use(req, id.key_id);
  return id;
}

std::expected<identity, hot_state::failure> hot_state::check_credential(shard_ctx& c, const engine::request& req,
                                                                         std::string_view credential) noexcept {
  if (credential.empty()) return std::unexpected(fail(reason::malformed, "empty credential"));
  if (credential.size() > cfg_.max_token_bytes)
    return std::unexpected(fail(reason::too_large, "credential longer than max_token_bytes"));
  if (credential.starts_with(crypto::kApiKeyPrefix)) {
    auto parts = crypto::parse_api_key(credential);
    if (!parts) return std::unexpected(fail(reason::key_invalid, "malformed API key"));
    return check_api_key(c, req, *parts);
  }
  return check_jwt(c, req, credential);
}

namespace {

// reader_scope ends the shard reader's snapshot, if this authentication began one.
struct reader_scope {
  shard_ctx& c;
  ~reader_scope() {
    if (c.reader_open) {
      c.reader->end();
      c.reader_open = false;
    }
  }
};

}  // namespace

std::expected<identity, hot_state::failure> hot_state::authenticate(shard_ctx& c, const engine::request& req,
                                                                     const engine::ip_address& client,
                                                                     options opt) noexcept {
  std::string_view auth = req.header_value("Authorization");
  const std::string_view api_key_header = req.header_value("X-API-Key");
  reader_scope scope{c};

  std::expected<identity, failure> id = std::unexpected(fail(reason::no_credential, "credential required", false));
  if (!auth.empty()) {
    if (scheme_is(auth, "Bearer")) {
      id = check_credential(c, req, trim(auth.substr(7)));
    } else if (opt.allow_basic && scheme_is(auth, "Basic")) {
      const std::string_view b64 = trim(auth.substr(6));
      std::array<std::uint8_t, 192> buf;
      std::size_t n = 0;
      if (b64.size() > 4 * (buf.size() / 3) ||
          EVP_DecodeBase64(buf.data(), &n, buf.size(), reinterpret_cast<const std::uint8_t*>(b64.data()),
                           b64.size()) != 1)
        return std::unexpected(fail(reason::malformed, "malformed Basic credentials"));
      const std::string_view text(reinterpret_cast<const char*>(buf.data()), n);
      const auto colon = text.find(':');
      if (colon == std::string_view::npos) return std::unexpected(fail(reason::malformed, "malformed Basic credentials"));
      auto parts = crypto::parse_api_key_basic(text.substr(0, colon), text.substr(colon + 1));
      if (!parts) return std::unexpected(fail(reason::key_invalid, "invalid API key"));
      id = check_api_key(c, req, *parts);
    } else {
      return std::unexpected(fail(reason::malformed, "unsupported Authorization scheme"));
    }
  } else if (!api_key_header.empty()) {
    if (api_key_header.size() > cfg_.max_token_bytes)
      return std::unexpected(fail(reason::too_large, "credential longer than max_token_bytes"));
    auto parts = crypto::parse_api_key(trim(api_key_header));
    if (!parts) return std::unexpected(fail(reason::key_invalid, "malformed API key"));
    id = check_api_key(c, req, *parts);
  }
  if (!id) return id;
  if (opt.check_source && !source_allowed(c, req, *id, client))
    return std::unexpected(fail(reason::ip_denied, "source address not allowed for this API user"));
  return id;
}

std::expected<identity, hot_state::failure> hot_state::authenticate_token(shard_ctx& c, const engine::request& req,
                                                                           std::string_view token) noexcept {
  reader_scope scope{c};
  return check_credential(c, req, token);
}

bool hot_state::source_allowed(shard_ctx& c, const engine::request& req, const identity& id,
                               const engine::ip_address& client) noexcept {
  if (id.kind == cred_kind::external_token) return true;  // not a user of this store
  auto list = c.reader->api_user_allowlist(id.user_id);
  if (!list) return true;  // not an API user
  // Parsed in place on every request: parse_cidr never allocates, and lists are short.
  for (std::string_view rest = *list; !rest.empty();) {
    const auto comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    auto range = authz::parse_cidr(item);
    if (range && range->contains(client)) return true;
  }
  // Refused: counted by the caller (reason::ip_denied); audited once a minute per
  // user or key across all shards, off the shard.
  std::array<char, 200> subject;
  const std::string_view who = id.kind == cred_kind::api_key ? id.key_id : id.user_id;
  const std::size_t n = std::min(who.size(), subject.size() - 4);
  std::memcpy(subject.data(), "ipd:", 4);
  std::memcpy(subject.data() + 4, who.data(), n);
  if (once_a_minute_.allow({subject.data(), n + 4}, req.now).allowed && req.shard != nullptr) {
    req.shard->defer([db = &db_, user = std::string(id.user_id), key = std::string(id.key_id),
                      ip = client.to_string(),
                      agent = std::string(req.header_value("User-Agent")), path = std::string(req.path),
                      at = ns_of(req.now)] {
      store::audit_entry e;
      e.timestamp = at;
      e.user_id = user;
      e.actor_id = user;
      e.action = "ip_denied";
      e.ip_address = ip;
      e.user_agent = agent;
      e.success = false;
      boost::json::object d{{"route", path}};
      if (!key.empty()) d["key_id"] = key;
      e.details_json = boost::json::serialize(d);
      (void)db->write([&](store::write_txn& t) -> store::result<void> {
        auto r = t.append_audit(e);
        if (!r) return std::unexpected(r.error());
        return {};
      });
    });
  }
  return false;
}

void hot_state::note_session_activity(const engine::request& req, std::string_view sid) noexcept {
  std::array<char, 64> subject;
  std::memcpy(subject.data(), "act:", 4);
  const std::size_t n = std::min(sid.size(), subject.size() - 4);
  std::memcpy(subject.data() + 4, sid.data(), n);
  if (req.shard == nullptr || !once_a_minute_.allow({subject.data(), n + 4}, req.now).allowed) return;
  req.shard->defer([this, id = std::string(sid), at = ns_of(req.now)] {
    (void)db_.write([&](store::write_txn& t) -> store::result<void> {
      auto s = t.get_session(id);
      if (!s || s->revoked_at != 0 || s->last_activity >= at) return {};
      s->last_activity = at;
      return t.put_session(*s);
    });
    // The idle timeout follows settings.security; refreshed with the activity it governs.
    (void)db_.read([&](const store::read_txn& t) -> store::result<void> {
      const auto policy = api::load_session_policy(t);
      idle_timeout_ns_.store(std::int64_t{policy.timeout_minutes} * 60 * ns_per_s, std::memory_order_relaxed);
      return {};
    });
  });
}

void hot_state::note_key_use(const engine::request& req, std::string_view key_id) noexcept {
  std::array<char, 64> subject;
  std::memcpy(subject.data(), "key:", 4);
  const std::size_t n = std::min(key_id.size(), subject.size() - 4);
  std::memcpy(subject.data() + 4, key_id.data(), n);
  if (req.shard == nullptr || !once_a_minute_.allow({subject.data(), n + 4}, req.now).allowed) return;
  req.shard->defer([db = &db_, id = std::string(key_id), at = ns_of(req.now)] {
    (void)db->write([&](store::write_txn& t) -> store::result<void> {
      auto k = t.get_api_key(id);
      if (!k || k->last_used >= at) return {};
      k->last_used = at;
      return t.put_api_key(*k);
    });
  });
}

authz::decision hot_state::limit(const identity& id, engine::unix_time now) noexcept {
  // Subjects: tollgate users (own tokens and their API keys) by user id; external
  // subjects by issuer and sub, so two issuers' "alice" are not one subject.
  std::array<char, 2 + 32 + 1 + 128> subject;
  std::size_t n = 0;
  auto put = [&](std::string_view s) {
    const std::size_t k = std::min(s.size(), subject.size() - n);
    if (k != 0) std::memcpy(subject.data() + n, s.data(), k);
    n += k;
  };
  if (id.kind == cred_kind::external_token) {
    put("x:");
    put(id.issuer_name);
    put(":");
  } else {
    put("u:");
  }
  put(id.user_id);
  return verify_limit_.allow({subject.data(), n}, now);
}

// ---- answers

void write_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (ch < 0x20) {
          out.append("\\u00");
          out.push_back(hex[ch >> 4]);
          out.push_back(hex[ch & 15]);
        } else {
          out.push_back(static_cast<char>(ch));
        }
    }
  }
  out.push_back('"');
}

void write_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  char* p = buf + sizeof buf;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

void write_rfc3339(std::string& out, std::int64_t seconds) {
  // std::chrono's calendar types do the civil conversion without the C library's
  // time zone machinery (gmtime_r may take a lock).
  using namespace std::chrono;
  const sys_seconds t{std::chrono::seconds(seconds)};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[32];
  auto two = [](char* p, unsigned v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  const int y = static_cast<int>(ymd.year());
  if (y < 0 || y > 9999) {
    out.append("\"1970-01-01T00:00:00Z\"");
    return;
  }
  buf[0] = '"';
  buf[1] = static_cast<char>('0' + y / 1000);
  buf[2] = static_cast<char>('0' + y / 100 % 10);
  buf[3] = static_cast<char>('0' + y / 10 % 10);
  buf[4] = static_cast<char>('0' + y % 10);
  buf[5] = '-';
  two(buf + 6, static_cast<unsigned>(ymd.month()));
  buf[8] = '-';
  two(buf + 9, static_cast<unsigned>(ymd.day()));
  buf[11] = 'T';
  two(buf + 12, static_cast<unsigned>(hms.hours().count()));
  buf[14] = ':';
  two(buf + 15, static_cast<unsigned>(hms.minutes().count()));
  buf[17] = ':';
  two(buf + 18, static_cast<unsigned>(hms.seconds().count()));
  buf[20] = 'Z';
  buf[21] = '"';
  out.append(buf, 22);
}

void add_rate_headers(engine::response& res, const authz::decision& d) {
  if (d.limit == 0) return;  // disabled
  char buf[24];
  auto num = [&](std::uint64_t v) {
    std::string_view s;
    char* p = buf + sizeof buf;
    do {
      *--p = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    s = {p, static_cast<std::size_t>(buf + sizeof buf - p)};
    return s;
  };
  res.add_header("RateLimit-Limit", num(d.limit));
  res.add_header("RateLimit-Remaining", num(d.remaining));
  res.add_header("RateLimit-Reset", num(authz::ceil_seconds(d.reset)));
  if (!d.allowed) res.add_header("Retry-After", num(std::max<std::uint64_t>(1, authz::ceil_seconds(d.retry_after))));
}

void send_hot_error(engine::response& res, reason r, std::string_view message, bool credential_given,
                    bool empty_body, const authz::decision* limit) {
  const int status = status_of(r);
  res.set_status(status);
  if (status == 401)
    res.add_header("WWW-Authenticate", credential_given ? "Bearer error=\"invalid_token\"" : "Bearer");
  if (limit != nullptr) add_rate_headers(res, *limit);
  if (empty_body) return;
  std::string& b = res.body();
  b.clear();
  b.append("{\"error\":");
  switch (status) {
    case 400: b.append("\"invalid_request\""); break;
    case 401: b.append("\"unauthorized\""); break;
    case 403: b.append(r == reason::ip_denied ? "\"ip_denied\"" : "\"forbidden\""); break;
    case 429: b.append("\"rate_limited\""); break;
    default: b.append("\"unavailable\""); break;
  }
  b.append(",\"message\":");
  write_json_string(b, message);
  b.push_back('}');
  res.set_content_type("application/json");
}

// ---- metrics

void hot_state::render_metrics(std::string& out) const {
  std::array<std::uint64_t, reason_count> outcomes{};
  std::uint64_t hits = 0, misses = 0;
  for (const auto& slot : shards_) {
    const shard_ctx* c = slot.load(std::memory_order_acquire);
    if (c == nullptr) continue;
    for (std::size_t i = 0; i < reason_count; ++i) outcomes[i] += c->stats.outcomes[i].load(std::memory_order_relaxed);
    hits += c->stats.cache_hits.load(std::memory_order_relaxed);
    misses += c->stats.cache_misses.load(std::memory_order_relaxed);
  }
  out.append("# HELP tollgate_auth_outcomes_total Hot-path (verify, forward, introspect) answers by reason.\n"
             "# TYPE tollgate_auth_outcomes_total counter\n");
  for (std::size_t i = 0; i < reason_count; ++i) {
    out.append("tollgate_auth_outcomes_total{reason=\"");
    out.append(name_of(static_cast<reason>(i)));
    out.append("\"} ");
    write_uint(out, outcomes[i]);
    out.push_back('\n');
  }
  out.append("# HELP tollgate_token_cache_hits_total Verified-token cache hits.\n# TYPE tollgate_token_cache_hits_total counter\n"
             "tollgate_token_cache_hits_total ");
  write_uint(out, hits);
  out.append("\n# HELP tollgate_token_cache_misses_total Verified-token cache misses (full verifications).\n"
             "# TYPE tollgate_token_cache_misses_total counter\ntollgate_token_cache_misses_total ");
  write_uint(out, misses);
  out.append("\n# HELP tollgate_token_cache_hit_ratio Hits over lookups since start.\n"
             "# TYPE tollgate_token_cache_hit_ratio gauge\ntollgate_token_cache_hit_ratio ");
  const double ratio = hits + misses == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(hits + misses);
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.6f", ratio);
  out.append(buf, static_cast<std::size_t>(n));
  out.append("\n# HELP tollgate_rate_limited_total Hot-path requests refused by verify_per_subject.\n"
             "# TYPE tollgate_rate_limited_total counter\ntollgate_rate_limited_total ");
  write_uint(out, outcomes[static_cast<std::size_t>(reason::rate_limited)]);
  out.append("\n# HELP tollgate_ip_denied_total API-user requests refused for their source address.\n"
             "# TYPE tollgate_ip_denied_total counter\ntollgate_ip_denied_total ");
  write_uint(out, outcomes[static_cast<std::size_t>(reason::ip_denied)]);
  out.push_back('\n');
}

std::function<void(std::string&)> metrics_source(const hot_state& hs) {
  return [&hs](std::string& out) { hs.render_metrics(out); };
}

}  // namespace tollgate::api::hot
