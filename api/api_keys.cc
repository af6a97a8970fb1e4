// API key management (slow routes): POST/GET /api/v1/security/users/{id}/api-keys,
// DELETE /api/v1/security/api-keys/{id}, POST /api/auth/api-keys (self-service).
// Keys are shown once, stored as HMAC-SHA256(server secret, key) (crypto/api_key.h),
// and their permissions must be covered by the owner's. A revocation is one LMDB
// commit; every shard's reader sees it from its next request on.
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>

#include "api/hot_auth.h"
#include "api/internal.h"

namespace tollgate::api::hot {

namespace {

using error = http_error;

// parse_rfc3339 reads "YYYY-MM-DDTHH:MM:SSZ" (optionally with fractional seconds,
// which are dropped); other offsets are refused: every time tollgate answers is UTC.
std::optional<store::time_ns> parse_rfc3339(std::string_view s) {
  int y, mo, d, h, mi, sec;
  char tail[16] = {};
  if (s.size() < 20 || s.size() > 35) return std::nullopt;
  const std::string text(s);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%15s", &y, &mo, &d, &h, &mi, &sec, tail) != 7)
    return std::nullopt;
  std::string_view rest(tail);
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
  }
  if (rest != "Z") return std::nullopt;
  using namespace std::chrono;
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const auto t = sys_days(ymd) + hours(h) + minutes(mi) + seconds(sec);
  return duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

json::array strings_of(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object key_json(const store::api_key_record& k) {
  return {{"key_id", k.key_id},
          {"name", k.name},
          {"prefix", std::string(crypto::kApiKeyPrefix) + k.key_id},
          {"permissions", k.explicit_permissions ? json::value(strings_of(k.permissions)) : json::value(nullptr)},
          {"created_at", rfc3339(k.created_at)},
          {"expires_at", time_or_null(k.expires_at)},
          {"last_used", time_or_null(k.last_used)},
          {"revoked", k.revoked_at != 0}};
}

struct create_request {
  std::string name, description;
  bool explicit_permissions = false;
  std::vector<std::string> permissions;
  store::time_ns expires_at = 0;
};

std::expected<create_request, error> parse_create(const engine::request& req, store::time_ns now) {
  const std::string_view ct = req.header_value("Content-Type");
  if (!ct.starts_with("application/json")) return std::unexpected(error{415, "unsupported_media_type", "expected application/json"});
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) return std::unexpected(invalid("body", "malformed JSON"));
  if (!v.is_object()) return std::unexpected(invalid("body", "expected a JSON object"));
  create_request out;
  bool has_name = false;
  for (const auto& [k, val] : v.as_object()) {
    if (k == "name") {
      if (!val.is_string() || val.as_string().empty() || val.as_string().size() > 200)
        return std::unexpected(invalid("name", "expected a non-empty string of at most 200 bytes"));
      out.name = val.as_string();
      has_name = true;
    } else if (k == "description") {
      if (!val.is_string() || val.as_string().size() > 1000)
        return std::unexpected(invalid("description", "expected a string of at most 1000 bytes"));
      out.description = val.as_string();
    } else if (k == "permissions") {
      if (!val.is_array()) return std::unexpected(invalid("permissions", "expected an array of strings"));
      out.explicit_permissions = true;
      for (const auto& p : val.as_array()) {
        if (!p.is_string()) return std::unexpected(invalid("permissions", "expected an array of strings"));
        std::string_view name = p.as_string();
        if (auto ok = authz::validate_permission(name); !ok)
          return std::unexpected(invalid("permissions", authz::message_of(ok.error())));
        out.permissions.emplace_back(name);
      }
    } else if (k == "expires_at") {
      if (val.is_null()) continue;
      if (!val.is_string()) return std::unexpected(invalid("expires_at", "expected an RFC 3339 UTC time"));
      auto t = parse_rfc3339(val.as_string());
      if (!t) return std::unexpected(invalid("expires_at", "expected an RFC 3339 UTC time"));
      if (*t <= now) return std::unexpected(invalid("expires_at", "must be in the future"));
      out.expires_at = *t;
    } else {
      return std::unexpected(invalid(k, "unknown field"));
    }
  }
  if (!has_name) return std::unexpected(invalid("name", "required"));
  return out;
}

// create makes a key for `owner_id` on behalf of `actor`.
std::expected<std::pair<store::api_key_record, std::string>, error> create(
    hot_state& hs, const engine::request& req, std::string_view actor, std::string_view owner_id) {
  const store::time_ns now = req.now.time_since_epoch().count();
  auto body = parse_create(req, now);
  if (!body) return std::unexpected(body.error());

  // The owner must exist and be usable, and cover every permission asked for.
  std::optional<error> refused;
  auto r = hs.db().read([&](const store::read_txn& t) -> store::result<void> {
    auto u = t.get_user(owner_id);
    if (!u) {
      refused = u.error() == store::errc::not_found ? error{404, "not_found", "user not found"}
                                                    : error{503, "unavailable", "store unavailable"};
      return {};
    }
    if (u->status != store::user_status::active) {
      refused = error{400, "invalid_request", "user: not active"};
      return {};
    }
    if (!body->explicit_permissions) return {};
    auto grants = t.effective_permissions(owner_id);
    std::vector<authz::grant> g;
    if (grants)
      for (const auto& x : *grants)
        if (authz::validate_permission(x.permission)) g.push_back({x.permission, x.source});
    auto owner = authz::permission_set::compile(g);
    const authz::permission_set empty;
    if (auto i = authz::find_uncovered(owner ? *owner : empty, body->permissions))
      refused = error{403, "forbidden", "permissions: '" + body->permissions[*i] + "' is not held by the key's owner"};
    return {};
  });
  if (!r) return std::unexpected(error{503, "unavailable", "store unavailable"});
  if (refused) return std::unexpected(*refused);

  // Counted only now, so refused requests do not use up the allowance.
  auto d = hs.key_generation_limiter().allow(owner_id, req.now);
  if (!d.allowed)
    return std::unexpected(error{429, "rate_limited", "API key generation limit reached", 0,
                                 static_cast<std::int64_t>(std::max<std::uint64_t>(1, authz::ceil_seconds(d.retry_after)))});

  auto gen = hs.hasher().generate();
  if (!gen) return std::unexpected(error{503, "unavailable", "could not generate a key"});
  store::api_key_record k;
  k.key_id = gen->key_id;
  k.user_id = owner_id;
  k.name = body->name;
  std::copy(gen->hash.begin(), gen->hash.end(), k.hash.begin());
  k.explicit_permissions = body->explicit_permissions;
  k.permissions = body->permissions;
  k.created_at = now;
  k.expires_at = body->expires_at;
  auto w = hs.db().write([&](store::write_txn& t) -> store::result<void> {
    if (auto ok = t.put_api_key(k); !ok) return ok;
    auto e = audit_from(client_ip(hs.trusted_proxies(), req), req, actor, owner_id, "api_key_create", true, {{"key_id", k.key_id}, {"name", k.name}});
    if (auto id = t.append_audit(e); !id) return std::unexpected(id.error());
    return {};
  });
  if (!w) return std::unexpected(error{503, "unavailable", "store unavailable"});
  return std::pair{std::move(k), std::move(gen->presented)};
}

}  // namespace

caller_fn management_caller(const services& svc) {
  return [&svc](const engine::request& req) {
    auto p = api::authenticate(svc, req);
    if (!p) return caller{};
    return caller{p->user.id, p->has("users.manage")};
  };
}

void register_api_key_routes(engine::route_table& routes, hot_state& hs, caller_fn who) {
  using engine::method;
  using engine::route_kind;
  auto need_caller = [who](const engine::request& req, engine::response& res) -> std::optional<caller> {
    caller c = who(req);
    if (c.user_id.empty()) {
      send_error(res, {401, "unauthorized", "authentication required"});
      return std::nullopt;
    }
    return c;
  };

  routes.add(method::post, "/api/v1/security/users/{id}/api-keys", route_kind::slow,
             [&hs, need_caller](const engine::request& req, engine::response& res) {
               auto c = need_caller(req, res);
               if (!c) return;
               const std::string_view owner = req.params[0];
               if (owner != c->user_id && !c->manages_users)
                 return send_error(res, {403, "forbidden", "insufficient permissions"});
               auto made = create(hs, req, c->user_id, owner);
               if (!made) return send_error(res, made.error());
               const auto& [k, presented] = *made;
               json::object o = key_json(k);
               o["api_key"] = presented;
               o.erase("revoked");
               send_json(res, 201, o);
             });

  routes.add(method::get, "/api/v1/security/users/{id}/api-keys", route_kind::slow,
             [&hs, need_caller](const engine::request& req, engine::response& res) {
               auto c = need_caller(req, res);
               if (!c) return;
               const std::string_view owner = req.params[0];
               if (owner != c->user_id && !c->manages_users)
                 return send_error(res, {403, "forbidden", "insufficient permissions"});
               std::optional<error> failed;
               json::array list;
               auto r = hs.db().read([&](const store::read_txn& t) -> store::result<void> {
                 if (auto u = t.get_user(owner); !u) {
                   failed = error{404, "not_found", "user not found"};
                   return {};
                 }
                 auto keys = t.user_api_keys(owner);
                 if (!keys) return std::unexpected(keys.error());
                 for (const auto& k : *keys)
                   if (k.revoked_at == 0) list.push_back(key_json(k));
                 return {};
               });
               if (!r) return send_error(res, {503, "unavailable", "store unavailable"});
               if (failed) return send_error(res, *failed);
               const std::size_t total = list.size();
               send_json(res, 200, json::object{{"api_keys", std::move(list)}, {"total", total}});
             });

  routes.add(method::delete_, "/api/v1/security/api-keys/{id}", route_kind::slow,
             [&hs, need_caller](const engine::request& req, engine::response& res) {
               auto c = need_caller(req, res);
               if (!c) return;
               const std::string key_id(req.params[0]);
               std::optional<error> failed;
               auto w = hs.db().write([&](store::write_txn& t) -> store::result<void> {
                 failed.reset();
                 auto k = t.get_api_key(key_id);
                 // Another user's key is "not found" to a caller who may not manage it.
                 if (!k || (k->user_id != c->user_id && !c->manages_users)) {
                   failed = error{404, "not_found", "API key not found"};
                   return {};
                 }
                 if (k->revoked_at != 0) return {};  // repeatable
                 k->revoked_at = req.now.time_since_epoch().count();
                 if (auto ok = t.put_api_key(*k); !ok) return ok;
                 auto e = audit_from(client_ip(hs.trusted_proxies(), req), req, c->user_id, k->user_id, "api_key_revoke", true, {{"key_id", key_id}});
                 if (auto id = t.append_audit(e); !id) return std::unexpected(id.error());
                 return {};
               });
               if (!w) return send_error(res, {503, "unavailable", "store unavailable"});
               if (failed) return send_error(res, *failed);
               send_no_content(res);
             });

  routes.add(method::post, "/api/auth/api-keys", route_kind::slow,
             [&hs, need_caller](const engine::request& req, engine::response& res) {
               auto c = need_caller(req, res);
               if (!c) return;
               auto made = create(hs, req, c->user_id, c->user_id);
               if (!made) return send_error(res, made.error());
               const auto& [k, presented] = *made;
               json::object key{{"id", k.key_id},
                                {"name", k.name},
                                {"key", presented},
                                {"key_prefix", std::string(crypto::kApiKeyPrefix) + k.key_id},
                                {"created_at", rfc3339(k.created_at)},
                                {"expires_at", time_or_null(k.expires_at)},
                                {"permissions", k.explicit_permissions ? json::value(strings_of(k.permissions))
                                                                       : json::value(nullptr)}};
               send_json(res, 201, json::object{{"api_key", std::move(key)},
                                           {"security_warning", "Store this API key securely. It will not be shown again."}});
             });
}

}  // namespace tollgate::api::hot
