// policy/lockout.h — account lockout after repeated login failures, as a pure state
// transition: the caller reads a user's lockout state, applies one event, and writes
// the result back.
//
// Threading: pure functions over plain values; any thread; never blocks.
// WARNING: the read-apply-write must happen inside one store write transaction
// (LMDB serialises writers), or parallel wrong passwords each read the same count
// and slip past max_attempts. Verify the password (Argon2id) before opening that
// transaction, then apply on_failure or on_success to the state read inside it:
// on_success re-checks the lock, because the account may have been locked while
// the hash was being computed.
//
// Rules (DESIGN.md "Security policies"): the max_attempts-th failure within
// reset_window_minutes of the window's first failure locks the account for
// lockout_duration_minutes and is itself answered 423 with locked_until; earlier
// failures are 401; while locked every attempt, right or wrong, is 423 and changes
// nothing; a success resets; a failure after the window has run out, or after the
// lock has expired, starts a new window. Windows are half-open: a failure exactly
// reset_window_minutes after the first starts a new one, and the lock ends at
// locked_until exactly. Unknown usernames have no state and never lock anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "policy/settings.h"

namespace tollgate::policy::lockout {

// state is what the store keeps per user. The zero value is "no failures".
struct state {
  std::uint32_t failed_count = 0;
  std::chrono::sys_seconds window_start{};                // first failure of the window
  std::optional<std::chrono::sys_seconds> locked_until;  // may be in the past: expired
  friend bool operator==(const state&, const state&) = default;
};

// active_lock returns locked_until while the account is locked at `now` (the user's
// status then reads `locked`), nullopt otherwise. Check it before verifying a
// password to answer 423 without spending an Argon2id hash.
std::optional<std::chrono::sys_seconds> active_lock(const state& s, std::chrono::sys_seconds now);

// decision is the state to write back and how to answer.
struct decision {
  state next;
  // locked_until set: answer 423 account_locked with it. Unset: 401 after a
  // failure, go on with the login after a success.
  std::optional<std::chrono::sys_seconds> locked_until;
  // newly_locked is true only for the failure that set the lock: audit
  // account_locked once, not on every later attempt.
  bool newly_locked = false;
};

// on_failure applies one wrong password at `now` under `p`.
decision on_failure(const state& s, std::chrono::sys_seconds now, const lockout_policy& p);

// on_success applies one right password at `now`: a reset, unless a lock is active.
decision on_success(const state& s, std::chrono::sys_seconds now);

}  // namespace tollgate::policy::lockout
