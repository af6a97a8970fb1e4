// crypto/base64url.h — strict base64url (RFC 4648 §5, no padding). decode() works in
// 32-character AVX2 blocks when the CPU has AVX2 and through lookup tables otherwise.
//
// Threading: pure functions over caller buffers; no state, no allocation, callable from
// any thread concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string_view>

#include "crypto/errc.h"

namespace tollgate::crypto::base64url {

// decoded_size returns the number of bytes |encoded_len| characters decode to, or
// SIZE_MAX when no canonical unpadded encoding has that length (len % 4 == 1).
constexpr std::size_t decoded_size(std::size_t encoded_len) noexcept {
  if (encoded_len % 4 == 1) return SIZE_MAX;
  return encoded_len / 4 * 3 + (encoded_len % 4 == 0 ? 0 : encoded_len % 4 - 1);
}

// encoded_size returns the unpadded encoded length of |n| bytes.
constexpr std::size_t encoded_size(std::size_t n) noexcept {
  return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

// decode decodes |in| into |out| and returns the number of bytes written. It accepts
// exactly the canonical unpadded encodings: '=' padding, any byte outside
// [A-Za-z0-9_-], a length of 4k+1, or non-zero unused bits in the last character all
// yield errc::bad_base64. |out| must hold decoded_size(in.size()) bytes, else
// errc::token_too_large. On failure the contents of |out| are unspecified.
std::expected<std::size_t, errc> decode(std::string_view in, std::span<std::uint8_t> out) noexcept;

// encode writes the unpadded encoding of |in| to |out| and returns its length.
// |out| must hold encoded_size(in.size()) chars (checked; returns 0 otherwise only when
// |in| is empty as well — callers size it with encoded_size).
std::size_t encode(std::span<const std::uint8_t> in, std::span<char> out) noexcept;

// is_canonical returns true when decode() would accept |in|; it does not write. It
// always runs the table loop, so it is the reference decode()'s AVX2 path is tested
// against (tests/crypto/base64url_test.cc, fuzz/base64url.cc).
bool is_canonical(std::string_view in) noexcept;

}  // namespace tollgate::crypto::base64url
