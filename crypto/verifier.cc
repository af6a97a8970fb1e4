#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>

#include "crypto/base64url.h"
#include "crypto/claims.h"
#include "crypto/jws.h"
#include "crypto/trust_store.h"
#include "crypto/verify_key.h"

namespace tollgate::crypto {

verify_scratch::verify_scratch() : ecdsa_sig_(ECDSA_SIG_new()) {
  // r and s are preallocated here so verification only overwrites them. A fresh
  // BIGNUM has no words yet, so each is grown to the largest order (P-384) and
  // zeroed, which keeps the words: else the first ES256/ES384 verify would allocate.
  if (ecdsa_sig_ == nullptr || !BN_set_bit(ecdsa_sig_->r, 383) || !BN_set_bit(ecdsa_sig_->s, 383)) {
    std::fputs("tollgate: out of memory allocating verify_scratch\n", stderr);
    std::abort();
  }
  BN_zero(ecdsa_sig_->r);
  BN_zero(ecdsa_sig_->s);
}

verify_scratch::~verify_scratch() { ECDSA_SIG_free(ecdsa_sig_); }

verifier::verifier(trust_store& store, options opt) : store_(store), opt_(opt) {
  opt_.max_token_bytes = std::min(opt_.max_token_bytes, kMaxTokenBytes);
  auto slot = std::make_unique<detail::shard_slot>();
  slot_ = slot.get();
  std::lock_guard lock(store_.mu_);
  store_.slots_.push_back(std::move(slot));
  // BoringSSL allocates a thread's error queue the first time anything uses it, so
  // the shard's first failed signature check would allocate; built on the shard's
  // thread at start-up, the verifier makes that happen here instead.
  ERR_clear_error();
}

verifier::~verifier() {
  std::lock_guard lock(store_.mu_);
  std::erase_if(store_.slots_, [&](const auto& s) { return s.get() == slot_; });
  store_.reclaim_locked();
}

inline const detail::snapshot* verifier::pick_up() noexcept {
  const detail::snapshot* s = store_.current_.load(std::memory_order_acquire);
  if (s != local_) {
    local_ = s;
    // Release: everything this thread did with the older snapshot happens before a
    // writer sees the new version and frees the old one.
    slot_->observed.store(s->version, std::memory_order_release);
  }
  return s;
}

void verifier::quiescent() noexcept { pick_up(); }

std::expected<verified_claims, errc> verifier::verify(std::string_view token, std::int64_t now,
                                                      verify_scratch& scratch) noexcept {
  const detail::snapshot* snap = pick_up();
  scratch.failed_issuer_ = {};
  token_claims& c = scratch.claims_;
  // Failures before the payload is parsed leave last_claims() empty; parse_claims()
  // clears it itself, so the clear is not paid on the path that gets there.
  auto fail_unparsed = [&c](errc e) {
    c = token_claims{};
    return std::unexpected(e);
  };

  // Parsed in place (unverified_jws::parse), not through parse_jws(): no copy out of
  // a std::expected on the hot path.
  unverified_jws jws;
  if (errc e = jws.parse(token, opt_.max_token_bytes, scratch); e != errc::ok) return fail_unparsed(e);
  // tollgate implements no JWS extension, so any critical one is unsupported.
  if (!jws.crit().empty()) return fail_unparsed(errc::unsupported_crit);

  auto plen = base64url::decode(jws.payload_segment(),
                                std::span(reinterpret_cast<std::uint8_t*>(scratch.payload_.data()),
                                          scratch.payload_.size() - 1));
  if (!plen) return fail_unparsed(plen.error());
  scratch.payload_[*plen] = '\0';
  if (errc e = detail::parse_claims(scratch.payload_.data(), *plen, c, scratch.arrays_); e != errc::ok)
    return std::unexpected(e);

  // Issuer first, then the key within that issuer.
  if (!c.has_iss) return std::unexpected(errc::unknown_issuer);
  const detail::issuer_entry* iss = nullptr;
  for (const auto& e : snap->issuers) {
    if (e->config.issuer == c.iss) {
      iss = e.get();
      break;
    }
  }
  if (iss == nullptr) return std::unexpected(errc::unknown_issuer);
  const issuer_config& cfg = iss->config;
  scratch.failed_issuer_ = cfg.name;
  const alg a = jws.algorithm();
  if (!(cfg.algorithms & alg_bit(a))) return std::unexpected(errc::alg_not_allowed);

  const verify_key* key = nullptr;
  if (jws.has_kid()) {
    for (const auto& k : iss->keys) {
      if (k.kid == jws.kid()) {
        key = k.key.get();
        break;
      }
    }
  } else if (iss->keys.size() == 1) {
    key = iss->keys.front().key.get();
  }
  if (key == nullptr) {
    // Shared by all shards: the JWKS source refetches at most once per interval.
    if (!iss->refetch_wanted->load(std::memory_order_relaxed))
      iss->refetch_wanted->store(true, std::memory_order_relaxed);
    return std::unexpected(errc::unknown_kid);
  }
  if (!(key->permitted() & alg_bit(a))) return std::unexpected(errc::alg_not_allowed);

  const std::int64_t leeway = cfg.leeway_seconds;
  if (!c.has_exp) return std::unexpected(errc::missing_claim);
  // The token values stay alone on one side: they may be any int64, while now and
  // leeway come from the clock and the config and cannot overflow.
  if (c.exp <= now - leeway) return std::unexpected(errc::expired);
  if (c.has_nbf && c.nbf > now + leeway) return std::unexpected(errc::not_yet_valid);
  if (c.has_iat && c.iat > now + leeway) return std::unexpected(errc::issued_in_future);
  if (cfg.require_sub && !c.has_sub) return std::unexpected(errc::missing_claim);

  if (!cfg.audiences.empty()) {
    if (!c.has_aud) return std::unexpected(errc::missing_claim);
    bool match = false;
    for (std::string_view got : c.aud) {
      for (const std::string& want : cfg.audiences) {
        if (got == want) {
          match = true;
          break;
        }
      }
      if (match) break;
    }
    if (!match) return std::unexpected(errc::wrong_audience);
  }

  auto slen = base64url::decode(jws.signature_segment(), scratch.signature_);
  if (!slen) {
    // Longer than any signature tollgate verifies: cannot be valid.
    return std::unexpected(slen.error() == errc::token_too_large ? errc::bad_signature : slen.error());
  }
  if (errc e = key->verify(a, jws.signing_input(), std::span(scratch.signature_.data(), *slen), scratch);
      e != errc::ok)
    return std::unexpected(e);

  scratch.failed_issuer_ = {};
  return verified_claims(&c, a, jws.kid(), cfg.name);
}

}  // namespace tollgate::crypto
