// The self-service family (/api/auth/...) in the shapes of auth-api-industrial.md,
// on the same logic as the main API.
#include "api/internal.h"

namespace tollgate::api {

namespace {

json::array roles_json(const store::read_txn& t, const store::user& u, bool industrial_names) {
  json::array out;
  if (auto r = t.get_role(u.role)) {
    json::array perms;
    for (auto& p : r->permissions) perms.emplace_back(p);
    if (industrial_names) {
      out.push_back(json::object{{"id", r->id}, {"name", r->name}, {"permissions", std::move(perms)}});
    } else {
      out.push_back(
          json::object{{"role_id", r->id}, {"role_name", r->name}, {"permissions", std::move(perms)}});
    }
  }
  return out;
}

json::object profile_json(const store::read_txn& t, const store::user& u) {
  json::object o;
  o["id"] = u.id;
  o["username"] = u.username;
  o["email"] = u.email;
  o["full_name"] = u.full_name;
  o["status"] = store::to_string(u.status);
  bool admin = false;
  for (auto& g : t.effective_permissions(u.id).value_or(std::vector<store::grant>{}))
    admin = admin || g.permission == "system.configure";
  o["is_system_admin"] = admin;
  o["mfa_enabled"] = u.two_factor_enabled;
  o["roles"] = roles_json(t, u, true);
  o["groups"] = group_names(t, u);
  // The reference's profile fields (user_type, department, ...) live in metadata.
  boost::system::error_code ec;
  json::value meta = json::parse(u.metadata_json, ec);
  if (!ec && meta.is_object()) {
    for (auto& kv : meta.as_object()) {
      if (!o.contains(kv.key())) o[kv.key()] = kv.value();
    }
  }
  o["created_at"] = time_or_null(u.created_at);
  o["last_login"] = time_or_null(u.last_login);
  return o;
}

constexpr field login_fields[] = {
    {"username", jtype::string, true},
    {"password", jtype::string, true},
    {"remember_me", jtype::boolean},
    {"mfa_token", jtype::string},
};

void login(const services& svc, const engine::request& req, engine::response& res) {
  auto body = parse_body(svc, req, login_fields);
  if (!body) return send_error(res, body.error());
  auto r = do_login(svc, req, *body);
  if (!r) return send_error(res, r.error());
  json::object out{{"access_token", r->access_token},
                   {"refresh_token", r->refresh_token},
                   {"token_type", "bearer"},
                   {"expires_in", r->expires_in},
                   {"session_id", r->session.id}};
  (void)svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    out["user"] = profile_json(t, r->user);
    return {};
  });
  send_json(res, 200, out);
}

constexpr field register_fields[] = {
    {"username", jtype::string, true}, {"email", jtype::string, true},
    {"password", jtype::string, true}, {"full_name", jtype::string},
    {"user_type", jtype::string},      {"department", jtype::string},
    {"employee_id", jtype::string},    {"phone", jtype::string},
};

void register_user(const services& svc, const engine::request& req, engine::response& res) {
  if (!svc.cfg.registration_open)
    return send_error(res, http_error{403, "registration_closed", "registration is closed"});
  auto body = parse_body(svc, req, register_fields);
  if (!body) return send_error(res, body.error());
  json::object create;
  json::object metadata;
  for (auto& kv : *body) {
    std::string_view k = kv.key();
    if (k == "username" || k == "email" || k == "password" || k == "full_name") {
      create[k] = kv.value();
    } else {
      if (auto e = check_text(k, kv.value().as_string(), 256)) return send_error(res, *e);
      metadata[k] = kv.value();
    }
  }
  create["metadata"] = std::move(metadata);
  // Self-registered users always get the plain `user` role.
  auto u = create_user(svc, req, create, "", true);
  if (!u) return send_error(res, u.error());
  json::object out;
  (void)svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    out["user"] = profile_json(t, *u);
    return {};
  });
  send_json(res, 201, out);
}

json::array permission_names(const std::vector<store::grant>& grants) {
  json::array out;
  for (auto& g : grants) out.emplace_back(g.permission);
  return out;
}

void me(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  json::object out;
  (void)svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    out["user"] = profile_json(t, p->user);
    return {};
  });
  out["permissions"] = permission_names(p->grants);
  send_json(res, 200, out);
}

void permissions(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  json::object out{{"user_id", p->user.id}, {"permissions", permission_names(p->grants)}};
  (void)svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    out["roles"] = roles_json(t, p->user, false);
    return {};
  });
  send_json(res, 200, out);
}

void sessions(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  json::array list;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    auto policy = load_session_policy(t);
    auto ss = t.user_sessions(p->user.id);
    if (!ss) return std::unexpected(ss.error());
    for (auto& s : *ss) {
      if (!session_live(s, policy, now_of(req))) continue;
      list.push_back(json::object{
          {"session_id", s.id},
          {"device_info", json::object{{"user_agent", s.user_agent}}},
          {"location", json::object{{"ip_address", s.ip_address}}},
          {"created_at", time_or_null(s.created_at)},
          {"last_activity", time_or_null(s.last_activity)},
          // Idle expiry: the session ends timeout_minutes after its last activity.
          {"expires_at", time_or_null(s.last_activity + policy.timeout_minutes * ns_per_minute)},
          {"is_current", s.id == p->session_id}});
    }
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "sessions"));
  std::size_t total = list.size();
  send_json(res, 200, json::object{{"user_id", p->user.id},
                                   {"active_sessions", std::move(list)},
                                   {"session_summary", json::object{{"total_active", total}}}});
}

using engine::method;
constexpr route_spec routes[] = {
    {method::post, "/api/auth/login", login},
    {method::post, "/api/auth/register", register_user},
    {method::get, "/api/auth/me", me},
    {method::get, "/api/auth/permissions", permissions},
    {method::get, "/api/auth/sessions", sessions},
};

}  // namespace

std::span<const route_spec> self_service_routes() { return routes; }

}  // namespace tollgate::api
