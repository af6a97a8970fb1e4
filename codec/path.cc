#include "codec/path.h"

#include <array>

#include "codec/internal.h"

namespace tollgate::codec {
namespace {

// One table lookup per byte decides the common case (copy it) — a branch per
// character class made the normaliser several times slower on typical URIs.
enum : unsigned char { k_copy = 0, k_percent, k_bad, k_end };
constexpr auto byte_kinds = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c <= 0x20; ++c) t[c] = k_bad;
  t[0x7f] = k_bad;
  t['\\'] = k_bad;
  t['%'] = k_percent;
  t['?'] = k_end;
  t['#'] = k_end;
  return t;
}();

}  // namespace

std::string_view message_of(path_errc e) {
  switch (e) {
    case path_errc::ok: return "ok";
    case path_errc::empty: return "the original URI is missing";
    case path_errc::not_origin_form: return "the original URI must start with '/'";
    case path_errc::bad_percent: return "'%' in the path must be followed by two hexadecimal digits";
    case path_errc::encoded_slash: return "the path contains an encoded '/' or '\\'";
    case path_errc::bad_char: return "the path contains '\\', a space or a control character";
    case path_errc::buffer_too_small: return "the path does not fit the buffer";
  }
  return "unknown path error";
}

std::expected<std::string_view, path_errc> normalise_path(std::string_view uri,
                                                          std::span<char> out) noexcept {
  static constexpr char hex[] = "0123456789ABCDEF";
  if (uri.empty()) return std::unexpected(path_errc::empty);
  if (uri[0] != '/') return std::unexpected(path_errc::not_origin_form);

  // Pass 1: decode into `out` up to the query or fragment; never longer than the input.
  std::size_t len = 0;
  for (std::size_t i = 0; i < uri.size(); ++i) {
    const auto c = static_cast<unsigned char>(uri[i]);
    const unsigned char kind = byte_kinds[c];
    if (kind == k_copy) {
      if (len == out.size()) return std::unexpected(path_errc::buffer_too_small);
      out[len++] = static_cast<char>(c);
      continue;
    }
    if (kind == k_end) break;
    if (kind == k_bad) return std::unexpected(path_errc::bad_char);
    // k_percent
    const int v = detail::hex_pair(uri, i + 1);
    if (v < 0) return std::unexpected(path_errc::bad_percent);
    if (out.size() - len < 3) return std::unexpected(path_errc::buffer_too_small);
    if (v == '/' || v == '\\') return std::unexpected(path_errc::encoded_slash);
    i += 2;
    if (detail::is_unreserved(static_cast<unsigned char>(v))) {
      out[len++] = static_cast<char>(v);
    } else {
      out[len++] = '%';
      out[len++] = hex[v >> 4];
      out[len++] = hex[v & 15];
    }
  }

  // Pass 2, in place: walk the segments, writing each kept one after the last kept
  // one; the write position never passes the read position.
  std::size_t w = 0;      // output length so far (always ends without '/')
  bool trailing = false;  // whether the output should end with '/'
  std::size_t r = 1;      // start of the current segment (after its '/')
  for (;;) {
    std::size_t end = r;
    while (end < len && out[end] != '/') ++end;
    const std::string_view seg(out.data() + r, end - r);
    const bool last = end >= len;
    if (seg == "..") {
      while (w > 0 && out[w - 1] != '/') --w;  // drop the last kept segment
      if (w > 0) --w;                           // and the '/' before it
      trailing = last;
    } else if (seg == ".") {
      trailing = last;
    } else if (seg.empty()) {
      trailing = last;  // "//" collapses; a final '/' is kept
    } else {
      out[w++] = '/';
      for (char ch : seg) out[w++] = ch;  // memmove-like: w <= r always
      trailing = false;
    }
    if (last) break;
    r = end + 1;
  }
  if (w == 0 || trailing) out[w++] = '/';
  return std::string_view(out.data(), w);
}

}  // namespace tollgate::codec
