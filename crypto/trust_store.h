// crypto/trust_store.h — PRIVATE to crypto/: the immutable snapshot a trust_store
// publishes and the per-verifier slot of the quiescent-state reclamation.
//
// Threading: a snapshot is immutable once published and read by every shard without
// locks; shard_slot::observed is written by its verifier's thread only and read by
// writers under trust_store::mu_.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "crypto/jws.h"

namespace tollgate::crypto::detail {

struct issuer_entry {
  issuer_config config;
  std::vector<key_entry> keys;
  // Shared by every snapshot that carries this issuer, so an unknown-kid request
  // survives republishing. Set by any shard (relaxed), taken by the JWKS source.
  std::shared_ptr<std::atomic<bool>> refetch_wanted;
};

struct snapshot {
  std::uint64_t version = 0;
  // shared_ptr: a publish that changes one issuer shares the others with the previous
  // snapshot. Only writers touch the reference counts.
  std::vector<std::shared_ptr<const issuer_entry>> issuers;
};

struct shard_slot {
  // Version of the newest snapshot this verifier has switched to; it no longer
  // touches any older one. 0 = has not looked yet (pins everything).
  alignas(64) std::atomic<std::uint64_t> observed{0};
};

}  // namespace tollgate::crypto::detail
