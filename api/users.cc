// Users: create, list, get, patch (incl. status transitions), delete.
#include <algorithm>
#include <charconv>

#include "api/internal.h"
#include "api/security.h"

namespace tollgate::api {

namespace {

// resolve_groups maps each entry (a group id or a group name) to a group id.
outcome<std::vector<std::string>> resolve_groups(const store::read_txn& t,
                                                 const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    std::string field_name = "groups[" + std::to_string(i) + "]";
    std::optional<store::group> g;
    if (auto byid = t.get_group(in[i])) g = std::move(*byid);
    else if (auto byname = t.find_group_by_name(in[i])) g = std::move(*byname);
    if (!g) return std::unexpected(invalid(field_name, "unknown group"));
    if (std::find(out.begin(), out.end(), g->id) == out.end()) out.push_back(g->id);
  }
  return out;
}

std::optional<http_error> check_role(const store::read_txn& t, std::string_view field_name,
                                     std::string_view role_id) {
  if (role_id.empty() || role_id.size() > 64 || !t.get_role(role_id))
    return invalid(field_name, "unknown role");
  return std::nullopt;
}

// A pending user's activation token lasts longer than a reset token: the invitation
// may wait in an inbox over a weekend.
constexpr store::time_ns activation_ttl = 72 * 60 * ns_per_minute;

constexpr field create_fields[] = {
    {"username", jtype::string, true}, {"email", jtype::string},  {"full_name", jtype::string},
    {"role", jtype::string},           {"groups", jtype::strings}, {"metadata", jtype::object},
    {"password", jtype::string},       {"api_user", jtype::boolean}, {"allowed_ips", jtype::ip_list},
};

}  // namespace

outcome<store::user> create_user(const services& svc, const engine::request& req,
                                 const json::object& body, std::string_view actor_id,
                                 bool self_registration) {
  store::user u;
  u.username = get_string(body, "username").value_or("");
  u.email = get_string(body, "email").value_or("");
  u.full_name = get_string(body, "full_name").value_or("");
  if (auto e = check_username("username", u.username)) return std::unexpected(*e);
  if (!u.email.empty()) {
    if (auto e = check_email("email", u.email)) return std::unexpected(*e);
  }
  if (auto e = check_text("full_name", u.full_name, 256)) return std::unexpected(*e);
  if (auto e = api_user_fields(body, u)) return std::unexpected(*e);
  if (auto* m = body.if_contains("metadata")) {
    u.metadata_json = json::serialize(*m);
    if (u.metadata_json.size() > 8192) return std::unexpected(invalid("metadata", "too large"));
  }
  auto password = get_string(body, "password");
  std::string role = std::string(get_string(body, "role").value_or("user"));
  std::vector<std::string> groups = get_strings(body, "groups").value_or(std::vector<std::string>{});
  if (groups.size() > 64) return std::unexpected(invalid("groups", "at most 64 groups"));

  // Validate references before paying for Argon2id.
  std::optional<http_error> fail;
  policy::security_settings settings;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    settings = load_settings(t);
    if (auto e = check_role(t, "role", role)) fail = e;
    else if (auto ids = resolve_groups(t, groups); !ids) fail = ids.error();
    else groups = std::move(*ids);
    return {};
  });
  if (!r) return std::unexpected(from_store(r.error(), "user"));
  if (fail) return std::unexpected(*fail);
  if (password) {
    // The same policy as a change or reset: length, classes; history starts here.
    auto with_password = set_password(svc, req, std::move(u), *password, "password", settings);
    if (!with_password) return std::unexpected(with_password.error());
    u = std::move(*with_password);
    u.status = store::user_status::active;
  } else {
    u.status = store::user_status::pending_activation;
  }
  u.id = new_id("usr_");
  u.role = role;
  u.groups = groups;
  u.created_at = u.updated_at = now_of(req);
  std::string activation_token;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    // The role or a group may have gone since the check above.
    if (!t.get_role(u.role)) {
      fail = invalid("role", "unknown role");
      return std::unexpected(store::errc::not_found);
    }
    for (auto& g : u.groups) {
      if (!t.get_group(g)) {
        fail = invalid("groups", "unknown group");
        return std::unexpected(store::errc::not_found);
      }
    }
    if (auto ok = t.put_user(u); !ok) return ok;
    if (u.status == store::user_status::pending_activation) {
      auto issued = issue_reset_token(t, u.id, now_of(req) + activation_ttl);
      if (!issued) return std::unexpected(issued.error());
      activation_token = std::move(*issued);
    }
    std::string actor = self_registration ? u.id : std::string(actor_id);
    return write_audit(t, audit(svc, req, actor, u.id, "user_create", true,
                                json::object{{"role", u.role},
                                             {"self_registration", self_registration}}));
  });
  if (fail) return std::unexpected(*fail);
  if (!w) {
    if (w.error() == store::errc::conflict)
      return std::unexpected(conflict("username or email already in use"));
    return std::unexpected(from_store(w.error(), "user"));
  }
  // The user exists either way: an undelivered notice is for the operator (stderr)
  // and a later reset request sends a fresh token.
  if (!activation_token.empty()) (void)send_token_notice(svc, "activation", u, activation_token, now_of(req));
  return u;
}

