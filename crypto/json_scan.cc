#include "crypto/json_scan.h"

#include <cstring>

namespace tollgate::crypto::detail {
namespace {

inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline char* put_utf8(char* w, std::uint32_t cp) noexcept {
  if (cp < 0x80) {
    *w++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *w++ = static_cast<char>(0xc0 | cp >> 6);
    *w++ = static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *w++ = static_cast<char>(0xe0 | cp >> 12);
    *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *w++ = static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    *w++ = static_cast<char>(0xf0 | cp >> 18);
    *w++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *w++ = static_cast<char>(0x80 | (cp & 0x3f));
  }
  return w;
}

// utf8_length returns the length of the well-formed UTF-8 sequence at [r, end), or 0
// (overlongs, surrogates and code points above U+10FFFF are ill-formed, RFC 3629).
inline std::size_t utf8_length(const unsigned char* r, const unsigned char* end) noexcept {
  unsigned char c = r[0];
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - r) < len) return 0;
  if (r[1] < lo || r[1] > hi) return 0;
  for (std::size_t i = 2; i < len; ++i)
    if ((r[i] & 0xc0) != 0x80) return 0;
  return len;
}

}  // namespace

bool json_scanner::is_duplicate(std::size_t d, std::string_view name, std::uint64_t prefix) const noexcept {
  for (std::size_t i = object_base_[d]; i < names_top_; ++i) {
    const name_ref& n = names_[i];
    if (n.prefix == prefix && n.size == name.size() &&
        (name.size() <= 8 || std::memcmp(n.data + 8, name.data() + 8, name.size() - 8) == 0))
      return true;
  }
  return false;
}

