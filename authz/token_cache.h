// authz/token_cache.h — the per-shard cache of verified tokens.
//
// Threading: one token_cache per shard, used only by that shard's thread: no atomics,
// no locks. find(), insert() and erase() never allocate, lock, throw or block; the
// constructor allocates the whole table once ([[gnu::cold]]). Never share one cache
// between threads.
//
// What it holds: for each token that passed full verification, a caller-defined
// Payload (the verified identity the hot path needs to answer: user reference, issuer
// kind, session id, a reference to the permission set...), valid until the instant
// the caller gives (the token's exp, or earlier: never later). find() never returns
// an entry at or after that instant. A hit does NOT replace the per-request checks:
// the caller still checks revocation, user status, the permission asked for and the
// source address on every request (STYLE.md).
//
// Keying: the token is hashed once with XXH3-128, seeded with a per-process secret,
// and an entry matches only when all 128 bits and the token length are equal. Why a
// hash and not the token: a 300-byte compare per way would cost more than the hash,
// and the table stays small. Why a collision is harmless: a colliding string could
// only be answered with the claims of another token that was itself fully verified,
// and producing such a string needs that token's bytes (a second preimage) — whoever
// has them can present the token itself. The seed also keeps clients from computing
// collisions offline; 2^-128 covers accidents.
//
// Layout and eviction: set-associative, Ways (8) entries per set, sets a power of two;
// the set is chosen by the hash. Inserting into a full set replaces an expired entry,
// else the least recently used one (LRU by a per-cache counter inside the set).
// Memory: capacity() * entry_bytes(): 36 bytes of bookkeeping (16-byte hash, 8-byte
// expiry, 8-byte use stamp, 4-byte length) plus the payload, padded to its alignment
// — 40 + sizeof(Payload) for the usual 8-byte-aligned payload.
//
// WARNING: the pointer find() returns is valid only until the next insert(), erase()
// or clear() on the same cache; copy what you need before verifying another token.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>

#include <xxhash.h>

#include "engine/engine.h"

namespace tollgate::authz {

// token_key is the hashed identity of a token; compute it once per request and reuse
// it for find() and, on a miss, insert().
struct token_key {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  std::uint32_t length = 0;
  friend bool operator==(const token_key&, const token_key&) = default;
};

// make_token_key hashes `token` (XXH3-128 with `seed`): about 20-30 ns for 300 bytes.
inline token_key make_token_key(std::string_view token, std::uint64_t seed) noexcept {
  const XXH128_hash_t h = XXH3_128bits_withSeed(token.data(), token.size(), seed);
  return {h.low64, h.high64, static_cast<std::uint32_t>(token.size())};
}

template <typename Payload, std::size_t Ways = 8>
class token_cache {
  static_assert(std::is_trivially_copyable_v<Payload>,
                "payload is copied on insert; keep it trivially copyable so insert never allocates");
  static_assert(Ways >= 1 && Ways <= 64);

 public:
  struct stats {
    std::uint64_t hits = 0, misses = 0, inserts = 0, evictions = 0;
  };

  // token_cache allocates room for at least `capacity` entries (rounded up to a power
  // of two number of sets). `seed` is the per-process secret for the hash.
  [[gnu::cold]] token_cache(std::size_t capacity, std::uint64_t seed)
      : seed_(seed),
        set_mask_(std::bit_ceil(std::max<std::size_t>((capacity + Ways - 1) / Ways, 1)) - 1),
        entries_(std::make_unique<entry[]>((set_mask_ + 1) * Ways)) {}

  token_key key_of(std::string_view token) const noexcept { return make_token_key(token, seed_); }

  // find returns the payload cached for `key` if `now` is before its expiry, else
  // nullptr. A hit marks the entry as recently used. Never allocates.
  const Payload* find(const token_key& key, engine::unix_time now) noexcept {
    entry* set = set_of(key);
    const std::int64_t t = now.time_since_epoch().count();
    for (std::size_t w = 0; w < Ways; ++w) {
      entry& e = set[w];
      if (e.lo == key.lo && e.hi == key.hi && e.length == key.length && e.expires > t) {
        e.stamp = ++clock_;
        ++stats_.hits;
        return &e.payload;
      }
    }
    ++stats_.misses;
    return nullptr;
  }
  const Payload* find(std::string_view token, engine::unix_time now) noexcept {
    return find(key_of(token), now);
  }

  // insert caches `payload` for `key` until `expires_at` (exclusive), replacing an
  // entry for the same key. Does nothing when expires_at is not after `now`.
  // Never allocates.
  void insert(const token_key& key, engine::unix_time expires_at, const Payload& payload,
              engine::unix_time now) noexcept {
    const std::int64_t exp = expires_at.time_since_epoch().count();
    const std::int64_t t = now.time_since_epoch().count();
    if (exp <= t) return;
    entry* set = set_of(key);
    entry* victim = nullptr;
    for (std::size_t w = 0; w < Ways; ++w) {
      entry& e = set[w];
      if (e.lo == key.lo && e.hi == key.hi && e.length == key.length) {
        victim = &e;  // same token: overwrite in place
        break;
      }
      if (e.expires <= t) {
        if (!victim || victim->expires > t) victim = &e;  // free or expired: first one
      } else if (!victim || (victim->expires > t && e.stamp < victim->stamp)) {
        victim = &e;
      }
    }
    if (victim->expires > t && !(victim->lo == key.lo && victim->hi == key.hi &&
                                 victim->length == key.length))
      ++stats_.evictions;
    victim->lo = key.lo;
    victim->hi = key.hi;
    victim->length = key.length;
    victim->expires = exp;
    victim->stamp = ++clock_;
    victim->payload = payload;
    ++stats_.inserts;
  }

  // erase drops the entry for `key`, if any, and says whether there was one.
  bool erase(const token_key& key) noexcept {
    entry* set = set_of(key);
    for (std::size_t w = 0; w < Ways; ++w) {
      entry& e = set[w];
      if (e.lo == key.lo && e.hi == key.hi && e.length == key.length && e.expires != 0) {
        e.expires = 0;
        return true;
      }
    }
    return false;
  }

  // clear drops every entry (e.g. when the signing keys or the issuers change).
  void clear() noexcept {
    for (std::size_t i = 0; i < capacity(); ++i) entries_[i].expires = 0;
  }

  std::size_t capacity() const { return (set_mask_ + 1) * Ways; }
  static constexpr std::size_t entry_bytes() { return sizeof(entry); }
  std::size_t bytes() const { return capacity() * sizeof(entry); }
  const stats& counters() const { return stats_; }

 private:
  struct entry {
    std::uint64_t lo = 0, hi = 0;
    std::int64_t expires = 0;  // ns since the epoch; <= now means free
    std::uint64_t stamp = 0;   // clock_ at the last use
    std::uint32_t length = 0;
    Payload payload{};
  };

  entry* set_of(const token_key& key) noexcept {
    // The high half picks the set; the low half is compared, so both halves count.
    return &entries_[(key.hi & set_mask_) * Ways];
  }

  std::uint64_t seed_;
  std::size_t set_mask_;
  std::unique_ptr<entry[]> entries_;
  std::uint64_t clock_ = 0;
  stats stats_;
};

}  // namespace tollgate::authz
