// GET /api/v1/security/auth/forward: nginx auth_request, Traefik ForwardAuth, Envoy
// ext_authz (HTTP). Every answer has an empty body: nginx never reads an
// auth_request reply's body and closes its upstream connection when there is one.
#include "api/hot_auth.h"
#include "codec/path.h"

namespace tollgate::api::hot {

namespace {

std::string_view first_of(const engine::request& req, std::string_view a, std::string_view b) {
  std::string_view v = req.header_value(a);
  return v.empty() ? req.header_value(b) : v;
}

// add_identity skips empty values; engine::response drops values with CR or LF
// (claims of external tokens are arbitrary JSON strings).
void add_identity(engine::response& res, std::string_view name, std::string_view value) {
  if (!value.empty()) res.add_header(name, value);
}

}  // namespace

void handle_forward(hot_state& hs, const engine::request& req, engine::response& res) {
  res.body().clear();
  shard_ctx* c = hs.ctx(req);
  if (c == nullptr) return send_hot_error(res, reason::unavailable, {}, false, true);
  auto bad = [&](std::string_view why) {
    hs.count(*c, reason::bad_request);
    send_hot_error(res, reason::bad_request, why, false, true);
  };
  auto client = hs.client_of(req);
  if (!client) return bad("X-Forwarded-For");
  std::string_view verb = first_of(req, "X-Original-Method", "X-Forwarded-Method");
  if (verb.empty()) verb = req.method_text;
  const std::string_view uri = first_of(req, "X-Original-URI", "X-Forwarded-Uri");
  if (uri.empty()) return bad("X-Original-URI or X-Forwarded-Uri required");
  auto path = codec::normalise_path(uri, c->decode_buf);
  if (!path) return bad(codec::message_of(path.error()));
  const authz::rule_match* rule = hs.rules().match(verb, *path);
  const std::string_view permission = rule != nullptr ? rule->permission : std::string_view{};

  auto id = hs.authenticate(*c, req, *client, {});
  if (!id) {
    hs.count(*c, id.error().why);
    return send_hot_error(res, id.error().why, {}, id.error().credential_given, true);
  }
  if (!permission.empty() && !id->granted(permission)) {
    hs.count(*c, reason::forbidden);
    return send_hot_error(res, reason::forbidden, {}, true, true);
  }
  const authz::decision d = hs.limit(*id, req.now);
  if (!d.allowed) {
    hs.count(*c, reason::rate_limited);
    return send_hot_error(res, reason::rate_limited, {}, true, true, &d);
  }
  hs.count(*c, reason::ok);
  res.set_status(200);
  add_identity(res, "X-Auth-User-Id", id->user_id);
  add_identity(res, "X-Auth-Username", id->username);
  add_identity(res, "X-Auth-Roles", id->perms->roles);
  add_identity(res, "X-Auth-Groups", id->perms->groups);
  add_identity(res, "Remote-User", id->username.empty() ? id->user_id : id->username);
  add_identity(res, "Remote-Groups", id->perms->groups);
  add_rate_headers(res, d);
}

}  // namespace tollgate::api::hot
