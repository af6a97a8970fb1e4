// POST /oauth2/introspect (RFC 7662). Hot: the caller's API key and the token are
// both checked through the shard's caches and reader; nothing blocks.
#include <strings.h>

#include "api/hot_auth.h"
#include "codec/form.h"

namespace tollgate::api::hot {

namespace {

void inactive(engine::response& res) {
  res.set_status(200);
  res.set_body("application/json", "{\"active\":false}");
}

bool is_form(std::string_view content_type) {
  constexpr std::string_view form = "application/x-www-form-urlencoded";
  return content_type.size() >= form.size() && strncasecmp(content_type.data(), form.data(), form.size()) == 0 &&
         (content_type.size() == form.size() || content_type[form.size()] == ';' || content_type[form.size()] == ' ');
}

}  // namespace

void handle_introspect(hot_state& hs, const engine::request& req, engine::response& res) {
  shard_ctx* c = hs.ctx(req);
  if (c == nullptr) return send_hot_error(res, reason::unavailable, "store unavailable", false, false);
  auto client = hs.client_of(req);
  if (!client) {
    hs.count(*c, reason::bad_request);
    return send_hot_error(res, reason::bad_request, "X-Forwarded-For: not a list of addresses", false, false);
  }
  auto caller = hs.authenticate(*c, req, *client, {.allow_basic = true, .check_source = true});
  if (!caller) {
    hs.count(*c, caller.error().why);
    send_hot_error(res, caller.error().why, caller.error().message, caller.error().credential_given, false);
    if (res.status() == 401) res.add_header("WWW-Authenticate", "Basic realm=\"tollgate\"");
    return;
  }
  if (caller->kind != cred_kind::api_key || !caller->granted("tokens.introspect")) {
    hs.count(*c, reason::forbidden);
    return send_hot_error(res, reason::forbidden, "introspection needs an API key with tokens.introspect", true, false);
  }
  if (!is_form(req.header_value("Content-Type"))) {
    hs.count(*c, reason::bad_request);
    res.set_status(415);
    res.set_body("application/json",
                 "{\"error\":\"unsupported_media_type\",\"message\":\"expected application/x-www-form-urlencoded\"}");
    return;
  }
  if (req.body.size() > c->decode_buf.size()) {
    hs.count(*c, reason::bad_request);
    return send_hot_error(res, reason::bad_request, "body: too large for an introspection request", true, false);
  }
  std::array<codec::field, 8> slots;
  auto fields = codec::parse_fields(req.body, codec::flavour::form, c->decode_buf, slots);
  if (!fields) {
    hs.count(*c, reason::bad_request);
    return send_hot_error(res, reason::bad_request, codec::message_of(fields.error()), true, false);
  }
  const codec::field* token = codec::find_field(*fields, "token");
  if (token == nullptr || token->value.empty()) {
    hs.count(*c, reason::bad_request);
    return send_hot_error(res, reason::bad_request, "token: required", true, false);
  }
  auto id = hs.authenticate_token(*c, req, token->value);
  if (!id) {
    hs.count(*c, reason::ok);
    return inactive(res);
  }
  hs.count(*c, reason::ok);
  std::string& b = res.body();
  b.clear();
  b.append("{\"active\":true,\"sub\":");
  write_json_string(b, id->user_id);
  if (id->exp != 0) {
    b.append(",\"exp\":");
    write_uint(b, static_cast<std::uint64_t>(id->exp));
  }
  if (id->iat != 0) {
    b.append(",\"iat\":");
    write_uint(b, static_cast<std::uint64_t>(id->iat));
  }
  b.append(",\"scope\":");
  write_json_string(b, id->perms->scope);
  if (!id->username.empty()) {
    b.append(",\"username\":");
    write_json_string(b, id->username);
  }
  switch (id->kind) {
    case cred_kind::own_token:
      b.append(",\"token_type\":\"access_token\"");
      break;
    case cred_kind::external_token:
      b.append(",\"token_type\":\"access_token\"");
      break;
    case cred_kind::api_key:
      b.append(",\"token_type\":\"api_key\",\"client_id\":");
      write_json_string(b, id->key_id);
      break;
  }
  b.push_back('}');
  res.set_status(200);
  res.set_content_type("application/json");
}

}  // namespace tollgate::api::hot
