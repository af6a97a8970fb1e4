#include "crypto/jwks_source.h"

#include <openssl/rand.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "crypto/jwk.h"

namespace tollgate::crypto {

jwks_source::jwks_source(trust_store& store, jwks_source_config config, jwks_fetch fetch)
    : store_(store), config_(std::move(config)), fetch_(std::move(fetch)) {}

std::int64_t jwks_source::backoff(std::size_t failures) const {
  std::int64_t base = config_.backoff_initial_seconds;
  for (std::size_t i = 1; i < failures && base < config_.backoff_max_seconds; ++i) base *= 2;
  base = std::min(base, config_.backoff_max_seconds);
  // Jitter in [base/2, 3*base/2] so issuers that failed together do not retry together.
  std::uint32_t r = 0;
  RAND_bytes(reinterpret_cast<std::uint8_t*>(&r), sizeof r);
  std::int64_t half = std::max<std::int64_t>(base / 2, 1);
  return half + static_cast<std::int64_t>(r % static_cast<std::uint32_t>(base + 1));
}

std::int64_t jwks_source::poll(std::int64_t now) {
  if (store_.take_refetch_request(config_.issuer_name)) refetch_pending_ = true;
  bool due = now >= next_due_;
  bool refetch_allowed = status_.last_attempt == 0 || now - status_.last_attempt >= config_.min_refetch_seconds;
  if (!due && !(refetch_pending_ && refetch_allowed)) {
    // A request arriving inside the rate limit is answered when the limit allows.
    if (refetch_pending_) return std::min(next_due_, status_.last_attempt + config_.min_refetch_seconds);
    return next_due_;
  }
  status_.last_attempt = now;
  refetch_pending_ = false;
  auto fail = [&](errc e) {
    status_.last_error = e;
    ++status_.consecutive_failures;
    next_due_ = now + backoff(status_.consecutive_failures);
    return next_due_;
  };
  auto doc = fetch_();
  if (!doc) return fail(doc.error());
  if (*doc != last_document_) {
    auto set = parse_jwks(*doc);
    if (!set) return fail(set.error());
    auto entries = key_entries(*set, config_.algorithms);
    if (!entries) return fail(entries.error());
    // An empty set would reject every token of the issuer: keep the last good one.
    if (entries->empty()) return fail(errc::no_usable_keys);
    std::size_t n = entries->size();
    if (errc e = store_.replace_keys(config_.issuer_name, std::move(*entries)); e != errc::ok) return fail(e);
    last_document_ = std::move(*doc);
    status_.keys = n;
    ++status_.publishes;
  }
  status_.last_error = errc::ok;
  status_.consecutive_failures = 0;
  status_.last_success = now;
  next_due_ = now + config_.refresh_seconds;
  return next_due_;
}

jwks_fetch file_fetch(std::string path, std::size_t max_bytes) {
  return [path = std::move(path), max_bytes]() -> std::expected<std::string, errc> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::unexpected(errc::io_error);
    std::string text;
    char buf[8192];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      text.append(buf, static_cast<std::size_t>(in.gcount()));
      if (text.size() > max_bytes) return std::unexpected(errc::token_too_large);
    }
    if (in.bad()) return std::unexpected(errc::io_error);
    return text;
  };
}

}  // namespace tollgate::crypto
