// crypto/password.h — Argon2id password hashing (libargon2), PHC-encoded.
//
// Threading: a hasher is immutable after construction and may be shared by every
// thread. hash() and verify() may block for tens of milliseconds by design (they
// cost `params` memory and time): call them on the offload pool only, never on a
// shard thread.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace tollgate::crypto::password {

// params are Argon2id costs. The defaults are OWASP's minimum recommendation for
// Argon2id (m = 19 MiB, t = 2, p = 1); they are what tollgate uses unless a test
// deliberately lowers them (api::services::password_params).
struct params {
  std::uint32_t memory_kib = 19 * 1024;
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
};

enum class errc : std::uint8_t {
  ok = 0,
  too_long,      // password longer than max_password_bytes
  bad_params,    // costs libargon2 refuses (memory below 8 KiB per lane, t = 0)
  hash_failed,   // libargon2 failed (out of memory)
};

std::string_view message_of(errc e);

// max_password_bytes bounds the input so a huge body cannot buy extra hashing work.
inline constexpr std::size_t max_password_bytes = 1024;

class hasher {
 public:
  // hasher precomputes a dummy hash with `p`, used by verify_dummy(). May block.
  [[gnu::cold]] explicit hasher(params p = {});

  // hash returns a PHC string ("$argon2id$v=19$m=...,t=...,p=...$salt$hash") with a
  // fresh 16-byte random salt and a 32-byte tag.
  std::expected<std::string, errc> hash(std::string_view password) const;

  // verify says whether `password` matches `encoded` (any Argon2id costs). The tag
  // comparison inside libargon2 is constant-time. A malformed `encoded` is false.
  bool verify(std::string_view encoded, std::string_view password) const;

  // verify_dummy does the work of one verify() against a hash of this hasher's
  // params and returns false, so a login for an unknown username costs the same
  // time as one for a known username.
  // WARNING: call it on every path that would otherwise skip verify().
  bool verify_dummy(std::string_view password) const;

  const params& costs() const { return params_; }

 private:
  params params_;
  std::string dummy_;
};

}  // namespace tollgate::crypto::password
