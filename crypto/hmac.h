// crypto/hmac.h — PRIVATE to crypto/: HMAC with precomputed inner and outer hash
// states, shared by HS* verification, the HS* signer and API key hashing.
//
// Why not HMAC_Init_ex per call: keying HMAC hashes two key blocks (two compression
// function calls, ~40% of HMAC-SHA256 over a 300-byte token). Keying once and copying
// the two SHA states per message removes them; copying a plain SHA*_CTX struct is
// cheaper than HMAC_CTX_copy_ex (which goes through EVP_MD_CTX_copy_ex).
// bench/crypto_bench.cc BM_HmacShaStateCopy vs BM_HmacCtxCopy measures it. For
// SHA-256 only the 32-byte states are copied and the blocks padded here
// (compute_sha256).
//
// Threading: an hmac_key is immutable after construction; compute() is const and
// may run on any number of threads at once.
#pragma once

#include <openssl/mem.h>
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace tollgate::crypto::detail {

struct sha256_traits {
  using ctx = SHA256_CTX;
  static constexpr std::size_t block = SHA256_CBLOCK, out = SHA256_DIGEST_LENGTH;
  // BoringSSL exposes SHA-256's block function on a bare state, so hmac_key finishes
  // SHA-256 itself (see hmac_key::compute_sha256).
  static constexpr bool bare_blocks = true;
  static void init(ctx* c) noexcept { SHA256_Init(c); }
  static void update(ctx* c, const void* p, std::size_t n) noexcept { SHA256_Update(c, p, n); }
  static void final(std::uint8_t* o, ctx* c) noexcept { SHA256_Final(o, c); }
  static void hash(const void* p, std::size_t n, std::uint8_t* o) noexcept {
    SHA256(static_cast<const std::uint8_t*>(p), n, o);
  }
};
struct sha384_traits {
  using ctx = SHA512_CTX;
  static constexpr bool bare_blocks = false;
  static constexpr std::size_t block = SHA384_CBLOCK, out = SHA384_DIGEST_LENGTH;
  static void init(ctx* c) noexcept { SHA384_Init(c); }
  static void update(ctx* c, const void* p, std::size_t n) noexcept { SHA384_Update(c, p, n); }
  static void final(std::uint8_t* o, ctx* c) noexcept { SHA384_Final(o, c); }
  static void hash(const void* p, std::size_t n, std::uint8_t* o) noexcept {
    SHA384(static_cast<const std::uint8_t*>(p), n, o);
  }
};
struct sha512_traits {
  using ctx = SHA512_CTX;
  static constexpr bool bare_blocks = false;
  static constexpr std::size_t block = SHA512_CBLOCK, out = SHA512_DIGEST_LENGTH;
  static void init(ctx* c) noexcept { SHA512_Init(c); }
  static void update(ctx* c, const void* p, std::size_t n) noexcept { SHA512_Update(c, p, n); }
  static void final(std::uint8_t* o, ctx* c) noexcept { SHA512_Final(o, c); }
  static void hash(const void* p, std::size_t n, std::uint8_t* o) noexcept {
    SHA512(static_cast<const std::uint8_t*>(p), n, o);
  }
};

// hmac_key holds the hash states after absorbing key^ipad and key^opad (RFC 2104).
template <class H>
class hmac_key {
 public:
  static constexpr std::size_t out_size = H::out;

  explicit hmac_key(std::span<const std::uint8_t> key) noexcept {
    std::uint8_t k[H::block] = {};
    if (key.size() > H::block) {
      H::hash(key.data(), key.size(), k);
    } else if (!key.empty()) {
      std::memcpy(k, key.data(), key.size());
    }
    std::uint8_t pad[H::block];
    for (std::size_t i = 0; i < H::block; ++i) pad[i] = k[i] ^ 0x36;
    H::init(&inner_);
    H::update(&inner_, pad, H::block);
    for (std::size_t i = 0; i < H::block; ++i) pad[i] = k[i] ^ 0x5c;
    H::init(&outer_);
    H::update(&outer_, pad, H::block);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
  }
  ~hmac_key() {
    OPENSSL_cleanse(&inner_, sizeof inner_);
    OPENSSL_cleanse(&outer_, sizeof outer_);
  }
  hmac_key(const hmac_key&) = default;
  hmac_key& operator=(const hmac_key&) = default;

  // compute writes HMAC(key, msg) to |out| (out_size bytes).
  void compute(const void* msg, std::size_t len, std::uint8_t* out) const noexcept {
    if constexpr (H::bare_blocks) {
      compute_sha256(static_cast<const std::uint8_t*>(msg), len, out);
    } else {
      typename H::ctx c = inner_;
      H::update(&c, msg, len);
      std::uint8_t ih[H::out];
      H::final(ih, &c);
      c = outer_;
      H::update(&c, ih, H::out);
      H::final(out, &c);
    }
  }

  // verify recomputes the MAC and compares it with |mac| in constant time; the length
  // must match exactly (no truncated MACs).
  bool verify(const void* msg, std::size_t len, std::span<const std::uint8_t> mac) const noexcept {
    if (mac.size() != H::out) return false;
    std::uint8_t expect[H::out];
    compute(msg, len, expect);
    return CRYPTO_memcmp(expect, mac.data(), H::out) == 0;
  }

 private:
  // compute_sha256 is compute() over SHA256_TransformBlocks (BoringSSL's SHA-NI, AVX2
  // or SSSE3 block function) with the Merkle-Damgard padding done here. Why not
  // SHA256_Update/SHA256_Final on copies of the contexts: those copy two 112-byte
  // SHA256_CTX per message, buffer the tail and the inner digest in them and make four
  // calls where two blocks runs do; for the ~265-byte signing input of an HS256 token
  // that was ~10 ns of ~270 (bench/crypto_bench.cc: BM_HmacShaStateCopy, this, vs
  // BM_HmacSha256UpdateFinal; tests/crypto/hmac_test.cc checks it against HMAC()
  // for every message length 0..300 and RFC 4231).
  void compute_sha256(const std::uint8_t* msg, std::size_t len, std::uint8_t* out) const noexcept {
    // inner_ and outer_ have absorbed exactly one block each: their h is the state.
    std::uint32_t s[8];
    std::memcpy(s, inner_.h, sizeof s);
    const std::size_t full = len / SHA256_CBLOCK, rest = len % SHA256_CBLOCK;
    if (full != 0) SHA256_TransformBlocks(s, msg, full);
    // The rest of the message, 0x80, zeros, and the bit length of the key block and
    // the message as a big-endian 64-bit number: one block, or two when the length
    // does not fit behind the rest.
    std::uint8_t last[2 * SHA256_CBLOCK];
    const std::size_t blocks = rest < SHA256_CBLOCK - 8 ? 1 : 2;
    std::memcpy(last, msg + full * SHA256_CBLOCK, rest);
    last[rest] = 0x80;
    std::memset(last + rest + 1, 0, blocks * SHA256_CBLOCK - 8 - rest - 1);
    put_be64(last + blocks * SHA256_CBLOCK - 8, (SHA256_CBLOCK + std::uint64_t{len}) * 8);
    SHA256_TransformBlocks(s, last, blocks);
    // Outer hash: the inner digest after the key^opad block, padded the same way.
    std::uint8_t o[SHA256_CBLOCK];
    for (int i = 0; i < 8; ++i) put_be32(o + 4 * i, s[i]);
    o[32] = 0x80;
    std::memset(o + 33, 0, SHA256_CBLOCK - 8 - 33);
    put_be64(o + SHA256_CBLOCK - 8, (SHA256_CBLOCK + 32) * 8);
    std::memcpy(s, outer_.h, sizeof s);
    SHA256_TransformBlocks(s, o, 1);
    for (int i = 0; i < 8; ++i) put_be32(out + 4 * i, s[i]);
  }
  static void put_be32(std::uint8_t* p, std::uint32_t v) noexcept {
    v = __builtin_bswap32(v);
    std::memcpy(p, &v, 4);
  }
  static void put_be64(std::uint8_t* p, std::uint64_t v) noexcept {
    v = __builtin_bswap64(v);
    std::memcpy(p, &v, 8);
  }

  typename H::ctx inner_;
  typename H::ctx outer_;
};

using hmac_sha256 = hmac_key<sha256_traits>;
using hmac_sha384 = hmac_key<sha384_traits>;
using hmac_sha512 = hmac_key<sha512_traits>;

}  // namespace tollgate::crypto::detail
