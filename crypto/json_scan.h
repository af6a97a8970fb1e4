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
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/errc.h"

namespace tollgate::crypto::detail {

// json_scanner reads one JSON text from [begin, end). The buffer is modified: string
// values and member names are unescaped in place, and the views it returns stay valid
// as long as the buffer does.
// WARNING: *end must be readable and hold '\0' (a std::string's terminator, or the
// byte the verifier writes after each decoded segment): string scanning uses it as a
// sentinel instead of testing the bound on every byte.
class json_scanner {
 public:
  static constexpr std::size_t kMaxDepth = 16;
  static constexpr std::size_t kMaxNames = 256;  // names of all open objects together

  json_scanner(char* begin, char* end) noexcept : p_(begin), end_(end) {}

  // Object iteration: begin_object() consumes '{'; next_member() returns true with
  // |name| set and the cursor on the value, or false at the closing '}' (consumed).
  // Duplicate names in this object yield errc::duplicate_claim.
  errc begin_object() noexcept;
  errc next_member(std::string_view& name, bool& more) noexcept;

  // Array iteration: begin_array() consumes '['; next_element() sets |more| to false
  // at the closing ']' (consumed), else leaves the cursor on the next value.
  errc begin_array() noexcept;
  errc next_element(bool& more) noexcept;

  // string() reads a JSON string value (unescaped in place into |out|); any other type
  // yields errc::wrong_claim_type.
  errc string(std::string_view& out) noexcept;
  // integer() reads a JSON number that is an integer in int64 range: a fraction or an
  // exponent yields errc::bad_numeric_date, as does overflow; non-numbers
  // errc::wrong_claim_type.
  errc integer(std::int64_t& out) noexcept;
  // skip_value() validates and skips any value, checking nested objects for
  // duplicate names as well.
  errc skip_value() noexcept;
  // peek() returns the next non-whitespace byte (0 at the end).
  char peek() noexcept {
    ws();
    return p_ < end_ ? *p_ : '\0';
  }
  // finish() succeeds when only whitespace remains.
  errc finish() noexcept;

 private:
  // ws skips whitespace; tokens rarely have any, so the first test usually ends it.
  void ws() noexcept {
    while (p_ < end_ && static_cast<unsigned char>(*p_) <= ' ' &&
           (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
      ++p_;
  }
  // raw_string reads the string at p_ (on its opening quote). The fast path — plain
  // ASCII without escapes, nearly every token string — is inline and copies nothing.
  errc raw_string(std::string_view& out) noexcept {
    char* start = p_ + 1;
    const auto* r = reinterpret_cast<const unsigned char*>(start);
    while (kPlain[*r]) ++r;  // stops at the '\0' sentinel at end_ at the latest
    char* stop = const_cast<char*>(reinterpret_cast<const char*>(r));
    if (stop < end_ && *stop == '"') {
      out = std::string_view(start, static_cast<std::size_t>(stop - start));
      p_ = stop + 1;
      return errc::ok;
    }
    return raw_string_slow(out, stop);
  }
  [[gnu::noinline]] errc raw_string_slow(std::string_view& out, char* first_special) noexcept;

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

}  // namespace tollgate::crypto::detail