errc json_scanner::raw_string_slow(std::string_view& out, char* special) noexcept {
  auto* r = reinterpret_cast<unsigned char*>(special);
  auto* end = reinterpret_cast<unsigned char*>(end_);
  char* start = p_ + 1;
  // Slow path from the first special byte: |w| trails |r| once an escape has been seen.
  char* w = reinterpret_cast<char*>(r);
  for (;;) {
    if (r == end) return errc::bad_json;
    unsigned char c = *r;
    if (c == '"') break;
    if (c < 0x20) return errc::bad_json;
    if (c < 0x80 && c != '\\') {
      *w++ = static_cast<char>(c);
      ++r;
      continue;
    }
    if (c >= 0x80) {
      std::size_t n = utf8_length(r, end);
      if (n == 0) return errc::bad_json;
      std::memmove(w, r, n);
      w += n;
      r += n;
      continue;
    }
    // Escape.
    if (end - r < 2) return errc::bad_json;
    unsigned char e = r[1];
    r += 2;
    switch (e) {
      case '"': *w++ = '"'; break;
      case '\\': *w++ = '\\'; break;
      case '/': *w++ = '/'; break;
      case 'b': *w++ = '\b'; break;
      case 'f': *w++ = '\f'; break;
      case 'n': *w++ = '\n'; break;
      case 'r': *w++ = '\r'; break;
      case 't': *w++ = '\t'; break;
      case 'u': {
        auto read4 = [&](std::uint32_t& v) {
          if (end - r < 4) return false;
          v = 0;
          for (int i = 0; i < 4; ++i) {
            int h = hex_value(static_cast<char>(r[i]));
            if (h < 0) return false;
            v = v << 4 | static_cast<std::uint32_t>(h);
          }
          r += 4;
          return true;
        };
        std::uint32_t cp;
        if (!read4(cp)) return errc::bad_json;
        if (cp >= 0xdc00 && cp <= 0xdfff) return errc::bad_json;  // lone low surrogate
        if (cp >= 0xd800 && cp <= 0xdbff) {
          std::uint32_t lo;
          if (end - r < 2 || r[0] != '\\' || r[1] != 'u') return errc::bad_json;
          r += 2;
          if (!read4(lo) || lo < 0xdc00 || lo > 0xdfff) return errc::bad_json;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        w = put_utf8(w, cp);
        break;
      }
      default: return errc::bad_json;
    }
  }
  out = std::string_view(start, static_cast<std::size_t>(w - start));
  p_ = reinterpret_cast<char*>(r + 1);
  return errc::ok;
}

errc json_scanner::number() noexcept {
  if (p_ < end_ && *p_ == '-') ++p_;
  if (p_ == end_) return errc::bad_json;
  if (*p_ == '0') {
    ++p_;
  } else if (is_digit(*p_)) {
    while (p_ < end_ && is_digit(*p_)) ++p_;
  } else {
    return errc::bad_json;
  }
  if (p_ < end_ && *p_ == '.') {
    ++p_;
    if (p_ == end_ || !is_digit(*p_)) return errc::bad_json;
    while (p_ < end_ && is_digit(*p_)) ++p_;
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
    ++p_;
    if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
    if (p_ == end_ || !is_digit(*p_)) return errc::bad_json;
    while (p_ < end_ && is_digit(*p_)) ++p_;
  }
  return errc::ok;
}

errc json_scanner::integer_slow(std::int64_t& out) noexcept {
  char c = *p_;
  if (c == '\0') return errc::bad_json;
  if (c != '-' && !is_digit(c)) {
    // Still a syntax error if it is not a value at all.
    errc e = skip_value();
    return e == errc::ok ? errc::wrong_claim_type : e;
  }
  // What integer()'s fast path leaves: 16 or more digits, a leading zero, a fraction
  // or exponent, fewer than 16 bytes before the end. One pass: accumulate while
  // checking the grammar; a fraction or exponent is validated by number() and then
  // refused.
  char* start = p_;
  bool neg = c == '-';
  if (neg) ++p_;
  if (p_ == end_ || !is_digit(*p_)) return errc::bad_json;
  std::uint64_t v = 0;
  const std::uint64_t limit = static_cast<std::uint64_t>(INT64_MAX) + (neg ? 1 : 0);
  bool overflow = false;
  if (*p_ == '0') {
    ++p_;
  } else {
    while (p_ < end_ && is_digit(*p_)) {
      // Overflow flags instead of a range test per digit.
      overflow |= __builtin_mul_overflow(v, 10, &v);
      overflow |= __builtin_add_overflow(v, static_cast<std::uint64_t>(*p_ - '0'), &v);
      ++p_;
    }
    overflow |= v > limit;
  }
  if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) {
    p_ = start;
    errc e = number();
    return e == errc::ok ? errc::bad_numeric_date : e;
  }
  if (overflow) return errc::bad_numeric_date;
  out = neg ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
  return errc::ok;
}

errc json_scanner::literal(std::string_view word) noexcept {
  if (static_cast<std::size_t>(end_ - p_) < word.size() ||
      std::memcmp(p_, word.data(), word.size()) != 0)
    return errc::bad_json;
  p_ += word.size();
  return errc::ok;
}

errc json_scanner::skip_value() noexcept {
  switch (peek()) {
    case '{': {
      if (errc e = begin_object(); e != errc::ok) return e;
      for (;;) {
        std::string_view name;
        bool more;
        if (errc e = next_member(name, more); e != errc::ok) return e;
        if (!more) return errc::ok;
        if (errc e = skip_value(); e != errc::ok) return e;
      }
    }
    case '[': {
      if (errc e = begin_array(); e != errc::ok) return e;
      for (;;) {
        bool more;
        if (errc e = next_element(more); e != errc::ok) return e;
        if (!more) return errc::ok;
        if (errc e = skip_value(); e != errc::ok) return e;
      }
    }
    case '"': {
      std::string_view s;
      return raw_string(s);
    }
    case 't': return literal("true");
    case 'f': return literal("false");
    case 'n': return literal("null");
    default:
      if (p_ < end_ && (*p_ == '-' || is_digit(*p_))) return number();
      return errc::bad_json;
  }
}

}  // namespace tollgate::crypto::detail
