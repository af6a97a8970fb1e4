// crypto/jwks_source.h — keeps one external issuer's key set fresh in a trust_store.
//
// Threading: a jwks_source is driven by ONE thread at a time: the api layer calls
// poll() from the offload pool (never from a shard: poll() may block reading a file
// or, for URL sources, on the network). It publishes through
// trust_store::replace_keys(), which shards pick up without locks. Shards ask for an
// early refetch (unknown kid) through trust_store::take_refetch_request(), which
// poll() consumes: at most one refetch per min_refetch_seconds per issuer, whatever
// the number of shards or requests.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "crypto/errc.h"
#include "crypto/jws.h"
#include "http_client/http_client.h"

namespace tollgate::crypto {

struct jwks_source_config {
  std::string issuer_name;            // the trust_store issuer whose keys this replaces
  alg_set algorithms = 0;             // keys that can verify none of these are dropped
  std::int64_t refresh_seconds = 300;
  std::int64_t min_refetch_seconds = 30;  // rate limit of unknown-kid refetches
  std::int64_t backoff_initial_seconds = 1;
  std::int64_t backoff_max_seconds = 300;
  std::size_t max_document_bytes = 1 << 20;
};

struct jwks_status {
  std::int64_t last_success = 0;   // 0 = never
  std::int64_t last_attempt = 0;
  errc last_error = errc::ok;
  std::size_t consecutive_failures = 0;
  std::size_t keys = 0;            // keys in the published set
  std::uint64_t publishes = 0;
};

// jwks_fetch returns the JWKS document text, or an errc (errc::io_error for I/O).
using jwks_fetch = std::function<std::expected<std::string, errc>()>;

class jwks_source {
 public:
  // |fetch| is called by poll() only. The source does not fetch in the constructor:
  // call poll() once at startup (and fail startup if status().last_success is 0 and
  // the issuer is required).
  jwks_source(trust_store& store, jwks_source_config config, jwks_fetch fetch);

  // poll fetches when due: first call, refresh interval elapsed (or, after a failure,
  // the jittered exponential backoff elapsed), or an unknown-kid request is pending
  // and min_refetch_seconds have passed since the last fetch. On success with a
  // changed document it publishes the new key set; on any failure the last good set
  // stays published. Returns the time poll() wants to run next. May block.
  std::int64_t poll(std::int64_t now);

  const jwks_status& status() const noexcept { return status_; }

 private:
  std::int64_t backoff(std::size_t failures) const;

  trust_store& store_;
  jwks_source_config config_;
  jwks_fetch fetch_;
  jwks_status status_;
  std::string last_document_;
  std::int64_t next_due_ = 0;
  bool refetch_pending_ = false;  // asked inside the rate limit: honoured when it allows
};

// file_fetch reads |path| (at most |max_bytes|, else errc::token_too_large).
jwks_fetch file_fetch(std::string path, std::size_t max_bytes = 1 << 20);

// url_fetch GETs an http:// or https:// URL through http_client (http_client.h: one
// connection per fetch, identity or chunked body, the whole exchange bounded by
// |timeout_ms|); only a 200 with at most |max_bytes| of body counts. https verifies the
// server certificate against |ca_file|, read once here, and the URL's host. Failures
// are errc::io_error (bad URL, unreadable CA file, connect, TLS, timeout, status) or
// errc::token_too_large. The returned function blocks: offload pool only.
jwks_fetch url_fetch(std::string url, int timeout_ms = 5000, std::size_t max_bytes = 1 << 20,
                     std::string ca_file = std::string(http_client::system_ca_file));

}  // namespace tollgate::crypto
