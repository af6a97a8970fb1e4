// Roles, role assignment, permission checks and groups.
#include <algorithm>

#include "api/internal.h"

namespace tollgate::api {

namespace {

json::array strings_json(const std::vector<std::string>& v) {
  json::array a;
  for (auto& s : v) a.emplace_back(s);
  return a;
}

json::object role_json(const store::role& r) {
  return json::object{{"role_id", r.id}, {"name", r.name},
                      {"permissions", strings_json(r.permissions)}, {"builtin", r.builtin}};
}

json::object group_json(const store::group& g) {
  return json::object{{"group_id", g.id},
                      {"name", g.name},
                      {"description", g.description},
                      {"permissions", strings_json(g.permissions)},
                      {"created_at", time_or_null(g.created_at)}};
}

std::optional<http_error> check_role_id(std::string_view v) {
  if (v.empty() || v.size() > 64) return invalid("role_id", "must be 1 to 64 characters");
  for (char c : v) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return invalid("role_id", "may contain only a-z, 0-9, _ and -");
  }
  return std::nullopt;
}

// manager authenticates and requires users.manage.
outcome<principal> manager(const services& svc, const engine::request& req) {
  auto p = authenticate(svc, req);
  if (!p) return p;
  if (!p->has("users.manage")) return std::unexpected(forbidden());
  return p;
}

void list_roles(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  json::array roles;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    auto rs = t.list_roles();
    if (!rs) return std::unexpected(rs.error());
    for (auto& ro : *rs) roles.push_back(role_json(ro));
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "roles"));
  send_json(res, 200, json::object{{"roles", std::move(roles)}});
}

constexpr field role_create_fields[] = {
    {"role_id", jtype::string, true}, {"name", jtype::string, true}, {"permissions", jtype::strings}};

void post_role(const services& svc, const engine::request& req, engine::response& res) {
  auto p = manager(svc, req);
  if (!p) return send_error(res, p.error());
  auto body = parse_body(svc, req, role_create_fields);
  if (!body) return send_error(res, body.error());
  store::role r;
  r.id = get_string(*body, "role_id").value_or("");
  r.name = get_string(*body, "name").value_or("");
  r.permissions = get_strings(*body, "permissions").value_or(std::vector<std::string>{});
  r.created_at = now_of(req);
  if (auto e = check_role_id(r.id)) return send_error(res, *e);
  if (r.name.empty()) return send_error(res, invalid("name", "must not be empty"));
  if (auto e = check_text("name", r.name, 128)) return send_error(res, *e);
  if (auto e = check_permissions("permissions", r.permissions)) return send_error(res, *e);
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    if (t.get_role(r.id)) return std::unexpected(store::errc::conflict);
    if (auto ok = t.put_role(r); !ok) return ok;
    return write_audit(t, audit(svc, req, p->user.id, "", "role_create", true,
                                json::object{{"role_id", r.id}, {"permissions", strings_json(r.permissions)}}));
  });
  if (!w) return send_error(res, from_store(w.error(), "role"));
  send_json(res, 201, role_json(r));
}

constexpr field role_patch_fields[] = {{"name", jtype::string}, {"permissions", jtype::strings}};

void patch_role(const services& svc, const engine::request& req, engine::response& res) {
  auto p = manager(svc, req);
  if (!p) return send_error(res, p.error());
  auto body = parse_body(svc, req, role_patch_fields);
  if (!body) return send_error(res, body.error());
  auto name = get_string(*body, "name");
  auto perms = get_strings(*body, "permissions");
  if (name) {
    if (name->empty()) return send_error(res, invalid("name", "must not be empty"));
    if (auto e = check_text("name", *name, 128)) return send_error(res, *e);
  }
  if (perms) {
    if (auto e = check_permissions("permissions", *perms)) return send_error(res, *e);
  }
  std::string id(req.params[0]);
  std::optional<http_error> fail;
  store::role out;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    auto r = t.get_role(id);
    if (!r) return std::unexpected(r.error());
    if (r->builtin) {
      fail = forbidden("built-in roles cannot be changed");
      return std::unexpected(store::errc::invalid_argument);
    }
    if (name) r->name = *name;
    if (perms) r->permissions = *perms;
    if (auto ok = t.put_role(*r); !ok) return ok;
    out = *r;
    return write_audit(t, audit(svc, req, p->user.id, "", "role_update", true,
                                json::object{{"role_id", id}, {"permissions", strings_json(r->permissions)}}));
  });
  if (fail) return send_error(res, *fail);
  if (!w) return send_error(res, from_store(w.error(), "role"));
  send_json(res, 200, role_json(out));
}

