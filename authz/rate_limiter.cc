#include "authz/rate_limiter.h"

#include <algorithm>
#include <bit>
#include <limits>

#include <xxhash.h>

namespace tollgate::authz {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t max_count = 1'000'000'000;
// busy marks a slot's TAT while the slot is handed to another subject. Real TATs are
// nanoseconds since the epoch and stay far below it.
constexpr std::uint64_t busy = std::numeric_limits<std::uint64_t>::max();
// Rounds of waiting for a slot being reassigned (a few stores on another thread)
// before answering conservatively.
constexpr int max_rounds = 64;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

std::string_view message_of(rate_errc e) {
  switch (e) {
    case rate_errc::ok: return "ok";
    case rate_errc::bad_count: return "rate count must be at most 1000000000";
    case rate_errc::bad_period: return "rate period must be positive";
    case rate_errc::bad_burst: return "burst must be from 1 to 1000000000 and fit the period";
  }
  return "unknown rate error";
}

std::expected<rate, rate_errc> make_rate(std::uint64_t count, std::chrono::nanoseconds period,
                                         std::uint64_t burst) {
  if (count == 0) return rate::disabled();
  if (count > max_count) return std::unexpected(rate_errc::bad_count);
  if (period <= 0ns) return std::unexpected(rate_errc::bad_period);
  if (burst == 0) burst = count;
  if (burst > max_count) return std::unexpected(rate_errc::bad_burst);
  const auto p = static_cast<std::uint64_t>(period.count());
  const std::uint64_t interval = (p + count - 1) / count;
  // tau + T must stay far below `busy` even added to a current timestamp.
  if (burst > (std::uint64_t{1} << 61) / interval) return std::unexpected(rate_errc::bad_burst);
  return rate{count, period, burst};
}

rate_limiter::rate_limiter(rate limit, std::size_t capacity, std::uint64_t seed,
                           std::size_t probe_limit)
    : rate_(limit),
      seed_(seed),
      mask_(std::bit_ceil(std::max<std::size_t>(capacity, 16)) - 1),
      probe_limit_(std::clamp<std::size_t>(probe_limit, 1, mask_ + 1)),
      slots_(std::make_unique<slot[]>(mask_ + 1)) {
  if (rate_.enabled()) {
    const auto p = static_cast<std::uint64_t>(rate_.period.count());
    interval_ = (p + rate_.count - 1) / rate_.count;
    tolerance_ = (rate_.burst - 1) * interval_;
  }
}

// verdict_for describes the outcome for a subject whose TAT, once raised to `now`,
// was `tat`.
decision rate_limiter::verdict_for(std::uint64_t tat, std::uint64_t now,
                                   bool allowed) const noexcept {
  decision d;
  d.allowed = allowed;
  d.limit = rate_.burst;
  const std::uint64_t ahead = tat - now;  // how far the subject is ahead of now
  if (allowed) {
    d.remaining = (tolerance_ - ahead) / interval_;
    d.reset = std::chrono::nanoseconds(ahead + interval_);
  } else {
    d.retry_after = std::chrono::nanoseconds(ahead - tolerance_);
    d.reset = std::chrono::nanoseconds(ahead);
  }
  return d;
}

// update runs the GCRA step on a slot believed to hold `key`. The TAT is read before
// the key: a reassignment stores the key before the new TAT, so a TAT that belongs to
// another subject is always seen with that subject's key. TATs only grow while a slot
// keeps its key and a reassignment writes a TAT above the one it replaced, so the
// compare-and-swap cannot succeed on a value left over from another subject (no ABA).
rate_limiter::step rate_limiter::update(slot& s, std::uint64_t key, std::uint64_t now,
                                        decision& out) noexcept {
  std::uint64_t seen = s.tat.load(std::memory_order_acquire);
  for (;;) {
    if (seen == busy) return step::busy;
    if (s.key.load(std::memory_order_acquire) != key) return step::not_ours;
    const std::uint64_t tat = std::max(seen, now);
    if (tat - now > tolerance_) {
      out = verdict_for(tat, now, false);
      return step::done;
    }
    if (s.tat.compare_exchange_weak(seen, tat + interval_, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      out = verdict_for(tat, now, true);
      return step::done;
    }
  }
}

decision rate_limiter::allow(std::string_view subject, engine::unix_time now) noexcept {
  if (!rate_.enabled()) return decision{.allowed = true};
  const auto since_epoch = now.time_since_epoch().count();
  const std::uint64_t t = since_epoch < 0 ? 0 : static_cast<std::uint64_t>(since_epoch);
  std::uint64_t key = XXH3_64bits_withSeed(subject.data(), subject.size(), seed_);
  key = key == 0 ? 1 : key;
  const std::size_t home = key & mask_;

  for (int round = 0; round < max_rounds; ++round) {
    bool contended = false;
    // Keys never return to 0, so the subject cannot sit beyond the first free slot.
    bool saw_free = false;
    for (std::size_t i = 0; i < probe_limit_ && !saw_free && !contended; ++i) {
      slot& s = slots_[(home + i) & mask_];
      std::uint64_t k = s.key.load(std::memory_order_acquire);
      if (k == 0) {
        saw_free = true;
        if (s.key.compare_exchange_strong(k, key, std::memory_order_acq_rel)) k = key;
        else saw_free = false;  // someone else took it; k now holds their key
      }
      if (k != key) continue;
      decision out;
      switch (update(s, key, t, out)) {
        case step::done: return out;
        case step::not_ours: break;
        case step::busy: contended = true; break;
      }
    }
    if (!contended && !saw_free) {
      // Not found and no free slot: reuse the first slot whose TAT is in the past.
      std::uint64_t soonest = busy;
      for (std::size_t i = 0; i < probe_limit_ && !contended; ++i) {
        slot& s = slots_[(home + i) & mask_];
        std::uint64_t seen = s.tat.load(std::memory_order_acquire);
        if (seen == busy) {
          contended = true;
        } else if (seen <= t) {
          if (!s.tat.compare_exchange_strong(seen, busy, std::memory_order_acq_rel)) {
            contended = true;  // its owner was just active: look again
            break;
          }
          s.key.store(key, std::memory_order_release);
          s.tat.store(t + interval_, std::memory_order_release);
          return verdict_for(t, t, true);
        } else {
          soonest = std::min(soonest, seen - t);
        }
      }
      if (!contended) {
        decision d{.table_full = true, .limit = rate_.burst};
        d.retry_after = d.reset = std::chrono::nanoseconds(soonest);
        return d;
      }
    }
    cpu_relax();
  }
  // Another thread kept a slot of this window busy for the whole time: refuse rather
  // than risk counting this request nowhere.
  decision d{.limit = rate_.burst};
  d.retry_after = d.reset = std::chrono::nanoseconds(interval_);
  return d;
}

}  // namespace tollgate::authz
