// crypto/jws.h — JWS compact parsing, JWT claims, and the verifier of the hot path.
//
// Threading: a `trust_store` is shared by every shard; its mutators (set_issuer,
// replace_keys, remove_issuer, reclaim) may be called from any thread, take a writer
// mutex and may block briefly — call them from startup code or the offload pool, never
// from a shard's loop. A `verifier` and a `verify_scratch` belong to ONE shard thread:
// verify() and quiescent() never block, never allocate (except inside BoringSSL's RSA
// code, see verify()), take no lock and make no syscall. Key sets are published as
// immutable snapshots through an atomic pointer; each verifier picks the newest one up
// at its next verify()/quiescent() and reports the version it has observed, and a
// retired snapshot is freed only once every registered verifier has observed a newer
// one (quiescent-state reclamation). `verify_key` objects are immutable and may be
// shared by any number of threads.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/errc.h"

struct ecdsa_sig_st;  // BoringSSL's ECDSA_SIG

namespace tollgate::crypto {

// alg is a JWS algorithm tollgate implements. "none" is not one of them.
enum class alg : std::uint8_t {
  hs256, hs384, hs512,
  rs256, rs384, rs512,
  ps256, ps384, ps512,
  es256, es384,
  eddsa,
};
inline constexpr std::size_t kAlgCount = 12;

// alg_set is a bit set of algs, bit i = alg i.
using alg_set = std::uint16_t;
constexpr alg_set alg_bit(alg a) noexcept { return static_cast<alg_set>(1u << static_cast<unsigned>(a)); }
inline constexpr alg_set kHmacAlgs = alg_bit(alg::hs256) | alg_bit(alg::hs384) | alg_bit(alg::hs512);
inline constexpr alg_set kRsaAlgs = alg_bit(alg::rs256) | alg_bit(alg::rs384) | alg_bit(alg::rs512) |
                                    alg_bit(alg::ps256) | alg_bit(alg::ps384) | alg_bit(alg::ps512);

// name_of returns the JWA name ("HS256", ..., "EdDSA").
std::string_view name_of(alg a) noexcept;
// parse_alg maps a JWA name to an alg: "none" yields errc::alg_none, anything else
// not implemented errc::alg_unknown. Names are case-sensitive (RFC 7515 §4.1.1).
std::expected<alg, errc> parse_alg(std::string_view name) noexcept;

// Hard limits that size the scratch buffers. A verifier's configured max_token_bytes
// must not exceed kMaxTokenBytes.
inline constexpr std::size_t kMaxTokenBytes = 16384;
inline constexpr std::size_t kMaxArrayEntries = 64;   // per array claim (aud, permissions, ...)
inline constexpr std::size_t kMaxCrit = 8;
inline constexpr std::size_t kMaxSignatureBytes = 1024;  // RSA-8192

// token_claims holds views of the claims tollgate understands. Every string_view and
// span points into the verify_scratch that produced it and is valid until that
// scratch is used again. Absent string claims are empty views with has_* false.
struct token_claims {
  std::string_view iss, sub, jti, sid, username, scope;
  std::int64_t exp = 0, nbf = 0, iat = 0;
  bool has_iss = false, has_sub = false, has_exp = false, has_nbf = false, has_iat = false;
  bool has_aud = false, has_scope = false, has_permissions = false;
  bool has_roles = false, has_groups = false, has_jti = false, has_sid = false, has_username = false;
  // aud as a one-element list when the token carries a string.
  std::span<const std::string_view> aud;
  // scopes: `scope` split on spaces (empty segments dropped).
  std::span<const std::string_view> scopes;
  std::span<const std::string_view> permissions, roles, groups;
};

// claim_arrays is the fixed storage token_claims' spans point into.
struct claim_arrays {
  std::array<std::string_view, kMaxArrayEntries> aud, scopes, permissions, roles, groups;
};

class verify_scratch;
class verifier;

// unverified_jws is a parsed but UNTRUSTED compact JWS: only what the verifier needs to
// select a key is exposed. Views point into the token and the scratch passed to
// parse_jws, and live as long as both.
class unverified_jws {
 public:
  alg algorithm() const noexcept { return alg_; }
  std::string_view kid() const noexcept { return kid_; }
  bool has_kid() const noexcept { return has_kid_; }
  std::string_view typ() const noexcept { return typ_; }
  // crit lists the names of the "crit" header (empty when absent).
  std::span<const std::string_view> crit() const noexcept { return crit_; }
  // signing_input is "<header b64>.<payload b64>", the bytes the signature covers.
  std::string_view signing_input() const noexcept { return signing_input_; }
  // The three base64url segments as they appear in the token.
  std::string_view header_segment() const noexcept { return header_b64_; }
  std::string_view payload_segment() const noexcept { return payload_b64_; }
  std::string_view signature_segment() const noexcept { return signature_b64_; }

