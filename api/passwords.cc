// Password change (POST /users/{id}/password), reset request and reset
// (POST /auth/password/reset-request, /auth/password/reset).
//
// A user whose password has expired cannot get a token (login answers 403
// password_change_required with its user_id), so the change endpoint also accepts
// calls without Authorization: then current_password authenticates the user named
// in the path, under the login rate limit.
#include <algorithm>
#include <cctype>

#include "api/security.h"
#include "policy/password.h"

namespace tollgate::api {

namespace pw = policy::password;

namespace {

// Reset tokens live in the meta table under "reset." + SHA-256(token): the token
// itself is never stored. One hour to use it, once.
constexpr std::string_view reset_prefix = "reset.";
constexpr store::time_ns reset_ttl = 60 * ns_per_minute;

// history_of is the user's remembered hashes, current password first. Records from
// before history was kept have none: their current hash stands in.
std::vector<std::string> history_of(const store::user& u) {
  if (!u.password_history.empty() || u.password_hash.empty()) return u.password_history;
  return {u.password_hash};
}

}  // namespace

outcome<store::user> set_password(const services& svc, const engine::request& req,
                                  store::user u, std::string_view new_password,
                                  std::string_view field, const policy::security_settings& s) {
  if (auto r = pw::check(new_password, s.password); !r)
    return std::unexpected(invalid(field, pw::message(r.error(), s.password)));
  auto history = history_of(u);
  auto verify = [&svc](std::string_view hash, std::string_view candidate) {
    return svc.passwords->verify(hash, candidate);
  };
  if (auto r = pw::check_history(new_password, history, s.password, verify); !r)
    return std::unexpected(invalid(field, pw::message(r.error(), s.password)));
  auto hash = svc.passwords->hash(new_password);
  if (!hash) return std::unexpected(http_error{503, "unavailable", "cannot hash the password"});
  u.password_history = pw::next_history(history, *hash, s.password);
  u.password_hash = std::move(*hash);
  u.password_changed_at = now_of(req);
  u.updated_at = now_of(req);
  return u;
}

store::result<std::string> issue_reset_token(store::write_txn& t, std::string_view user_id,
                                            store::time_ns expires_at) {
  std::string token = random_token("prt_", 32);
  json::object rec{{"user_id", user_id}, {"expires_at", expires_at}, {"used", false}};
  std::string key(reset_prefix);
  key.append(store::sha256_hex(token));
  if (auto r = t.put_meta(key, json::serialize(rec)); !r) return std::unexpected(r.error());
  return token;
}

bool send_token_notice(const services& svc, std::string_view kind, const store::user& u,
                       std::string_view token, store::time_ns now) {
  if (svc.notifier == nullptr) {
    std::fprintf(stderr, "tollgate: no notifier configured; %.*s notice not sent\n",
                 static_cast<int>(kind.size()), kind.data());
    return false;
  }
  auto sent = svc.notifier->send({std::string(kind), u.email, u.id, std::string(token),
                                  std::chrono::sys_seconds{std::chrono::seconds{seconds_of(now)}}});
  if (sent) return true;
  // The operator learns the cause; the token itself never reaches a log.
  auto m = policy::notify::message(sent.error());
  std::fprintf(stderr, "tollgate: %.*s notice not delivered: %.*s\n",
               static_cast<int>(kind.size()), kind.data(), static_cast<int>(m.size()), m.data());
  return false;
}

namespace {

constexpr field change_fields[] = {
    {"current_password", jtype::string},
    {"new_password", jtype::string, true},
};

void change_password(const services& svc, const engine::request& req, engine::response& res) {
  auto body = parse_body(svc, req, change_fields);
  if (!body) return send_error(res, body.error());
  std::string uid(req.params[0]);
  auto current = get_string(*body, "current_password");
  std::string_view new_password = get_string(*body, "new_password").value_or("");

  std::string actor = uid, keep_session;
  bool need_current = true;
  if (req.has_header("Authorization")) {
    auto p = authenticate(svc, req);
    if (!p) return send_error(res, p.error());
    if (p->user.id == uid) {
      keep_session = p->session_id;  // the change revokes the user's other sessions
    } else {
      if (!p->has("users.manage")) return send_error(res, forbidden());
      need_current = false;
    }
    actor = p->user.id;
  } else if (auto limited = login_rate_limited(svc, req)) {
    return send_error(res, *limited);
  }
  if (need_current && !current)
    return send_error(res, invalid("current_password", "is required to change your own password"));

  std::optional<store::user> u;
  policy::security_settings s;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    s = load_settings(t);
    if (auto got = t.get_user(uid)) u = std::move(*got);
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "user"));
  bool by_password = !req.has_header("Authorization");
  if (need_current) {
    if (by_password && u) {
      // Without a token this is a login in all but name: the lockout applies.
      if (auto until = policy::lockout::active_lock(lockout_state_of(*u), to_sys(now_of(req))))
        return send_error(res, http_error{423, "account_locked",
                                          "account locked after too many failed logins",
                                          from_sys(*until)});
    }
    // Same Argon2id work for unknown users, so the answer does not tell them apart.
    bool ok = u && !u->password_hash.empty() ? svc.passwords->verify(u->password_hash, *current)
                                             : svc.passwords->verify_dummy(*current);
    if (by_password && u && u->status != store::user_status::active) ok = false;
    if (!ok) {
      http_error answer = forbidden("current password is wrong");
      auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
        json::object details{{"reason", "bad_current_password"}, {"route", "password_change"}};
        if (!by_password)
          return write_audit(t, audit(svc, req, actor, uid, "password_change", false, details));
        auto a = login_failure(svc, t, req, u ? uid : "", s, details);
        if (!a) return std::unexpected(a.error());
        if (a->status == 423) answer = std::move(*a);
        return {};
      });
      if (!w) return send_error(res, from_store(w.error(), "user"));
      return send_error(res, answer);
    }
  } else if (!u) {
    return send_error(res, not_found("user"));
  }
  auto changed = set_password(svc, req, *u, new_password, "new_password", s);
  if (!changed) return send_error(res, changed.error());

  std::size_t revoked = 0;
  std::optional<http_error> fail;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    // Re-read: write only the password fields onto the record as it is now.
    auto now_u = t.get_user(uid);
    if (!now_u) {
      fail = not_found("user");
      return {};
    }
    if (now_u->password_hash != u->password_hash) {
      fail = conflict("the password changed meanwhile; retry");
      return {};
    }
    now_u->password_hash = changed->password_hash;
    now_u->password_history = changed->password_history;
    now_u->password_changed_at = changed->password_changed_at;
    now_u->updated_at = changed->updated_at;
    if (auto ok = t.put_user(*now_u); !ok) return ok;
    auto n = revoke_user_sessions(svc, t, req, uid, actor, "password_change", keep_session);
    if (!n) return std::unexpected(n.error());
    revoked = *n;
    return write_audit(t, audit(svc, req, actor, uid, "password_change", true,
                                json::object{{"by_admin", !need_current},
                                             {"sessions_revoked", revoked}}));
  });
  if (fail) return send_error(res, *fail);
  if (!w) return send_error(res, from_store(w.error(), "user"));
  send_json(res, 200, json::object{{"message", "password changed"},
                                   {"user_id", uid},
                                   {"sessions_revoked", revoked}});
}

