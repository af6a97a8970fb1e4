// codec/path.h — the forward-auth path normaliser (DESIGN.md "Forward-auth").
//
// Threading: a pure function over caller-owned buffers; no global state. Never
// allocates, locks, throws or blocks; safe on any thread.
//
// normalise_path turns the X-Original-URI / X-Forwarded-Uri value into the path that
// forward rules are matched against, in this order:
//  1. The query ('?' onward) and any fragment ('#' onward) are dropped.
//  2. The path must start with '/' (origin form); an absolute URI is refused.
//  3. Percent-encoded unreserved characters (RFC 3986 2.3: ALPHA DIGIT - . _ ~) are
//     decoded, so "%2e%2e" becomes ".."; every other escape is kept, its hex digits
//     upper-cased ("%3a" -> "%3A"), and is never decoded twice ("%252e" stays).
//     An encoded '/' or '\' (%2F, %5C) is refused: a backend would split on it while
//     the rules would not. A raw '\' is refused for the same reason (some servers
//     treat it as '/'), and so are raw controls, space and DEL.
//  4. Empty segments are collapsed ("//" -> "/"), as nginx's merge_slashes does
//     before it resolves dot segments; then dot segments are removed as RFC 3986
//     5.2.4 does ("/a/b/../c" -> "/a/c"; ".." at the root stays at the root).
//     A trailing '/' is kept, and so is the one left by a final "." or ".." segment.
// The result is idempotent (normalising it again gives it back), starts with '/',
// and contains no "." or ".." segment and no "//".
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string_view>

namespace tollgate::codec {

enum class path_errc : std::uint8_t {
  ok = 0,
  empty,             // no URI at all (the header is missing or empty)
  not_origin_form,   // does not start with '/'
  bad_percent,       // '%' not followed by two hex digits
  encoded_slash,     // %2F or %5C
  bad_char,          // raw '\', control, space or DEL
  buffer_too_small,  // the result does not fit (a buffer of uri.size() always fits)
};

// message_of returns a short English description of `e`.
std::string_view message_of(path_errc e);

// normalise_path writes the normalised path of `uri` into `out` and returns the view
// of `out` it filled. Never allocates.
std::expected<std::string_view, path_errc> normalise_path(std::string_view uri,
                                                          std::span<char> out) noexcept;

}  // namespace tollgate::codec