 private:
  friend std::expected<unverified_jws, errc> parse_jws(std::string_view token,
                                                       std::size_t max_token_bytes,
                                                       verify_scratch& scratch) noexcept;
  friend class verifier;
  // Members are left uninitialised: parse() assigns every one when it succeeds (on
  // failure nobody reads them), so the verifier keeps one on its stack without a
  // 120-byte clear and without a copy out of a std::expected (GCC 12 made them `rep
  // stosq` and `rep movsl`, ~10 ns each on the AMD build machine).
  unverified_jws() = default;
  // parse is parse_jws() into *this.
  errc parse(std::string_view token, std::size_t max_token_bytes, verify_scratch& scratch) noexcept;
  // parse_header decodes header_b64_ into scratch.header_ and parses it.
  errc parse_header(verify_scratch& scratch) noexcept;
  alg alg_;
  bool has_kid_;
  std::string_view kid_, typ_, signing_input_, header_b64_, payload_b64_, signature_b64_;
  std::span<const std::string_view> crit_;
};

// parse_jws checks the size (errc::token_too_large above |max_token_bytes|, before any
// decoding), splits the compact form into three non-empty segments (errc::malformed),
// decodes the header (errc::bad_base64) and parses it as strict JSON (errc::bad_json,
// errc::duplicate_claim, errc::wrong_claim_type), requiring "alg" (errc::alg_none for
// "none", errc::alg_unknown otherwise). An empty signature segment is errc::malformed:
// unsecured JWS are never accepted. Never blocks, never allocates.
std::expected<unverified_jws, errc> parse_jws(std::string_view token, std::size_t max_token_bytes,
                                              verify_scratch& scratch) noexcept;

// verify_key is a public key or HMAC secret turned, once, into a ready verification
// context: precomputed HMAC inner/outer states, a parsed RSA/EC key with its group
// order, or an Ed25519 point. Each key is bound to the algorithms its type allows
// (oct: HS*; RSA: RS*/PS*; P-256: ES256; P-384: ES384; Ed25519: EdDSA), narrowed to one
// alg when its JWK names one — so an RSA key can never be used as an HMAC secret.
// Defined privately in crypto/verify_key.h; build one with make_hmac_key() or
// make_verify_key() of crypto/jwk.h.
class verify_key;
using verify_key_ptr = std::shared_ptr<const verify_key>;

// make_hmac_key builds an HMAC verification key from |secret| for the algorithms in
// |algs| (a subset of kHmacAlgs; each requires a secret at least as long as its hash
// output, errc::bad_key otherwise). Cold path.
[[gnu::cold]] std::expected<verify_key_ptr, errc> make_hmac_key(std::span<const std::uint8_t> secret,
                                                                alg_set algs = kHmacAlgs);
// permitted_algs returns the algorithms |key| may verify.
alg_set permitted_algs(const verify_key& key) noexcept;

// key_entry is one key of an issuer's key set.
struct key_entry {
  std::string kid;  // may be empty: then only tokens without kid select it
  verify_key_ptr key;
};

// issuer_config describes one trusted issuer.
struct issuer_config {
  std::string name;                    // configuration name ("corp-idp", "tollgate")
  std::string issuer;                  // exact "iss" value the tokens carry
  std::vector<std::string> audiences;  // empty: aud neither required nor checked
  alg_set algorithms = 0;              // allowlist; 0 accepts nothing
  std::int64_t leeway_seconds = 30;    // for exp, nbf and iat
  bool require_sub = true;
};

namespace detail {
struct snapshot;
struct shard_slot;
}  // namespace detail

// trust_store holds every trusted issuer and its keys, published to the verifiers of
// all shards. It must outlive every verifier registered with it.
class trust_store {
 public:
  trust_store();
  ~trust_store();
  trust_store(const trust_store&) = delete;
  trust_store& operator=(const trust_store&) = delete;

