#include "authz/forward_rules.h"

#include <algorithm>

#include "authz/permissions.h"
#include "codec/path.h"

namespace tollgate::authz {
namespace {

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// next_segment returns the segment starting at `pos` of a normalised path (pos is
// just after a '/') and moves `pos` past it; `pos` becomes npos after the last one.
std::string_view next_segment(std::string_view path, std::size_t& pos) {
  const auto slash = path.find('/', pos);
  const std::string_view seg =
      path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
  pos = slash == std::string_view::npos ? std::string_view::npos : slash + 1;
  return seg;
}

}  // namespace

std::string_view message_of(rule_errc e) {
  switch (e) {
    case rule_errc::ok: return "ok";
    case rule_errc::bad_method: return "forward rule method must be an HTTP method or \"*\"";
    case rule_errc::bad_path:
      return "forward rule path must start with '/', be normalised, and use '*' or '**' only as whole segments";
    case rule_errc::bad_permission: return "forward rule permission is not a valid permission name";
  }
  return "unknown forward rule error";
}

std::expected<forward_rules, rule_error> forward_rules::compile(
    std::span<const forward_rule> rules) {
  forward_rules out;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const forward_rule& r = rules[i];
    auto fail = [i](rule_errc e) { return std::unexpected(rule_error{e, i}); };
    if (r.method.empty() || !std::all_of(r.method.begin(), r.method.end(), is_tchar))
      return fail(rule_errc::bad_method);
    std::string normal(r.path.size(), '\0');
    const auto n = codec::normalise_path(r.path, normal);
    if (!n || *n != r.path) return fail(rule_errc::bad_path);
    if (!r.permission.empty()) {
      const auto kind = validate_permission(r.permission);
      if (!kind || *kind != name_kind::concrete) return fail(rule_errc::bad_permission);
    }
    auto c = std::make_unique<compiled>();
    c->method = r.method == "*" ? std::string() : std::string(r.method);
    c->path = std::string(r.path);
    c->permission = std::string(r.permission);
    for (std::size_t pos = 1; pos != std::string_view::npos;) {
      const std::string_view seg = next_segment(c->path, pos);
      if (seg != "*" && seg != "**" && seg.find('*') != std::string_view::npos)
        return fail(rule_errc::bad_path);
      c->segments.push_back(seg);
    }
    c->result = {i, c->permission};
    out.rules_.push_back(std::move(c));
  }
  return out;
}

// matches_path is segment-wise wildcard matching where "**" is the only wildcard
// that spans segments: the classic two-pointer algorithm, which on a mismatch
// resumes after the latest "**" with one more segment swallowed by it.
bool forward_rules::matches_path(const compiled& c, std::string_view path) const noexcept {
  if (path.empty() || path[0] != '/') return false;
  const auto& p = c.segments;
  std::size_t pi = 0, pos = 1;
  std::size_t star = std::string_view::npos, star_pos = 0;
  while (pos != std::string_view::npos) {
    if (pi < p.size() && p[pi] == "**") {
      star = pi++;
      star_pos = pos;
      continue;
    }
    std::size_t after = pos;
    const std::string_view seg = next_segment(path, after);
    if (pi < p.size() && (p[pi] == "*" ? !seg.empty() : p[pi] == seg)) {
      ++pi;
      pos = after;
      continue;
    }
    if (star == std::string_view::npos) return false;
    pi = star + 1;
    next_segment(path, star_pos);  // "**" swallows one more segment
    pos = star_pos;
  }
  while (pi < p.size() && p[pi] == "**") ++pi;
  return pi == p.size();
}

const rule_match* forward_rules::match(std::string_view method,
                                       std::string_view path) const noexcept {
  for (const auto& c : rules_) {
    if (!c->method.empty() && c->method != method && !(c->method == "GET" && method == "HEAD"))
      continue;
    if (matches_path(*c, path)) return &c->result;
  }
  return nullptr;
}

}  // namespace tollgate::authz
