// Login, refresh (rotating, with a reuse grace period), logout and sessions.
#include <openssl/hmac.h>

#include <algorithm>

#include "api/internal.h"
#include "api/security.h"
#include "crypto/base64url.h"

namespace tollgate::api {

namespace {

constexpr std::string_view refresh_prefix = "rt_";

// successor_of derives the refresh token that replaces `token`. Deterministic, so a
// client retrying a refresh within the grace period gets the same new token
// without the store ever holding a refresh token in the clear.
std::string successor_of(std::string_view secret, std::string_view token) {
  std::uint8_t mac[32];
  unsigned len = sizeof mac;
  HMAC(EVP_sha256(), secret.data(), secret.size(),
       reinterpret_cast<const std::uint8_t*>(token.data()), token.size(), mac, &len);
  std::string out(refresh_prefix);
  std::size_t start = out.size();
  out.resize(start + crypto::base64url::encoded_size(len));
  crypto::base64url::encode(std::span<const std::uint8_t>(mac, len),
                            std::span<char>(out.data() + start, out.size() - start));
  return out;
}

json::object token_pair_json(const login_result& r, store::time_ns now) {
  json::object o;
  o["access_token"] = r.access_token;
  o["refresh_token"] = r.refresh_token;
  o["token_type"] = "Bearer";
  o["expires_in"] = r.expires_in;
  o["session_id"] = r.session.id;
  json::object u;
  u["user_id"] = r.user.id;
  u["username"] = r.user.username;
  u["role"] = r.user.role;
  o["user"] = std::move(u);
  (void)now;
  return o;
}

std::optional<http_error> status_error(const store::user& u, store::time_ns now) {
  switch (u.status) {
    case store::user_status::active:
      return std::nullopt;
    case store::user_status::locked:
      if (u.locked_until != 0 && now >= u.locked_until) return std::nullopt;
      return http_error{423, "account_locked", "account locked", u.locked_until};
    case store::user_status::pending_activation:
    case store::user_status::deactivated:
      return unauthorized("invalid credentials");
  }
  return unauthorized("invalid credentials");
}

// revoke marks a session revoked (if live) with its audit entry.
store::result<bool> revoke(const services& svc, store::write_txn& t, const engine::request& req, store::session& s,
                           std::string_view actor, std::string_view reason) {
  if (s.revoked_at != 0) return false;
  s.revoked_at = now_of(req);
  s.revoke_reason = reason;
  if (auto r = t.put_session(s); !r) return std::unexpected(r.error());
  auto e = audit(svc, req, actor, s.user_id, "session_revoke", true,
                 json::object{{"session_id", s.id}, {"reason", reason}});
  if (auto r = t.append_audit(e); !r) return std::unexpected(r.error());
  return true;
}

}  // namespace

store::result<std::size_t> revoke_user_sessions(const services& svc, store::write_txn& t, const engine::request& req,
                                                std::string_view user_id, std::string_view actor,
                                                std::string_view reason,
                                                std::string_view keep_session_id) {
  auto ss = t.user_sessions(user_id);
  if (!ss) return std::unexpected(ss.error());
  std::size_t count = 0;
  for (auto& s : *ss) {
    if (s.id == keep_session_id) continue;
    auto ok = revoke(svc, t, req, s, actor, reason);
    if (!ok) return std::unexpected(ok.error());
    count += *ok ? 1 : 0;
  }
  return count;
}

outcome<login_result> do_login(const services& svc, const engine::request& req,
                               const json::object& body) {
  std::string_view username = get_string(body, "username").value_or("");
  std::string_view password = get_string(body, "password").value_or("");
  // mfa_token is the /api/auth family's name for the same code.
  std::string_view code = get_string(body, "two_factor_code").value_or("");
  if (code.empty()) code = get_string(body, "mfa_token").value_or("");
  if (username.empty()) return std::unexpected(invalid("username", "must not be empty"));
  store::time_ns now = now_of(req);
  // Every attempt counts, right or wrong, before any work is spent on it.
  if (auto limited = login_rate_limited(svc, req)) return std::unexpected(*limited);

  std::optional<store::user> found;
  policy::security_settings settings;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    settings = load_settings(t);
    if (username.size() <= 64) {
      if (auto u = t.find_user_by_name(username)) found = std::move(*u);
    }
    return {};
  });
  if (!r) return std::unexpected(from_store(r.error(), "user"));
  // A locked account is answered without spending an Argon2id hash on it.
  if (found) {
    if (auto until = policy::lockout::active_lock(lockout_state_of(*found), to_sys(now)))
      return std::unexpected(http_error{423, "account_locked",
                                        "account locked after too many failed logins",
                                        from_sys(*until)});
  }
  // Same Argon2id work whether or not the user exists or has a password.
  bool ok = found && !found->password_hash.empty()
                ? svc.passwords->verify(found->password_hash, password)
                : svc.passwords->verify_dummy(password);
  if (!ok) {
    std::string uid = found ? found->id : "";
    json::object details{{"username", std::string(username.substr(0, 64))}, {"reason", "bad_credentials"}};
    http_error answer = unauthorized("invalid credentials");
    auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
      auto a = login_failure(svc, t, req, uid, settings, details);
      if (!a) return std::unexpected(a.error());
      answer = std::move(*a);
      return {};
    });
    if (!w) return std::unexpected(from_store(w.error(), "user"));
    return std::unexpected(answer);
  }

  login_result out;
  std::optional<http_error> fail;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    auto u = t.get_user(found->id);
    if (!u) {
      fail = unauthorized("invalid credentials");
      return {};
    }
    if (auto bad = status_error(*u, now)) {
      fail = bad;
      return write_audit(t, audit(svc, req, u->id, u->id, "login_failed", false,
                                  json::object{{"reason", store::to_string(u->status)}}));
    }
    auto checked = login_checks(svc, t, req, *u, load_settings(t), code);
    if (!checked) return std::unexpected(checked.error());
    if (*checked) {
      fail = std::move(**checked);
      return {};
    }
    auto policy = load_session_policy(t);
    auto existing = t.user_sessions(u->id);
    if (!existing) return std::unexpected(existing.error());
    std::vector<store::session> live;
    for (auto& s : *existing) {
      if (session_live(s, policy, now)) live.push_back(s);
    }
    // The max_sessions+1-th login evicts the oldest live sessions.
    for (std::size_t i = 0; live.size() - i >= static_cast<std::size_t>(policy.max_sessions) &&
                            i < live.size();
         ++i) {
      if (auto ok2 = revoke(svc, t, req, live[i], u->id, "evicted"); !ok2)
        return std::unexpected(ok2.error());
    }
    store::session s;
    s.id = new_id("ses_");
    s.user_id = u->id;
    s.created_at = s.last_activity = now;
    s.ip_address = client_ip(svc.trusted_proxies, req);
    s.user_agent = std::string(req.header_value("User-Agent").substr(0, 512));
    if (auto ok2 = t.put_session(s); !ok2) return ok2;
    out.refresh_token = random_token(refresh_prefix, 32);
    if (auto ok2 = t.put_refresh(out.refresh_token, store::refresh_token{s.id, now, 0, "", 0}); !ok2)
      return ok2;
    u->last_login = now;
    u->failed_logins = 0;
    u->first_failed_login = 0;
    if (u->status == store::user_status::locked) {
      u->status = store::user_status::active;
      u->locked_until = 0;
    }
    if (auto ok2 = t.put_user(*u); !ok2) return ok2;
    auto e = audit(svc, req, u->id, u->id, "login", true,
                   json::object{{"method", "password"}, {"session_id", s.id}});
    if (auto ok2 = t.append_audit(e); !ok2) return std::unexpected(ok2.error());
    auto issued = svc.tokens->issue(*u, s.id, seconds_of(now));
    if (!issued) {
      fail = http_error{503, "unavailable", "cannot sign tokens"};
      return std::unexpected(store::errc::invalid_argument);  // abort the login
    }
    out.access_token = std::move(issued->token);
    out.expires_in = issued->expires_at - seconds_of(now);
    out.user = std::move(*u);
    out.session = std::move(s);
    return {};
  });
  if (fail) return std::unexpected(*fail);
  if (!w) return std::unexpected(from_store(w.error(), "user"));
  return out;
}

