#include "crypto/signer.h"

#include <openssl/bn.h>
#include <openssl/curve25519.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "crypto/base64url.h"
#include "crypto/hmac.h"
#include "crypto/verify_key.h"

namespace tollgate::crypto {

namespace detail {
struct signing_state {
  alg algorithm;
  std::string kid;
  std::int64_t created_at = 0;
  std::vector<std::uint8_t> material;  // HS secret, P-256 scalar, or Ed25519 seed
  std::string header_b64;              // precomputed: base64url of the JOSE header
  std::optional<hmac_sha256> hs256;
  std::optional<hmac_sha384> hs384;
  std::optional<hmac_sha512> hs512;
  bssl::UniquePtr<EC_KEY> ec;
  std::uint8_t ed_private[64] = {};
  std::uint8_t ed_public[32] = {};

  ~signing_state() {
    OPENSSL_cleanse(material.data(), material.size());
    OPENSSL_cleanse(ed_private, sizeof ed_private);
  }
};
}  // namespace detail

namespace {

namespace json = boost::json;
using detail::signing_state;

constexpr std::uint8_t kFormatVersion = 1;

std::string b64(std::span<const std::uint8_t> bytes) {
  std::string out(base64url::encoded_size(bytes.size()), '\0');
  base64url::encode(bytes, out);
  return out;
}
std::string b64(std::string_view s) {
  return b64(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

bool is_hmac(alg a) { return (alg_bit(a) & kHmacAlgs) != 0; }

jwk jwk_of(const signing_state& s) {
  jwk k;
  k.use = "sig";
  k.algorithm = s.algorithm;
  k.kid = s.kid;
  if (is_hmac(s.algorithm)) {
    k.kty = key_type::oct;
    k.k = s.material;
  } else if (s.algorithm == alg::eddsa) {
    k.kty = key_type::okp;
    k.crv = curve::ed25519;
    k.x.assign(s.ed_public, s.ed_public + 32);
  } else {
    k.kty = key_type::ec;
    k.crv = curve::p256;
    const EC_POINT* pub = EC_KEY_get0_public_key(s.ec.get());
    bssl::UniquePtr<BIGNUM> x(BN_new()), y(BN_new());
    k.x.resize(32);
    k.y.resize(32);
    if (x && y && EC_POINT_get_affine_coordinates_GFp(EC_KEY_get0_group(s.ec.get()), pub, x.get(), y.get(), nullptr)) {
      BN_bn2bin_padded(k.x.data(), 32, x.get());
      BN_bn2bin_padded(k.y.data(), 32, y.get());
    }
  }
  return k;
}

// finish derives everything else from algorithm + material; kid stays as given when
// non-empty (a restored key keeps the kid its tokens carry).
std::expected<std::shared_ptr<const signing_state>, errc> finish(std::shared_ptr<signing_state> s) {
  switch (s->algorithm) {
    case alg::hs256:
    case alg::hs384:
    case alg::hs512: {
      std::size_t min = s->algorithm == alg::hs256 ? 32 : s->algorithm == alg::hs384 ? 48 : 64;
      if (s->material.size() < min || s->material.size() > 128) return std::unexpected(errc::bad_key);
      if (s->algorithm == alg::hs256) s->hs256.emplace(s->material);
      if (s->algorithm == alg::hs384) s->hs384.emplace(s->material);
      if (s->algorithm == alg::hs512) s->hs512.emplace(s->material);
      break;
    }
    case alg::es256: {
      if (s->material.size() != 32) return std::unexpected(errc::bad_key);
      bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
      bssl::UniquePtr<BIGNUM> d(BN_bin2bn(s->material.data(), 32, nullptr));
      if (!ec || !d) return std::unexpected(errc::crypto_failure);
      const EC_GROUP* g = EC_KEY_get0_group(ec.get());
      bssl::UniquePtr<EC_POINT> pub(EC_POINT_new(g));
      if (!pub || !EC_KEY_set_private_key(ec.get(), d.get()) ||
          !EC_POINT_mul(g, pub.get(), d.get(), nullptr, nullptr, nullptr) ||
          !EC_KEY_set_public_key(ec.get(), pub.get()) || !EC_KEY_check_key(ec.get())) {
        ERR_clear_error();
        return std::unexpected(errc::bad_key);
      }
      s->ec = std::move(ec);
      break;
    }
    case alg::eddsa:
      if (s->material.size() != 32) return std::unexpected(errc::bad_key);
      ED25519_keypair_from_seed(s->ed_public, s->ed_private, s->material.data());
      break;
    default:
      return std::unexpected(errc::alg_not_allowed);
  }
  if (s->kid.empty()) s->kid = thumbprint(jwk_of(*s));
  json::object h;
  h["alg"] = name_of(s->algorithm);
  h["typ"] = "JWT";
  h["kid"] = s->kid;
  s->header_b64 = b64(json::serialize(h));
  return s;
}

}  // namespace

std::string encode_payload(const token_spec& spec) {
  json::object o;
  auto put = [&](std::string_view k, const std::string& v) {
    if (!v.empty()) o[k] = v;
  };
  auto put_list = [&](std::string_view k, const std::vector<std::string>& v) {
    if (v.empty()) return;
    json::array a;
    for (const auto& x : v) a.emplace_back(x);
    o[k] = std::move(a);
  };
  put("iss", spec.iss);
  put("sub", spec.sub);
  if (spec.aud.size() == 1) o["aud"] = spec.aud.front();
  else put_list("aud", spec.aud);
  o["iat"] = spec.iat;
  if (spec.nbf) o["nbf"] = *spec.nbf;
  o["exp"] = spec.exp;
  put("jti", spec.jti);
  put("sid", spec.sid);
  put("username", spec.username);
  put("scope", spec.scope);
  put_list("roles", spec.roles);
  put_list("groups", spec.groups);
  put_list("permissions", spec.permissions);
  return json::serialize(o);
}

std::expected<signing_key, errc> signing_key::generate(alg a, std::int64_t created_at) {
  auto s = std::make_shared<signing_state>();
  s->algorithm = a;
  s->created_at = created_at;
  std::size_t len = a == alg::hs384 ? 48 : a == alg::hs512 ? 64 : 32;
  if (a == alg::es256) {
    // A uniformly random scalar in [1, n): let BoringSSL generate it.
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    if (!ec || !EC_KEY_generate_key(ec.get())) {
      ERR_clear_error();
      return std::unexpected(errc::crypto_failure);
    }
    s->material.resize(32);
    if (!BN_bn2bin_padded(s->material.data(), 32, EC_KEY_get0_private_key(ec.get())))
      return std::unexpected(errc::crypto_failure);
  } else if (is_hmac(a) || a == alg::eddsa) {
    s->material.resize(len);
    if (!RAND_bytes(s->material.data(), len)) return std::unexpected(errc::crypto_failure);
  } else {
    return std::unexpected(errc::alg_not_allowed);
  }
  auto done = finish(std::move(s));
  if (!done) return std::unexpected(done.error());
  return signing_key(std::move(*done));
}

std::expected<signing_key, errc> signing_key::from_secret(alg a, std::span<const std::uint8_t> secret,
                                                          std::int64_t created_at) {
  if (!is_hmac(a)) return std::unexpected(errc::alg_not_allowed);
  auto s = std::make_shared<signing_state>();
  s->algorithm = a;
  s->created_at = created_at;
  s->material.assign(secret.begin(), secret.end());
  auto done = finish(std::move(s));
  if (!done) return std::unexpected(done.error());
  return signing_key(std::move(*done));
}

std::vector<std::uint8_t> signing_key::serialize() const {
  std::vector<std::uint8_t> out;
  out.push_back(kFormatVersion);
  out.push_back(static_cast<std::uint8_t>(s_->algorithm));
  auto created = static_cast<std::uint64_t>(s_->created_at);
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(created >> (8 * i)));
  out.push_back(static_cast<std::uint8_t>(s_->kid.size()));
  out.insert(out.end(), s_->kid.begin(), s_->kid.end());
  out.push_back(static_cast<std::uint8_t>(s_->material.size()));
  out.insert(out.end(), s_->material.begin(), s_->material.end());
  return out;
}

std::expected<signing_key, errc> signing_key::deserialize(std::span<const std::uint8_t> b) {
  std::size_t i = 0;
  auto need = [&](std::size_t n) { return b.size() - i >= n; };
  if (!need(11) || b[0] != kFormatVersion || b[1] >= kAlgCount) return std::unexpected(errc::bad_key);
  auto s = std::make_shared<signing_state>();
  s->algorithm = static_cast<alg>(b[1]);
  std::uint64_t created = 0;
  for (i = 2; i < 10; ++i) created = created << 8 | b[i];
  s->created_at = static_cast<std::int64_t>(created);
  std::size_t kid_len = b[i++];
  if (kid_len == 0 || !need(kid_len + 1)) return std::unexpected(errc::bad_key);
  s->kid.assign(reinterpret_cast<const char*>(b.data() + i), kid_len);
  i += kid_len;
  std::size_t mat_len = b[i++];
  if (b.size() - i != mat_len) return std::unexpected(errc::bad_key);
  s->material.assign(b.begin() + static_cast<std::ptrdiff_t>(i), b.end());
  auto done = finish(std::move(s));
  if (!done) return std::unexpected(done.error() == errc::alg_not_allowed ? errc::bad_key : done.error());
  return signing_key(std::move(*done));
}

alg signing_key::algorithm() const noexcept { return s_->algorithm; }
const std::string& signing_key::kid() const noexcept { return s_->kid; }
std::int64_t signing_key::created_at() const noexcept { return s_->created_at; }
jwk signing_key::public_jwk() const { return jwk_of(*s_); }
std::expected<verify_key_ptr, errc> signing_key::make_verifier() const { return make_verify_key(jwk_of(*s_)); }

std::expected<std::string, errc> signing_key::sign(std::string_view payload_json) const {
  const signing_state& s = *s_;
  std::string out;
  out.reserve(s.header_b64.size() + 2 + base64url::encoded_size(payload_json.size()) + 128);
  out += s.header_b64;
  out += '.';
  out += b64(payload_json);
  std::uint8_t sig[64];
  std::size_t sig_len = 0;
  const auto* in = reinterpret_cast<const std::uint8_t*>(out.data());
  switch (s.algorithm) {
    case alg::hs256: s.hs256->compute(in, out.size(), sig); sig_len = 32; break;
    case alg::hs384: s.hs384->compute(in, out.size(), sig); sig_len = 48; break;
    case alg::hs512: s.hs512->compute(in, out.size(), sig); sig_len = 64; break;
    case alg::es256: {
      std::uint8_t digest[SHA256_DIGEST_LENGTH];
      SHA256(in, out.size(), digest);
      bssl::UniquePtr<ECDSA_SIG> es(ECDSA_do_sign(digest, sizeof digest, s.ec.get()));
      const BIGNUM *r, *ss;
      if (!es) {
        ERR_clear_error();
        return std::unexpected(errc::crypto_failure);
      }
      ECDSA_SIG_get0(es.get(), &r, &ss);
      if (!BN_bn2bin_padded(sig, 32, r) || !BN_bn2bin_padded(sig + 32, 32, ss))
        return std::unexpected(errc::crypto_failure);
      sig_len = 64;
      break;
    }
    case alg::eddsa:
      if (!ED25519_sign(sig, in, out.size(), s.ed_private)) return std::unexpected(errc::crypto_failure);
      sig_len = 64;
      break;
    default:
      return std::unexpected(errc::alg_not_allowed);
  }
  out += '.';
  out += b64(std::span<const std::uint8_t>(sig, sig_len));
  return out;
}

void key_ring::set_active(signing_key key) {
  if (!entries_.empty() && !entries_.front().verify_until) entries_.erase(entries_.begin());
  entries_.insert(entries_.begin(), entry{std::move(key), std::nullopt});
}

void key_ring::rotate(signing_key next, std::int64_t now, std::int64_t retain_seconds) {
  if (!entries_.empty() && !entries_.front().verify_until) entries_.front().verify_until = now + retain_seconds;
  entries_.insert(entries_.begin(), entry{std::move(next), std::nullopt});
}

void key_ring::prune(std::int64_t now) {
  std::erase_if(entries_, [&](const entry& e) { return e.verify_until && *e.verify_until <= now; });
}

std::expected<key_ring, errc> key_ring::restore(std::vector<entry> entries) {
  auto active = std::count_if(entries.begin(), entries.end(), [](const entry& e) { return !e.verify_until; });
  if (active != 1) return std::unexpected(errc::bad_key);
  std::stable_partition(entries.begin(), entries.end(), [](const entry& e) { return !e.verify_until; });
  key_ring r;
  r.entries_ = std::move(entries);
  return r;
}

const signing_key* key_ring::active() const noexcept {
  if (entries_.empty() || entries_.front().verify_until) return nullptr;
  return &entries_.front().key;
}

std::expected<std::string, errc> key_ring::sign(std::string_view payload_json) const {
  const signing_key* k = active();
  if (k == nullptr) return std::unexpected(errc::unknown_kid);
  return k->sign(payload_json);
}

std::expected<std::vector<key_entry>, errc> key_ring::verification_keys() const {
  std::vector<key_entry> out;
  for (const entry& e : entries_) {
    auto v = e.key.make_verifier();
    if (!v) return std::unexpected(v.error());
    out.push_back(key_entry{e.key.kid(), std::move(*v)});
  }
  return out;
}

std::string key_ring::jwks_json() const {
  std::vector<jwk> keys;
  for (const entry& e : entries_) keys.push_back(e.key.public_jwk());
  return to_jwks_json(keys);
}

}  // namespace tollgate::crypto
