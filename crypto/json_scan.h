// crypto/json_scan.h — PRIVATE to crypto/: the strict, allocation-free JSON scanner
// behind JWS header and claims parsing.
//
// Why hand-written: the hot path may not allocate, and Boost.JSON (1.81) allocates a
// DOM and keeps the last of duplicate member names instead of rejecting them. This
// scanner works in place over the caller's decoded buffer: strings are unescaped in
// place (an unescaped string is never longer than its escaped form), views point into
// that buffer, and every object's member names are checked for duplicates against a
// fixed stack. bench/crypto_bench.cc BM_ClaimsParse vs BM_BoostJsonClaimsParse
// measures the difference.
//
// Threading: a scanner is a stack object bound to one buffer; no shared state.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "crypto/errc.h"

namespace tollgate::crypto::detail {

// short_name(), digit_run() and key3_of() read several bytes in one load and rely on
// the first one landing in the low bits.
static_assert(std::endian::native == std::endian::little);

// json_scanner reads one JSON text from [begin, end). The buffer is modified: string
// values and member names are unescaped in place, and the views it returns stay valid
// as long as the buffer does.
// WARNING: *end must be readable and hold '\0' (a std::string's terminator, or the
// byte the verifier writes after each decoded segment): the scanner uses it as a
// sentinel instead of testing the bound before each byte it reads.
class json_scanner {
 public:
  static constexpr std::size_t kMaxDepth = 16;
  static constexpr std::size_t kMaxNames = 256;  // names of all open objects together

  json_scanner(char* begin, char* end) noexcept : p_(begin), end_(end) {}

  // Object iteration: begin_object() consumes '{'; next_member() returns true with
  // |name| set and the cursor on the value, or false at the closing '}' (consumed).
  // Duplicate names in this object yield errc::duplicate_claim.
  errc begin_object() noexcept {
    if (!at('{')) return errc::bad_json;
    if (depth_ == kMaxDepth) return errc::too_complex;
    ++p_;
    first_[depth_] = true;
    object_base_[depth_] = names_top_;
    seen_[depth_] = 0;
    ++depth_;
    return errc::ok;
  }
  errc next_member(std::string_view& name, bool& more) noexcept {
    if (errc e = next_member_unchecked(name, more); e != errc::ok || !more) return e;
    return remember(name);
  }
  // next_member_unchecked is next_member without the duplicate check, for a caller
  // that tells the names it knows apart itself (claims parsing, with its has_* flags)
  // and passes every other name of this object to remember(). A known name can never
  // equal another one, so the two checks together miss no duplicate.
  errc next_member_unchecked(std::string_view& name, bool& more) noexcept {
    const std::size_t d = depth_ - 1;
    if (errc e = next_entry('}', more); e != errc::ok) return e;
    if (!more) {
      names_top_ = object_base_[d];
      return errc::ok;
    }
    if (!at('"')) return errc::bad_json;
    if (short_name(name)) return errc::ok;
    if (errc e = raw_string(name); e != errc::ok) return e;
    if (!at(':')) return errc::bad_json;
    ++p_;
    return errc::ok;
  }
  // remember records |name| among the names of the innermost open object, or reports
  // it as a duplicate (errc::duplicate_claim; errc::too_complex past kMaxNames).
  // Linear search behind a one-bit-per-hash filter: objects in tokens have a handful
  // of members, and kMaxNames bounds the worst case an attacker can force.
  errc remember(std::string_view name) noexcept {
    const std::size_t d = depth_ - 1;
    std::uint64_t prefix = 0;
    if (end_ - name.data() >= 8) {
      std::memcpy(&prefix, name.data(), 8);  // one unaligned load, then keep |size| bytes
      if (name.size() < 8) prefix &= (std::uint64_t{1} << (8 * name.size())) - 1;
    } else {
      std::memcpy(&prefix, name.data(), name.size() < 8 ? name.size() : 8);
    }
    const std::uint64_t bit = std::uint64_t{1} << ((prefix * 0x9e3779b97f4a7c15ull + name.size()) >> 58);
    if ((seen_[d] & bit) && is_duplicate(d, name, prefix)) return errc::duplicate_claim;
    seen_[d] |= bit;
    if (names_top_ == kMaxNames) return errc::too_complex;
    names_[names_top_++] = name_ref{name.data(), name.size(), prefix};
    return errc::ok;
  }

  // Array iteration: begin_array() consumes '['; next_element() sets |more| to false
  // at the closing ']' (consumed), else leaves the cursor on the next value.
  errc begin_array() noexcept {
    if (!at('[')) return errc::bad_json;
    if (depth_ == kMaxDepth) return errc::too_complex;
    ++p_;
    first_[depth_] = true;
    ++depth_;
    return errc::ok;
  }
  errc next_element(bool& more) noexcept { return next_entry(']', more); }

