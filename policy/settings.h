// policy/settings.h — the security settings document of GET/PATCH /settings/security:
// its fields and defaults, strict validation of a PATCH body, deep merge, and the
// JSON text the store keeps as one record.
//
// Threading: plain values and pure functions; any thread. Nothing blocks. A
// security_settings is copied freely (a few hundred bytes); the api/ layer keeps
// the current one behind whatever publication scheme the store offers.
//
// Fields and defaults are the reference's (reference/security-api.md) except:
// - two_factor.methods defaults to ["totp"], not ["totp","sms"]: DESIGN.md says methods
//   other than totp answer 400 until a notifier supports them, and a default that
//   fails its own validation would make every PATCH that resends it fail.
// - expiry_days 0 means passwords never expire and history_count 0 disables the
//   history check (the reference gives no way to turn either off).
// No field is added beyond the reference's.
#pragma once

#include <boost/json/value.hpp>

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::policy {

struct password_policy {
  int min_length = 12;            // 8..128 characters (Unicode code points)
  bool require_uppercase = true;
  bool require_lowercase = true;
  bool require_numbers = true;
  bool require_special = true;
  int expiry_days = 90;           // 0..3650; 0 = never
  int history_count = 5;          // 0..24; the last N passwords, current one included
  friend bool operator==(const password_policy&, const password_policy&) = default;
};

struct session_policy {
  int timeout_minutes = 30;       // 1..10080 (a week), idle timeout
  int max_sessions = 5;           // 1..100
  int remember_me_days = 30;      // 1..365
  friend bool operator==(const session_policy&, const session_policy&) = default;
};

struct two_factor_policy {
  bool enabled = false;
  std::vector<std::string> required_for_roles{"admin"};  // 0..64 distinct role ids
  std::vector<std::string> methods{"totp"};              // 1.. distinct; only "totp" now
  friend bool operator==(const two_factor_policy&, const two_factor_policy&) = default;
};

struct lockout_policy {
  int max_attempts = 5;              // 1..100
  int lockout_duration_minutes = 30; // 1..10080
  int reset_window_minutes = 15;     // 1..10080
  friend bool operator==(const lockout_policy&, const lockout_policy&) = default;
};

struct security_settings {
  password_policy password;
  session_policy session;
  two_factor_policy two_factor;
  lockout_policy lockout;
  friend bool operator==(const security_settings&, const security_settings&) = default;
};

// field_error names the offending field by its JSON path ("password_policy.min_length",
// "two_factor.methods[1]"; empty for the body as a whole) and says what is wrong.
struct field_error {
  std::string field;
  std::string message;
  // to_string gives "password_policy.min_lenght: unknown field", the text for the
  // 400 invalid_request message.
  std::string to_string() const;
};

// validate checks every range and list rule of `s` and returns the first violation.
std::optional<field_error> validate(const security_settings& s);

// apply_patch and apply_patch_text (the body as text) deep-merge a PATCH body into
// `doc`: objects merge, arrays and scalars replace, and every field is checked
// (unknown fields, types, ranges, list rules).
// All or nothing: on error `doc` is left exactly as it was. Duplicate keys in the
// text are resolved by Boost.JSON (the last one wins).
std::expected<void, field_error> apply_patch_text(security_settings& doc, std::string_view patch_json);
std::expected<void, field_error> apply_patch(security_settings& doc, const boost::json::value& patch);

// to_json returns the full document in the reference's field order.
boost::json::object to_json(const security_settings& s);

// serialize is to_json as compact text: the store's record and the GET body.
std::string serialize(const security_settings& s);

// parse reads a stored record: fields it lacks take their defaults (so records
// written before a field existed still load), everything else is checked as a patch.
std::expected<security_settings, field_error> parse(std::string_view json_text);

}  // namespace tollgate::policy
