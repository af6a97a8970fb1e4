// crypto/totp.h — RFC 6238 time-based one-time passwords for 2FA, with the base32
// secrets and otpauth:// URIs that authenticator apps read.
//
// Threading: every function is pure apart from generate_secret (which reads
// BoringSSL's thread-safe RNG) and may be called from any thread. Nothing blocks;
// nothing here is meant for the hot path (2FA runs on the offload pool at login).
//
// The product profile is fixed by DESIGN.md: HMAC-SHA1, 6 digits, 30 s steps, one
// step of clock skew either way, and no code accepted twice. The last rule needs
// state: verify() returns the time step that matched, the caller persists it in the
// same store transaction that accepts the login, and passes it back next time.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::crypto::totp {

enum class errc {
  ok = 0,
  bad_secret,      // not canonical base32, or fewer than min_secret_bytes
  malformed_code,  // not exactly `digits` ASCII digits
  mismatch,        // a well-formed code that matches no step in the window
  replayed,        // matches a step at or before last_used_step: already spent
  bad_label,       // issuer or account empty, or containing ':'
};

// message describes an errc in a few words, without any secret material.
std::string_view message(errc e);

inline constexpr unsigned digits = 6;
inline constexpr std::chrono::seconds step_length{30};
inline constexpr int window_steps = 1;
inline constexpr std::size_t secret_bytes = 20;     // 160 bits, RFC 4226's recommendation
inline constexpr std::size_t min_secret_bytes = 16;  // RFC 4226's minimum of 128 bits

// step is the RFC 6238 counter T = floor(unix time / 30 s).
using step = std::int64_t;

// step_at returns the time step containing `t` (floor division, so it is also
// correct before the epoch).
step step_at(std::chrono::sys_seconds t);

// base32_encode encodes `bytes` as RFC 4648 base32 (A-Z2-7) without '=' padding.
std::string base32_encode(std::span<const std::uint8_t> bytes);

// base32_decode decodes RFC 4648 base32. It accepts lower case and trailing '='
// padding but rejects other characters, impossible lengths and non-zero unused
// bits, so every secret has exactly one spelling. Fails with errc::bad_secret.
std::expected<std::vector<std::uint8_t>, errc> base32_decode(std::string_view text);

// generate_secret returns a fresh 160-bit secret from the CSPRNG, base32 encoded
// (32 characters). The caller stores it (the server must be able to recompute
// codes, so it cannot be hashed) and shows it to the user once.
std::string generate_secret();

// hotp is RFC 4226 HOTP: HMAC-SHA1 of the big-endian counter, dynamic truncation,
// reduced modulo 10^code_digits (1..9 digits).
std::uint32_t hotp(std::span<const std::uint8_t> key, std::uint64_t counter,
                   unsigned code_digits);

// code_at returns the zero-padded TOTP code for step_at(t). Negative steps (before
// the epoch) have no code and give an empty string.
std::string code_at(std::span<const std::uint8_t> key, std::chrono::sys_seconds t,
                    unsigned code_digits = digits);

// code_for is code_at for a base32 secret: what an authenticator app would show at
// `t`. Used by tests and by tooling; the server itself only calls verify().
std::expected<std::string, errc> code_for(std::string_view secret_b32,
                                          std::chrono::sys_seconds t);

// verify checks a 6-digit `code` against the steps step_at(now)-1 .. +1 and returns
// the step it matched. A step at or before `last_used_step` is never accepted
// (errc::replayed), so each code works once even within its window. On success the
// caller must persist the returned step as the new last_used_step before answering.
// WARNING: codes are compared in constant time and every step of the window is
// computed whatever the outcome, but the caller must still rate-limit attempts:
// 10^6 codes are guessable online without it.
std::expected<step, errc> verify(std::string_view secret_b32, std::string_view code,
                                 std::chrono::sys_seconds now,
                                 std::optional<step> last_used_step);

// otpauth_uri builds the Key Uri Format URI an authenticator app imports:
// otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
// with issuer and account percent-encoded (everything but RFC 3986 unreserved
// characters). Fails with errc::bad_label when either is empty or contains ':',
// which the format forbids, and errc::bad_secret for a secret verify would refuse.
std::expected<std::string, errc> otpauth_uri(std::string_view issuer,
                                             std::string_view account,
                                             std::string_view secret_b32);

}  // namespace tollgate::crypto::totp
