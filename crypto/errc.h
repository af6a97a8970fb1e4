// crypto/errc.h — the error values of every crypto/ operation.
//
// Threading: plain values; message_of() is a pure function, callable from any thread.
#pragma once

#include <string_view>

namespace tollgate::crypto {

// errc names every reason crypto/ refuses an input. Verification failures map to a
// 401 at the api layer; message_of() gives a short English text that never contains
// secret material and never echoes the token.
enum class errc {
  ok = 0,
  // Format and encoding.
  token_too_large,       // over the configured max_token_bytes, rejected before decoding
  malformed,             // not three dot-separated base64url segments, or empty parts
  bad_base64,            // padding, a byte outside the alphabet, non-canonical last char
  bad_json,              // header or payload is not one strict JSON object
  duplicate_claim,       // a member name appears twice in one object (header or claims)
  too_complex,           // nesting depth or member count beyond the scanner's fixed limits
  too_many_entries,      // aud/permissions/scope/roles/groups beyond the fixed view arrays
  wrong_claim_type,      // a registered claim or header member has the wrong JSON type
  bad_numeric_date,      // exp/nbf/iat not an integer, or outside int64
  // Header checks.
  alg_none,              // "alg":"none" (in any spelling the JWS may use)
  alg_unknown,           // alg is not one tollgate implements
  alg_not_allowed,       // alg not allowed for the issuer or for the selected key
  unsupported_crit,      // crit names an extension tollgate does not implement
  missing_claim,         // exp or sub (or aud where audiences are configured) absent
  // Trust checks.
  unknown_issuer,        // iss absent or not a configured issuer
  unknown_kid,           // no key with that kid in the issuer's key set
  expired,               // now >= exp + leeway
  not_yet_valid,         // nbf > now + leeway
  issued_in_future,      // iat > now + leeway
  wrong_audience,        // no aud entry matches the issuer's audiences
  bad_signature,         // signature has the wrong length or does not verify
  signature_out_of_range,// ECDSA r or s is 0 or >= the group order
  // Keys (JWK/JWKS, signer, api keys).
  bad_key,               // key material invalid: not on curve, too short, wrong length
  unsupported_key,       // kty/crv tollgate does not implement
  key_use_mismatch,      // JWK "use" is not "sig"
  crypto_failure,        // BoringSSL failed where it should not (allocation, RNG)
  io_error,              // a JWKS file could not be read
  no_usable_keys,        // a JWKS held no key usable with the issuer's algorithms
  bad_api_key,           // presented API key does not follow sk_live_<id>_<secret>
};

// message_of returns a static, human-readable description of |e|.
std::string_view message_of(errc e) noexcept;

}  // namespace tollgate::crypto
