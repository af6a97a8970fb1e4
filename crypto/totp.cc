// crypto/totp.cc — RFC 4226/6238 over BoringSSL's HMAC-SHA1.
#include "crypto/totp.h"

#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include <array>
#include <cstdlib>

namespace tollgate::crypto::totp {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int base32_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

void percent_encode(std::string& out, std::string_view s) {
  constexpr std::string_view hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
}

std::expected<std::vector<std::uint8_t>, errc> decode_secret(std::string_view b32) {
  auto key = base32_decode(b32);
  if (!key || key->size() < min_secret_bytes) return std::unexpected(errc::bad_secret);
  return key;
}

}  // namespace

std::string_view message(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::bad_secret: return "invalid TOTP secret";
    case errc::malformed_code: return "code must be 6 digits";
    case errc::mismatch: return "invalid code";
    case errc::replayed: return "code already used";
    case errc::bad_label: return "issuer and account must be non-empty and contain no ':'";
  }
  std::abort();
}

step step_at(std::chrono::sys_seconds t) {
  const std::int64_t s = t.time_since_epoch().count();
  const std::int64_t len = step_length.count();
  return s >= 0 ? s / len : -((-s + len - 1) / len);
}

std::string base32_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(buffer >> bits) & 0x1f];
    }
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 0x1f];
  return out;
}

std::expected<std::vector<std::uint8_t>, errc> base32_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  // A final group of 1, 3 or 6 characters cannot come from whole bytes.
  switch (text.size() % 8) {
    case 1: case 3: case 6: return std::unexpected(errc::bad_secret);
    default: break;
  }
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int v = base32_value(c);
    if (v < 0) return std::unexpected(errc::bad_secret);
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(buffer >> bits));
    }
  }
  if ((buffer & ((1u << bits) - 1)) != 0) return std::unexpected(errc::bad_secret);
  return out;
}

std::string generate_secret() {
  std::array<std::uint8_t, secret_bytes> key;
  RAND_bytes(key.data(), key.size());
  return base32_encode(key);
}

std::uint32_t hotp(std::span<const std::uint8_t> key, std::uint64_t counter,
                   unsigned code_digits) {
  std::array<std::uint8_t, 8> msg;
  for (int i = 7; i >= 0; --i) {
    msg[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(counter);
    counter >>= 8;
  }
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac;
  unsigned mac_len = 0;
  if (HMAC(EVP_sha1(), key.data(), key.size(), msg.data(), msg.size(), mac.data(),
           &mac_len) == nullptr || mac_len != 20) {
    // HMAC-SHA1 over an in-memory buffer cannot fail short of memory exhaustion.
    ERR_clear_error();
    std::abort();
  }
  const unsigned offset = mac[19] & 0x0f;
  const std::uint32_t bin = (static_cast<std::uint32_t>(mac[offset] & 0x7f) << 24) |
                            (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                            (static_cast<std::uint32_t>(mac[offset + 2]) << 8) |
                            static_cast<std::uint32_t>(mac[offset + 3]);
  std::uint32_t mod = 1;
  for (unsigned i = 0; i < code_digits; ++i) mod *= 10;
  return bin % mod;
}

std::string code_at(std::span<const std::uint8_t> key, std::chrono::sys_seconds t,
                    unsigned code_digits) {
  const step s = step_at(t);
  if (s < 0) return {};
  std::uint32_t v = hotp(key, static_cast<std::uint64_t>(s), code_digits);
  std::string out(code_digits, '0');
  for (unsigned i = code_digits; i > 0 && v > 0; --i, v /= 10) {
    out[i - 1] = static_cast<char>('0' + v % 10);
  }
  return out;
}

std::expected<std::string, errc> code_for(std::string_view secret_b32,
                                          std::chrono::sys_seconds t) {
  auto key = decode_secret(secret_b32);
  if (!key) return std::unexpected(key.error());
  return code_at(*key, t);
}

std::expected<step, errc> verify(std::string_view secret_b32, std::string_view code,
                                 std::chrono::sys_seconds now,
                                 std::optional<step> last_used_step) {
  auto key = decode_secret(secret_b32);
  if (!key) return std::unexpected(key.error());
  if (code.size() != digits) return std::unexpected(errc::malformed_code);
  for (char c : code) {
    if (c < '0' || c > '9') return std::unexpected(errc::malformed_code);
  }
  const step current = step_at(now);
  std::optional<step> accepted;
  bool replay = false;
  for (step s = current - window_steps; s <= current + window_steps; ++s) {
    if (s < 0) continue;
    const std::string expected = code_at(*key, now + (s - current) * step_length);
    if (CRYPTO_memcmp(expected.data(), code.data(), digits) != 0) continue;
    if (last_used_step && s <= *last_used_step) {
      replay = true;
    } else {
      accepted = s;  // the latest matching step wins, so it also burns earlier ones
    }
  }
  if (accepted) return *accepted;
  return std::unexpected(replay ? errc::replayed : errc::mismatch);
}

std::expected<std::string, errc> otpauth_uri(std::string_view issuer,
                                             std::string_view account,
                                             std::string_view secret_b32) {
  if (issuer.empty() || account.empty() || issuer.find(':') != std::string_view::npos ||
      account.find(':') != std::string_view::npos) {
    return std::unexpected(errc::bad_label);
  }
  auto key = decode_secret(secret_b32);
  if (!key) return std::unexpected(key.error());
  std::string uri = "otpauth://totp/";
  percent_encode(uri, issuer);
  uri += ':';
  percent_encode(uri, account);
  uri += "?secret=";
  uri += base32_encode(*key);  // canonical spelling: upper case, no padding
  uri += "&issuer=";
  percent_encode(uri, issuer);
  uri += "&algorithm=SHA1&digits=6&period=30";
  return uri;
}

}  // namespace tollgate::crypto::totp
