// crypto/backup_codes.cc — generation and constant-time consumption of backup codes.
#include "crypto/backup_codes.h"

#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace tollgate::crypto::backup_codes {
namespace {

constexpr std::size_t salt_bytes = 16;
constexpr std::size_t hash_bytes = 32;
constexpr std::string_view scheme = "hmac-sha256";

std::string to_hex(std::span<const std::uint8_t> bytes) {
  constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 0xf];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool is_hex(std::string_view s, std::size_t bytes) {
  if (s.size() != bytes * 2) return false;
  for (char c : s) {
    if (hex_value(c) < 0) return false;
  }
  return true;
}

std::vector<std::uint8_t> from_hex(std::string_view s) {
  std::vector<std::uint8_t> out(s.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(hex_value(s[2 * i]) << 4 | hex_value(s[2 * i + 1]));
  }
  return out;
}

std::string hash_hex(std::span<const std::uint8_t> salt, std::string_view code) {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac;
  unsigned len = 0;
  if (HMAC(EVP_sha256(), salt.data(), salt.size(),
           reinterpret_cast<const std::uint8_t*>(code.data()), code.size(), mac.data(),
           &len) == nullptr || len != hash_bytes) {
    ERR_clear_error();
    std::abort();  // only memory exhaustion can make an in-memory HMAC fail
  }
  return to_hex(std::span(mac.data(), len));
}

bool in_alphabet(char c) { return alphabet.find(c) != std::string_view::npos; }

}  // namespace

std::string_view message(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::malformed: return "backup code must be 10 characters (XXXXX-XXXXX)";
    case errc::no_match: return "invalid backup code";
    case errc::bad_record: return "corrupt backup code record";
  }
  std::abort();
}

generated generate() {
  std::array<std::uint8_t, salt_bytes> salt;
  RAND_bytes(salt.data(), salt.size());
  generated g;
  g.record.salt_hex = to_hex(salt);
  while (g.codes.size() < count) {
    std::array<std::uint8_t, code_chars> r;
    RAND_bytes(r.data(), r.size());
    std::string raw(code_chars, ' ');
    for (std::size_t i = 0; i < code_chars; ++i) raw[i] = alphabet[r[i] & 31];  // 256 % 32 == 0: unbiased
    std::string h = hash_hex(salt, raw);
    bool duplicate = false;
    for (const auto& e : g.record.hashes_hex) duplicate |= (e == h);
    if (duplicate) continue;  // 2^-50 per pair, but duplicates would make consume() burn two
    g.record.hashes_hex.push_back(std::move(h));
    g.codes.push_back(raw.substr(0, code_chars / 2) + "-" + raw.substr(code_chars / 2));
  }
  return g;
}

std::expected<std::string, errc> normalize(std::string_view input) {
  std::string out;
  for (char c : input) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!in_alphabet(c) || out.size() == code_chars) return std::unexpected(errc::malformed);
    out += c;
  }
  if (out.size() != code_chars) return std::unexpected(errc::malformed);
  return out;
}

std::expected<std::size_t, errc> consume(stored& record, std::string_view input) {
  auto code = normalize(input);
  if (!code) return std::unexpected(code.error());
  if (!is_hex(record.salt_hex, salt_bytes)) return std::unexpected(errc::bad_record);
  const std::string h = hash_hex(from_hex(record.salt_hex), *code);
  std::size_t match = record.hashes_hex.size();
  for (std::size_t i = 0; i < record.hashes_hex.size(); ++i) {
    const std::string& e = record.hashes_hex[i];
    const bool eq = e.size() == h.size() && CRYPTO_memcmp(e.data(), h.data(), h.size()) == 0;
    if (eq) match = i;  // keep scanning: the loop's length must not depend on the code
  }
  if (match == record.hashes_hex.size()) return std::unexpected(errc::no_match);
  record.hashes_hex.erase(record.hashes_hex.begin() + static_cast<std::ptrdiff_t>(match));
  return record.hashes_hex.size();
}

std::string encode(const stored& record) {
  std::string out{scheme};
  out += '$';
  out += record.salt_hex;
  out += '$';
  for (std::size_t i = 0; i < record.hashes_hex.size(); ++i) {
    if (i > 0) out += ',';
    out += record.hashes_hex[i];
  }
  return out;
}

std::expected<stored, errc> decode(std::string_view text) {
  const std::size_t a = text.find('$');
  if (a == std::string_view::npos || text.substr(0, a) != scheme) {
    return std::unexpected(errc::bad_record);
  }
  const std::size_t b = text.find('$', a + 1);
  if (b == std::string_view::npos) return std::unexpected(errc::bad_record);
  stored r;
  r.salt_hex = std::string(text.substr(a + 1, b - a - 1));
  if (!is_hex(r.salt_hex, salt_bytes)) return std::unexpected(errc::bad_record);
  std::string_view rest = text.substr(b + 1);
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view h = rest.substr(0, comma);
    if (!is_hex(h, hash_bytes) || r.hashes_hex.size() == count) {
      return std::unexpected(errc::bad_record);
    }
    r.hashes_hex.emplace_back(h);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
    if (rest.empty()) return std::unexpected(errc::bad_record);  // trailing comma
  }
  return r;
}

}  // namespace tollgate::crypto::backup_codes
