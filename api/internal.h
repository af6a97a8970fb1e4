// api/internal.h — private to api/: the error model, body and query validation,
// authentication of management calls, and the handler families.
#pragma once

#include <boost/json.hpp>
#include <expected>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "authz/permissions.h"

namespace tollgate::api {

namespace json = boost::json;

// http_error is an error answer: {"error": code, "message": message} with `status`.
struct http_error {
  int status = 400;
  std::string code = "invalid_request";
  std::string message;
  store::time_ns locked_until = 0;  // 423: added as "locked_until"
  std::int64_t retry_after = 0;     // 429: Retry-After seconds
  json::object extra{};             // further members of the body (user_id, tokens)
};

http_error invalid(std::string_view field, std::string_view why);  // 400, names the field
http_error unauthorized(std::string_view why = "authentication required");
http_error forbidden(std::string_view why = "insufficient permissions");
http_error not_found(std::string_view what);
http_error conflict(std::string_view why);
// from_store maps a store failure: not_found 404, conflict 409, the rest 503 (the
// store is unusable: nothing the client sent caused it).
http_error from_store(store::errc e, std::string_view what);

template <class T>
using outcome = std::expected<T, http_error>;

void send_error(engine::response& res, const http_error& e);
void send_json(engine::response& res, int status, const json::value& body);
void send_no_content(engine::response& res);

// ---- request bodies: strict JSON objects

// ip_list: an array of strings or one comma-separated string (allowed_ips).
enum class jtype : std::uint8_t { string, boolean, integer, object, strings, ip_list };
struct field {
  std::string_view name;
  jtype type;
  bool required = false;
};

// parse_body checks Content-Type (415 unless application/json), size (413), JSON
// syntax (400 "body"), that the body is an object, that every member is listed in
// `fields` with the listed type and that required members are present (400 naming
// the member).
outcome<json::object> parse_body(const services& svc, const engine::request& req,
                                 std::span<const field> fields);

// Accessors for members parse_body already type-checked.
std::optional<std::string_view> get_string(const json::object& o, std::string_view k);
std::optional<bool> get_bool(const json::object& o, std::string_view k);
std::optional<std::vector<std::string>> get_strings(const json::object& o, std::string_view k);

// ---- query strings

using query_map = std::map<std::string, std::string, std::less<>>;
// parse_query decodes `query`; a name not in `allowed` or given twice is 400.
outcome<query_map> parse_query(std::string_view query, std::span<const std::string_view> allowed);
// positive_param reads the positive integer parameter `name` (default `dflt` when
// absent); 0, non-digits or more than `max` are 400 naming the parameter.
outcome<std::size_t> positive_param(const query_map& q, std::string_view name, std::size_t dflt,
                                    std::size_t max);

// ---- values

std::string rfc3339(store::time_ns t);
json::value time_or_null(store::time_ns t);
inline store::time_ns now_of(const engine::request& req) { return req.now.time_since_epoch().count(); }
inline std::int64_t seconds_of(store::time_ns t) { return t / 1'000'000'000; }
constexpr store::time_ns ns_per_minute = 60'000'000'000;

// new_id returns prefix + 20 random base32 characters ("usr_…", "ses_…", "grp_…").
std::string new_id(std::string_view prefix);
// random_token returns prefix + base64url of `bytes` random bytes.
std::string random_token(std::string_view prefix, std::size_t bytes);

// client_ip is the client's address as text: DESIGN.md's trusted-proxy rule
// (authz::client_address) over svc.trusted_proxies, or the TCP peer when a trusted
// proxy sent an unreadable X-Forwarded-For (for audit and rate limiting; allowlist
// checks use client_of and refuse such requests).
// `trusted` is services::trusted_proxies on management routes, the hot path's own
// compiled copy on the hot routes. client_of never allocates.
std::string client_ip(const authz::ip_allowlist& trusted, const engine::request& req);
std::expected<engine::ip_address, authz::cidr_errc> client_of(const authz::ip_allowlist& trusted,
                                                              const engine::request& req) noexcept;

// Validation of names the API accepts.
std::optional<http_error> check_username(std::string_view field_name, std::string_view v);
std::optional<http_error> check_email(std::string_view field_name, std::string_view v);
std::optional<http_error> check_permissions(std::string_view field_name,
                                            const std::vector<std::string>& perms);
std::optional<http_error> check_text(std::string_view field_name, std::string_view v,
                                     std::size_t max_bytes);

// ---- authentication and authorization

struct principal {
  store::user user;
  std::string session_id;
  std::vector<store::grant> grants;
  authz::permission_set perms;
  bool has(std::string_view permission) const { return perms.check(permission).granted; }
};

// authenticate turns "Authorization: Bearer <access token>" into a principal: the
// token verifies for tollgate's own issuer, its session is live (not revoked, not
// idle past the session policy) and its user may authenticate. Records session
// activity at most once a minute. 401 otherwise.
outcome<principal> authenticate(const services& svc, const engine::request& req);

// compile_grants builds the permission set of a grant list (invalid grants skipped).
authz::permission_set compile_grants(const std::vector<store::grant>& grants);

// require_self_or lets the principal act on `user_id` when it is that user or holds
// `permission`; 403 otherwise.
std::optional<http_error> require_self_or(const principal& p, std::string_view user_id,
                                          std::string_view permission);

// audit builds an entry stamped with the request's time, address and user agent.
store::audit_entry audit(const services& svc, const engine::request& req, std::string_view actor_id,
                         std::string_view user_id, std::string_view action, bool success,
                         const json::object& details = {});
// audit_from is audit() for callers that resolved the client address themselves
// (the API-key routes, which have the hot path's trusted-proxy rule at hand).
store::audit_entry audit_from(std::string client_ip, const engine::request& req,
                              std::string_view actor_id, std::string_view user_id,
                              std::string_view action, bool success,
                              const json::object& details = {});

// write_audit appends `e` inside the caller's transaction.
store::result<void> write_audit(store::write_txn& t, store::audit_entry e);

// no_body accepts an empty body or an empty JSON object; anything else is an error.
std::optional<http_error> no_body(const services& svc, const engine::request& req);

// session_live says whether `s` may still be used at `now` under `policy`.
bool session_live(const store::session& s, const policy::session_policy& policy, store::time_ns now);

// ---- shared views of records

json::object user_json(const store::read_txn& t, const store::user& u);
json::object user_summary_json(const store::user& u);
json::object session_json(const store::session& s);
// group_names maps a user's group ids to names (unknown ids are skipped).
json::array group_names(const store::read_txn& t, const store::user& u);

// ---- login, shared by /api/v1/security/auth/login and /api/auth/login

struct login_result {
  store::user user;
  store::session session;
  std::string access_token;
  std::int64_t expires_in = 0;
  std::string refresh_token;
};
outcome<login_result> do_login(const services& svc, const engine::request& req,
                               const json::object& body);

// create_user validates the body of POST /users (or /api/auth/register), hashes the
// password if given, and writes the user with its audit entry.
outcome<store::user> create_user(const services& svc, const engine::request& req,
                                 const json::object& body, std::string_view actor_id,
                                 bool self_registration);

// ---- handler families (each registers its routes)

using route_fn = void (*)(const services&, const engine::request&, engine::response&);
struct route_spec {
  engine::method verb;
  std::string_view pattern;
  route_fn fn;
};
std::span<const route_spec> user_routes();
std::span<const route_spec> auth_routes();
std::span<const route_spec> role_routes();
std::span<const route_spec> self_service_routes();
std::span<const route_spec> well_known_routes();

// discovery_document builds the body of GET /.well-known/openid-configuration from
// the issuer in `cfg` and the algorithms of the signing keys in `keys`.
[[gnu::cold]] std::string discovery_document(const config& cfg, std::span<const crypto::key_ring::entry> keys);

}  // namespace tollgate::api