namespace {

constexpr field login_fields[] = {
    {"username", jtype::string, true},
    {"password", jtype::string, true},
    {"two_factor_code", jtype::string},
};

void login(const services& svc, const engine::request& req, engine::response& res) {
  auto body = parse_body(svc, req, login_fields);
  if (!body) return send_error(res, body.error());
  auto r = do_login(svc, req, *body);
  if (!r) return send_error(res, r.error());
  send_json(res, 200, token_pair_json(*r, now_of(req)));
}

constexpr field refresh_fields[] = {{"refresh_token", jtype::string, true}};

void refresh(const services& svc, const engine::request& req, engine::response& res) {
  auto body = parse_body(svc, req, refresh_fields);
  if (!body) return send_error(res, body.error());
  std::string token(get_string(*body, "refresh_token").value_or(""));
  store::time_ns now = now_of(req);
  store::time_ns grace = svc.cfg.refresh_reuse_grace_seconds * 1'000'000'000;
  login_result out;
  std::optional<http_error> fail;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    fail = unauthorized("invalid refresh token");
    auto rec = t.get_refresh(token);
    if (!rec) return {};
    auto s = t.get_session(rec->session_id);
    if (!s) return {};
    auto u = t.get_user(s->user_id);
    if (!u) return {};
    auto secret = t.get_meta("refresh_secret");
    if (!secret) return std::unexpected(secret.error());
    auto policy = load_session_policy(t);
    if (rec->spent_at != 0) {
      if (now - rec->spent_at <= grace && session_live(*s, policy, now) &&
          !rec->successor_access_token.empty()) {
        // A concurrent retry of the same refresh: the same new pair.
        fail.reset();
        out.access_token = rec->successor_access_token;
        out.expires_in = rec->successor_expires_at - seconds_of(now);
        out.refresh_token = successor_of(*secret, token);
        out.user = std::move(*u);
        out.session = std::move(*s);
        return {};
      }
      // A spent token presented again: assume it was stolen and end the session.
      auto e = audit(svc, req, u->id, u->id, "refresh_reuse", false,
                     json::object{{"session_id", s->id}});
      if (auto ok = t.append_audit(e); !ok) return std::unexpected(ok.error());
      if (auto ok = revoke(svc, t, req, *s, u->id, "refresh_reuse"); !ok)
        return std::unexpected(ok.error());
      return {};
    }
    if (!session_live(*s, policy, now) || status_error(*u, now)) return {};
    auto issued = svc.tokens->issue(*u, s->id, seconds_of(now));
    if (!issued) {
      fail = http_error{503, "unavailable", "cannot sign tokens"};
      return {};
    }
    fail.reset();
    out.refresh_token = successor_of(*secret, token);
    rec->spent_at = now;
    rec->successor_access_token = issued->token;
    rec->successor_expires_at = issued->expires_at;
    if (auto ok = t.put_refresh(token, *rec); !ok) return ok;
    if (auto ok = t.put_refresh(out.refresh_token, store::refresh_token{s->id, now, 0, "", 0}); !ok)
      return ok;
    s->last_activity = now;
    if (auto ok = t.put_session(*s); !ok) return ok;
    auto e = audit(svc, req, u->id, u->id, "token_refresh", true, json::object{{"session_id", s->id}});
    if (auto ok = t.append_audit(e); !ok) return std::unexpected(ok.error());
    out.access_token = std::move(issued->token);
    out.expires_in = issued->expires_at - seconds_of(now);
    out.user = std::move(*u);
    out.session = std::move(*s);
    return {};
  });
  if (!w) return send_error(res, from_store(w.error(), "refresh token"));
  if (fail) return send_error(res, *fail);
  send_json(res, 200, token_pair_json(out, now));
}

