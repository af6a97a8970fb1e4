// GET /api/v1/security/auth/verify and the registration of the hot routes.
#include "api/hot_auth.h"
#include "codec/form.h"

namespace tollgate::api::hot {

namespace {

// requested_permission reads ?permission=P. Other parameters are ignored: gateways
// add their own (cache busters, tracing ids).
std::expected<std::string_view, std::string_view> requested_permission(shard_ctx& c, std::string_view query) {
  if (query.empty()) return std::string_view{};
  std::array<codec::field, 16> slots;
  auto fields = codec::parse_fields(query, codec::flavour::query, c.decode_buf, slots);
  if (!fields) return std::unexpected(codec::message_of(fields.error()));
  const codec::field* f = codec::find_field(*fields, "permission");
  if (f == nullptr) return std::string_view{};
  auto kind = authz::validate_permission(f->value);
  if (!kind || *kind != authz::name_kind::concrete)
    return std::unexpected(std::string_view("permission: not a concrete permission name"));
  return f->value;
}

}  // namespace

void handle_verify(hot_state& hs, const engine::request& req, engine::response& res) {
  shard_ctx* c = hs.ctx(req);
  if (c == nullptr) return send_hot_error(res, reason::unavailable, "store unavailable", false, false);
  auto client = hs.client_of(req);
  if (!client) {
    hs.count(*c, reason::bad_request);
    return send_hot_error(res, reason::bad_request, "X-Forwarded-For: not a list of addresses", false, false);
  }
  auto permission = requested_permission(*c, req.query);
  if (!permission) {
    hs.count(*c, reason::bad_request);
    return send_hot_error(res, reason::bad_request, permission.error(), false, false);
  }
  auto id = hs.authenticate(*c, req, *client, {});
  if (!id) {
    hs.count(*c, id.error().why);
    return send_hot_error(res, id.error().why, id.error().message, id.error().credential_given, false);
  }
  if (!permission->empty() && !id->granted(*permission)) {
    hs.count(*c, reason::forbidden);
    return send_hot_error(res, reason::forbidden, "permission not granted", true, false);
  }
  const authz::decision d = hs.limit(*id, req.now);
  if (!d.allowed) {
    hs.count(*c, reason::rate_limited);
    return send_hot_error(res, reason::rate_limited, "rate limit exceeded", true, false, &d);
  }
  hs.count(*c, reason::ok);
  add_rate_headers(res, d);
  std::string& b = res.body();
  b.clear();
  b.append("{\"valid\":true,\"user_id\":");
  write_json_string(b, id->user_id);
  if (!id->username.empty()) {
    b.append(",\"username\":");
    write_json_string(b, id->username);
  }
  b.append(",\"expires_at\":");
  if (id->exp == 0) {
    b.append("null");
  } else {
    write_rfc3339(b, id->exp);
  }
  b.append(",\"token_type\":");
  switch (id->kind) {
    case cred_kind::own_token:
      b.append("\"access_token\",\"session_id\":");
      write_json_string(b, id->session_id);
      break;
    case cred_kind::external_token:
      b.append("\"access_token\",\"issuer\":");
      write_json_string(b, id->issuer_name);
      break;
    case cred_kind::api_key:
      b.append("\"api_key\",\"key_id\":");
      write_json_string(b, id->key_id);
      break;
  }
  b.append(",\"permissions\":");
  b.append(id->perms->json);
  if (!permission->empty()) {
    b.append(",\"permission\":");
    write_json_string(b, *permission);
    b.append(",\"granted\":true");
  }
  b.push_back('}');
  res.set_content_type("application/json");
}

void register_hot_routes(engine::route_table& routes, hot_state& hs, caller_fn authenticate_caller) {
  using engine::method;
  using engine::route_kind;
  routes.add(method::get, "/api/v1/security/auth/verify", route_kind::hot,
             [&hs](const engine::request& req, engine::response& res) { handle_verify(hs, req, res); });
  routes.add(method::get, "/api/v1/security/auth/forward", route_kind::hot,
             [&hs](const engine::request& req, engine::response& res) { handle_forward(hs, req, res); });
  routes.add(method::post, "/oauth2/introspect", route_kind::hot,
             [&hs](const engine::request& req, engine::response& res) { handle_introspect(hs, req, res); });
  register_api_key_routes(routes, hs, std::move(authenticate_caller));
}

}  // namespace tollgate::api::hot
