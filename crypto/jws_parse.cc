// JWS compact parsing and header JSON (RFC 7515 §3.1, §4.1).
#include <cstring>

#include "crypto/base64url.h"
#include "crypto/jws.h"
#include "crypto/json_scan.h"

namespace tollgate::crypto {

namespace {
constexpr std::array<std::string_view, kAlgCount> kAlgNames = {
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"};
}  // namespace

std::string_view name_of(alg a) noexcept { return kAlgNames[static_cast<std::size_t>(a)]; }

std::expected<alg, errc> parse_alg(std::string_view name) noexcept {
  if (name == "none") return std::unexpected(errc::alg_none);
  for (std::size_t i = 0; i < kAlgCount; ++i)
    if (kAlgNames[i] == name) return static_cast<alg>(i);
  return std::unexpected(errc::alg_unknown);
}

std::expected<unverified_jws, errc> parse_jws(std::string_view token, std::size_t max_token_bytes,
                                              verify_scratch& s) noexcept {
  if (max_token_bytes > kMaxTokenBytes) max_token_bytes = kMaxTokenBytes;
  if (token.size() > max_token_bytes) return std::unexpected(errc::token_too_large);
  std::size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return std::unexpected(errc::malformed);
  std::size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return std::unexpected(errc::malformed);
  // A fourth segment (JWE has five) or empty segments are not a JWS. An empty
  // signature would be an unsecured JWS, which is never accepted.
  if (token.find('.', d2 + 1) != std::string_view::npos) return std::unexpected(errc::malformed);
  if (d1 == 0 || d2 == d1 + 1 || d2 + 1 == token.size()) return std::unexpected(errc::malformed);

  unverified_jws j;
  j.header_b64_ = token.substr(0, d1);
  j.payload_b64_ = token.substr(d1 + 1, d2 - d1 - 1);
  j.signature_b64_ = token.substr(d2 + 1);
  j.signing_input_ = token.substr(0, d2);

  auto hdr = base64url::decode(j.header_b64_, std::span(reinterpret_cast<std::uint8_t*>(s.header_.data()),
                                                         s.header_.size() - 1));
  if (!hdr) return std::unexpected(hdr.error());
  s.header_[*hdr] = '\0';

  detail::json_scanner js(s.header_.data(), s.header_.data() + *hdr);
  if (errc e = js.begin_object(); e != errc::ok) return std::unexpected(e);
  bool has_alg = false, has_crit = false;
  std::string_view alg_name;
  std::size_t ncrit = 0;
  for (;;) {
    std::string_view name;
    bool more;
    if (errc e = js.next_member(name, more); e != errc::ok) return std::unexpected(e);
    if (!more) break;
    errc e;
    if (name == "alg") {
      e = js.string(alg_name);
      has_alg = true;
    } else if (name == "kid") {
      e = js.string(j.kid_);
      j.has_kid_ = true;
    } else if (name == "typ") {
      e = js.string(j.typ_);
    } else if (name == "crit") {
      has_crit = true;
      if (js.peek() != '[') {
        e = js.skip_value();
        if (e == errc::ok) e = errc::wrong_claim_type;
      } else if ((e = js.begin_array()) == errc::ok) {
        for (;;) {
          if ((e = js.next_element(more)) != errc::ok || !more) break;
          if (ncrit == kMaxCrit) { e = errc::unsupported_crit; break; }
          if ((e = js.string(s.crit_[ncrit])) != errc::ok) break;
          ++ncrit;
        }
      }
    } else {
      // jku, jwk, x5u, x5c, cty, ...: never trusted for key selection, only validated.
      e = js.skip_value();
    }
    if (e != errc::ok) return std::unexpected(e);
  }
  if (errc e = js.finish(); e != errc::ok) return std::unexpected(e);
  if (!has_alg) return std::unexpected(errc::malformed);
  auto a = parse_alg(alg_name);
  if (!a) return std::unexpected(a.error());
  // RFC 7515 §4.1.11: an empty crit list is invalid.
  if (has_crit && ncrit == 0) return std::unexpected(errc::wrong_claim_type);
  j.alg_ = *a;
  j.crit_ = std::span<const std::string_view>(s.crit_.data(), ncrit);
  return j;
}

}  // namespace tollgate::crypto