  // set_issuer adds the issuer, or replaces config and keys of the one with the same
  // name, and publishes. May block (writer mutex); allocates.
  [[gnu::cold]] void set_issuer(issuer_config config, std::vector<key_entry> keys);
  // replace_keys swaps only the key set of issuer |name| (JWKS refresh, key rotation);
  // errc::unknown_issuer if there is none. Tokens signed by keys in the old set stop
  // verifying on a shard as soon as it picks the new snapshot up.
  [[gnu::cold]] errc replace_keys(std::string_view name, std::vector<key_entry> keys);
  [[gnu::cold]] void remove_issuer(std::string_view name);
  // take_refetch_request returns true (once) when a verifier saw an unknown kid for
  // issuer |name| since the last call: the JWKS source rate-limits refetches on it.
  bool take_refetch_request(std::string_view name);
  // reclaim frees retired snapshots that every verifier has moved past; publishes call
  // it too. Returns how many retired snapshots are still held.
  std::size_t reclaim();
  // version counts publishes; verifiers report the version they have observed.
  std::uint64_t version() const noexcept;

 private:
  friend class verifier;
  [[gnu::cold]] void publish_locked(std::unique_ptr<detail::snapshot> next);
  std::size_t reclaim_locked();

  std::atomic<const detail::snapshot*> current_;
  mutable std::mutex mu_;  // writers and (un)registration only; never taken by verify()
  std::unique_ptr<const detail::snapshot> owned_current_;
  std::vector<std::unique_ptr<const detail::snapshot>> retired_;
  std::vector<std::unique_ptr<detail::shard_slot>> slots_;
  std::uint64_t next_version_ = 1;
};

// verify_scratch is the per-shard working memory of verification: fixed buffers for
// the decoded header, payload and signature, the claim views, a memo of the last
// header segment and what it parsed to, and a preallocated ECDSA_SIG. Construct one per shard at startup (it allocates once); reuse it for every
// request. About 30 KiB.
// WARNING: every view a verify() or parse_jws() returns points into this object and
// is invalidated by its next use.
class verify_scratch {
 public:
  [[gnu::cold]] verify_scratch();
  ~verify_scratch();
  verify_scratch(const verify_scratch&) = delete;
  verify_scratch& operator=(const verify_scratch&) = delete;

  // claims of the last token whose payload was parsed (verified or not: only a
  // verified_claims says the token is trusted).
  const token_claims& last_claims() const noexcept { return claims_; }
  // failed_issuer names the configured issuer matched by the last failed verify()
  // (empty when the failure came before issuer lookup). Lets the api layer route an
  // errc::unknown_kid to the right JWKS source without parsing the token again.
  std::string_view failed_issuer() const noexcept { return failed_issuer_; }

