// policy/lockout.cc — the lockout state machine.
#include "policy/lockout.h"

namespace tollgate::policy::lockout {

std::optional<std::chrono::sys_seconds> active_lock(const state& s, std::chrono::sys_seconds now) {
  if (s.locked_until && now < *s.locked_until) return s.locked_until;
  return std::nullopt;
}

decision on_failure(const state& s, std::chrono::sys_seconds now, const lockout_policy& p) {
  if (auto until = active_lock(s, now)) return decision{s, until, false};
  const std::chrono::minutes window{p.reset_window_minutes};
  state next = s;
  next.locked_until.reset();
  // An expired lock, an empty count and a run-out window all start afresh. A clock
  // that stepped back (now before window_start) keeps the window: failures still count.
  if (s.locked_until || s.failed_count == 0 || now >= s.window_start + window) {
    next.failed_count = 0;
    next.window_start = now;
  }
  ++next.failed_count;
  if (next.failed_count < static_cast<std::uint32_t>(p.max_attempts)) {
    return decision{next, std::nullopt, false};
  }
  next.locked_until = now + std::chrono::minutes{p.lockout_duration_minutes};
  return decision{next, next.locked_until, true};
}

decision on_success(const state& s, std::chrono::sys_seconds now) {
  if (auto until = active_lock(s, now)) return decision{s, until, false};
  return decision{state{}, std::nullopt, false};
}

}  // namespace tollgate::policy::lockout
