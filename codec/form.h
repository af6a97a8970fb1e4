// codec/form.h — application/x-www-form-urlencoded bodies and URL query strings.
//
// Threading: pure functions over caller-owned buffers; no global state. Safe on any
// thread. The parsing functions never allocate, lock, throw or block (hot path:
// `?permission=` of /auth/verify, the form body of /oauth2/introspect); encode()
// allocates and is for building URLs and tests.
//
// Rules:
// - Fields are separated by '&'; empty fields ("a=1&&b=2", a trailing '&') are
//   skipped; a field without '=' has an empty value; a field with an empty name
//   ("=x") is an error.
// - Percent-decoding is strict: '%' must be followed by two hex digits. Decoded bytes
//   may be anything, NUL included; callers that need text check it themselves.
// - Raw bytes must be printable ASCII: controls, space, DEL and bytes >= 0x80 must
//   arrive percent-encoded (bad_char otherwise).
// - flavour::form reads '+' as a space (HTML forms, RFC 7662 bodies);
//   flavour::query keeps '+' literal (RFC 3986: '+' is an ordinary sub-delimiter).
// - Duplicate names are REJECTED (duplicate_name), after decoding ("a=1&%61=2" too):
//   OAuth (RFC 6749 3.1) forbids repeated parameters, and silently choosing the first
//   or the last one lets a proxy and tollgate read different values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>

namespace tollgate::codec {

enum class errc : std::uint8_t {
  ok = 0,
  bad_percent,       // '%' not followed by two hex digits
  bad_char,          // a raw byte that must be percent-encoded
  empty_name,        // "=value"
  duplicate_name,    // the same decoded name twice
  too_many_fields,   // more fields than the caller gave slots for
  buffer_too_small,  // decoded output does not fit (a buffer of input.size() always fits)
};

// message_of returns a short English description of `e`.
std::string_view message_of(errc e);

enum class flavour : std::uint8_t {
  form,   // '+' is a space
  query,  // '+' is '+'
};

struct field {
  std::string_view name;   // decoded, non-empty
  std::string_view value;  // decoded, possibly empty
};

// percent_decode decodes `in` into `out` and returns the view of `out` it filled.
// Never allocates.
std::expected<std::string_view, errc> percent_decode(std::string_view in, flavour f,
                                                     std::span<char> out) noexcept;

// parse_fields decodes every field of `in` into `buffer` (give it at least in.size()
// bytes) and fills a prefix of `slots`, which it returns. The views point into
// `buffer` and live as long as it does. Never allocates.
std::expected<std::span<const field>, errc> parse_fields(std::string_view in, flavour f,
                                                         std::span<char> buffer,
                                                         std::span<field> slots) noexcept;

// find_field returns the field named `name`, or nullptr.
const field* find_field(std::span<const field> fields, std::string_view name) noexcept;

// encode percent-encodes every byte but the RFC 3986 unreserved ones; in
// flavour::form a space becomes '+'. percent_decode(encode(x, f), f) == x for any x.
std::string encode(std::string_view in, flavour f);

}  // namespace tollgate::codec