constexpr field logout_fields[] = {{"refresh_token", jtype::string}};

void logout(const services& svc, const engine::request& req, engine::response& res) {
  std::string token;
  if (!req.body.empty()) {
    auto body = parse_body(svc, req, logout_fields);
    if (!body) return send_error(res, body.error());
    token = get_string(*body, "refresh_token").value_or("");
  }
  std::string sid;
  if (token.empty()) {
    auto p = authenticate(svc, req);
    if (!p) return send_error(res, p.error());
    sid = p->session_id;
  }
  std::optional<http_error> fail;
  store::session done;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    if (!token.empty()) {
      auto rec = t.get_refresh(token);
      if (!rec) {
        fail = unauthorized("invalid refresh token");
        return {};
      }
      sid = rec->session_id;
    }
    auto s = t.get_session(sid);
    if (!s) {
      fail = unauthorized("invalid refresh token");
      return {};
    }
    if (s->revoked_at == 0) {
      s->revoked_at = now_of(req);
      s->revoke_reason = "logout";
      if (auto ok = t.put_session(*s); !ok) return ok;
      auto e = audit(svc, req, s->user_id, s->user_id, "logout", true, json::object{{"session_id", s->id}});
      if (auto ok = t.append_audit(e); !ok) return std::unexpected(ok.error());
    }
    done = std::move(*s);
    return {};
  });
  if (!w) return send_error(res, from_store(w.error(), "session"));
  if (fail) return send_error(res, *fail);
  send_json(res, 200, json::object{{"session_id", done.id}, {"status", "revoked"},
                                   {"revoked_at", time_or_null(done.revoked_at)}});
}

