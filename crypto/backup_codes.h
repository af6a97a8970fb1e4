// crypto/backup_codes.h — the one-time 2FA backup codes handed out at enrolment and
// the hashed form the store keeps.
//
// Threading: pure functions apart from generate() (BoringSSL's thread-safe RNG); a
// `stored` value is a plain value owned by its caller. Nothing blocks.
//
// Why HMAC-SHA256 and not Argon2id: each code carries 50 bits from the CSPRNG, not a
// human-chosen secret, so there is no dictionary to run; a per-enrolment random salt
// (the HMAC key) stops one precomputation serving every user. And whoever can read
// the stored hashes can also read the user's TOTP secret, which the server must keep
// recoverable, so a slow hash would protect nothing an attacker with the store lacks.
// The hash exists so that a leaked record or backup does not show usable codes.
// Online guessing (2^50 codes per try) is bounded by the login rate limit.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::crypto::backup_codes {

enum class errc {
  ok = 0,
  malformed,     // not 10 characters of the code alphabet (after normalisation)
  no_match,      // well-formed but not one of the remaining codes
  bad_record,    // decode(): not a record that encode() produced
};

// message describes an errc in a few words.
std::string_view message(errc e);

inline constexpr std::size_t count = 10;
inline constexpr std::size_t code_chars = 10;
// alphabet leaves out 0/O and 1/I, which users misread; 32 symbols = 5 bits each.
inline constexpr std::string_view alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

// stored is what the store keeps: a random salt and one HMAC-SHA256(salt, code) per
// unused code, both hex. Codes are removed as they are used.
struct stored {
  std::string salt_hex;
  std::vector<std::string> hashes_hex;
  friend bool operator==(const stored&, const stored&) = default;
};

// generated is the result of an enrolment: `codes` (formatted XXXXX-XXXXX) go to
// the user once and are never stored; `record` goes to the store.
struct generated {
  std::vector<std::string> codes;
  stored record;
};

// generate makes `count` fresh distinct codes and their record.
generated generate();

// normalize turns user input into the canonical 10 characters: it drops '-' and
// spaces and upper-cases letters. Fails with errc::malformed.
std::expected<std::string, errc> normalize(std::string_view input);

// consume checks `input` against every remaining code in constant time (all hashes
// are compared, no early exit) and, on a match, removes that code from `record` and
// returns how many remain. The caller must persist `record` in the same transaction
// that accepts the login, or the code could be used twice.
std::expected<std::size_t, errc> consume(stored& record, std::string_view input);

// encode renders `record` as one string for the store:
// "hmac-sha256$<salt hex>$<hash hex>,<hash hex>,..." (no hashes: empty last part).
std::string encode(const stored& record);

// decode parses what encode produced. Fails with errc::bad_record.
std::expected<stored, errc> decode(std::string_view text);

}  // namespace tollgate::crypto::backup_codes
