// authz/forward_rules.h — the [[forward.rules]] table: method + path -> permission.
//
// Threading: forward_rules is immutable after compile(); match() may be called from
// any number of threads at once and never allocates, locks, throws or blocks.
// compile() allocates (startup and config reload only).
//
// Rules (DESIGN.md "Forward-auth"): rules are tried in order and the first match
// wins; no match means "a valid token is required, no permission". A rule's method
// is an HTTP method token, compared case-sensitively, or "*" for any; a GET rule also
// covers HEAD. A rule's path starts with '/' and is split at '/' into segments:
//   - "*" matches exactly one non-empty segment;
//   - "**" matches zero or more segments ("/bots/**" matches /bots, /bots/ and
//     /bots/a/b);
//   - anything else matches that segment literally (byte for byte, escapes as
//     codec::normalise_path writes them: "%3A" upper case).
// A path ending in '/' ends with an empty segment: "/bots/*" does not match
// "/bots/" and "/bots" does not match "/bots/". match() expects the output of
// codec::normalise_path; a pattern must itself be in that normal form (no "//", no
// dot segments, no "*" inside a longer segment), or compile() refuses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::authz {

enum class rule_errc : std::uint8_t {
  ok = 0,
  bad_method,      // not an HTTP token and not "*"
  bad_path,        // not in normal form, or '*' inside a segment
  bad_permission,  // not a valid concrete permission (see permissions.h)
};

// message_of returns a short English description of `e`.
std::string_view message_of(rule_errc e);

// forward_rule is one configured rule. An empty permission means the rule only
// requires a valid token (useful to stop a later, broader rule from applying).
struct forward_rule {
  std::string_view method;  // "GET", "POST", ..., or "*"
  std::string_view path;    // "/bots/*", "/admin/**"
  std::string_view permission;
};

struct rule_error {
  rule_errc code = rule_errc::ok;
  std::size_t index = 0;  // into the rules given to compile()
};

// rule_match is a matched rule: its position and the permission it requires. The
// view lives as long as the forward_rules object.
struct rule_match {
  std::size_t index = 0;
  std::string_view permission;
};

class forward_rules {
 public:
  forward_rules() = default;

  [[gnu::cold]] static std::expected<forward_rules, rule_error> compile(
      std::span<const forward_rule> rules);

  // match returns the first rule matching `method` and the normalised `path`, or
  // nullptr when none does. Cost: one pass per rule tried; "**" backtracks at most
  // once per path segment. Never allocates.
  const rule_match* match(std::string_view method, std::string_view path) const noexcept;

  std::size_t size() const { return rules_.size(); }

 private:
  struct compiled {
    std::string method;  // empty: any method
    std::string path;
    std::string permission;
    std::vector<std::string_view> segments;  // views into `path`
    rule_match result;
  };
  bool matches_path(const compiled& c, std::string_view path) const noexcept;

  // Held by pointer so the views in `compiled` survive moves of the vector.
  std::vector<std::unique_ptr<compiled>> rules_;
};

}  // namespace tollgate::authz