 private:
  friend class verifier;
  friend class verify_key;
  friend class unverified_jws;
  // +1: the JSON scanner's '\0' sentinel after the decoded bytes.
  alignas(64) std::array<char, kMaxTokenBytes / 4 * 3 + 1> header_;
  alignas(64) std::array<char, kMaxTokenBytes / 4 * 3 + 1> payload_;
  alignas(64) std::array<std::uint8_t, kMaxSignatureBytes> signature_;
  std::array<std::string_view, kMaxCrit> crit_;
  // The last header segment that parsed and what it parsed to (kid, typ and crit
  // point into header_, which holds its decoded bytes). Tokens signed by one key carry
  // the same header, so unverified_jws::parse compares the segment with this one and
  // reuses the result instead of decoding and parsing it again: the same bytes give
  // the same result. memo_size_ == 0 means none (a header segment is never empty);
  // longer segments are not kept.
  static constexpr std::size_t kMemoHeaderBytes = 256;
  std::array<char, kMemoHeaderBytes> memo_segment_;
  std::size_t memo_size_ = 0;
  alg memo_alg_;
  bool memo_has_kid_;
  std::string_view memo_kid_, memo_typ_;
  std::size_t memo_ncrit_;
  token_claims claims_;
  claim_arrays arrays_;
  std::string_view failed_issuer_;
  ecdsa_sig_st* ecdsa_sig_ = nullptr;
};

// verified_claims is proof that verify() accepted a token: only a verifier makes one.
// WARNING: it refers into the verify_scratch and the trust snapshot of the call; it is
// valid until the same scratch is used again or the verifier's next verify()/
// quiescent() call, whichever comes first. Copy out what must live longer.
class verified_claims {
 public:
  const token_claims& claims() const noexcept { return *claims_; }
  alg algorithm() const noexcept { return alg_; }
  std::string_view kid() const noexcept { return kid_; }
  // issuer_name is the configuration name of the issuer (issuer_config::name).
  std::string_view issuer_name() const noexcept { return issuer_name_; }

 private:
  friend class verifier;
  verified_claims(const token_claims* c, alg a, std::string_view kid, std::string_view issuer_name) noexcept
      : claims_(c), alg_(a), kid_(kid), issuer_name_(issuer_name) {}
  const token_claims* claims_;
  alg alg_;
  std::string_view kid_;
  std::string_view issuer_name_;
};

// verifier is one shard's handle on a trust_store.
class verifier {
 public:
  struct options {
    std::size_t max_token_bytes = 4096;  // clamped to kMaxTokenBytes
  };
  // Registers with |store| (takes its mutex: construct at shard startup, on the
  // shard's thread, which also sets up that thread's BoringSSL error queue so that
  // no verify() allocates it).
  [[gnu::cold]] verifier(trust_store& store, options opt);
  verifier(trust_store& store) : verifier(store, options{}) {}
  ~verifier();
  verifier(const verifier&) = delete;
  verifier& operator=(const verifier&) = delete;

  // verify checks |token| at time |now_seconds| (Unix seconds from the injected clock)
  // cheapest check first: size, JWS format and header (alg none, unknown alg, crit),
  // claims JSON, issuer by "iss", the issuer's alg allowlist, key by "kid" within that
  // issuer (no kid: the issuer's single key), the key's algorithm binding, exp
  // (required), nbf and iat with leeway, sub (when required), aud (when configured),
  // and last the signature. Every rejection has its own errc. Never blocks; no lock;
  // no allocation except inside BoringSSL's RSA verification (which builds a BN_CTX per
  // call — the verified-token cache above this layer amortises RS*/PS*).
  std::expected<verified_claims, errc> verify(std::string_view token, std::int64_t now_seconds,
                                              verify_scratch& scratch) noexcept;

  // quiescent tells the trust_store this shard holds no views from earlier verify()
  // calls; call it once per event-loop iteration so an idle shard never pins retired
  // key sets. Never blocks.
  void quiescent() noexcept;

 private:
  const detail::snapshot* pick_up() noexcept;
  trust_store& store_;
  options opt_;
  detail::shard_slot* slot_;
  const detail::snapshot* local_ = nullptr;
};

}  // namespace tollgate::crypto
