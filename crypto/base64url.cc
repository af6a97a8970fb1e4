#include "crypto/base64url.h"

#include <immintrin.h>

#include <algorithm>
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

// AVX2 path. Why hand-written: the verifier decodes ~300 characters per HS256 token on
// the hot path, and the table loop above costs ~5 instructions a character (~65 ns of
// a ~550 ns verification); this one ~1. BoringSSL has no base64url decoder, and its
// EVP_DecodeBase64 is a scalar loop for the standard alphabet. BM_Base64urlDecode
// before and after: bench/RESULTS.md. is_canonical() keeps to the table loop, so
// fuzz/base64url.cc checks this path against it on every input.
//
// The scheme is Muła and Lemire's ("Faster Base64 Encoding and Decoding Using AVX2
// Instructions", 2018), with tables for the URL alphabet. Per byte, its high nibble
// picks a class bit (kClass) and its low nibble the classes in which it is invalid
// (kInvalidIn); a non-zero AND marks a byte outside the alphabet. The 6-bit value is
// the byte plus an offset picked by the high nibble (kOffset); '_' shares its high
// nibble with 'P'..'Z' but needs another offset, so it is moved to index 13, which no
// valid byte has. All three tables are derived from kDecode and checked against it
// for every byte value at compile time.
constexpr int kClassOf[16] = {5, 5, 0, 1, 2, 3, 2, 4, 5, 5, 5, 5, 5, 5, 5, 5};
constexpr std::uint8_t kUnderscoreIndex = 0x5 | 0x8;
constexpr std::array<std::uint8_t, 16> kClass = [] {
  std::array<std::uint8_t, 16> t{};
  for (int hi = 0; hi < 16; ++hi) t[hi] = static_cast<std::uint8_t>(1u << kClassOf[hi]);
  return t;
}();
constexpr std::array<std::uint8_t, 16> kInvalidIn = [] {
  std::array<std::uint8_t, 16> t{};
  for (int c = 0; c < 256; ++c)
    if (kDecode[c] == kInvalid) t[c & 15] |= kClass[c >> 4];
  return t;
}();
constexpr std::uint8_t offset_index(int c) { return c == '_' ? kUnderscoreIndex : static_cast<std::uint8_t>(c >> 4); }
constexpr std::array<std::uint8_t, 16> kOffset = [] {
  std::array<std::uint8_t, 16> t{};
  for (int c = 0; c < 256; ++c)
    if (kDecode[c] != kInvalid) t[offset_index(c)] = static_cast<std::uint8_t>(kDecode[c] - c);
  return t;
}();
constexpr bool tables_agree() {
  for (int c = 0; c < 256; ++c) {
    bool invalid = (kInvalidIn[c & 15] & kClass[c >> 4]) != 0;
    if (invalid != (kDecode[c] == kInvalid)) return false;
    if (!invalid && static_cast<std::uint8_t>(c + kOffset[offset_index(c)]) != kDecode[c]) return false;
  }
  return true;
}
static_assert(tables_agree(), "AVX2 tables disagree with kDecode");

// decode_avx2 decodes every complete quartet of |in| in 32-character blocks (24
// bytes each, written exactly: no store past them) and returns how many characters
// that is, or SIZE_MAX when a block holds a byte outside the alphabet. When the
// quartets are not a multiple of 32 characters, the last block overlaps the one
// before it and rewrites the same bytes, so no quartet is left to the table loop.
// Inputs shorter than one block are left to it whole (returns 0). The caller decodes
// the last 2 or 3 characters, and checks their unused bits, with decode_impl.
[[gnu::target("avx2")]] std::size_t decode_avx2(std::string_view in, std::uint8_t* out) noexcept {
  // Each 16-byte table in both 128-bit lanes (vpshufb looks up within a lane).
  const __m256i cls = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kClass.data())));
  const __m256i invalid_in =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kInvalidIn.data())));
  const __m256i offset = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kOffset.data())));
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const __m256i underscore = _mm256_set1_epi8('_');
  const __m256i underscore_bit = _mm256_set1_epi8(kUnderscoreIndex ^ 0x5);
  // maddubs joins a<<6|b and c<<6|d (16 bits each), madd joins those to 24 bits per
  // dword; the shuffle takes each dword's three bytes big-endian, the permute closes
  // the 4-byte gap between the two 12-byte lanes.
  const __m256i join6 = _mm256_set1_epi32(0x01400140), join12 = _mm256_set1_epi32(0x00011000);
  const __m256i be3 = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
                                       2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  const __m256i close_gap = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
  const std::size_t whole = in.size() / 4 * 4;
  if (whole < 32) return 0;
  for (std::size_t i = 0;; i = std::min(i + 32, whole - 32)) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in.data() + i));
    __m256i hi = _mm256_and_si256(_mm256_srli_epi32(v, 4), nibble);
    __m256i bad = _mm256_and_si256(_mm256_shuffle_epi8(invalid_in, _mm256_and_si256(v, nibble)),
                                   _mm256_shuffle_epi8(cls, hi));
    if (!_mm256_testz_si256(bad, bad)) return SIZE_MAX;
    __m256i idx = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(v, underscore), underscore_bit));
    __m256i sextets = _mm256_add_epi8(v, _mm256_shuffle_epi8(offset, idx));
    __m256i bits = _mm256_madd_epi16(_mm256_maddubs_epi16(sextets, join6), join12);
    __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(bits, be3), close_gap);
    std::uint8_t* o = out + i / 4 * 3;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm256_castsi256_si128(bytes));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(o + 16), _mm256_extracti128_si256(bytes, 1));
    if (i + 32 == whole) return whole;
  }
}

}  // namespace

std::expected<std::size_t, errc> decode(std::string_view in, std::span<std::uint8_t> out) noexcept {
  std::size_t need = decoded_size(in.size());
  if (need == SIZE_MAX) return std::unexpected(errc::bad_base64);
  if (need > out.size()) return std::unexpected(errc::token_too_large);
  std::size_t done = 0;
  if (__builtin_cpu_supports("avx2")) {
    done = decode_avx2(in, out.data());
    if (done == SIZE_MAX) return std::unexpected(errc::bad_base64);
  }
  if (!decode_impl<true>(in.substr(done), out.data() + done / 4 * 3)) return std::unexpected(errc::bad_base64);
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