void list_sessions(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  std::string uid(req.params[0]);
  if (auto e = require_self_or(*p, uid, "users.manage")) return send_error(res, *e);
  json::array list;
  std::optional<http_error> fail;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    if (!t.get_user(uid)) {
      fail = not_found("user");
      return {};
    }
    auto policy = load_session_policy(t);
    auto ss = t.user_sessions(uid);
    if (!ss) return std::unexpected(ss.error());
    for (auto& s : *ss) {
      if (!session_live(s, policy, now_of(req))) continue;
      auto o = session_json(s);
      o["is_current"] = s.id == p->session_id;
      list.push_back(std::move(o));
    }
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "user"));
  if (fail) return send_error(res, *fail);
  std::size_t total = list.size();
  send_json(res, 200, json::object{{"sessions", std::move(list)}, {"total", total}});
}

void delete_session(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  std::string sid(req.params[0]);
  std::optional<http_error> fail;
  store::session done;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    auto s = t.get_session(sid);
    if (!s) {
      fail = not_found("session");
      return {};
    }
    if (auto e = require_self_or(*p, s->user_id, "users.manage")) {
      fail = e;
      return {};
    }
    if (auto ok = revoke(svc, t, req, *s, p->user.id, "revoked"); !ok) return std::unexpected(ok.error());
    done = std::move(*s);
    return {};
  });
  if (!w) return send_error(res, from_store(w.error(), "session"));
  if (fail) return send_error(res, *fail);
  send_json(res, 200, json::object{{"session_id", done.id}, {"status", "revoked"},
                                   {"revoked_at", time_or_null(done.revoked_at)}});
}

void revoke_all(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  if (auto e = no_body(svc, req)) return send_error(res, *e);
  std::string uid(req.params[0]);
  if (auto e = require_self_or(*p, uid, "users.manage")) return send_error(res, *e);
  std::optional<http_error> fail;
  std::size_t count = 0;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    count = 0;
    if (!t.get_user(uid)) {
      fail = not_found("user");
      return {};
    }
    auto ss = t.user_sessions(uid);
    if (!ss) return std::unexpected(ss.error());
    for (auto& s : *ss) {
      auto ok = revoke(svc, t, req, s, p->user.id, "revoked");
      if (!ok) return std::unexpected(ok.error());
      count += *ok ? 1 : 0;
    }
    return {};
  });
  if (!w) return send_error(res, from_store(w.error(), "user"));
  if (fail) return send_error(res, *fail);
  send_json(res, 200, json::object{{"user_id", uid}, {"revoked_sessions", count}});
}

using engine::method;
constexpr route_spec routes[] = {
    {method::post, "/api/v1/security/auth/login", login},
    {method::post, "/api/v1/security/auth/refresh", refresh},
    {method::post, "/api/v1/security/auth/logout", logout},
    {method::get, "/api/v1/security/users/{id}/sessions", list_sessions},
    {method::delete_, "/api/v1/security/sessions/{id}", delete_session},
    {method::post, "/api/v1/security/users/{id}/sessions/revoke-all", revoke_all},
};

}  // namespace

std::span<const route_spec> auth_routes() { return routes; }

}  // namespace tollgate::api