namespace {

void post_user(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  if (!p->has("users.manage")) return send_error(res, forbidden());
  auto body = parse_body(svc, req, create_fields);
  if (!body) return send_error(res, body.error());
  auto u = create_user(svc, req, *body, p->user.id, false);
  if (!u) return send_error(res, u.error());
  json::object out;
  (void)svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    out = user_json(t, *u);
    return {};
  });
  send_json(res, 201, out);
}

constexpr std::string_view list_params[] = {"page", "limit", "role", "group", "status", "search"};

bool contains_ci(std::string_view hay, std::string_view needle) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                     [&](char a, char b) { return lower(a) == lower(b); }) != hay.end();
}

void list_users(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  if (!p->has("users.manage")) return send_error(res, forbidden());
  auto q = parse_query(req.query, list_params);
  if (!q) return send_error(res, q.error());
  auto page = positive_param(*q, "page", 1, 1'000'000);
  if (!page) return send_error(res, page.error());
  auto limit = positive_param(*q, "limit", 20, 100);
  if (!limit) return send_error(res, limit.error());
  std::optional<store::user_status> status;
  if (auto it = q->find("status"); it != q->end()) {
    // The reference's filter names are aliases of the stored statuses.
    std::string_view s = it->second;
    if (s == "pending") s = "pending_activation";
    if (s == "inactive") s = "deactivated";
    status = store::parse_user_status(s);
    if (!status) return send_error(res, invalid("status", "must be one of active, pending_activation, "
                                                          "pending, locked, deactivated, inactive"));
  }
  std::string role = q->contains("role") ? q->find("role")->second : "";
  std::string search = q->contains("search") ? q->find("search")->second : "";
  std::string group_filter = q->contains("group") ? q->find("group")->second : "";

  json::array users;
  std::size_t total = 0;
  std::size_t skip = (*page - 1) * *limit;
  bool no_such_group = false;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    std::string group_id;
    if (!group_filter.empty()) {
      if (auto g = t.get_group(group_filter)) group_id = g->id;
      else if (auto g2 = t.find_group_by_name(group_filter)) group_id = g2->id;
      else no_such_group = true;
    }
    if (no_such_group) return {};
    return t.for_each_user([&](const store::user& u) {
      if (status && u.status != *status) return true;
      if (!role.empty() && u.role != role) return true;
      if (!group_id.empty() &&
          std::find(u.groups.begin(), u.groups.end(), group_id) == u.groups.end())
        return true;
      if (!search.empty() && !contains_ci(u.username, search) && !contains_ci(u.email, search) &&
          !contains_ci(u.full_name, search))
        return true;
      if (total >= skip && users.size() < *limit) users.push_back(user_summary_json(u));
      ++total;
      return true;
    });
  });
  if (!r) return send_error(res, from_store(r.error(), "users"));
  send_json(res, 200, json::object{{"users", std::move(users)}, {"total", total},
                                   {"page", *page}, {"limit", *limit}});
}

