// codec/internal.h — helpers shared by codec's parsers; private to codec/.
#pragma once

#include <cstddef>
#include <string_view>

namespace tollgate::codec::detail {

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// hex_pair decodes the two hex digits at s[i], s[i+1], or returns -1.
inline int hex_pair(std::string_view s, std::size_t i) {
  if (i + 1 >= s.size()) return -1;
  const int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// is_unreserved: RFC 3986 2.3 ALPHA / DIGIT / "-" / "." / "_" / "~".
inline bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace tollgate::codec::detail
