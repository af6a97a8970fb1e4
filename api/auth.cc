// Tollgate's own access tokens, authentication of management calls, shared views.
#include <cstring>

#include "api/internal.h"
#include "api/security.h"

namespace tollgate::api {

namespace {

constexpr std::string_view own_issuer_name = "tollgate";
constexpr std::string_view active_kid_key = "signing.active_kid";

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

token_service::token_service(crypto::trust_store& trust, const config& cfg, crypto::key_ring ring)
    : trust_(trust),
      cfg_(cfg),
      ring_(std::move(ring)),
      jwks_json_(ring_.jwks_json()),
      openid_configuration_(discovery_document(cfg_, ring_.entries())) {}

std::expected<std::unique_ptr<token_service>, std::string> token_service::create(
    store::store& db, crypto::trust_store& trust, const config& cfg, std::int64_t now_seconds) {
  std::vector<std::pair<std::string, std::string>> blobs;
  std::string active_kid;
  auto r = db.read([&](const store::read_txn& t) -> store::result<void> {
    auto keys = t.list_signing_keys();
    if (!keys) return std::unexpected(keys.error());
    blobs = std::move(*keys);
    active_kid = t.get_meta(active_kid_key).value_or("");
    return {};
  });
  if (!r) return std::unexpected(std::string("store: ") + std::string(store::message_of(r.error())));

  crypto::key_ring ring;
  if (blobs.empty()) {
    auto key = crypto::signing_key::generate(cfg.algorithm, now_seconds);
    if (!key) return std::unexpected(std::string("signing key: ") + std::string(crypto::message_of(key.error())));
    auto bytes = key->serialize();
    std::string blob(bytes.begin(), bytes.end());
    auto w = db.write([&](store::write_txn& t) -> store::result<void> {
      if (auto ok = t.put_signing_key(key->kid(), blob); !ok) return ok;
      return t.put_meta(active_kid_key, key->kid());
    });
    if (!w) return std::unexpected(std::string("store: ") + std::string(store::message_of(w.error())));
    ring.set_active(std::move(*key));
  } else {
    std::vector<crypto::key_ring::entry> entries;
    for (auto& [kid, blob] : blobs) {
      auto key = crypto::signing_key::deserialize(bytes_of(blob));
      if (!key) return std::unexpected("stored signing key " + kid + " is unreadable");
      std::optional<std::int64_t> until;
      // Keys other than the active one stay verifiable for one token lifetime.
      if (kid != active_kid) until = now_seconds + cfg.access_ttl_seconds + cfg.leeway_seconds;
      entries.push_back({std::move(*key), until});
    }
    auto restored = crypto::key_ring::restore(std::move(entries));
    if (!restored) return std::unexpected("stored signing keys: no single active key");
    ring = std::move(*restored);
  }
  auto keys = ring.verification_keys();
  if (!keys) return std::unexpected(std::string("verification keys: ") + std::string(crypto::message_of(keys.error())));
  crypto::issuer_config ic;
  ic.name = own_issuer_name;
  ic.issuer = cfg.issuer;
  ic.audiences = {cfg.audience};
  ic.algorithms = crypto::alg_bit(ring.active()->algorithm());
  ic.leeway_seconds = cfg.leeway_seconds;
  trust.set_issuer(std::move(ic), std::move(*keys));
  return std::unique_ptr<token_service>(new token_service(trust, cfg, std::move(ring)));
}

std::expected<token_service::issued, crypto::errc> token_service::issue(
    const store::user& user, std::string_view sid, std::int64_t now_seconds) const {
  crypto::token_spec spec;
  spec.iss = cfg_.issuer;
  spec.sub = user.id;
  spec.sid = sid;
  spec.username = user.username;
  spec.jti = new_id("jti_");
  spec.aud = {cfg_.audience};
  spec.iat = now_seconds;
  spec.exp = now_seconds + cfg_.access_ttl_seconds;
  spec.roles = {user.role};
  std::string payload = crypto::encode_payload(spec);
  std::lock_guard lock(mu_);
  auto token = ring_.sign(payload);
  if (!token) return std::unexpected(token.error());
  return issued{std::move(*token), spec.exp};
}

std::expected<token_service::checked, crypto::errc> token_service::check(
    std::string_view token, std::int64_t now_seconds) const {
  // A verifier and its scratch belong to one thread; the slow path makes its own.
  crypto::verifier v(trust_, crypto::verifier::options{cfg_.max_token_bytes});
  auto scratch = std::make_unique<crypto::verify_scratch>();
  auto claims = v.verify(token, now_seconds, *scratch);
  if (!claims) return std::unexpected(claims.error());
  if (claims->issuer_name() != own_issuer_name) return std::unexpected(crypto::errc::unknown_issuer);
  const auto& c = claims->claims();
  if (!c.has_sid || !c.has_sub) return std::unexpected(crypto::errc::missing_claim);
  return checked{std::string(c.sub), std::string(c.sid), c.exp};
}

policy::session_policy load_session_policy(const store::read_txn& t) {
  auto raw = t.get_meta(settings_meta_key);
  if (!raw) return {};
  auto parsed = policy::parse(*raw);
  return parsed ? parsed->session : policy::session_policy{};
}

bool session_live(const store::session& s, const policy::session_policy& policy, store::time_ns now) {
  return s.revoked_at == 0 && now - s.last_activity <= policy.timeout_minutes * ns_per_minute;
}

authz::permission_set compile_grants(const std::vector<store::grant>& grants) {
  std::vector<authz::grant> in;
  for (auto& g : grants) {
    if (authz::validate_permission(g.permission)) in.push_back({g.permission, g.source});
  }
  auto set = authz::permission_set::compile(in);
  return set ? std::move(*set) : authz::permission_set{};
}

outcome<principal> authenticate(const services& svc, const engine::request& req) {
  std::string_view auth = req.header_value("Authorization");
  if (auth.empty()) return std::unexpected(unauthorized());
  if (auth.size() < 7 || strncasecmp(auth.data(), "bearer ", 7) != 0)
    return std::unexpected(unauthorized("Bearer token required"));
  std::string_view token = auth.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  store::time_ns now = now_of(req);
  auto checked = svc.tokens->check(token, seconds_of(now));
  if (!checked) return std::unexpected(unauthorized(std::string("invalid token: ") + std::string(crypto::message_of(checked.error()))));

  principal p;
  bool touch = false;
  std::optional<http_error> fail;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    auto s = t.get_session(checked->session_id);
    if (!s || s->user_id != checked->user_id || !session_live(*s, load_session_policy(t), now)) {
      fail = unauthorized("session is no longer valid");
      return {};
    }
    auto u = t.get_user(checked->user_id);
    if (!u || !store::user_status_view{u->status, u->locked_until}.usable_at(now)) {
      fail = unauthorized("account is not active");
      return {};
    }
    p.user = std::move(*u);
    p.session_id = s->id;
    p.grants = t.effective_permissions(p.user.id).value_or(std::vector<store::grant>{});
    touch = now - s->last_activity > ns_per_minute;
    return {};
  });
  if (!r) return std::unexpected(from_store(r.error(), "session"));
  if (fail) return std::unexpected(*fail);
  if (auto refused = api_user_refused(svc, req, p.user, req.path)) return std::unexpected(*refused);
  p.perms = compile_grants(p.grants);
  if (touch) {
    // Activity feeds the idle timeout; once a minute is precise enough and keeps
    // reads from turning into fsyncs.
    (void)svc.db->write([&](store::write_txn& t) -> store::result<void> {
      auto s = t.get_session(p.session_id);
      if (!s || s->revoked_at != 0) return {};
      s->last_activity = std::max(s->last_activity, now);
      return t.put_session(*s);
    });
  }
  return p;
}

