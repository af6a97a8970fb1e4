// The security rules of login: per-IP rate limit, lockout, API user allowlists,
// password expiry (DESIGN.md "Security policies").
#include "api/security.h"
#include "authz/cidr.h"
#include "policy/password.h"

namespace tollgate::api {

std::optional<http_error> login_rate_limited(const services& svc, const engine::request& req) {
  if (svc.login_limiter == nullptr) return std::nullopt;
  auto d = svc.login_limiter->allow(client_ip(svc.trusted_proxies, req), req.now);
  if (d.allowed) return std::nullopt;
  http_error e{429, "rate_limited", "too many login attempts; retry later"};
  e.retry_after = static_cast<std::int64_t>(std::max<std::uint64_t>(1, authz::ceil_seconds(d.retry_after)));
  return e;
}

policy::lockout::state lockout_state_of(const store::user& u) {
  policy::lockout::state s;
  s.failed_count = u.failed_logins;
  s.window_start = to_sys(u.first_failed_login);
  if (u.locked_until != 0) s.locked_until = to_sys(u.locked_until);
  return s;
}

namespace {

// put_lockout writes a lockout state back into the user's fields. Status reads
// `locked` while a lockout lock is active; when a lockout lock has run out the user
// is active again. A lock set by an administrator (status locked without
// locked_until) is left alone.
void put_lockout(store::user& u, const policy::lockout::state& s, store::time_ns now) {
  bool lockout_locked = u.status == store::user_status::locked && u.locked_until != 0;
  u.failed_logins = s.failed_count;
  u.first_failed_login = s.failed_count == 0 ? 0 : from_sys(s.window_start);
  u.locked_until = s.locked_until ? from_sys(*s.locked_until) : 0;
  if (u.locked_until > now) {
    u.status = store::user_status::locked;
  } else if (lockout_locked) {
    u.status = store::user_status::active;
    u.locked_until = 0;
  }
}

}  // namespace

store::result<http_error> login_failure(const services& svc, store::write_txn& t, const engine::request& req,
                                        std::string_view user_id,
                                        const policy::security_settings& s,
                                        json::object details) {
  http_error answer = unauthorized("invalid credentials");
  auto u = t.get_user(user_id);
  // Unknown usernames have no state; only users that can log in are counted.
  bool counted = u && (u->status == store::user_status::active ||
                       (u->status == store::user_status::locked && u->locked_until != 0));
  if (counted) {
    store::time_ns now = now_of(req);
    auto d = policy::lockout::on_failure(lockout_state_of(*u), to_sys(now), s.lockout);
    put_lockout(*u, d.next, now);
    if (auto r = t.put_user(*u); !r) return std::unexpected(r.error());
    if (d.newly_locked) {
      auto r = write_audit(t, audit(svc, req, "", u->id, "account_locked", true,
                                    json::object{{"failed_attempts", d.next.failed_count},
                                                 {"locked_until", rfc3339(u->locked_until)}}));
      if (!r) return std::unexpected(r.error());
    }
    if (d.locked_until) {
      answer = http_error{423, "account_locked", "account locked after too many failed logins",
                          from_sys(*d.locked_until)};
      details["reason"] = "locked";
    }
  }
  std::string uid = u ? u->id : "";
  if (auto r = write_audit(t, audit(svc, req, uid, uid, "login_failed", false, details)); !r)
    return std::unexpected(r.error());
  return answer;
}

bool ip_allowed(const services& svc, const store::user& u, const engine::request& req) {
  auto list = authz::ip_allowlist::from_strings(std::span<const std::string>(u.allowed_ips));
  if (!list) return false;
  auto ip = client_of(svc.trusted_proxies, req);
  return ip && list->contains(*ip);
}

std::optional<http_error> api_user_fields(const json::object& body, store::user& u) {
  if (auto b = get_bool(body, "api_user")) u.api_user = *b;
  auto* v = body.if_contains("allowed_ips");
  if (v == nullptr) return std::nullopt;
  std::expected<authz::ip_allowlist, authz::list_error> list;
  if (v->is_string()) {
    list = authz::ip_allowlist::from_comma_list(v->as_string());
  } else {
    std::vector<std::string> items;
    for (auto& e : v->as_array()) items.emplace_back(e.as_string());
    if (items.size() > 256) return invalid("allowed_ips", "at most 256 entries");
    list = authz::ip_allowlist::from_strings(std::span<const std::string>(items));
  }
  if (!list)
    return invalid("allowed_ips[" + std::to_string(list.error().index) + "]",
                   authz::message_of(list.error().code));
  if (list->ranges().size() > 256) return invalid("allowed_ips", "at most 256 entries");
  u.allowed_ips = list->to_strings();
  return std::nullopt;
}

std::optional<http_error> api_user_refused(const services& svc, const engine::request& req,
                                           const store::user& u, std::string_view route) {
  if (!u.api_user || ip_allowed(svc, u, req)) return std::nullopt;
  // Audited each time on management routes (DESIGN.md): these calls are slow anyway.
  (void)svc.db->write([&](store::write_txn& t) -> store::result<void> {
    return write_audit(t, audit(svc, req, u.id, u.id, "ip_denied", false, json::object{{"route", route}}));
  });
  return http_error{403, "ip_denied", "this API user may not call from this address"};
}

store::result<std::optional<http_error>> login_checks(const services& svc, store::write_txn& t,
                                                      const engine::request& req,
                                                      store::user& u,
                                                      const policy::security_settings& s,
                                                      std::string_view two_factor_code) {
  store::time_ns now = now_of(req);
  auto d = policy::lockout::on_success(lockout_state_of(u), to_sys(now));
  if (d.locked_until) {
    return http_error{423, "account_locked", "account locked after too many failed logins",
                      from_sys(*d.locked_until)};
  }
  if (u.api_user && !ip_allowed(svc, u, req)) {
    auto r = write_audit(t, audit(svc, req, u.id, u.id, "ip_denied", false,
                                  json::object{{"route", "login"}}));
    if (!r) return std::unexpected(r.error());
    return http_error{403, "ip_denied", "this API user may not log in from this address"};
  }
  auto second = second_factor(svc, t, req, u, two_factor_code, s);
  if (!second || *second) return second;
  // password_changed_at 0: a record from before expiry was tracked; it starts
  // counting at the next change instead of locking every such user out at once.
  if (u.password_changed_at != 0 &&
      policy::password::expired(to_sys(u.password_changed_at), to_sys(now), s.password)) {
    http_error e{403, "password_change_required",
                 "password expired: change it with POST /api/v1/security/users/" + u.id +
                     "/password and {\"current_password\",\"new_password\"}"};
    e.extra["user_id"] = u.id;
    return e;
  }
  put_lockout(u, d.next, now);
  return std::optional<http_error>{};
}

}  // namespace tollgate::api