constexpr field reset_request_fields[] = {{"email", jtype::string, true}};

std::string lower(std::string_view v) {
  std::string out(v);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void reset_request(const services& svc, const engine::request& req, engine::response& res) {
  auto body = parse_body(svc, req, reset_request_fields);
  if (!body) return send_error(res, body.error());
  std::string_view email = get_string(*body, "email").value_or("");
  if (auto e = check_email("email", email)) return send_error(res, *e);
  if (email.empty()) return send_error(res, invalid("email", "must not be empty"));
  if (svc.notifier == nullptr)
    return send_error(res, http_error{503, "unavailable", "no notifier is configured"});
  // Counted before the lookup, so known and unknown emails are limited alike.
  if (svc.reset_limiter != nullptr) {
    auto d = svc.reset_limiter->allow(lower(email), req.now);
    if (!d.allowed) {
      http_error e{429, "rate_limited", "too many reset requests for this email; retry later"};
      e.retry_after = static_cast<std::int64_t>(std::max<std::uint64_t>(1, authz::ceil_seconds(d.retry_after)));
      return send_error(res, e);
    }
  }
  store::time_ns now = now_of(req);
  std::optional<store::user> u;
  std::string token;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    u.reset();
    auto found = t.find_user_by_email(email);
    if (found && found->status != store::user_status::deactivated) u = std::move(*found);
    if (u) {
      auto issued = issue_reset_token(t, u->id, now + reset_ttl);
      if (!issued) return std::unexpected(issued.error());
      token = std::move(*issued);
    }
    return write_audit(t, audit(svc, req, u ? u->id : "", u ? u->id : "", "password_reset_request",
                                true, json::object{{"known", u.has_value()}}));
  });
  if (!w) return send_error(res, from_store(w.error(), "user"));
  // Reported to the operator only: the answer must not depend on the email.
  if (u) (void)send_token_notice(svc, "password_reset", *u, token, now);
  send_json(res, 202, json::object{{"message",
                                    "if the email belongs to an account, a reset link was sent"}});
}

