// TOTP 2FA: POST /users/{id}/2fa/enable|verify|disable, the self-service
// POST /api/auth/mfa/setup|verify, and the enrollment tokens login hands to users who
// must enrol (DESIGN.md "Security policies").
#include "api/security.h"
#include "crypto/backup_codes.h"
#include "crypto/qr.h"
#include "crypto/totp.h"

namespace tollgate::api {

namespace {

constexpr std::string_view enroll_prefix = "enroll.";  // meta: "enroll." + SHA-256(token)
constexpr std::string_view enroll_token_prefix = "enr_";
constexpr store::time_ns enroll_ttl = 10 * ns_per_minute;

std::string enroll_key(std::string_view token) {
  std::string key(enroll_prefix);
  key.append(store::sha256_hex(token));
  return key;
}

// caller is who acts on user `uid`'s 2FA.
struct caller {
  std::string id;
  bool manage = false;  // holds users.manage
};

// two_factor_caller accepts a normal access token, or (allow_enrollment) an
// enrollment token of `uid` itself.
outcome<caller> two_factor_caller(const services& svc, const engine::request& req,
                                  std::string_view uid, bool allow_enrollment) {
  std::string_view auth = req.header_value("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() > bearer.size() &&
      auth.substr(bearer.size()).starts_with(enroll_token_prefix)) {
    std::string_view token = auth.substr(bearer.size());
    if (!allow_enrollment)
      return std::unexpected(unauthorized("an enrollment token only enables 2FA"));
    std::optional<std::string> owner;
    auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
      auto rec = t.get_meta(enroll_key(token));
      if (!rec) return {};
      boost::system::error_code ec;
      json::value v = json::parse(*rec, ec);
      if (ec || !v.is_object()) return {};
      auto* u = v.as_object().if_contains("user_id");
      auto* exp = v.as_object().if_contains("expires_at");
      if (u && u->is_string() && exp && exp->is_int64() && now_of(req) < exp->as_int64())
        owner = std::string(u->as_string());
      return {};
    });
    if (!r) return std::unexpected(from_store(r.error(), "user"));
    if (!owner) return std::unexpected(unauthorized("enrollment token invalid or expired"));
    if (*owner != uid) return std::unexpected(forbidden("the enrollment token is for another user"));
    return caller{*owner, false};
  }
  auto p = authenticate(svc, req);
  if (!p) return std::unexpected(p.error());
  return caller{p->user.id, p->has("users.manage")};
}

struct enrolment {
  std::string secret, uri, qr;
  std::vector<std::string> codes;
};

// enrol stores a fresh pending secret and backup codes for `uid` (active only after
// verify). 409 when 2FA is already on.
outcome<enrolment> enrol(const services& svc, const engine::request& req, std::string_view uid,
                         std::string_view actor) {
  enrolment out;
  out.secret = crypto::totp::generate_secret();
  auto codes = crypto::backup_codes::generate();
  out.codes = codes.codes;
  std::optional<http_error> fail;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    auto u = t.get_user(uid);
    if (!u) {
      fail = not_found("user");
      return {};
    }
    if (u->two_factor_enabled) {
      fail = conflict("two-factor authentication is already enabled; disable it first");
      return {};
    }
    std::string account = u->username.find(':') == std::string::npos ? u->username : u->id;
    auto uri = crypto::totp::otpauth_uri("tollgate", account, out.secret);
    if (!uri) {
      fail = http_error{503, "unavailable", "cannot build the otpauth URI"};
      return {};
    }
    auto qr = crypto::qr::png_data_uri(*uri);
    if (!qr) {
      fail = http_error{503, "unavailable", "cannot render the QR code"};
      return {};
    }
    out.uri = std::move(*uri);
    out.qr = std::move(*qr);
    u->totp_secret = out.secret;
    u->totp_last_step = -1;
    u->backup_codes = crypto::backup_codes::encode(codes.record);
    u->updated_at = now_of(req);
    if (auto r = t.put_user(*u); !r) return r;
    return write_audit(t, audit(svc, req, actor, uid, "2fa_enable", true,
                                json::object{{"method", "totp"}, {"active", false}}));
  });
  if (fail) return std::unexpected(*fail);
  if (!w) return std::unexpected(from_store(w.error(), "user"));
  return out;
}

json::array codes_json(const std::vector<std::string>& codes) {
  json::array a;
  for (auto& c : codes) a.emplace_back(c);
  return a;
}

