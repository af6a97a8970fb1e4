// GET /.well-known/jwks.json and GET /.well-known/openid-configuration: the public
// keys of tollgate's own tokens and the discovery document that points relying
// parties at them. Both bodies are built once, by token_service::create (the key
// ring changes only there), so a request only copies a string.
#include <algorithm>

#include "api/internal.h"

namespace tollgate::api {

namespace {

// Relying parties refetch after this long; an unknown kid makes most of them refetch
// at once anyway, and a key retired at a restart stays verifiable for a whole token
// lifetime, so a cached set never rejects a live token.
constexpr std::string_view cache_control = "public, max-age=300";

void send_document(engine::response& res, const std::string& document) {
  res.set_status(200);
  res.add_header("Cache-Control", cache_control);
  res.set_body("application/json", document);
}

void jwks(const services& svc, const engine::request&, engine::response& res) {
  send_document(res, svc.tokens->jwks_json());
}

void openid_configuration(const services& svc, const engine::request&, engine::response& res) {
  send_document(res, svc.tokens->openid_configuration());
}

constexpr route_spec routes[] = {
    {engine::method::get, "/.well-known/jwks.json", jwks},
    {engine::method::get, "/.well-known/openid-configuration", openid_configuration},
};

}  // namespace

std::span<const route_spec> well_known_routes() { return routes; }

std::string discovery_document(const config& cfg, std::span<const crypto::key_ring::entry> keys) {
  // OpenID Connect Discovery 1.0 §4: the URLs are the issuer with any terminating '/'
  // removed, then the path, so a tollgate behind a path prefix keeps it.
  std::string_view base = cfg.issuer;
  while (base.ends_with('/')) base.remove_suffix(1);
  auto url = [&](std::string_view path) { return std::string(base).append(path); };

  json::array algs;
  for (const auto& e : keys) {
    const std::string_view name = crypto::name_of(e.key.algorithm());
    if (std::none_of(algs.begin(), algs.end(), [&](const json::value& v) { return v.as_string() == name; }))
      algs.emplace_back(name);
  }
  json::object d;
  d["issuer"] = cfg.issuer;
  d["jwks_uri"] = url("/.well-known/jwks.json");
  // tollgate's login (JSON username and password, answered with the token pair), not
  // an RFC 6749 form endpoint: hence no standard grant type below.
  d["token_endpoint"] = url("/api/v1/security/auth/login");
  d["token_endpoint_auth_methods_supported"] = json::array{"none"};  // login authenticates users, not clients
  d["introspection_endpoint"] = url("/oauth2/introspect");
  // Basic key_id:secret of an API key carrying tokens.introspect.
  d["introspection_endpoint_auth_methods_supported"] = json::array{"client_secret_basic"};
  // Stated empty rather than left out: omitted, RFC 8414 defaults grant types to
  // authorization_code and implicit, which tollgate has no endpoint for.
  d["grant_types_supported"] = json::array();
  d["response_types_supported"] = json::array();
  d["subject_types_supported"] = json::array{"public"};
  d["id_token_signing_alg_values_supported"] = std::move(algs);
  return json::serialize(d);
}

}  // namespace tollgate::api
