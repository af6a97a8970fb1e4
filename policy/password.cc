// policy/password.cc — password rules.
#include "policy/password.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace tollgate::policy::password {
namespace {

// utf8_code_points counts code points, or returns nullopt for malformed UTF-8
// (stray continuation bytes, truncated sequences, overlong forms, surrogates,
// values past U+10FFFF).
std::optional<std::size_t> utf8_code_points(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++n) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len;
    std::uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      len = 2, cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      len = 3, cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4, cp = b & 0x07;
    } else {
      return std::nullopt;
    }
    if (s.size() - i < len) return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return std::nullopt;
    }
    i += len;
  }
  return n;
}

}  // namespace

std::string message(errc e, const password_policy& p) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::too_short:
      return "password must be at least " + std::to_string(p.min_length) + " characters";
    case errc::too_long:
      return "password must be at most " + std::to_string(max_bytes) + " bytes";
    case errc::invalid_utf8: return "password must be valid UTF-8";
    case errc::control_character: return "password must not contain control characters";
    case errc::missing_uppercase: return "password must contain an uppercase letter";
    case errc::missing_lowercase: return "password must contain a lowercase letter";
    case errc::missing_digit: return "password must contain a digit";
    case errc::missing_special: return "password must contain a special character";
    case errc::reused:
      return "password must differ from the last " + std::to_string(p.history_count) +
             " passwords";
  }
  std::abort();
}

std::expected<void, errc> check(std::string_view candidate, const password_policy& p) {
  if (candidate.size() > max_bytes) return std::unexpected(errc::too_long);
  const auto chars = utf8_code_points(candidate);
  if (!chars) return std::unexpected(errc::invalid_utf8);
  bool upper = false, lower = false, digit = false, special = false;
  for (char ch : candidate) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return std::unexpected(errc::control_character);
    if (c >= 'A' && c <= 'Z') {
      upper = true;
    } else if (c >= 'a' && c <= 'z') {
      lower = true;
    } else if (c >= '0' && c <= '9') {
      digit = true;
    } else {
      special = true;  // ASCII punctuation, space, or a byte of a non-ASCII character
    }
  }
  if (*chars < static_cast<std::size_t>(p.min_length)) return std::unexpected(errc::too_short);
  if (p.require_uppercase && !upper) return std::unexpected(errc::missing_uppercase);
  if (p.require_lowercase && !lower) return std::unexpected(errc::missing_lowercase);
  if (p.require_numbers && !digit) return std::unexpected(errc::missing_digit);
  if (p.require_special && !special) return std::unexpected(errc::missing_special);
  return {};
}

std::expected<void, errc> check_history(std::string_view candidate,
                                        std::span<const std::string> history,
                                        const password_policy& p, const verifier& verify) {
  const std::size_t n = std::min(history.size(), static_cast<std::size_t>(p.history_count));
  for (std::size_t i = 0; i < n; ++i) {
    if (verify(history[i], candidate)) return std::unexpected(errc::reused);
  }
  return {};
}

std::vector<std::string> next_history(std::span<const std::string> history,
                                      std::string new_hash, const password_policy& p) {
  const auto keep = static_cast<std::size_t>(p.history_count);
  std::vector<std::string> out;
  if (keep == 0) return out;
  out.reserve(keep);
  out.push_back(std::move(new_hash));
  for (std::size_t i = 0; i < history.size() && out.size() < keep; ++i) out.push_back(history[i]);
  return out;
}

std::optional<std::chrono::sys_seconds> expires_at(std::chrono::sys_seconds changed_at,
                                                   const password_policy& p) {
  if (p.expiry_days == 0) return std::nullopt;
  return changed_at + std::chrono::days{p.expiry_days};
}

bool expired(std::chrono::sys_seconds changed_at, std::chrono::sys_seconds now,
             const password_policy& p) {
  const auto at = expires_at(changed_at, p);
  return at && now >= *at;
}

}  // namespace tollgate::policy::password