// confirm checks the first code of a pending enrolment and switches 2FA on.
std::optional<http_error> confirm(const services& svc, const engine::request& req,
                                  std::string_view uid, std::string_view actor,
                                  std::string_view code) {
  std::optional<http_error> fail;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    auto u = t.get_user(uid);
    if (!u) {
      fail = not_found("user");
      return {};
    }
    if (u->totp_secret.empty()) {
      fail = conflict("no enrolment is pending: call 2fa/enable first");
      return {};
    }
    std::optional<crypto::totp::step> last;
    if (u->totp_last_step >= 0) last = u->totp_last_step;
    auto step = crypto::totp::verify(u->totp_secret, code, to_sys(now_of(req)), last);
    if (!step) {
      fail = invalid("code", crypto::totp::message(step.error()));
      return write_audit(t, audit(svc, req, actor, uid, "2fa_verify", false,
                                  json::object{{"reason", crypto::totp::message(step.error())}}));
    }
    bool was_on = u->two_factor_enabled;
    u->totp_last_step = *step;
    u->two_factor_enabled = true;
    u->updated_at = now_of(req);
    if (auto r = t.put_user(*u); !r) return r;
    // An enrollment token has done its job once 2FA is on.
    return write_audit(t, audit(svc, req, actor, uid, "2fa_verify", true,
                                json::object{{"already_enabled", was_on}}));
  });
  if (fail) return fail;
  if (!w) return from_store(w.error(), "user");
  return std::nullopt;
}

void enable(const services& svc, const engine::request& req, engine::response& res) {
  std::string uid(req.params[0]);
  auto c = two_factor_caller(svc, req, uid, true);
  if (!c) return send_error(res, c.error());
  // The secret goes to whoever calls: only the owner may enrol.
  if (c->id != uid) return send_error(res, forbidden("only the user may enable its 2FA"));
  if (auto e = no_body(svc, req)) return send_error(res, *e);
  auto e = enrol(svc, req, uid, c->id);
  if (!e) return send_error(res, e.error());
  send_json(res, 200, json::object{{"secret", e->secret},
                                   {"otpauth_uri", e->uri},
                                   {"qr_code", e->qr},
                                   {"backup_codes", codes_json(e->codes)},
                                   {"two_factor_enabled", false}});
}

constexpr field code_fields[] = {{"code", jtype::string, true}};

void verify(const services& svc, const engine::request& req, engine::response& res) {
  std::string uid(req.params[0]);
  auto c = two_factor_caller(svc, req, uid, true);
  if (!c) return send_error(res, c.error());
  if (c->id != uid) return send_error(res, forbidden("only the user may verify its 2FA"));
  auto body = parse_body(svc, req, code_fields);
  if (!body) return send_error(res, body.error());
  if (auto e = confirm(svc, req, uid, c->id, get_string(*body, "code").value_or("")))
    return send_error(res, *e);
  send_json(res, 200, json::object{{"user_id", uid}, {"two_factor_enabled", true}});
}

constexpr field disable_fields[] = {{"code", jtype::string}, {"password", jtype::string}};

void disable(const services& svc, const engine::request& req, engine::response& res) {
  std::string uid(req.params[0]);
  auto c = two_factor_caller(svc, req, uid, false);
  if (!c) return send_error(res, c.error());
  bool own = c->id == uid;
  if (!own && !c->manage) return send_error(res, forbidden());
  auto body = parse_body(svc, req, disable_fields);
  if (!body) return send_error(res, body.error());
  auto code = get_string(*body, "code");
  auto password = get_string(*body, "password");
  if (own && !code && !password)
    return send_error(res, invalid("code", "code or password is required"));
  std::optional<store::user> before;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    if (auto u = t.get_user(uid)) before = std::move(*u);
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "user"));
  if (!before) return send_error(res, not_found("user"));
  // The password is checked before the write transaction (Argon2id is slow).
  if (own && !code && !svc.passwords->verify(before->password_hash, *password))
    return send_error(res, forbidden("password is wrong"));
  std::optional<http_error> fail;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    auto u = t.get_user(uid);
    if (!u) {
      fail = not_found("user");
      return {};
    }
    if (own && code) {
      std::optional<crypto::totp::step> last;
      if (u->totp_last_step >= 0) last = u->totp_last_step;
      auto step = crypto::totp::verify(u->totp_secret, *code, to_sys(now_of(req)), last);
      if (!step) {
        fail = forbidden("two-factor code is wrong");
        return write_audit(t, audit(svc, req, c->id, uid, "2fa_disable", false,
                                    json::object{{"reason", crypto::totp::message(step.error())}}));
      }
    }
    u->two_factor_enabled = false;
    u->totp_secret.clear();
    u->totp_last_step = -1;
    u->backup_codes.clear();
    u->updated_at = now_of(req);
    if (auto r2 = t.put_user(*u); !r2) return r2;
    return write_audit(t, audit(svc, req, c->id, uid, "2fa_disable", true,
                                json::object{{"by_admin", !own}}));
  });
  if (fail) return send_error(res, *fail);
  if (!w) return send_error(res, from_store(w.error(), "user"));
  send_json(res, 200, json::object{{"user_id", uid}, {"two_factor_enabled", false}});
}

