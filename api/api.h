// api/api.h — the management REST API (/api/v1/security/...) and the self-service
// family (/api/auth/...): users, roles, groups, login, refresh, logout, sessions.
//
// Threading: register_routes() runs once at startup. Every route it adds is a slow
// route: the engine runs it on the offload pool, where it may block (Argon2id, LMDB
// write transactions with fsync). `services` and everything it points to must outlive
// the server; the objects it points to are shared by all offload threads (store,
// hasher and trust_store are thread-safe; token_service locks its key ring).
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/jws.h"
#include "crypto/password.h"
#include "authz/rate_limiter.h"
#include "crypto/signer.h"
#include "engine/engine.h"
#include "authz/cidr.h"
#include "policy/notifier.h"
#include "policy/settings.h"
#include "store/store.h"

namespace tollgate::api {

// config is the part of the tollgate settings the management API reads (cli fills it
// from config::settings).
struct config {
  std::string issuer = "http://127.0.0.1:8080";  // tokens.issuer
  std::string audience = "tollgate";             // tokens.audience
  crypto::alg algorithm = crypto::alg::hs256;    // tokens.algorithm
  std::int64_t access_ttl_seconds = 3600;
  std::int64_t leeway_seconds = 30;
  std::int64_t refresh_reuse_grace_seconds = 5;  // auth.refresh_reuse_grace_seconds
  bool registration_open = false;                // auth.registration == "open"
  std::size_t max_body_bytes = 1048576;
  std::size_t max_token_bytes = 4096;
};

// token_service issues and checks tollgate's own access tokens. It keeps the key
// ring in the store (signing keys table) and publishes the verification keys of the
// issuer named "tollgate" to the shared trust_store that the hot path verifies with.
class token_service {
 public:
  // create loads the key ring from the store, generating and storing a first key of
  // cfg.algorithm when there is none, and publishes it to `trust`. May block.
  [[gnu::cold]] static std::expected<std::unique_ptr<token_service>, std::string> create(
      store::store& db, crypto::trust_store& trust, const config& cfg, std::int64_t now_seconds);

  struct issued {
    std::string token;
    std::int64_t expires_at = 0;  // seconds
  };
  // issue signs an access token for `user` in session `sid`.
  std::expected<issued, crypto::errc> issue(const store::user& user, std::string_view sid,
                                            std::int64_t now_seconds) const;

  struct checked {
    std::string user_id;
    std::string session_id;
    std::int64_t expires_at = 0;
  };
  // check verifies a bearer token of tollgate's own issuer (signature, iss, aud, exp,
  // and a sid claim). It does not look at the store; authenticate() does.
  std::expected<checked, crypto::errc> check(std::string_view token, std::int64_t now_seconds) const;

  const config& cfg() const { return cfg_; }

  // jwks_json is the body of GET /.well-known/jwks.json: the public keys of the ring
  // (the active key and those retired at a restart that still verify); HMAC keys are
  // never in it, so with HS256 it is {"keys":[]}. openid_configuration is the body of
  // GET /.well-known/openid-configuration. Both are built by create(), the only place
  // the ring changes.
  const std::string& jwks_json() const { return jwks_json_; }
  const std::string& openid_configuration() const { return openid_configuration_; }

 private:
  token_service(crypto::trust_store& trust, const config& cfg, crypto::key_ring ring);
  crypto::trust_store& trust_;
  config cfg_;
  mutable std::mutex mu_;  // guards ring_ (slow path only)
  crypto::key_ring ring_;
  std::string jwks_json_;
  std::string openid_configuration_;
};

// services is what the handlers use.
struct services {
  store::store* db = nullptr;
  const crypto::password::hasher* passwords = nullptr;
  const token_service* tokens = nullptr;
  config cfg;
  // Rate limits ([rate_limits] login_per_ip, password_reset_per_email), shared by
  // every shard so they hold across shards. Null: that limit is off.
  authz::rate_limiter* login_limiter = nullptr;
  authz::rate_limiter* reset_limiter = nullptr;
  // Where password reset tokens go (outbox file or webhook). Null: reset requests
  // answer 503.
  policy::notify::notifier* notifier = nullptr;
  // server.trusted_proxies: peers whose X-Forwarded-For names the client (audit IP,
  // login rate limit, API users' allowed_ips). Empty: the TCP peer is the client.
  authz::ip_allowlist trusted_proxies{};
};

// register_routes adds every management and self-service route (all slow) plus
// GET /api/v1/security/openapi.json, GET /.well-known/jwks.json and
// GET /.well-known/openid-configuration.
[[gnu::cold]] void register_routes(engine::route_table& routes, const services& svc);

// openapi_document is the OpenAPI 3.1 document of the whole HTTP surface.
std::string_view openapi_document();

// settings_meta_key is the store meta key holding policy::serialize() of the
// security settings (GET/PATCH /settings/security).
inline constexpr std::string_view settings_meta_key = "settings.security";

// load_session_policy reads the session policy from the stored security settings;
// the defaults when none are stored or the record does not parse.
policy::session_policy load_session_policy(const store::read_txn& t);

}  // namespace tollgate::api
