// fuzz/permissions.cc — authz/permissions.h.
// Input: grants separated by ' ', then '\n', then requested names separated by ' '.
// Invariants: check() agrees with a simple reference matcher over split segments
// (and never grants an invalid or wildcard name); covers() is sound: when it says a
// pattern is covered, every instance of the pattern (each '*' replaced by fresh
// literals, a trailing '*' also by two segments) is granted by check().
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "authz/permissions.h"

using namespace tollgate::authz;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    __builtin_trap();
  }
}

std::vector<std::string> split(std::string_view s, char by) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == by) {
      if (i > start) out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

struct parsed {
  std::vector<std::string> segs;
  std::vector<char> seps;  // seps[i] follows segs[i]
};

parsed parse(std::string_view s) {
  parsed p;
  std::string cur;
  for (char c : s) {
    if (c == '.' || c == ':') {
      p.segs.push_back(cur);
      p.seps.push_back(c);
      cur.clear();
    } else {
      cur += c;
    }
  }
  p.segs.push_back(cur);
  return p;
}

// reference_match: grant g (valid) against concrete valid name r, straight from the
// grammar's wording.
bool reference_match(std::string_view g, std::string_view r) {
  const parsed G = parse(g), R = parse(r);
  const std::size_t m = G.segs.size(), n = R.segs.size();
  const bool trailing = G.segs.back() == "*";
  if (trailing ? n < m : n != m) return false;
  for (std::size_t i = 0; i < m; ++i) {
    if (trailing && i == m - 1) break;  // the rest: one or more segments, any separators
    if (G.segs[i] != "*" && G.segs[i] != R.segs[i]) return false;
    if (i + 1 < m && G.seps[i] != R.seps[i]) return false;
  }
  return true;
}

// instances of a pattern: each '*' replaced by a literal that appears in no grant.
std::vector<std::string> instances(std::string_view p) {
  const parsed P = parse(p);
  std::vector<std::string> out(1);
  for (std::size_t i = 0; i < P.segs.size(); ++i) {
    const bool last = i + 1 == P.segs.size();
    std::vector<std::string> next;
    for (const auto& prefix : out) {
      if (P.segs[i] != "*") {
        next.push_back(prefix + P.segs[i]);
      } else if (last) {
        next.push_back(prefix + "Zq9");
        next.push_back(prefix + "Zq9.Zq8");
        next.push_back(prefix + "Zq9:Zq8");
      } else {
        next.push_back(prefix + "Zq9");
      }
    }
    out = std::move(next);
    if (!last)
      for (auto& s : out) s += P.seps[i];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto nl = in.find('\n');
  if (nl == std::string_view::npos) return 0;
  const auto grant_texts = split(in.substr(0, nl), ' ');
  const auto requests = split(in.substr(nl + 1), ' ');
  if (grant_texts.size() > 16 || requests.size() > 16) return 0;

  std::vector<grant> grants;
  for (const auto& g : grant_texts) grants.push_back({g, "role:fuzz"});
  const auto set = permission_set::compile(grants);
  if (!set) {
    check(!validate_permission(grant_texts[set.error().index]).has_value(),
          "compile refuses only invalid grants");
    return 0;
  }
  for (const auto& r : requests) {
    const auto kind = validate_permission(r);
    bool want = false;
    if (kind && *kind == name_kind::concrete)
      for (const auto& g : grant_texts) want |= reference_match(g, r);
    check(set->check(r).granted == want, "check agrees with the reference");

    if (set->covers(r)) {
      check(kind.has_value(), "covers only valid names");
      for (const auto& inst : instances(r)) {
        // Filling the wildcards can push an instance past max_permission_bytes: such
        // a name is invalid, so no grant could cover it.
        if (validate_permission(inst) != name_kind::concrete) continue;
        check(set->check(inst).granted, "covers is sound");
      }
    }
  }
  return 0;
}