void delete_role(const services& svc, const engine::request& req, engine::response& res) {
  auto p = manager(svc, req);
  if (!p) return send_error(res, p.error());
  std::string id(req.params[0]);
  std::optional<http_error> fail;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    auto r = t.get_role(id);
    if (!r) return std::unexpected(r.error());
    if (r->builtin) {
      fail = forbidden("built-in roles cannot be deleted");
      return std::unexpected(store::errc::invalid_argument);
    }
    if (auto ok = t.delete_role(id); !ok) {
      if (ok.error() == store::errc::conflict) fail = conflict("role is assigned to users");
      return ok;
    }
    return write_audit(t, audit(svc, req, p->user.id, "", "role_delete", true, json::object{{"role_id", id}}));
  });
  if (fail) return send_error(res, *fail);
  if (!w) return send_error(res, from_store(w.error(), "role"));
  send_no_content(res);
}

constexpr field assign_fields[] = {{"role_id", jtype::string, true}};

void assign_role(const services& svc, const engine::request& req, engine::response& res) {
  auto p = manager(svc, req);
  if (!p) return send_error(res, p.error());
  auto body = parse_body(svc, req, assign_fields);
  if (!body) return send_error(res, body.error());
  std::string uid(req.params[0]);
  std::string role(get_string(*body, "role_id").value_or(""));
  std::optional<http_error> fail;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    auto u = t.get_user(uid);
    if (!u) return std::unexpected(u.error());
    if (role.size() > 64 || !t.get_role(role)) {
      fail = invalid("role_id", "unknown role");
      return std::unexpected(store::errc::not_found);
    }
    std::string old = u->role;
    u->role = role;
    u->updated_at = now_of(req);
    if (auto ok = t.put_user(*u); !ok) return ok;
    return write_audit(t, audit(svc, req, p->user.id, uid, "role_assign", true,
                                json::object{{"from", old}, {"to", role}}));
  });
  if (fail) return send_error(res, *fail);
  if (!w) return send_error(res, from_store(w.error(), "user"));
  send_json(res, 200, json::object{{"user_id", uid}, {"role", role}});
}

void check_permission(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  std::string uid(req.params[0]);
  std::string perm(req.params[1]);
  if (auto e = require_self_or(*p, uid, "users.manage")) return send_error(res, *e);
  auto kind = authz::validate_permission(perm);
  if (!kind) return send_error(res, invalid("permission", authz::message_of(kind.error())));
  if (*kind != authz::name_kind::concrete)
    return send_error(res, invalid("permission", "must not contain wildcards"));
  std::vector<store::grant> grants;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    if (auto u = t.get_user(uid); !u) return std::unexpected(u.error());
    grants = t.effective_permissions(uid).value_or(std::vector<store::grant>{});
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "user"));
  auto set = compile_grants(grants);
  auto c = set.check(perm);
  send_json(res, 200, json::object{{"user_id", uid},
                                   {"permission", perm},
                                   {"granted", c.granted},
                                   {"source", c.granted ? json::value(std::string(c.source))
                                                        : json::value(nullptr)}});
}

constexpr field group_fields[] = {
    {"name", jtype::string, true}, {"description", jtype::string}, {"permissions", jtype::strings}};

void post_group(const services& svc, const engine::request& req, engine::response& res) {
  auto p = manager(svc, req);
  if (!p) return send_error(res, p.error());
  auto body = parse_body(svc, req, group_fields);
  if (!body) return send_error(res, body.error());
  store::group g;
  g.id = new_id("grp_");
  g.name = get_string(*body, "name").value_or("");
  g.description = get_string(*body, "description").value_or("");
  g.permissions = get_strings(*body, "permissions").value_or(std::vector<std::string>{});
  g.created_at = now_of(req);
  if (auto e = check_username("name", g.name)) return send_error(res, *e);
  if (auto e = check_text("description", g.description, 1024)) return send_error(res, *e);
  if (auto e = check_permissions("permissions", g.permissions)) return send_error(res, *e);
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    if (auto ok = t.put_group(g); !ok) return ok;
    return write_audit(t, audit(svc, req, p->user.id, "", "group_create", true,
                                json::object{{"group_id", g.id}, {"name", g.name}}));
  });
  if (!w) {
    if (w.error() == store::errc::conflict) return send_error(res, conflict("group name already in use"));
    return send_error(res, from_store(w.error(), "group"));
  }
  send_json(res, 201, group_json(g));
}

