// authz/rate_limiter.h — GCRA rate limiting, exact across shards, bounded memory.
//
// Threading: one rate_limiter is shared by every shard (that is what makes a limit
// exact whatever the shard count): allow() may be called from any number of threads
// at once. It never allocates, locks, throws or makes a syscall: each tracked subject
// is one slot of a fixed table (open addressing on a seeded XXH3 hash of the subject)
// whose theoretical arrival time (TAT) is updated with a compare-and-swap loop on a
// std::atomic<uint64_t>. Construction allocates the whole table once and is
// [[gnu::cold]]. The caller passes the time (engine::unix_time), so tests drive it.
//
// Algorithm (GCRA, the "virtual scheduling" form): a rate of N per P with burst B has
// emission interval T = ceil(P / N) and tolerance tau = (B - 1) * T. A request at time
// t is allowed when max(TAT, t) - t <= tau; it then sets TAT = max(TAT, t) + T. So a
// fresh subject may send B requests at once and then one every T; over any window of
// length P it gets at most B + N - 1 requests (B = N by default). T is rounded up, so a
// rate whose period is not a multiple of N errs on the side of allowing less.
//
// Memory: 16 bytes of state per slot (a 64-bit subject hash and a 64-bit TAT), all
// allocated at construction: bytes() = slots() * 16. Keep the table at most half full
// for short probes, i.e. about 32 bytes per tracked subject.
//
// Full table: a subject is looked up in a window of probe_limit slots from its home
// slot. When that window has no free slot, a slot whose TAT is already in the past is
// reused. That loses nothing: a subject with TAT <= now is indistinguishable from one
// never seen, so an attacker cannot reset their own limit by flooding the table —
// their slot is only reusable once they are back to full allowance anyway. When no
// slot in the window is reusable the request is DENIED (decision::table_full), i.e.
// the limiter fails closed: an attacker who keeps a whole window of subjects busy can
// make new subjects of that window wait, but can never exceed a limit. Size the table
// (capacity >= 2 x the subjects active within one burst time B*T) so this stays rare,
// and count table_full decisions in metrics.
//
// WARNING: exactness has one documented gap. When a subject that has been reclaimed
// (so it was at full allowance) re-enters a full window at the same instant on two
// shards whose clocks read differently, both may reclaim a slot for it; it can then get
// one extra request per racing shard, once; lookups then settle on the first slot and
// the other expires. Subjects that hold a slot are counted exactly.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <string_view>

#include "engine/engine.h"

namespace tollgate::authz {

enum class rate_errc : std::uint8_t {
  ok = 0,
  bad_count,   // N above 10^9
  bad_period,  // period not positive
  bad_burst,   // burst above 10^9, or so large that tau overflows
};

// message_of returns a short English description of `e`.
std::string_view message_of(rate_errc e);

// rate is a validated limit. count == 0 means disabled (the config value "0"). The
// text form ("N/second|minute|hour|day[, burst=B]") is parsed by config/ (config::rate);
// turn it into this with make_rate(c.count, c.period, c.burst).
struct rate {
  std::uint64_t count = 0;        // N
  std::chrono::nanoseconds period{0};  // P
  std::uint64_t burst = 0;        // B, at least 1 when enabled

  bool enabled() const { return count != 0; }
  static rate disabled() { return {}; }
  friend bool operator==(const rate&, const rate&) = default;
};

// make_rate validates a limit of `count` requests per `period` with `burst` (0: the
// default, B = N). count 0 gives the disabled rate, whatever the other arguments.
std::expected<rate, rate_errc> make_rate(std::uint64_t count, std::chrono::nanoseconds period,
                                         std::uint64_t burst = 0);

// decision is what allow() answers, with what the Retry-After and RateLimit headers
// (draft-ietf-httpapi-ratelimit-headers) need:
//   RateLimit-Limit: limit   RateLimit-Remaining: remaining
//   RateLimit-Reset: ceil_seconds(reset)   Retry-After: ceil_seconds(retry_after)
struct decision {
  bool allowed = false;
  bool table_full = false;             // denied only because no slot was available
  std::uint64_t limit = 0;             // B: requests available from a full allowance
  std::uint64_t remaining = 0;         // requests that would be allowed right now
  std::chrono::nanoseconds retry_after{0};  // denied: wait this long; allowed: 0
  std::chrono::nanoseconds reset{0};   // time until the allowance is full again
};

// ceil_seconds rounds a non-negative duration up to whole seconds, for headers.
inline std::uint64_t ceil_seconds(std::chrono::nanoseconds d) {
  const auto ns = d.count();
  return ns <= 0 ? 0 : static_cast<std::uint64_t>((ns + 999'999'999) / 1'000'000'000);
}

class rate_limiter {
 public:
  static constexpr std::size_t default_probe_limit = 32;

  // rate_limiter allocates a table of bit_ceil(max(capacity, 16)) slots for `limit`.
  // `seed` keys the subject hash so that clients cannot aim collisions at one probe
  // window; pass a random value (tests pass a fixed one).
  [[gnu::cold]] rate_limiter(rate limit, std::size_t capacity, std::uint64_t seed,
                             std::size_t probe_limit = default_probe_limit);
  rate_limiter(const rate_limiter&) = delete;
  rate_limiter& operator=(const rate_limiter&) = delete;

  // allow counts one request of `subject` (any bytes: "u_123", an IP, an email) at
  // time `now` and answers whether it is allowed. A disabled rate allows everything
  // and reports limit 0. Never blocks, allocates, locks or throws.
  decision allow(std::string_view subject, engine::unix_time now) noexcept;

  const rate& limit() const { return rate_; }
  std::size_t slots() const { return mask_ + 1; }
  std::size_t bytes() const { return slots() * sizeof(slot); }
  static constexpr std::size_t bytes_per_slot() { return sizeof(slot); }

 private:
  struct slot {
    std::atomic<std::uint64_t> key{0};  // seeded hash of the subject; 0 = free
    std::atomic<std::uint64_t> tat{0};  // ns since the epoch; busy = being reassigned
  };
  static_assert(sizeof(slot) == 16);

  enum class step : std::uint8_t { done, not_ours, busy };
  step update(slot& s, std::uint64_t key, std::uint64_t now, decision& out) noexcept;
  decision verdict_for(std::uint64_t tat_before, std::uint64_t now, bool allowed) const noexcept;

  rate rate_;
  std::uint64_t interval_ = 0;   // T in ns
  std::uint64_t tolerance_ = 0;  // tau in ns
  std::uint64_t seed_;
  std::size_t mask_;
  std::size_t probe_limit_;
  std::unique_ptr<slot[]> slots_;
};

}  // namespace tollgate::authz