  // string() reads a JSON string value (unescaped in place into |out|); any other type
  // yields errc::wrong_claim_type.
  errc string(std::string_view& out) noexcept {
    if (at('"')) return raw_string(out);
    return *p_ == '\0' ? errc::bad_json : errc::wrong_claim_type;
  }
  // integer() reads a JSON number that is an integer in int64 range: a fraction or an
  // exponent yields errc::bad_numeric_date, as does overflow; non-numbers
  // errc::wrong_claim_type.
  errc integer(std::int64_t& out) noexcept {
    ws();
    // Fast path for up to 15 digits without a leading zero (every NumericDate): two
    // 8-byte loads and a few multiplies instead of a loop with a branch, an overflow
    // check and a dependent multiply per digit (BM_ClaimsParse before and after:
    // bench/RESULTS.md). Anything else, and any number followed by a fraction or
    // exponent, takes integer_slow().
    const char* q = p_;
    const bool neg = *q == '-';
    q += neg;
    if (end_ - q >= 16 && *q >= '1' && *q <= '9') {
      std::uint64_t a, b;
      std::memcpy(&a, q, 8);
      std::memcpy(&b, q + 8, 8);
      std::uint64_t v;
      unsigned na = digit_run(a);
      if (na < 8) {
        v = digits_value(a, na);
        q += na;
      } else {
        unsigned nb = digit_run(b);
        if (nb == 8) return integer_slow(out);
        v = digits_value(a, 8);
        if (nb > 0) v = v * kPow10[nb] + digits_value(b, nb);
        q += 8 + nb;
      }
      if (*q != '.' && *q != 'e' && *q != 'E') {
        // At most 15 digits: far inside int64.
        out = neg ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
        p_ = const_cast<char*>(q);
        return errc::ok;
      }
    }
    return integer_slow(out);
  }
  // skip_value() validates and skips any value, checking nested objects for
  // duplicate names as well.
  errc skip_value() noexcept;
  // peek() returns the next non-whitespace byte (0 at the end).
  char peek() noexcept {
    ws();
    return *p_;
  }
  // finish() succeeds when only whitespace remains.
  errc finish() noexcept {
    ws();
    return p_ == end_ && depth_ == 0 ? errc::ok : errc::bad_json;
  }