void list_groups(const services& svc, const engine::request& req, engine::response& res) {
  auto p = manager(svc, req);
  if (!p) return send_error(res, p.error());
  json::array groups;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    auto gs = t.list_groups();
    if (!gs) return std::unexpected(gs.error());
    for (auto& g : *gs) groups.push_back(group_json(g));
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "groups"));
  std::size_t total = groups.size();
  send_json(res, 200, json::object{{"groups", std::move(groups)}, {"total", total}});
}

void get_group(const services& svc, const engine::request& req, engine::response& res) {
  auto p = manager(svc, req);
  if (!p) return send_error(res, p.error());
  std::string id(req.params[0]);
  json::object out;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    auto g = t.get_group(id);
    if (!g) return std::unexpected(g.error());
    auto members = t.group_members(id);
    if (!members) return std::unexpected(members.error());
    out = group_json(*g);
    out["members"] = strings_json(*members);
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "group"));
  send_json(res, 200, out);
}

constexpr field member_fields[] = {{"user_id", jtype::string, true}};

void add_member(const services& svc, const engine::request& req, engine::response& res) {
  auto p = manager(svc, req);
  if (!p) return send_error(res, p.error());
  auto body = parse_body(svc, req, member_fields);
  if (!body) return send_error(res, body.error());
  std::string gid(req.params[0]);
  std::string uid(get_string(*body, "user_id").value_or(""));
  std::optional<http_error> fail;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    if (!t.get_group(gid)) return std::unexpected(store::errc::not_found);
    if (!t.get_user(uid)) {
      fail = invalid("user_id", "unknown user");
      return std::unexpected(store::errc::not_found);
    }
    if (auto ok = t.add_member(gid, uid); !ok) return ok;
    return write_audit(t, audit(svc, req, p->user.id, uid, "group_member_add", true,
                                json::object{{"group_id", gid}}));
  });
  if (fail) return send_error(res, *fail);
  if (!w) return send_error(res, from_store(w.error(), "group"));
  send_json(res, 200, json::object{{"group_id", gid}, {"user_id", uid}, {"status", "member"}});
}

void remove_member(const services& svc, const engine::request& req, engine::response& res) {
  auto p = manager(svc, req);
  if (!p) return send_error(res, p.error());
  std::string gid(req.params[0]);
  std::string uid(req.params[1]);
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    if (!t.get_group(gid)) return std::unexpected(store::errc::not_found);
    auto u = t.get_user(uid);
    if (!u) return std::unexpected(u.error());
    if (std::find(u->groups.begin(), u->groups.end(), gid) == u->groups.end()) return {};
    if (auto ok = t.remove_member(gid, uid); !ok) return ok;
    return write_audit(t, audit(svc, req, p->user.id, uid, "group_member_remove", true,
                                json::object{{"group_id", gid}}));
  });
  if (!w) return send_error(res, from_store(w.error(), "group or member"));
  send_no_content(res);
}

using engine::method;
constexpr route_spec routes[] = {
    {method::get, "/api/v1/security/roles", list_roles},
    {method::post, "/api/v1/security/roles", post_role},
    {method::patch, "/api/v1/security/roles/{id}", patch_role},
    {method::delete_, "/api/v1/security/roles/{id}", delete_role},
    {method::post, "/api/v1/security/users/{id}/roles", assign_role},
    {method::get, "/api/v1/security/users/{id}/permissions/{permission}", check_permission},
    {method::post, "/api/v1/security/groups", post_group},
    {method::get, "/api/v1/security/groups", list_groups},
    {method::get, "/api/v1/security/groups/{id}", get_group},
    {method::post, "/api/v1/security/groups/{id}/members", add_member},
    {method::delete_, "/api/v1/security/groups/{id}/members/{user_id}", remove_member},
};

}  // namespace

std::span<const route_spec> role_routes() { return routes; }

}  // namespace tollgate::api
