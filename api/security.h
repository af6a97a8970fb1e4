// api/security.h — private to api/: the security settings as the handlers read them,
// and the route families of issue 5 (settings, audit, passwords).
//
// Threading: everything here runs on the offload pool (slow routes); load_settings
// reads inside the caller's transaction, so a PATCH committed before the
// transaction began is in effect at once.
#pragma once

#include <span>

#include "api/internal.h"
#include "policy/lockout.h"
#include "policy/settings.h"

namespace tollgate::api {

// load_settings reads the stored settings; absent or unreadable records give the
// defaults (an unreadable record cannot be produced by the PATCH handler).
policy::security_settings load_settings(const store::read_txn& t);

// to_sys converts store time to the policy modules' seconds.
inline std::chrono::sys_seconds to_sys(store::time_ns t) {
  return std::chrono::sys_seconds{std::chrono::seconds{t / 1'000'000'000}};
}
inline store::time_ns from_sys(std::chrono::sys_seconds t) {
  return static_cast<store::time_ns>(t.time_since_epoch().count()) * 1'000'000'000;
}

// require_permission authenticates the call and requires `permission` (403).
outcome<principal> require_permission(const services& svc, const engine::request& req,
                                      std::string_view permission);

// ---- login rules (called by do_login)

// login_rate_limited counts one login attempt of the client address against
// login_per_ip and answers 429 (with Retry-After) when it is over.
std::optional<http_error> login_rate_limited(const services& svc, const engine::request& req);

// lockout_state_of maps a user's stored lockout fields to the policy's state.
policy::lockout::state lockout_state_of(const store::user& u);

// login_failure applies one wrong password to user `user_id` inside `t` (so
// concurrent failures serialise on the writer lock), audits login_failed (and
// account_locked when this failure set the lock) and returns the answer: 401, or 423
// with locked_until.
store::result<http_error> login_failure(const services& svc, store::write_txn& t, const engine::request& req,
                                        std::string_view user_id,
                                        const policy::security_settings& s,
                                        json::object details);

// login_checks runs after the password verified, inside the login's write
// transaction on the user read there: the lock (which may have engaged while the
// hash was computed), the API user's address allowlist (403, audited ip_denied) and
// password expiry (403 password_change_required). Resets the failure count in `u`
// on success; the caller writes `u`.
store::result<std::optional<http_error>> login_checks(const services& svc, store::write_txn& t,
                                                      const engine::request& req,
                                                      store::user& u,
                                                      const policy::security_settings& s,
                                                      std::string_view two_factor_code);

// second_factor is login's 2FA step (part of login_checks): API users are exempt;
// users of two_factor.required_for_roles without 2FA get 403
// two_factor_enrollment_required with an enrollment_token (10 minutes, only for
// their 2fa enable/verify); enrolled users must give a TOTP code (each step once) or
// a backup code (once, audited backup_code_used). A wrong code counts as a failed
// login. Updates `u` (last step, remaining backup codes) for the caller to write.
store::result<std::optional<http_error>> second_factor(const services& svc, store::write_txn& t,
                                                       const engine::request& req,
                                                       store::user& u, std::string_view code,
                                                       const policy::security_settings& s);

// ip_allowed says whether the request's client address is in the API user's
// allowed_ips (an empty or unreadable list allows nothing).
bool ip_allowed(const services& svc, const store::user& u, const engine::request& req);

// revoke_user_sessions revokes every live session of `user_id` but
// `keep_session_id` (empty: all), each with its session_revoke audit entry.
store::result<std::size_t> revoke_user_sessions(const services& svc, store::write_txn& t, const engine::request& req,
                                                std::string_view user_id, std::string_view actor,
                                                std::string_view reason,
                                                std::string_view keep_session_id);

// set_password checks `new_password` against the policy and the user's history
// (400 naming `field`), hashes it, and returns the user with the new hash,
// history and password_changed_at (the caller writes it). Blocks (Argon2id).
outcome<store::user> set_password(const services& svc, const engine::request& req,
                                  store::user u, std::string_view new_password,
                                  std::string_view field, const policy::security_settings& s);

// issue_reset_token stores a single-use token for `user_id` (hashed, in the meta
// table) that POST /auth/password/reset accepts until `expires_at`; it sets the
// password and activates a pending user. Returns the token, to be sent, never logged.
store::result<std::string> issue_reset_token(store::write_txn& t, std::string_view user_id,
                                            store::time_ns expires_at);

// send_token_notice hands `token` to the notifier as a notice of `kind` for `u`.
// Delivery failures are reported on stderr without the token; returns whether the
// notice was delivered. Blocks (fsync or network).
bool send_token_notice(const services& svc, std::string_view kind, const store::user& u,
                       std::string_view token, store::time_ns now);

// api_user_fields reads `api_user` and `allowed_ips` (an array or a comma-separated
// string of addresses and CIDR ranges; 400 naming allowed_ips[i]) of a POST/PATCH
// /users body into `u`; absent members leave `u` as it is. Stores the canonical
// form of each range.
std::optional<http_error> api_user_fields(const json::object& body, store::user& u);

// api_user_refused answers 403 ip_denied (and audits it) when `u` is an API user and
// the request comes from outside its allowed_ips.
std::optional<http_error> api_user_refused(const services& svc, const engine::request& req,
                                           const store::user& u, std::string_view route);

std::span<const route_spec> settings_routes();
std::span<const route_spec> audit_routes();
std::span<const route_spec> password_routes();
std::span<const route_spec> two_factor_routes();

}  // namespace tollgate::api
