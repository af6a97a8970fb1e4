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
  unverified_jws j;
  if (errc e = j.parse(token, max_token_bytes, s); e != errc::ok) return std::unexpected(e);
  return j;
}

errc unverified_jws::parse(std::string_view token, std::size_t max_token_bytes, verify_scratch& s) noexcept {
  // The optional header members; every other one is assigned below. One store each:
  // a chained `kid_ = typ_ = ... = {}` made GCC reload 16 bytes from two 8-byte stores
  // it had just made, a store-forwarding stall (10-20 ns in perf).
  has_kid_ = false;
  kid_ = {};
  typ_ = {};
  if (max_token_bytes > kMaxTokenBytes) max_token_bytes = kMaxTokenBytes;
  if (token.size() > max_token_bytes) return errc::token_too_large;
  std::size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return errc::malformed;
  std::size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return errc::malformed;
  // A fourth segment (JWE has five) or empty segments are not a JWS. An empty
  // signature would be an unsecured JWS, which is never accepted.
  if (token.find('.', d2 + 1) != std::string_view::npos) return errc::malformed;
  if (d1 == 0 || d2 == d1 + 1 || d2 + 1 == token.size()) return errc::malformed;

  header_b64_ = token.substr(0, d1);
  payload_b64_ = token.substr(d1 + 1, d2 - d1 - 1);
  signature_b64_ = token.substr(d2 + 1);
  signing_input_ = token.substr(0, d2);

  if (header_b64_.size() == s.memo_size_ && std::memcmp(header_b64_.data(), s.memo_segment_.data(), d1) == 0) {
    alg_ = s.memo_alg_;
    has_kid_ = s.memo_has_kid_;
    kid_ = s.memo_kid_;
    typ_ = s.memo_typ_;
    crit_ = std::span<const std::string_view>(s.crit_.data(), s.memo_ncrit_);
    return errc::ok;
  }
  // header_ is about to change under the memoised views.
  s.memo_size_ = 0;
  if (errc e = parse_header(s); e != errc::ok) return e;
  if (d1 <= s.memo_segment_.size()) {
    std::memcpy(s.memo_segment_.data(), header_b64_.data(), d1);
    s.memo_size_ = d1;
    s.memo_alg_ = alg_;
    s.memo_has_kid_ = has_kid_;
    s.memo_kid_ = kid_;
    s.memo_typ_ = typ_;
    s.memo_ncrit_ = crit_.size();
  }
  return errc::ok;
}

errc unverified_jws::parse_header(verify_scratch& s) noexcept {
  auto hdr = base64url::decode(header_b64_, std::span(reinterpret_cast<std::uint8_t*>(s.header_.data()),
                                                      s.header_.size() - 1));
  if (!hdr) return hdr.error();
  s.header_[*hdr] = '\0';

  detail::json_scanner js(s.header_.data(), s.header_.data() + *hdr);
  if (errc e = js.begin_object(); e != errc::ok) return e;
  bool has_alg = false, has_typ = false, has_crit = false;
  std::string_view alg_name;
  std::size_t ncrit = 0;
  for (;;) {
    std::string_view name;
    bool more;
    if (errc e = js.next_member_unchecked(name, more); e != errc::ok) return e;
    if (!more) break;
    errc e;
    // The four names this parser knows catch their duplicates with their flags; the
    // scanner checks every other name (remember()).
    const std::uint32_t key = name.size() == 3 ? detail::key3_of(name) : 0;
    if (key == detail::key3("alg")) {
      e = detail::first(has_alg) ? js.string(alg_name) : errc::duplicate_claim;
    } else if (key == detail::key3("kid")) {
      e = detail::first(has_kid_) ? js.string(kid_) : errc::duplicate_claim;
    } else if (key == detail::key3("typ")) {
      e = detail::first(has_typ) ? js.string(typ_) : errc::duplicate_claim;
    } else if (name == "crit") {
      if (!detail::first(has_crit)) {
        e = errc::duplicate_claim;
      } else if (js.peek() != '[') {
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
    } else if ((e = js.remember(name)) == errc::ok) {
      // jku, jwk, x5u, x5c, cty, ...: never trusted for key selection, only validated.
      e = js.skip_value();
    }
    if (e != errc::ok) return e;
  }
  if (errc e = js.finish(); e != errc::ok) return e;
  if (!has_alg) return errc::malformed;
  auto a = parse_alg(alg_name);
  if (!a) return a.error();
  // RFC 7515 §4.1.11: an empty crit list is invalid.
  if (has_crit && ncrit == 0) return errc::wrong_claim_type;
  alg_ = *a;
  crit_ = std::span<const std::string_view>(s.crit_.data(), ncrit);
  return errc::ok;
}

}  // namespace tollgate::crypto