 private:
  // Every read of *p_ relies on the '\0' at *end_: no byte the grammar accepts is 0,
  // so each test against an expected byte fails at the end without a bounds check, and
  // p_ never moves past end_. (A 0 byte inside the text fails the same tests.)
  //
  // ws skips whitespace; tokens rarely have any, so the first test usually ends it.
  void ws() noexcept {
    while (static_cast<unsigned char>(*p_) <= ' ' && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
      ++p_;
  }
  // next_entry consumes the |close| of the innermost container (more = false, the
  // container is no longer open) or, before every entry but the first, its comma.
  errc next_entry(char close, bool& more) noexcept {
    const std::size_t d = depth_ - 1;
    if (at(close)) {
      ++p_;
      --depth_;
      more = false;
      return errc::ok;
    }
    if (!first_[d]) {
      if (*p_ != ',') return errc::bad_json;
      ++p_;
    }
    first_[d] = false;
    more = true;
    return errc::ok;
  }
  // at says whether the next byte after any whitespace is |c|, leaving the cursor on
  // it; it only looks for whitespace when |c| is not there already.
  bool at(char c) noexcept {
    if (*p_ == c) return true;
    ws();
    return *p_ == c;
  }
  // short_name reads the common shape of a member name at p_ (on its quote): three
  // plain bytes and the colon right after, `"abc":` (every registered JWT claim). One
  // 8-byte load and three lookups replace the string scan and the colon test. Any
  // other shape returns false and leaves the cursor alone.
  bool short_name(std::string_view& name) noexcept {
    if (end_ - p_ < 8) return false;
    std::uint64_t w;
    std::memcpy(&w, p_, 8);
    // Bytes 0, 4 and 5 (little-endian) are '"', '"' and ':'.
    if ((w & 0x0000ffff000000ffull) != 0x00003a2200000022ull) return false;
    const auto* n = reinterpret_cast<const unsigned char*>(p_ + 1);
    if (!kPlain[n[0]] || !kPlain[n[1]] || !kPlain[n[2]]) return false;
    name = std::string_view(p_ + 1, 3);
    p_ += 6;
    return true;
  }
  // raw_string reads the string at p_ (on its opening quote). The fast path — plain
  // ASCII without escapes, nearly every token string — is inline and copies nothing.
  errc raw_string(std::string_view& out) noexcept {
    char* start = p_ + 1;
    const auto* r = reinterpret_cast<const unsigned char*>(start);
    while (kPlain[*r]) ++r;  // stops at the '\0' sentinel at end_ at the latest
    char* stop = const_cast<char*>(reinterpret_cast<const char*>(r));
    if (*stop == '"') {
      out = std::string_view(start, static_cast<std::size_t>(stop - start));
      p_ = stop + 1;
      return errc::ok;
    }
    return raw_string_slow(out, stop);
  }
  [[gnu::noinline]] errc raw_string_slow(std::string_view& out, char* special) noexcept;

  [[gnu::noinline]] bool is_duplicate(std::size_t d, std::string_view name, std::uint64_t prefix) const noexcept;

  // digit_run returns how many of the 8 bytes in |x| (first byte lowest) are ASCII
  // digits before the first that is not. A byte is a digit when its high nibble is 3
  // and adding 6 keeps it so; a carry out of a non-digit only disturbs later bytes.
  static unsigned digit_run(std::uint64_t x) noexcept {
    constexpr std::uint64_t hi = 0xf0f0f0f0f0f0f0f0ull, three = 0x3030303030303030ull;
    std::uint64_t m = ((x & hi) ^ three) | (((x + 0x0606060606060606ull) & hi) ^ three);
    return m != 0 ? static_cast<unsigned>(__builtin_ctzll(m)) / 8 : 8;
  }
  // digits_value returns the value of the first |n| (1..8) bytes of |x|, all digits:
  // shifted up so the rest falls off, they are 8 digits with leading zeros, combined
  // pairwise in three multiplies (the SWAR form simdjson uses for 8 digits).
  static std::uint64_t digits_value(std::uint64_t x, unsigned n) noexcept {
    std::uint64_t t = (x - 0x3030303030303030ull) << (8 * (8 - n));
    t = t * 10 + (t >> 8);
    return (((t & 0x000000ff000000ffull) * (100 + (1000000ull << 32))) +
            (((t >> 16) & 0x000000ff000000ffull) * (1 + (10000ull << 32)))) >> 32;
  }
  static constexpr std::uint64_t kPow10[8] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
  errc integer_slow(std::int64_t& out) noexcept;

  // kPlain marks the bytes a string may contain as they are: printable ASCII other
  // than '"' and '\\'. Controls, quotes, escapes and UTF-8 lead bytes take the slow path.
  static constexpr std::array<bool, 256> kPlain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    return t;
  }();
  errc number() noexcept;
  errc literal(std::string_view word) noexcept;

  char* p_;
  char* end_;
  std::size_t depth_ = 0;
  std::size_t names_top_ = 0;
  // Deliberately left uninitialised (trivial types): a scanner is built per header and
  // per payload, and zeroing 4 KiB of name slots each time cost more than the parse.
  // Slots are written before they are read (names_top_, depth_ bound them).
  struct name_ref {
    const char* data;
    std::size_t size;
    std::uint64_t prefix;  // first 8 bytes, zero-padded: decides most comparisons alone
  };
  std::array<std::size_t, kMaxDepth> object_base_;  // names_ index where each open object starts
  std::array<bool, kMaxDepth> first_;
  // One bit per name-prefix hash for each open object: a name whose bit is clear
  // cannot be a duplicate, which skips the comparison loop for nearly every member.
  std::array<std::uint64_t, kMaxDepth> seen_;
  std::array<name_ref, kMaxNames> names_;
};

// Helpers for parsers over the scanner that dispatch on member names themselves.

// key3 packs a three-letter name into an integer, so a parser dispatches its
// registered three-letter names (JWT claims, JOSE header parameters) in one switch or
// compare each instead of a string compare each.
constexpr std::uint32_t key3(const char (&s)[4]) noexcept {
  return std::uint32_t{static_cast<unsigned char>(s[0])} | std::uint32_t{static_cast<unsigned char>(s[1])} << 8 |
         std::uint32_t{static_cast<unsigned char>(s[2])} << 16;
}
// key3_of is key3 of a member name of size 3 from next_member_unchecked(): such a
// name is followed by at least one byte of the buffer (its closing quote, or what
// in-place unescaping left behind), so one 4-byte load reads it.
inline std::uint32_t key3_of(std::string_view name) noexcept {
  std::uint32_t k;
  std::memcpy(&k, name.data(), 4);
  return k & 0xffffff;  // little-endian: the first three bytes
}
// first marks a known name as seen and says whether it is new: with
// next_member_unchecked(), a flag per known name catches its duplicates and
// remember() those of every other name.
inline bool first(bool& seen) noexcept {
  bool was = seen;
  seen = true;
  return !was;
}

}  // namespace tollgate::crypto::detail