std::optional<http_error> require_self_or(const principal& p, std::string_view user_id,
                                          std::string_view permission) {
  if (p.user.id == user_id || p.has(permission)) return std::nullopt;
  return forbidden();
}

json::array group_names(const store::read_txn& t, const store::user& u) {
  json::array out;
  for (auto& gid : u.groups) {
    if (auto g = t.get_group(gid)) out.emplace_back(g->name);
  }
  return out;
}

json::object user_summary_json(const store::user& u) {
  json::object o;
  o["user_id"] = u.id;
  o["username"] = u.username;
  o["email"] = u.email;
  o["full_name"] = u.full_name;
  o["role"] = u.role;
  o["status"] = store::to_string(u.status);
  return o;
}

json::object user_json(const store::read_txn& t, const store::user& u) {
  json::object o = user_summary_json(u);
  o["groups"] = group_names(t, u);
  o["created_at"] = time_or_null(u.created_at);
  o["updated_at"] = time_or_null(u.updated_at);
  o["last_login"] = time_or_null(u.last_login);
  o["email_verified"] = u.email_verified;
  o["two_factor_enabled"] = u.two_factor_enabled;
  o["api_user"] = u.api_user;
  json::array ips;
  for (auto& ip : u.allowed_ips) ips.emplace_back(ip);
  o["allowed_ips"] = std::move(ips);
  boost::system::error_code ec;
  json::value meta = json::parse(u.metadata_json, ec);
  o["metadata"] = ec || !meta.is_object() ? json::value(json::object{}) : meta;
  if (u.status == store::user_status::deactivated) o["deactivated_at"] = time_or_null(u.deactivated_at);
  if (u.status == store::user_status::locked) o["locked_until"] = time_or_null(u.locked_until);
  return o;
}

json::object session_json(const store::session& s) {
  json::object o;
  o["session_id"] = s.id;
  o["created_at"] = time_or_null(s.created_at);
  o["last_activity"] = time_or_null(s.last_activity);
  o["ip_address"] = s.ip_address;
  o["user_agent"] = s.user_agent;
  o["location"] = nullptr;  // no geolocation database
  return o;
}

}  // namespace tollgate::api