void get_user(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  std::string uid(req.params[0]);
  if (auto e = require_self_or(*p, uid, "users.manage")) return send_error(res, *e);
  json::object out;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    auto u = t.get_user(uid);
    if (!u) return std::unexpected(u.error());
    out = user_json(t, *u);
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "user"));
  send_json(res, 200, out);
}

constexpr field patch_fields[] = {
    {"full_name", jtype::string}, {"email", jtype::string},    {"role", jtype::string},
    {"groups", jtype::strings},   {"metadata", jtype::object}, {"status", jtype::string},
    {"api_user", jtype::boolean}, {"allowed_ips", jtype::ip_list},
};

void patch_user(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  std::string uid(req.params[0]);
  bool admin = p->has("users.manage");
  if (!admin && (p->user.id != uid || !p->has("profile.edit"))) return send_error(res, forbidden());
  auto body = parse_body(svc, req, patch_fields);
  if (!body) return send_error(res, body.error());
  if (!admin) {
    for (std::string_view k : {"role", "groups", "status", "api_user", "allowed_ips"}) {
      if (body->contains(k)) return send_error(res, forbidden(std::string(k) + " needs users.manage"));
    }
  }
  auto email = get_string(*body, "email");
  if (email && !email->empty()) {
    if (auto e = check_email("email", *email)) return send_error(res, *e);
  }
  auto full_name = get_string(*body, "full_name");
  if (full_name) {
    if (auto e = check_text("full_name", *full_name, 256)) return send_error(res, *e);
  }
  std::optional<store::user_status> status;
  if (auto s = get_string(*body, "status")) {
    status = store::parse_user_status(*s);
    if (!status || *status == store::user_status::pending_activation)
      return send_error(res, invalid("status", "must be active, locked or deactivated"));
  }
  std::string metadata;
  if (auto* m = body->if_contains("metadata")) {
    metadata = json::serialize(*m);
    if (metadata.size() > 8192) return send_error(res, invalid("metadata", "too large"));
  }
  store::user api_fields;  // checked here, applied in the transaction
  if (auto e = api_user_fields(*body, api_fields)) return send_error(res, *e);
  store::time_ns now = now_of(req);
  std::optional<http_error> fail;
  json::object out;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    auto u = t.get_user(uid);
    if (!u) return std::unexpected(u.error());
    if (body->contains("api_user")) u->api_user = api_fields.api_user;
    if (body->contains("allowed_ips")) u->allowed_ips = api_fields.allowed_ips;
    json::array changed;
    auto old = *u;
    if (full_name) u->full_name = *full_name, changed.emplace_back("full_name");
    if (email) {
      if (u->email != *email) u->email_verified = false;
      u->email = *email;
      changed.emplace_back("email");
    }
    if (!metadata.empty()) u->metadata_json = metadata, changed.emplace_back("metadata");
    if (auto role = get_string(*body, "role")) {
      if (auto e = check_role(t, "role", *role)) {
        fail = e;
        return std::unexpected(store::errc::not_found);
      }
      u->role = *role;
    }
    if (auto groups = get_strings(*body, "groups")) {
      auto ids = resolve_groups(t, *groups);
      if (!ids) {
        fail = ids.error();
        return std::unexpected(store::errc::not_found);
      }
      u->groups = std::move(*ids);
    }
    if (status && *status != u->status) {
      u->status = *status;
      u->deactivated_at = *status == store::user_status::deactivated ? now : 0;
      u->locked_until = 0;  // an admin lock lasts until an admin unlocks
      if (*status == store::user_status::active) u->failed_logins = 0;
    }
    u->updated_at = now;
    if (auto ok = t.put_user(*u); !ok) return ok;
    std::string actor = p->user.id;
    if (!changed.empty()) {
      if (auto ok = write_audit(t, audit(svc, req, actor, uid, "user_update", true,
                                         json::object{{"fields", changed}}));
          !ok)
        return ok;
    }
    if (u->role != old.role) {
      if (auto ok = write_audit(t, audit(svc, req, actor, uid, "role_assign", true,
                                         json::object{{"from", old.role}, {"to", u->role}}));
          !ok)
        return ok;
    }
    if (u->groups != old.groups) {
      for (auto& g : u->groups) {
        if (std::find(old.groups.begin(), old.groups.end(), g) == old.groups.end()) {
          if (auto ok = write_audit(t, audit(svc, req, actor, uid, "group_member_add", true,
                                             json::object{{"group_id", g}}));
              !ok)
            return ok;
        }
      }
      for (auto& g : old.groups) {
        if (std::find(u->groups.begin(), u->groups.end(), g) == u->groups.end()) {
          if (auto ok = write_audit(t, audit(svc, req, actor, uid, "group_member_remove", true,
                                             json::object{{"group_id", g}}));
              !ok)
            return ok;
        }
      }
    }
    if (u->status != old.status) {
      std::string_view action =
          u->status == store::user_status::deactivated ? "user_deactivate"
          : u->status == store::user_status::locked    ? "account_locked"
                                                       : "user_update";
      if (auto ok = write_audit(t, audit(svc, req, actor, uid, action, true,
                                         json::object{{"from", store::to_string(old.status)},
                                                      {"to", store::to_string(u->status)}}));
          !ok)
        return ok;
    }
    out = user_json(t, *u);
    return {};
  });
  if (fail) return send_error(res, *fail);
  if (!w) {
    if (w.error() == store::errc::conflict) return send_error(res, conflict("email already in use"));
    return send_error(res, from_store(w.error(), "user"));
  }
  send_json(res, 200, out);
}

