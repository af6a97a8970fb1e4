#include "crypto/jwk.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/nid.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <set>

#include "crypto/base64url.h"
#include "crypto/json_scan.h"
#include "crypto/verify_key.h"

namespace tollgate::crypto {
namespace {

namespace json = boost::json;

// strict_check runs the hot-path scanner over a copy: Boost.JSON keeps the last of
// duplicate names, and a key set must not be ambiguous either.
errc strict_check(std::string_view text) {
  std::string buf(text);
  detail::json_scanner js(buf.data(), buf.data() + buf.size());
  if (js.peek() != '{') return errc::bad_json;
  if (errc e = js.skip_value(); e != errc::ok) return e;
  return js.finish();
}

std::string b64(std::span<const std::uint8_t> bytes) {
  std::string out(base64url::encoded_size(bytes.size()), '\0');
  base64url::encode(bytes, out);
  return out;
}

// member_string: errc::ok with |out| set, errc::ok with |present| false when absent,
// errc::wrong_claim_type when not a string.
errc member_string(const json::object& o, std::string_view name, std::string& out, bool& present) {
  present = false;
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return errc::ok;
  const json::string* s = v->if_string();
  if (s == nullptr) return errc::wrong_claim_type;
  out.assign(s->data(), s->size());
  present = true;
  return errc::ok;
}

errc member_bytes(const json::object& o, std::string_view name, std::vector<std::uint8_t>& out) {
  std::string text;
  bool present;
  if (errc e = member_string(o, name, text, present); e != errc::ok) return e;
  if (!present || text.empty()) return errc::bad_key;
  out.resize(base64url::decoded_size(text.size()) == SIZE_MAX ? 0 : base64url::decoded_size(text.size()));
  auto n = base64url::decode(text, out);
  if (!n) return errc::bad_base64;
  return errc::ok;
}

std::expected<jwk, errc> from_object(const json::object& o) {
  jwk key;
  std::string kty;
  bool present;
  if (errc e = member_string(o, "kty", kty, present); e != errc::ok) return std::unexpected(e);
  if (!present) return std::unexpected(errc::bad_json);
  if (errc e = member_string(o, "kid", key.kid, present); e != errc::ok) return std::unexpected(e);
  if (errc e = member_string(o, "use", key.use, present); e != errc::ok) return std::unexpected(e);
  std::string alg_name;
  if (errc e = member_string(o, "alg", alg_name, present); e != errc::ok) return std::unexpected(e);
  if (present) {
    auto a = parse_alg(alg_name);
    if (!a) return std::unexpected(a.error());
    key.algorithm = *a;
  }
  std::string crv;
  if (kty == "RSA") {
    key.kty = key_type::rsa;
    if (errc e = member_bytes(o, "n", key.n); e != errc::ok) return std::unexpected(e);
    if (errc e = member_bytes(o, "e", key.e); e != errc::ok) return std::unexpected(e);
    // RFC 7518 §6.3.1: minimal big-endian, so the thumbprint is unambiguous.
    if (key.n[0] == 0 || key.e[0] == 0) return std::unexpected(errc::bad_key);
  } else if (kty == "EC") {
    key.kty = key_type::ec;
    if (errc e = member_string(o, "crv", crv, present); e != errc::ok) return std::unexpected(e);
    std::size_t len;
    if (crv == "P-256") { key.crv = curve::p256; len = 32; }
    else if (crv == "P-384") { key.crv = curve::p384; len = 48; }
    else return std::unexpected(errc::unsupported_key);
    if (errc e = member_bytes(o, "x", key.x); e != errc::ok) return std::unexpected(e);
    if (errc e = member_bytes(o, "y", key.y); e != errc::ok) return std::unexpected(e);
    if (key.x.size() != len || key.y.size() != len) return std::unexpected(errc::bad_key);
  } else if (kty == "OKP") {
    key.kty = key_type::okp;
    if (errc e = member_string(o, "crv", crv, present); e != errc::ok) return std::unexpected(e);
    if (crv != "Ed25519") return std::unexpected(errc::unsupported_key);
    key.crv = curve::ed25519;
    if (errc e = member_bytes(o, "x", key.x); e != errc::ok) return std::unexpected(e);
    if (key.x.size() != 32) return std::unexpected(errc::bad_key);
  } else if (kty == "oct") {
    key.kty = key_type::oct;
    if (errc e = member_bytes(o, "k", key.k); e != errc::ok) return std::unexpected(e);
  } else {
    return std::unexpected(errc::unsupported_key);
  }
  // An EC point off the curve is invalid material, found when loading, not per request.
  if (key.kty == key_type::ec) {
    auto v = make_verify_key(key);
    if (!v && v.error() == errc::bad_key) return std::unexpected(errc::bad_key);
  }
  return key;
}

std::string_view kty_name(key_type t) {
  switch (t) {
    case key_type::rsa: return "RSA";
    case key_type::ec: return "EC";
    case key_type::okp: return "OKP";
    case key_type::oct: return "oct";
  }
  return "";
}

std::string_view crv_name(curve c) {
  switch (c) {
    case curve::none: return "";
    case curve::p256: return "P-256";
    case curve::p384: return "P-384";
    case curve::ed25519: return "Ed25519";
  }
  return "";
}

json::object to_object(const jwk& key, bool include_secret) {
  json::object o;
  o["kty"] = kty_name(key.kty);
  if (!key.kid.empty()) o["kid"] = key.kid;
  if (!key.use.empty()) o["use"] = key.use;
  if (key.algorithm) o["alg"] = name_of(*key.algorithm);
  switch (key.kty) {
    case key_type::rsa:
      o["n"] = b64(key.n);
      o["e"] = b64(key.e);
      break;
    case key_type::ec:
      o["crv"] = crv_name(key.crv);
      o["x"] = b64(key.x);
      o["y"] = b64(key.y);
      break;
    case key_type::okp:
      o["crv"] = crv_name(key.crv);
      o["x"] = b64(key.x);
      break;
    case key_type::oct:
      if (include_secret) o["k"] = b64(key.k);
      break;
  }
  return o;
}

}  // namespace

std::expected<jwk, errc> parse_jwk(std::string_view text) {
  if (errc e = strict_check(text); e != errc::ok) return std::unexpected(e);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::unexpected(errc::bad_json);
  return from_object(v.get_object());
}

std::expected<jwks, errc> parse_jwks(std::string_view text) {
  if (errc e = strict_check(text); e != errc::ok) return std::unexpected(e);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::unexpected(errc::bad_json);
  const json::value* keys = v.get_object().if_contains("keys");
  if (keys == nullptr || !keys->is_array()) return std::unexpected(errc::bad_json);
  jwks out;
  std::set<std::string> kids;
  for (const json::value& kv : keys->get_array()) {
    if (!kv.is_object()) return std::unexpected(errc::bad_json);
    auto key = from_object(kv.get_object());
    if (!key) {
      if (key.error() == errc::unsupported_key || key.error() == errc::alg_unknown) {
        ++out.skipped;
        continue;
      }
      return std::unexpected(key.error());
    }
    if (!key->kid.empty() && !kids.insert(key->kid).second) return std::unexpected(errc::bad_key);
    out.keys.push_back(std::move(*key));
  }
  return out;
}

std::string to_json(const jwk& key, bool include_secret) {
  return json::serialize(to_object(key, include_secret));
}

std::string to_jwks_json(std::span<const jwk> keys) {
  json::array arr;
  for (const jwk& k : keys)
    if (k.kty != key_type::oct) arr.push_back(to_object(k, false));
  json::object o;
  o["keys"] = std::move(arr);
  return json::serialize(o);
}

std::string thumbprint(const jwk& key) {
  // RFC 7638 §3.2: required members only, lexicographic order, no whitespace. All
  // values are base64url or fixed names, so no JSON escaping can arise.
  std::string s;
  switch (key.kty) {
    case key_type::rsa:
      s = "{\"e\":\"" + b64(key.e) + "\",\"kty\":\"RSA\",\"n\":\"" + b64(key.n) + "\"}";
      break;
    case key_type::ec:
      s = "{\"crv\":\"" + std::string(crv_name(key.crv)) + "\",\"kty\":\"EC\",\"x\":\"" + b64(key.x) +
          "\",\"y\":\"" + b64(key.y) + "\"}";
      break;
    case key_type::okp:
      s = "{\"crv\":\"" + std::string(crv_name(key.crv)) + "\",\"kty\":\"OKP\",\"x\":\"" + b64(key.x) + "\"}";
      break;
    case key_type::oct:
      s = "{\"k\":\"" + b64(key.k) + "\",\"kty\":\"oct\"}";
      break;
  }
  std::uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), digest);
  OPENSSL_cleanse(s.data(), s.size());
  return b64(digest);
}

