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
  char peek() noexcept;
  // finish() succeeds when only whitespace remains.
  errc finish() noexcept;

 private:
  void ws() noexcept;
  errc raw_string(std::string_view& out) noexcept;
  errc number() noexcept;
  errc literal(std::string_view word) noexcept;

  char* p_;
  char* end_;
  std::size_t depth_ = 0;
  std::size_t names_top_ = 0;
  std::array<std::size_t, kMaxDepth> object_base_{};  // names_ index where each open object starts
  std::array<bool, kMaxDepth> first_{};
  std::array<std::string_view, kMaxNames> names_{};
};

}  // namespace tollgate::crypto::detail
