#include "authz/cidr.h"

#include <arpa/inet.h>

#include <cstring>

namespace tollgate::authz {
namespace {

// The longest text inet_pton can accept for AF_INET6 is 45 characters.
constexpr std::size_t max_address_text = 45;
constexpr std::uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_mapped(const std::uint8_t* b) { return std::memcmp(b, mapped_prefix, 12) == 0; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// mask_words builds the 128-bit mask of a prefix as two native-order words laid out
// like the address bytes, so a masked compare is two ANDs and two compares.
void mask_words(std::uint8_t prefix, std::uint64_t out[2]) {
  std::uint8_t bytes[16] = {};
  for (int i = 0; i < 16; ++i) {
    const int bits = prefix - 8 * i;
    bytes[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<std::uint8_t>(0xff << (8 - bits));
  }
  std::memcpy(out, bytes, 16);
}

void address_words(const engine::ip_address& a, std::uint64_t out[2]) {
  std::memcpy(out, a.bytes.data(), 16);
}

bool masked_equal(const std::uint64_t addr[2], const std::uint64_t net[2],
                  const std::uint64_t mask[2]) {
  return ((addr[0] & mask[0]) == net[0]) & ((addr[1] & mask[1]) == net[1]);
}

template <typename String>
std::expected<ip_allowlist, list_error> compile_list(std::span<const String> entries) {
  std::vector<std::string_view> views;
  views.reserve(entries.size());
  for (const auto& e : entries) views.emplace_back(e);
  return ip_allowlist::from_strings(std::span<const std::string_view>(views));
}

}  // namespace

std::string_view message_of(cidr_errc e) {
  switch (e) {
    case cidr_errc::ok: return "ok";
    case cidr_errc::empty_entry: return "empty element in the address list";
    case cidr_errc::bad_address: return "not an IPv4 or IPv6 address";
    case cidr_errc::bad_prefix: return "prefix length must be 0-32 for IPv4 and 0-128 for IPv6";
    case cidr_errc::host_bits_set: return "address has bits set beyond the prefix length";
    case cidr_errc::bad_forwarded_for: return "X-Forwarded-For holds an element that is not an IP address";
  }
  return "unknown address error";
}

std::expected<engine::ip_address, cidr_errc> parse_ip(std::string_view text) noexcept {
  // inet_pton reads a C string: a NUL inside the view would cut it short.
  if (text.empty() || text.size() > max_address_text ||
      text.find('\0') != std::string_view::npos)
    return std::unexpected(cidr_errc::bad_address);
  char buf[max_address_text + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  engine::ip_address a;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, a.bytes.data() + 12) != 1)
      return std::unexpected(cidr_errc::bad_address);
    std::memcpy(a.bytes.data(), mapped_prefix, 12);
  } else if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) {
    return std::unexpected(cidr_errc::bad_address);
  }
  a.is_v4 = is_mapped(a.bytes.data());
  return a;
}

bool cidr_range::contains(const engine::ip_address& a) const noexcept {
  std::uint64_t addr[2], net[2], mask[2];
  address_words(a, addr);
  address_words(network, net);
  mask_words(prefix, mask);
  return masked_equal(addr, net, mask);
}

std::expected<cidr_range, cidr_errc> parse_cidr(std::string_view text) noexcept {
  const auto slash = text.find('/');
  const auto addr = parse_ip(text.substr(0, slash));
  if (!addr) return std::unexpected(addr.error());
  // The length counts in the family the address was written in: "::ffff:10.0.0.0/104"
  // and "10.0.0.0/8" are the same range.
  const bool written_v6 = text.substr(0, slash).find(':') != std::string_view::npos;
  const unsigned max_len = written_v6 ? 128 : 32;
  unsigned len = max_len;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0'))
      return std::unexpected(cidr_errc::bad_prefix);
    len = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::unexpected(cidr_errc::bad_prefix);
      len = len * 10 + static_cast<unsigned>(c - '0');
    }
    if (len > max_len) return std::unexpected(cidr_errc::bad_prefix);
  }
  cidr_range r{*addr, static_cast<std::uint8_t>(written_v6 ? len : 96 + len)};
  // A range is IPv4 only when it lies inside the mapped block ("::ffff:0:0/95" does not).
  r.network.is_v4 = addr->is_v4 && r.prefix >= 96;
  std::uint64_t words[2], mask[2];
  address_words(r.network, words);
  mask_words(r.prefix, mask);
  if ((words[0] & ~mask[0]) != 0 || (words[1] & ~mask[1]) != 0)
    return std::unexpected(cidr_errc::host_bits_set);
  return r;
}

std::string format_cidr(const cidr_range& r) {
  std::string out = r.network.to_string();
  if (r.prefix != 128) {
    out += '/';
    out += std::to_string(r.network.is_v4 ? r.prefix - 96 : r.prefix);
  }
  return out;
}

void ip_allowlist::add(const cidr_range& r) {
  ranges_.push_back(r);
  compiled c;
  address_words(r.network, c.net);
  mask_words(r.prefix, c.mask);
  compiled_.push_back(c);
}

std::expected<ip_allowlist, list_error> ip_allowlist::from_strings(
    std::span<const std::string_view> entries) {
  ip_allowlist list;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string_view e = trim(entries[i]);
    if (e.empty()) return std::unexpected(list_error{cidr_errc::empty_entry, i});
    const auto r = parse_cidr(e);
    if (!r) return std::unexpected(list_error{r.error(), i});
    list.add(*r);
  }
  return list;
}

std::expected<ip_allowlist, list_error> ip_allowlist::from_strings(
    std::span<const std::string> entries) {
  return compile_list(entries);
}

std::expected<ip_allowlist, list_error> ip_allowlist::from_comma_list(std::string_view text) {
  if (trim(text).empty()) return ip_allowlist{};
  std::vector<std::string_view> parts;
  for (;;) {
    const auto comma = text.find(',');
    parts.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return from_strings(std::span<const std::string_view>(parts));
}

bool ip_allowlist::contains(const engine::ip_address& a) const noexcept {
  std::uint64_t addr[2];
  address_words(a, addr);
  for (const compiled& c : compiled_)
    if (masked_equal(addr, c.net, c.mask)) return true;
  return false;
}

std::vector<std::string> ip_allowlist::to_strings() const {
  std::vector<std::string> out;
  out.reserve(ranges_.size());
  for (const auto& r : ranges_) out.push_back(format_cidr(r));
  return out;
}

std::expected<engine::ip_address, cidr_errc> client_address(const engine::ip_address& peer,
                                                            std::string_view xff,
                                                            const ip_allowlist& trusted) noexcept {
  if (!trusted.contains(peer)) return peer;
  engine::ip_address hop = peer;
  // Walk from the right: each trusted hop vouches for the element to its left.
  while (!xff.empty()) {
    const auto comma = xff.rfind(',');
    const std::string_view element =
        trim(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
    xff = comma == std::string_view::npos ? std::string_view() : xff.substr(0, comma);
    if (element.empty()) continue;
    const auto a = parse_ip(element);
    if (!a) return std::unexpected(cidr_errc::bad_forwarded_for);
    if (!trusted.contains(*a)) return *a;
    hop = *a;
  }
  return hop;
}

}  // namespace tollgate::authz
