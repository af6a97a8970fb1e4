// fuzz/cidr.cc — authz/cidr.h: lists, ranges, addresses and the client-address rule.
// Invariants: format -> parse round-trips every parsed range and address; contains()
// agrees with a bit-by-bit reference; client_address agrees with a reference walk.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "authz/cidr.h"

using namespace tollgate;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    __builtin_trap();
  }
}

bool reference_contains(const authz::cidr_range& r, const engine::ip_address& a) {
  for (int bit = 0; bit < r.prefix; ++bit) {
    const int byte = bit / 8, shift = 7 - bit % 8;
    if (((r.network.bytes[byte] >> shift) & 1) != ((a.bytes[byte] >> shift) & 1)) return false;
  }
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

// reference_client walks the split elements from the right, as DESIGN.md words it.
std::expected<engine::ip_address, authz::cidr_errc> reference_client(
    const engine::ip_address& peer, const std::string& xff, const authz::ip_allowlist& trusted) {
  if (!trusted.contains(peer)) return peer;
  std::vector<std::string> elements;
  std::string cur;
  for (char c : xff) {
    if (c == ',') { elements.push_back(cur); cur.clear(); } else cur += c;
  }
  elements.push_back(cur);
  engine::ip_address hop = peer;
  for (auto it = elements.rbegin(); it != elements.rend(); ++it) {
    const std::string e = trim(*it);
    if (e.empty()) continue;
    const auto a = authz::parse_ip(e);
    if (!a) return std::unexpected(authz::cidr_errc::bad_forwarded_for);
    if (!trusted.contains(*a)) return *a;
    hop = *a;
  }
  return hop;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  if (const auto a = authz::parse_ip(text)) {
    check(authz::parse_ip(a->to_string()) == a, "parse_ip(a.to_string()) == a");
  }
  if (const auto r = authz::parse_cidr(text)) {
    check(authz::parse_cidr(authz::format_cidr(*r)) == r, "parse_cidr(format_cidr(r)) == r");
  }

  const auto list = authz::ip_allowlist::from_comma_list(text);
  // Probe addresses: the last 16 input bytes, each range's network, and its neighbour.
  std::vector<engine::ip_address> probes(1);
  std::memcpy(probes[0].bytes.data(), data + (size > 16 ? size - 16 : 0), size < 16 ? size : 16);
  if (list) {
    std::string joined;
    for (const auto& s : list->to_strings()) joined += (joined.empty() ? "" : ",") + s;
    const auto again = authz::ip_allowlist::from_comma_list(joined);
    check(again.has_value(), "canonical list parses");
    check(again->ranges().size() == list->ranges().size(), "same number of ranges");
    for (std::size_t i = 0; i < list->ranges().size(); ++i)
      check(again->ranges()[i] == list->ranges()[i], "ranges round-trip");
    for (const auto& r : list->ranges()) {
      probes.push_back(r.network);
      engine::ip_address n = r.network;
      n.bytes[15] ^= 1;
      probes.push_back(n);
    }
    for (const auto& p : probes) {
      bool any = false;
      for (const auto& r : list->ranges()) {
        const bool ref = reference_contains(r, p);
        check(r.contains(p) == ref, "cidr_range::contains agrees with the reference");
        any |= ref;
      }
      check(list->contains(p) == any, "ip_allowlist::contains agrees with the reference");
    }
  }

  // client_address over the input as a header, with a fixed and a fuzzed trust list.
  const auto fixed = authz::ip_allowlist::from_comma_list("127.0.0.0/8, ::1, 10.0.0.0/8");
  for (const auto* trusted : {&*fixed, list ? &*list : &*fixed}) {
    for (const auto& peer : {*authz::parse_ip("127.0.0.1"), probes[0]}) {
      const auto got = authz::client_address(peer, text, *trusted);
      check(got == reference_client(peer, text, *trusted), "client_address agrees with the reference");
    }
  }
  return 0;
}