// ---- /api/auth/mfa (self-service shapes of auth-api-industrial.md)

constexpr field mfa_setup_fields[] = {
    {"mfa_method", jtype::string},
    {"backup_methods", jtype::strings},
    {"phone_number", jtype::string},
};

void mfa_setup(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  json::object body;
  if (!req.body.empty()) {
    auto b = parse_body(svc, req, mfa_setup_fields);
    if (!b) return send_error(res, b.error());
    body = std::move(*b);
  }
  if (auto m = get_string(body, "mfa_method"); m && *m != "totp")
    return send_error(res, invalid("mfa_method", "only \"totp\" is supported"));
  if (auto bm = get_strings(body, "backup_methods"); bm && !bm->empty())
    return send_error(res, invalid("backup_methods[0]", "no backup method is supported; backup codes are issued"));
  auto e = enrol(svc, req, p->user.id, p->user.id);
  if (!e) return send_error(res, e.error());
  send_json(res, 200, json::object{{"mfa_enabled", false},
                                   {"primary_method", "totp"},
                                   {"qr_code_url", e->qr},
                                   {"secret", e->secret},
                                   {"otpauth_uri", e->uri},
                                   {"qr_code", e->qr},
                                   {"backup_codes", codes_json(e->codes)}});
}

void mfa_verify(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  auto body = parse_body(svc, req, code_fields);
  if (!body) return send_error(res, body.error());
  if (auto e = confirm(svc, req, p->user.id, p->user.id, get_string(*body, "code").value_or("")))
    return send_error(res, *e);
  send_json(res, 200, json::object{{"mfa_enabled", true}, {"primary_method", "totp"}});
}

constexpr route_spec routes[] = {
    {engine::method::post, "/api/v1/security/users/{id}/2fa/enable", enable},
    {engine::method::post, "/api/v1/security/users/{id}/2fa/verify", verify},
    {engine::method::post, "/api/v1/security/users/{id}/2fa/disable", disable},
    {engine::method::post, "/api/auth/mfa/setup", mfa_setup},
    {engine::method::post, "/api/auth/mfa/verify", mfa_verify},
};

}  // namespace

std::span<const route_spec> two_factor_routes() { return routes; }

store::result<std::optional<http_error>> second_factor(const services& svc, store::write_txn& t,
                                                       const engine::request& req,
                                                       store::user& u, std::string_view code,
                                                       const policy::security_settings& s) {
  if (u.api_user) return std::optional<http_error>{};  // API users are exempt
  if (!u.two_factor_enabled) {
    const auto& roles = s.two_factor.required_for_roles;
    if (!s.two_factor.enabled || std::find(roles.begin(), roles.end(), u.role) == roles.end())
      return std::optional<http_error>{};
    std::string token = random_token(enroll_token_prefix, 32);
    json::object rec{{"user_id", u.id}, {"expires_at", now_of(req) + enroll_ttl}};
    if (auto r = t.put_meta(enroll_key(token), json::serialize(rec)); !r)
      return std::unexpected(r.error());
    http_error e{403, "two_factor_enrollment_required",
                 "two-factor authentication is required for this role: enrol with "
                 "POST /api/v1/security/users/" + u.id + "/2fa/enable and /2fa/verify using "
                 "the enrollment_token as the bearer token"};
    e.extra["user_id"] = u.id;
    e.extra["enrollment_token"] = token;
    e.extra["expires_in"] = seconds_of(enroll_ttl);
    return std::optional<http_error>{std::move(e)};
  }
  if (code.empty()) {
    http_error e = unauthorized("two-factor code required");
    e.code = "two_factor_required";
    return std::optional<http_error>{std::move(e)};
  }
  std::optional<crypto::totp::step> last;
  if (u.totp_last_step >= 0) last = u.totp_last_step;
  if (auto step = crypto::totp::verify(u.totp_secret, code, to_sys(now_of(req)), last)) {
    u.totp_last_step = *step;
    return std::optional<http_error>{};
  }
  // Not a TOTP code of the window: perhaps a backup code (each works once).
  if (auto rec = crypto::backup_codes::decode(u.backup_codes)) {
    if (auto left = crypto::backup_codes::consume(*rec, code)) {
      u.backup_codes = crypto::backup_codes::encode(*rec);
      if (auto r = write_audit(t, audit(svc, req, u.id, u.id, "backup_code_used", true,
                                        json::object{{"remaining", *left}}));
          !r)
        return std::unexpected(r.error());
      return std::optional<http_error>{};
    }
  }
  // A wrong second factor counts like a wrong password (lockout, audit).
  auto a = login_failure(svc, t, req, u.id, s, json::object{{"reason", "bad_two_factor_code"}});
  if (!a) return std::unexpected(a.error());
  if (a->status == 401) a->message = "invalid two-factor code";
  return std::optional<http_error>{std::move(*a)};
}

}  // namespace tollgate::api
