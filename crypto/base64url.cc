#include "crypto/base64url.h"

#include <array>
#include <cstring>

namespace tollgate::crypto::base64url {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xff;

// One lookup per input byte; 0xff marks everything outside the alphabet, '=' included.
constexpr std::array<std::uint8_t, 256> kDecode = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(kInvalid);
  for (std::uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
  return t;
}();

// kShifted[k][c] is the 6-bit value of |c| already shifted into place for position k
// of a quartet, with bit 31 set for bytes outside the alphabet: a quartet is four
// loads, three ORs and one test, and its three bytes come out of one byte swap.
constexpr std::array<std::array<std::uint32_t, 256>, 4> kShifted = [] {
  std::array<std::array<std::uint32_t, 256>, 4> t{};
  for (int k = 0; k < 4; ++k)
    for (int c = 0; c < 256; ++c)
      t[k][c] = kDecode[c] == kInvalid ? 0x80000000u : std::uint32_t{kDecode[c]} << (18 - 6 * k);
  return t;
}();

// decode_impl is shared by decode() and is_canonical(); kWrite = false skips stores.
template <bool kWrite>
inline bool decode_impl(std::string_view in, std::uint8_t* out) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t n = in.size();
  if (n % 4 == 1) return false;
  std::size_t full = n / 4;
  std::size_t i = 0;
  // Wide stores write one byte past the quartet's three, so stop one quartet early.
  for (; i + 1 < full; ++i, p += 4) {
    std::uint32_t v = kShifted[0][p[0]] | kShifted[1][p[1]] | kShifted[2][p[2]] | kShifted[3][p[3]];
    if (v & 0x80000000u) return false;
    if constexpr (kWrite) {
      std::uint32_t be = __builtin_bswap32(v << 8);
      std::memcpy(out, &be, 4);
      out += 3;
    }
  }
  for (; i < full; ++i, p += 4) {
    std::uint32_t a = kDecode[p[0]], b = kDecode[p[1]], c = kDecode[p[2]], d = kDecode[p[3]];
    // Any invalid byte sets bit 7 of the OR, so one branch per quartet.
    if ((a | b | c | d) & 0x80) return false;
    std::uint32_t v = a << 18 | b << 12 | c << 6 | d;
    if constexpr (kWrite) {
      out[0] = static_cast<std::uint8_t>(v >> 16);
      out[1] = static_cast<std::uint8_t>(v >> 8);
      out[2] = static_cast<std::uint8_t>(v);
      out += 3;
    }
  }
  switch (n % 4) {
    case 0: return true;
    case 2: {
      std::uint32_t a = kDecode[p[0]], b = kDecode[p[1]];
      if ((a | b) & 0x80) return false;
      if (b & 0x0f) return false;  // 4 unused bits must be zero (canonical form)
      if constexpr (kWrite) out[0] = static_cast<std::uint8_t>(a << 2 | b >> 4);
      return true;
    }
    case 3: {
      std::uint32_t a = kDecode[p[0]], b = kDecode[p[1]], c = kDecode[p[2]];
      if ((a | b | c) & 0x80) return false;
      if (c & 0x03) return false;  // 2 unused bits must be zero
      if constexpr (kWrite) {
        out[0] = static_cast<std::uint8_t>(a << 2 | b >> 4);
        out[1] = static_cast<std::uint8_t>(b << 4 | c >> 2);
      }
      return true;
    }
    default: return false;
  }
}

}  // namespace

std::expected<std::size_t, errc> decode(std::string_view in, std::span<std::uint8_t> out) noexcept {
  std::size_t need = decoded_size(in.size());
  if (need == SIZE_MAX) return std::unexpected(errc::bad_base64);
  if (need > out.size()) return std::unexpected(errc::token_too_large);
  if (!decode_impl<true>(in, out.data())) return std::unexpected(errc::bad_base64);
  return need;
}

bool is_canonical(std::string_view in) noexcept { return decode_impl<false>(in, nullptr); }

std::size_t encode(std::span<const std::uint8_t> in, std::span<char> out) noexcept {
  std::size_t need = encoded_size(in.size());
  if (need > out.size()) return 0;
  const std::uint8_t* p = in.data();
  char* o = out.data();
  std::size_t full = in.size() / 3;
  for (std::size_t i = 0; i < full; ++i, p += 3, o += 4) {
    std::uint32_t v = std::uint32_t{p[0]} << 16 | std::uint32_t{p[1]} << 8 | p[2];
    o[0] = kAlphabet[v >> 18];
    o[1] = kAlphabet[(v >> 12) & 63];
    o[2] = kAlphabet[(v >> 6) & 63];
    o[3] = kAlphabet[v & 63];
  }
  switch (in.size() % 3) {
    case 1:
      o[0] = kAlphabet[p[0] >> 2];
      o[1] = kAlphabet[(p[0] & 3) << 4];
      break;
    case 2:
      o[0] = kAlphabet[p[0] >> 2];
      o[1] = kAlphabet[((p[0] & 3) << 4) | (p[1] >> 4)];
      o[2] = kAlphabet[(p[1] & 15) << 2];
      break;
    default: break;
  }
  return need;
}

}  // namespace tollgate::crypto::base64url
