// Argon2id via libargon2; salts from BoringSSL's RAND_bytes.
#include "crypto/password.h"

#include <argon2.h>
#include <openssl/rand.h>

#include <array>
#include <cstdlib>
#include <cstdio>

namespace tollgate::crypto::password {

namespace {
constexpr std::size_t salt_bytes = 16;
constexpr std::size_t tag_bytes = 32;

std::expected<std::string, errc> hash_with(const params& p, std::string_view pw) {
  if (pw.size() > max_password_bytes) return std::unexpected(errc::too_long);
  std::array<std::uint8_t, salt_bytes> salt;
  RAND_bytes(salt.data(), salt.size());
  std::size_t len = argon2_encodedlen(p.iterations, p.memory_kib, p.parallelism, salt_bytes,
                                      tag_bytes, Argon2_id);
  std::string out(len, '\0');
  int rc = argon2id_hash_encoded(p.iterations, p.memory_kib, p.parallelism, pw.data(),
                                 pw.size(), salt.data(), salt.size(), tag_bytes, out.data(),
                                 out.size());
  if (rc != ARGON2_OK) {
    return std::unexpected(rc == ARGON2_MEMORY_ALLOCATION_ERROR ? errc::hash_failed
                                                                : errc::bad_params);
  }
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}
}  // namespace

std::string_view message_of(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::too_long: return "password too long";
    case errc::bad_params: return "invalid Argon2id parameters";
    case errc::hash_failed: return "password hashing failed";
  }
  return "unknown password error";
}

hasher::hasher(params p) : params_(p) {
  auto d = hash_with(p, "tollgate-dummy-password");
  if (!d) {
    // Only reachable with costs libargon2 rejects: a startup configuration error.
    std::fprintf(stderr, "tollgate: %s\n", std::string(message_of(d.error())).c_str());
    std::abort();
  }
  dummy_ = std::move(*d);
}

std::expected<std::string, errc> hasher::hash(std::string_view password) const {
  return hash_with(params_, password);
}

bool hasher::verify(std::string_view encoded, std::string_view password) const {
  if (password.size() > max_password_bytes || !encoded.starts_with("$argon2id$")) return false;
  // argon2id_verify needs a NUL-terminated encoding.
  std::string enc(encoded);
  return argon2id_verify(enc.c_str(), password.data(), password.size()) == ARGON2_OK;
}

bool hasher::verify_dummy(std::string_view password) const {
  std::string_view pw = password.substr(0, max_password_bytes);
  (void)argon2id_verify(dummy_.c_str(), pw.data(), pw.size());
  return false;
}

}  // namespace tollgate::crypto::password