std::expected<verify_key_ptr, errc> make_verify_key(const jwk& key) {
  if (!key.use.empty() && key.use != "sig") return std::unexpected(errc::key_use_mismatch);
  alg_set algs = key.algorithm ? alg_bit(*key.algorithm) : static_cast<alg_set>(0xffff);
  switch (key.kty) {
    case key_type::oct:
      // The one key type that can be an HMAC secret; and it can be nothing else.
      if (key.algorithm && !(alg_bit(*key.algorithm) & kHmacAlgs)) return std::unexpected(errc::alg_not_allowed);
      return verify_key::hmac(key.k, algs);
    case key_type::rsa: {
      bssl::UniquePtr<RSA> rsa(RSA_new());
      BIGNUM* n = BN_bin2bn(key.n.data(), key.n.size(), nullptr);
      BIGNUM* e = BN_bin2bn(key.e.data(), key.e.size(), nullptr);
      if (!rsa || !n || !e || !RSA_set0_key(rsa.get(), n, e, nullptr)) {
        BN_free(n);
        BN_free(e);
        ERR_clear_error();
        return std::unexpected(errc::crypto_failure);
      }
      if (!RSA_check_key(rsa.get())) {
        ERR_clear_error();
        return std::unexpected(errc::bad_key);
      }
      return verify_key::rsa(std::move(rsa), algs);
    }
    case key_type::ec: {
      bssl::UniquePtr<EC_KEY> ec(
          EC_KEY_new_by_curve_name(key.crv == curve::p256 ? NID_X9_62_prime256v1 : NID_secp384r1));
      bssl::UniquePtr<BIGNUM> x(BN_bin2bn(key.x.data(), key.x.size(), nullptr));
      bssl::UniquePtr<BIGNUM> y(BN_bin2bn(key.y.data(), key.y.size(), nullptr));
      if (!ec || !x || !y) {
        ERR_clear_error();
        return std::unexpected(errc::crypto_failure);
      }
      // Rejects points that are not on the curve (and coordinates >= p).
      if (!EC_KEY_set_public_key_affine_coordinates(ec.get(), x.get(), y.get())) {
        ERR_clear_error();
        return std::unexpected(errc::bad_key);
      }
      return verify_key::ec(std::move(ec), algs);
    }
    case key_type::okp:
      return verify_key::ed25519(key.x, algs);
  }
  return std::unexpected(errc::unsupported_key);
}

std::expected<std::vector<key_entry>, errc> key_entries(const jwks& set, alg_set issuer_algs) {
  std::vector<key_entry> out;
  for (const jwk& k : set.keys) {
    auto v = make_verify_key(k);
    if (!v) {
      if (v.error() == errc::key_use_mismatch || v.error() == errc::alg_not_allowed) continue;
      return std::unexpected(v.error());
    }
    if (!((*v)->permitted() & issuer_algs)) continue;
    out.push_back(key_entry{k.kid, std::move(*v)});
  }
  return out;
}

}  // namespace tollgate::crypto
