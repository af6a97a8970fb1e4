// fuzz/forward_path.cc — codec/path.h and the forward rule matcher.
// Invariants: a normalised path starts with '/', has no "//" and no "." or ".."
// segment, keeps only escapes of reserved bytes (upper-case hex, never / or \), is no
// longer than the input, and normalising it again gives it back. A rule "/**" matches
// every normalised path, and a rule spelled as the path itself matches it.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "authz/forward_rules.h"
#include "codec/path.h"

using namespace tollgate;

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    __builtin_trap();
  }
}
bool is_upper_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<char> out(size);
  const auto p = codec::normalise_path(in, out);
  if (!p) return 0;
  const std::string path(*p);
  check(!path.empty() && path[0] == '/', "starts with '/'");
  check(path.size() <= size, "never longer than the input");
  check(path.find("//") == std::string::npos, "no empty segments");
  for (std::size_t pos = 1; pos <= path.size();) {
    auto slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    const std::string_view seg(path.data() + pos, slash - pos);
    check(seg != "." && seg != "..", "no dot segments");
    pos = slash + 1;
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') continue;
    check(i + 2 < path.size() && is_upper_hex(path[i + 1]) && is_upper_hex(path[i + 2]),
          "escapes are two upper-case hex digits");
    const std::string_view esc(path.data() + i, 3);
    check(esc != "%2F" && esc != "%5C" && esc != "%2E", "no escaped '/', '\\' or '.'");
  }
  std::vector<char> again(path.size());
  const auto q = codec::normalise_path(path, again);
  check(q.has_value() && *q == path, "idempotent");

  const authz::forward_rule all{"*", "/**", ""};
  const auto any = authz::forward_rules::compile(std::span(&all, 1));
  check(any.has_value() && any->match("GET", path) != nullptr, "/** matches everything");
  if (path.find('*') == std::string::npos) {
    const authz::forward_rule self{"GET", path, ""};
    const auto exact = authz::forward_rules::compile(std::span(&self, 1));
    check(exact.has_value(), "a normalised path is a valid rule");
    check(exact->match("HEAD", path) != nullptr, "a literal rule matches its own path");
  }
  return 0;
}
