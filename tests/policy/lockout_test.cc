// tests/policy/lockout_test.cc — every edge of the lockout state machine, with an
// injected clock (plain sys_seconds values).
#include "policy/lockout.h"

#include <gtest/gtest.h>

namespace tollgate::policy::lockout {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_seconds;

const sys_seconds t0{seconds{1'700'000'000}};
const lockout_policy policy;  // 5 attempts, 15 min window, 30 min lock

// fail n times, one second apart from `start`, checking each answer is 401.
state fail_unlocked(state s, sys_seconds start, int n) {
  for (int i = 0; i < n; ++i) {
    const decision d = on_failure(s, start + seconds{i}, policy);
    EXPECT_FALSE(d.locked_until.has_value()) << "failure " << i + 1;
    EXPECT_FALSE(d.newly_locked);
    s = d.next;
  }
  return s;
}

TEST(Lockout, FifthFailureLocksAndIsItself423) {
  state s = fail_unlocked({}, t0, 4);
  EXPECT_EQ(s.failed_count, 4u);
  EXPECT_EQ(s.window_start, t0);
  const sys_seconds fifth = t0 + seconds{10};
  const decision d = on_failure(s, fifth, policy);
  ASSERT_TRUE(d.locked_until.has_value());
  EXPECT_EQ(*d.locked_until, fifth + minutes{30});
  EXPECT_TRUE(d.newly_locked);
  EXPECT_EQ(active_lock(d.next, fifth), fifth + minutes{30});
}

TEST(Lockout, WhileLockedEverythingIs423AndNothingChanges) {
  const decision locked = on_failure(fail_unlocked({}, t0, 4), t0 + seconds{4}, policy);
  const sys_seconds until = *locked.locked_until;
  for (sys_seconds t : {t0 + seconds{5}, until - seconds{1}}) {
    const decision f = on_failure(locked.next, t, policy);
    EXPECT_EQ(f.locked_until, until);
    EXPECT_FALSE(f.newly_locked);
    EXPECT_EQ(f.next, locked.next);  // the lock is not extended
    const decision ok = on_success(locked.next, t);
    EXPECT_EQ(ok.locked_until, until);  // a right password does not unlock
    EXPECT_EQ(ok.next, locked.next);
  }
}

TEST(Lockout, LockEndsExactlyAtLockedUntil) {
  const decision locked = on_failure(fail_unlocked({}, t0, 4), t0 + seconds{4}, policy);
  const sys_seconds until = *locked.locked_until;
  EXPECT_TRUE(active_lock(locked.next, until - seconds{1}).has_value());
  EXPECT_FALSE(active_lock(locked.next, until).has_value());
  // A failure at expiry starts a new window with count 1: 401, not 423.
  const decision f = on_failure(locked.next, until, policy);
  EXPECT_FALSE(f.locked_until.has_value());
  EXPECT_EQ(f.next.failed_count, 1u);
  EXPECT_EQ(f.next.window_start, until);
  EXPECT_FALSE(f.next.locked_until.has_value());
  // A success at expiry resets.
  const decision ok = on_success(locked.next, until);
  EXPECT_FALSE(ok.locked_until.has_value());
  EXPECT_EQ(ok.next, state{});
}

TEST(Lockout, FullCountNeededAgainAfterALockExpires) {
  const decision locked = on_failure(fail_unlocked({}, t0, 4), t0 + seconds{4}, policy);
  const sys_seconds until = *locked.locked_until;
  state s = fail_unlocked(locked.next, until, 4);
  const decision d = on_failure(s, until + seconds{4}, policy);
  EXPECT_TRUE(d.newly_locked);
  EXPECT_EQ(d.locked_until, until + seconds{4} + minutes{30});
}

TEST(Lockout, WindowIsHalfOpen) {
  state s = fail_unlocked({}, t0, 1);
  // Last second of the window: counts.
  const decision in = on_failure(s, t0 + minutes{15} - seconds{1}, policy);
  EXPECT_EQ(in.next.failed_count, 2u);
  EXPECT_EQ(in.next.window_start, t0);
  // Exactly at the end: new window.
  const decision out = on_failure(in.next, t0 + minutes{15}, policy);
  EXPECT_EQ(out.next.failed_count, 1u);
  EXPECT_EQ(out.next.window_start, t0 + minutes{15});
}

TEST(Lockout, FailuresSpreadOverWindowsNeverLock) {
  state s = fail_unlocked({}, t0, 4);
  s = fail_unlocked(s, t0 + minutes{15}, 4);
  s = fail_unlocked(s, t0 + minutes{30}, 4);
  EXPECT_EQ(s.failed_count, 4u);
}

TEST(Lockout, WindowCountsFromFirstFailureNotLast) {
  // Four failures a few minutes apart, the last inside the window: the fifth, 15
  // minutes after the first, is in a new window even though it is 3 after the last.
  state s = {};
  for (int i = 0; i < 4; ++i) s = on_failure(s, t0 + minutes{4 * i}, policy).next;
  EXPECT_EQ(s.failed_count, 4u);
  const decision d = on_failure(s, t0 + minutes{15}, policy);
  EXPECT_FALSE(d.locked_until.has_value());
  EXPECT_EQ(d.next.failed_count, 1u);
}

TEST(Lockout, SuccessResets) {
  state s = fail_unlocked({}, t0, 4);
  const decision ok = on_success(s, t0 + seconds{5});
  EXPECT_FALSE(ok.locked_until.has_value());
  EXPECT_EQ(ok.next, state{});
  s = fail_unlocked(ok.next, t0 + seconds{6}, 4);
  EXPECT_EQ(s.failed_count, 4u);
}

TEST(Lockout, MaxAttemptsOneLocksOnFirstFailure) {
  lockout_policy p;
  p.max_attempts = 1;
  const decision d = on_failure({}, t0, p);
  EXPECT_TRUE(d.newly_locked);
  EXPECT_EQ(d.locked_until, t0 + minutes{30});
}

TEST(Lockout, LoweredLimitAppliesToTheNextFailure) {
  state s = fail_unlocked({}, t0, 4);
  lockout_policy p;
  p.max_attempts = 3;
  p.lockout_duration_minutes = 1;
  const decision d = on_failure(s, t0 + seconds{5}, p);
  EXPECT_TRUE(d.newly_locked);
  EXPECT_EQ(d.locked_until, t0 + seconds{5} + minutes{1});
}

TEST(Lockout, ClockSteppingBackKeepsCounting) {
  state s = fail_unlocked({}, t0, 3);
  const decision d = on_failure(s, t0 - seconds{10}, policy);
  EXPECT_EQ(d.next.failed_count, 4u);
  EXPECT_EQ(d.next.window_start, t0);
}

// The store serialises the 50 parallel attempts through its write transactions;
// whatever order they land in, exactly one locks, and no more than max_attempts
// were answered anything but 423.
TEST(Lockout, FiftySerialisedWrongPasswordsLockOnce) {
  state s;
  int answered_401 = 0, answered_423 = 0, newly = 0;
  for (int i = 0; i < 50; ++i) {
    const decision d = on_failure(s, t0 + seconds{i % 3}, policy);
    s = d.next;
    (d.locked_until ? answered_423 : answered_401)++;
    newly += d.newly_locked;
  }
  EXPECT_EQ(answered_401, 4);
  EXPECT_EQ(answered_423, 46);
  EXPECT_EQ(newly, 1);
}

}  // namespace
}  // namespace tollgate::policy::lockout
