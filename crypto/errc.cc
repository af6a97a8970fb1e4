#include "crypto/errc.h"

namespace tollgate::crypto {

// No default: adding an errc without a message is a compile error (-Wswitch).
std::string_view message_of(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::token_too_large: return "token exceeds the maximum size";
    case errc::malformed: return "token is not a JWS in compact serialization";
    case errc::bad_base64: return "malformed base64url";
    case errc::bad_json: return "malformed JSON";
    case errc::duplicate_claim: return "duplicate member name";
    case errc::too_complex: return "JSON nesting or member count over the limit";
    case errc::too_many_entries: return "too many entries in an array claim";
    case errc::wrong_claim_type: return "claim or header member has the wrong type";
    case errc::bad_numeric_date: return "time claim is not an integer NumericDate";
    case errc::alg_none: return "unsigned tokens (alg none) are not accepted";
    case errc::alg_unknown: return "unknown algorithm";
    case errc::alg_not_allowed: return "algorithm not allowed for this issuer or key";
    case errc::unsupported_crit: return "unsupported critical header";
    case errc::missing_claim: return "required claim missing";
    case errc::unknown_issuer: return "unknown issuer";
    case errc::unknown_kid: return "unknown key id";
    case errc::expired: return "token expired";
    case errc::not_yet_valid: return "token not yet valid";
    case errc::issued_in_future: return "token issued in the future";
    case errc::wrong_audience: return "audience not accepted";
    case errc::bad_signature: return "invalid signature";
    case errc::signature_out_of_range: return "ECDSA signature value out of range";
    case errc::bad_key: return "invalid key material";
    case errc::unsupported_key: return "unsupported key type or curve";
    case errc::key_use_mismatch: return "key is not for signatures";
    case errc::crypto_failure: return "cryptographic library failure";
    case errc::io_error: return "key file could not be read";
    case errc::no_usable_keys: return "key set has no usable signing key";
    case errc::bad_api_key: return "malformed API key";
  }
  return "unknown error";  // unreachable for valid enumerators; keeps -Wreturn-type quiet
}

}  // namespace tollgate::crypto