constexpr std::string_view delete_params[] = {"hard"};

void delete_user(const services& svc, const engine::request& req, engine::response& res) {
  auto p = authenticate(svc, req);
  if (!p) return send_error(res, p.error());
  if (!p->has("users.manage")) return send_error(res, forbidden());
  auto q = parse_query(req.query, delete_params);
  if (!q) return send_error(res, q.error());
  bool hard = false;
  if (auto it = q->find("hard"); it != q->end()) {
    if (it->second != "true" && it->second != "false")
      return send_error(res, invalid("hard", "must be true or false"));
    hard = it->second == "true";
  }
  std::string uid(req.params[0]);
  store::time_ns now = now_of(req);
  json::object out;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    auto u = t.get_user(uid);
    if (!u) return std::unexpected(u.error());
    if (hard) {
      if (auto ok = t.delete_user(uid); !ok) return ok;
      out = json::object{{"user_id", uid}, {"status", "deleted"}};
      return write_audit(t, audit(svc, req, p->user.id, uid, "user_delete", true,
                                  json::object{{"username", u->username}}));
    }
    if (u->status != store::user_status::deactivated) {
      u->status = store::user_status::deactivated;
      u->deactivated_at = now;
      u->updated_at = now;
      if (auto ok = t.put_user(*u); !ok) return ok;
      if (auto ok = write_audit(t, audit(svc, req, p->user.id, uid, "user_deactivate", true)); !ok)
        return ok;
    }
    out = json::object{{"user_id", uid}, {"status", "deactivated"},
                       {"deactivated_at", time_or_null(u->deactivated_at)}};
    return {};
  });
  if (!w) return send_error(res, from_store(w.error(), "user"));
  send_json(res, 200, out);
}

using engine::method;
constexpr route_spec routes[] = {
    {method::post, "/api/v1/security/users", post_user},
    {method::get, "/api/v1/security/users", list_users},
    {method::get, "/api/v1/security/users/{id}", get_user},
    {method::patch, "/api/v1/security/users/{id}", patch_user},
    {method::delete_, "/api/v1/security/users/{id}", delete_user},
};

}  // namespace

std::span<const route_spec> user_routes() { return routes; }

}  // namespace tollgate::api
