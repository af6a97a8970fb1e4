// authz/cidr.h — IP addresses, CIDR ranges, compiled allowlists, the client address.
//
// Threading: ip_allowlist is immutable once built; its const members may be called
// from any number of threads at once. parse_ip, parse_cidr, ip_allowlist::contains
// and client_address never allocate, lock, throw or block (parsing uses
// inet_pton on a stack copy: libc, no syscall). Building a list allocates (setup and
// management API only).
//
// Addresses are engine::ip_address: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) with
// is_v4 set, and so is an IPv6 literal in ::ffff:0:0/96 ("::ffff:192.0.2.1" and
// "192.0.2.1" are the same address). An IPv4 range a.b.c.d/n is stored as the mapped
// range /(96+n), so it matches IPv4 peers whichever way the socket reported them.
// Consequence: an IPv6 range that contains ::ffff:0:0/96 ("::/0") contains every IPv4
// address too.
//
// Strictness: addresses follow inet_pton (dotted quad with exactly four decimal parts,
// no leading zeros; IPv6 per RFC 4291 including "::" and a trailing dotted quad; no
// zone "%eth0", no brackets, no port). A prefix length is decimal without sign or
// leading zeros, 0-32 for IPv4 and 0-128 for IPv6. A range whose host bits (beyond
// the prefix) are not zero is REJECTED (host_bits_set) rather than masked: writing
// 192.0.2.7/24 is almost always a typo for /32 or for 192.0.2.0/24, and silently
// widening an allowlist to 256 addresses is the worse failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"

namespace tollgate::authz {

enum class cidr_errc : std::uint8_t {
  ok = 0,
  empty_entry,        // an empty element in a list ("a,,b", "a,")
  bad_address,        // not an IPv4 or IPv6 address as inet_pton reads them
  bad_prefix,         // prefix length missing, not decimal, or out of range
  host_bits_set,      // bits set beyond the prefix ("10.0.0.1/8")
  bad_forwarded_for,  // X-Forwarded-For element is not an address (client_address)
};

// message_of returns a short English description of `e`.
std::string_view message_of(cidr_errc e);

// parse_ip parses one IPv4 or IPv6 address (no prefix). Never allocates.
std::expected<engine::ip_address, cidr_errc> parse_ip(std::string_view text) noexcept;

// cidr_range is a network: the address with host bits zero, and the prefix length in
// the 128-bit (IPv4-mapped) space; is_v4 says it was written as IPv4.
struct cidr_range {
  engine::ip_address network;
  std::uint8_t prefix = 0;  // 0-128; an IPv4 /n is 96+n
  friend bool operator==(const cidr_range&, const cidr_range&) = default;

  // contains answers whether `a` lies in the range.
  bool contains(const engine::ip_address& a) const noexcept;
};

// parse_cidr parses "addr" (a single host: /32 or /128) or "addr/len". Surrounding
// whitespace is not accepted here (lists trim it). Never allocates.
std::expected<cidr_range, cidr_errc> parse_cidr(std::string_view text) noexcept;

// Addresses are formatted with engine::ip_address::to_string (dotted quad for IPv4,
// RFC 5952 for IPv6); parse_ip of its result gives the address back.
// format_cidr writes "addr/len" (IPv4 ranges with their IPv4 length), or just "addr"
// for a single host. parse_cidr of the result gives `r` back.
std::string format_cidr(const cidr_range& r);

// list_error says which element of a list was refused and why.
struct list_error {
  cidr_errc code = cidr_errc::ok;
  std::size_t index = 0;  // element number, from 0, in the array or the split string
};

// ip_allowlist is a compiled list of ranges. An empty list allows nothing.
class ip_allowlist {
 public:
  ip_allowlist() = default;

  // from_strings compiles an array of addresses and ranges (the JSON array form of
  // `allowed_ips`, or `trusted_proxies`). Elements are trimmed of spaces and tabs.
  [[gnu::cold]] static std::expected<ip_allowlist, list_error> from_strings(
      std::span<const std::string> entries);
  [[gnu::cold]] static std::expected<ip_allowlist, list_error> from_strings(
      std::span<const std::string_view> entries);
  // from_comma_list compiles "10.0.0.0/8, 2001:db8::/32". A blank string is the
  // empty list; otherwise every element must be non-empty after trimming.
  [[gnu::cold]] static std::expected<ip_allowlist, list_error> from_comma_list(
      std::string_view text);

  // contains answers whether `a` lies in any range: one masked 128-bit compare per
  // range, in list order (lists are short; ~1 ns per range). Never allocates.
  bool contains(const engine::ip_address& a) const noexcept;

  bool empty() const { return ranges_.empty(); }
  std::span<const cidr_range> ranges() const { return ranges_; }
  // to_strings gives the canonical text of each range (format_cidr), for answering
  // `allowed_ips` as an array.
  std::vector<std::string> to_strings() const;

 private:
  struct compiled {  // network and mask as two native 64-bit words each
    std::uint64_t net[2];
    std::uint64_t mask[2];
  };
  void add(const cidr_range& r);

  std::vector<cidr_range> ranges_;
  std::vector<compiled> compiled_;
};

// client_address applies DESIGN.md's rule: the peer, unless the peer is in `trusted`;
// then the rightmost X-Forwarded-For element that is not in `trusted` (elements that
// are trusted proxies are skipped from the right). When every element is trusted, or
// the header is empty, the leftmost trusted hop reached is the answer (for an empty
// header: the peer). `xff` is the field value; with several X-Forwarded-For header
// lines, pass them joined with ",". Empty list elements and optional whitespace are
// skipped (RFC 9110 list syntax).
// Fails with bad_forwarded_for when an element that must be read (one reached while
// walking left over trusted hops) is not a bare address — ports, brackets, "unknown"
// and obfuscated identifiers included. Callers should answer 400: guessing would hand
// the request a trusted proxy's address, which an allowlist might accept.
// Never allocates.
std::expected<engine::ip_address, cidr_errc> client_address(const engine::ip_address& peer,
                                                            std::string_view xff,
                                                            const ip_allowlist& trusted) noexcept;

}  // namespace tollgate::authz