constexpr field reset_fields[] = {
    {"token", jtype::string, true},
    {"new_password", jtype::string, true},
};

void reset(const services& svc, const engine::request& req, engine::response& res) {
  auto body = parse_body(svc, req, reset_fields);
  if (!body) return send_error(res, body.error());
  std::string_view token = get_string(*body, "token").value_or("");
  std::string_view new_password = get_string(*body, "new_password").value_or("");
  if (token.empty() || token.size() > 256) return send_error(res, invalid("token", "is not valid"));
  std::string key(reset_prefix);
  key.append(store::sha256_hex(token));
  store::time_ns now = now_of(req);
  http_error bad_token{400, "invalid_token", "token: invalid, used or expired"};

  std::optional<store::user> u;
  policy::security_settings s;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    s = load_settings(t);
    auto rec = t.get_meta(key);
    if (!rec) return {};
    boost::system::error_code ec;
    json::value v = json::parse(*rec, ec);
    if (ec || !v.is_object()) return {};
    auto& o = v.as_object();
    auto* used = o.if_contains("used");
    auto* exp = o.if_contains("expires_at");
    auto* uid = o.if_contains("user_id");
    if (!used || !used->is_bool() || used->as_bool() || !exp || !exp->is_int64() ||
        now >= exp->as_int64() || !uid || !uid->is_string())
      return {};
    if (auto got = t.get_user(uid->as_string())) u = std::move(*got);
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "user"));
  if (!u || u->status == store::user_status::deactivated) return send_error(res, bad_token);
  auto changed = set_password(svc, req, *u, new_password, "new_password", s);
  if (!changed) return send_error(res, changed.error());

  std::optional<http_error> fail;
  std::size_t revoked = 0;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    // Single use: the token is checked again and spent in the same transaction.
    auto rec = t.get_meta(key);
    boost::system::error_code ec;
    json::value v = rec ? json::parse(*rec, ec) : json::value(nullptr);
    if (!v.is_object() || v.as_object()["used"] != json::value(false)) {
      fail = bad_token;
      return {};
    }
    v.as_object()["used"] = true;
    if (auto ok = t.put_meta(key, json::serialize(v)); !ok) return ok;
    auto now_u = t.get_user(u->id);
    if (!now_u) {
      fail = bad_token;
      return {};
    }
    now_u->password_hash = changed->password_hash;
    now_u->password_history = changed->password_history;
    now_u->password_changed_at = changed->password_changed_at;
    now_u->updated_at = changed->updated_at;
    if (now_u->status == store::user_status::pending_activation) {
      now_u->status = store::user_status::active;
      now_u->email_verified = true;
    }
    // A reset also clears a lockout: the owner proved control of the email.
    now_u->failed_logins = 0;
    now_u->first_failed_login = 0;
    if (now_u->status == store::user_status::locked && now_u->locked_until != 0) {
      now_u->status = store::user_status::active;
      now_u->locked_until = 0;
    }
    if (auto ok = t.put_user(*now_u); !ok) return ok;
    auto n = revoke_user_sessions(svc, t, req, u->id, u->id, "password_reset", "");
    if (!n) return std::unexpected(n.error());
    revoked = *n;
    return write_audit(t, audit(svc, req, u->id, u->id, "password_reset", true,
                                json::object{{"sessions_revoked", revoked}}));
  });
  if (fail) return send_error(res, *fail);
  if (!w) return send_error(res, from_store(w.error(), "user"));
  send_json(res, 200, json::object{{"message", "password reset"}, {"user_id", u->id},
                                   {"sessions_revoked", revoked}});
}

constexpr route_spec routes[] = {
    {engine::method::post, "/api/v1/security/users/{id}/password", change_password},
    {engine::method::post, "/api/v1/security/auth/password/reset-request", reset_request},
    {engine::method::post, "/api/v1/security/auth/password/reset", reset},
};

}  // namespace

std::span<const route_spec> password_routes() { return routes; }

}  // namespace tollgate::api
