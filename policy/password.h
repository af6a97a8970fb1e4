// policy/password.h — the password rules of password_policy: length and character
// classes, no reuse of the last history_count passwords, and expiry.
//
// Threading: pure functions; any thread. check() never blocks. check_history() calls
// the caller's verifier once per remembered hash, and with Argon2id that costs tens of
// milliseconds each: call it on the offload pool. Nothing here depends on the store
// or on crypto/password.h; the caller passes the hashes and the verify function.
#pragma once

#include <chrono>
#include <cstddef>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/settings.h"

namespace tollgate::policy::password {

enum class errc {
  ok = 0,
  too_short,          // fewer than min_length characters (Unicode code points)
  too_long,           // over max_bytes bytes: bounds the cost of hashing
  invalid_utf8,
  control_character,  // C0 controls and DEL are refused: they cannot be typed reliably
  missing_uppercase,  // require_uppercase: no A-Z
  missing_lowercase,  // require_lowercase: no a-z
  missing_digit,      // require_numbers: no 0-9
  missing_special,    // require_special: nothing but ASCII letters and digits
  reused,             // matches one of the last history_count passwords
};

inline constexpr std::size_t max_bytes = 1024;

// message names the rule for the 400 body, e.g. "password must contain a digit".
// `p` supplies the numbers some messages quote.
std::string message(errc e, const password_policy& p);

// check applies the length, encoding and character-class rules of `p` and returns
// the first rule `candidate` breaks. Upper and lower case mean ASCII letters; any
// other printable character, non-ASCII included, counts as special.
std::expected<void, errc> check(std::string_view candidate, const password_policy& p);

// verifier returns true when `candidate` is the password that produced `hash` (for
// Argon2id: crypto/password.h's verify). It must return false for a hash it cannot
// read, so that one corrupt record does not block every password.
using verifier = std::function<bool(std::string_view hash, std::string_view candidate)>;

// check_history fails with errc::reused when `candidate` matches any of the first
// p.history_count entries of `history` (hashes, newest first, the current password
// first of all). history_count 0 checks nothing. Stops at the first match.
std::expected<void, errc> check_history(std::string_view candidate,
                                        std::span<const std::string> history,
                                        const password_policy& p, const verifier& verify);

// next_history is the history to store after a change to the password hashed as
// `new_hash`: it goes first, and the list is cut to p.history_count entries.
std::vector<std::string> next_history(std::span<const std::string> history,
                                      std::string new_hash, const password_policy& p);

// expires_at is changed_at + expiry_days, or nullopt when expiry_days is 0.
std::optional<std::chrono::sys_seconds> expires_at(std::chrono::sys_seconds changed_at,
                                                   const password_policy& p);

// expired is true from expires_at on (a password changed at t with expiry_days 1 is
// still valid at t + 86399 s and expired at t + 86400 s). The login handler answers
// an expired password with an error that says a change is required.
bool expired(std::chrono::sys_seconds changed_at, std::chrono::sys_seconds now,
             const password_policy& p);

}  // namespace tollgate::policy::password
