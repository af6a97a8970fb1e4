// crypto/claims.h — PRIVATE to crypto/ (used by the verifier, tests, fuzz/ and bench/):
// strict JWT claims parsing over a decoded payload.
//
// Threading: pure function over caller buffers.
#pragma once

#include <cstddef>

#include "crypto/errc.h"
#include "crypto/jws.h"

namespace tollgate::crypto::detail {

// parse_claims parses |buf| (|len| bytes of decoded payload, modified in place: strings
// are unescaped where they stand) as one strict JSON object and fills |out| with views
// into |buf| and |arrays|. Rejects: malformed JSON or invalid UTF-8 (bad_json),
// duplicate member names at any depth (duplicate_claim), iss/sub/jti/sid/username/scope
// not strings, aud not a string or array of strings, permissions/roles/groups not
// arrays of strings (wrong_claim_type), exp/nbf/iat not integers in int64 range
// (bad_numeric_date), more than kMaxArrayEntries entries in one list (too_many_entries).
// Other members are validated and skipped. Never allocates.
// WARNING: buf[len] must be readable and '\0' (the scanner's sentinel).
errc parse_claims(char* buf, std::size_t len, token_claims& out, claim_arrays& arrays) noexcept;

}  // namespace tollgate::crypto::detail
