// engine/router.cc — segment trie over the route table's patterns.
#include "engine/router.h"

#include <cstdio>
#include <cstdlib>

namespace tollgate::engine {
namespace {

constexpr std::string_view method_names[method_count] = {"GET",   "HEAD",   "POST",   "PUT",
                                                        "PATCH", "DELETE", "OPTIONS"};

constexpr unsigned bit_of(method m) { return 1u << static_cast<unsigned>(m); }

// next_segment splits "/seg/rest" into "seg" and "/rest" ("" when it was the last).
inline std::string_view next_segment(std::string_view& tail) {
  const std::size_t slash = tail.find('/', 1);
  const std::string_view seg = tail.substr(1, slash == std::string_view::npos ? tail.npos : slash - 1);
  tail = slash == std::string_view::npos ? std::string_view{} : tail.substr(slash);
  return seg;
}

[[noreturn, gnu::cold]] void die(const route_table::route& r, const char* why) {
  std::fprintf(stderr, "router: %s: %.*s %s\n", why,
               static_cast<int>(method_names[static_cast<std::size_t>(r.verb) % method_count].size()),
               method_names[static_cast<std::size_t>(r.verb) % method_count].data(), r.pattern.c_str());
  std::abort();
}

}  // namespace

router::router(const route_table& table) : routes_(table.routes().data()) {
  nodes_.emplace_back();
  nodes_[0].route.fill(npos);
  const auto& routes = table.routes();
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const route_table::route& r = routes[i];
    if (r.verb == method::other) die(r, "route with method::other");
    if (r.pattern.empty() || r.pattern[0] != '/') die(r, "pattern must start with '/'");
    std::size_t n = 0;
    std::string_view tail = r.pattern;
    while (!tail.empty()) {
      const std::string_view seg = next_segment(tail);
      const bool is_param = seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
      if (!is_param && seg.find_first_of("{}") != std::string_view::npos) die(r, "'{' or '}' inside a segment");
      if (is_param && seg.size() == 2) die(r, "empty parameter name");
      std::size_t child = npos;
      if (is_param) {
        child = nodes_[n].param;
      } else {
        for (std::size_t c : nodes_[n].statics) {
          if (nodes_[c].segment == seg) child = c;
        }
      }
      if (child == npos) {
        child = nodes_.size();
        node fresh;
        fresh.route.fill(npos);
        fresh.params_here = nodes_[n].params_here + (is_param ? 1 : 0);
        if (!is_param) fresh.segment.assign(seg);
        nodes_.push_back(std::move(fresh));
        if (is_param) nodes_[n].param = child;
        else nodes_[n].statics.push_back(child);
      }
      n = child;
    }
    node& target = nodes_[n];
    const auto m = static_cast<std::size_t>(r.verb);
    if (target.route[m] != npos) die(r, "route registered twice");
    target.route[m] = i;
    target.methods |= bit_of(r.verb);
    if (r.verb == method::get) target.methods |= bit_of(method::head);
  }
  for (unsigned mask = 0; mask < allows_.size(); ++mask) {
    for (std::size_t m = 0; m < method_count; ++m) {
      if ((mask & (1u << m)) == 0) continue;
      if (!allows_[mask].empty()) allows_[mask] += ", ";
      allows_[mask] += method_names[m];
    }
  }
}

// walk returns the node where `tail` ends with a route for `verb`, trying static
// children before the parameter child (so "/users/me" beats "/users/{id}") and
// backtracking. `seen` collects the methods of every node the path ends on, for 405.
std::size_t router::walk(std::size_t n, std::string_view tail, unsigned bit,
                         std::span<std::string_view> params, unsigned& seen) const {
  const node& here = nodes_[n];
  if (tail.empty()) {
    seen |= here.methods;
    return (here.methods & bit) != 0 ? n : npos;
  }
  const std::string_view seg = next_segment(tail);
  for (std::size_t c : here.statics) {
    if (nodes_[c].segment == seg) {
      if (const std::size_t hit = walk(c, tail, bit, params, seen); hit != npos) return hit;
      break;
    }
  }
  if (here.param != npos && !seg.empty() && here.params_here < params.size()) {
    params[here.params_here] = seg;
    return walk(here.param, tail, bit, params, seen);
  }
  return npos;
}

router::match router::find(method verb, std::string_view path, std::span<std::string_view> params) const {
  match m;
  if (path.empty() || path[0] != '/') return m;
  // method::other has no bit, so it never matches but still learns the Allow set.
  const unsigned bit = verb == method::other ? 0u : bit_of(verb);
  unsigned seen = 0;
  const std::size_t hit = walk(0, path, bit, params, seen);
  if (hit == npos) {
    if (seen != 0) {
      m.status = 405;
      m.allow = allows_[seen];
    }
    return m;
  }
  const node& n = nodes_[hit];
  std::size_t r = n.route[static_cast<std::size_t>(verb)];
  if (r == npos) r = n.route[static_cast<std::size_t>(method::get)];  // HEAD served by GET
  m.route = &routes_[r];
  m.status = 200;
  m.param_count = n.params_here;
  return m;
}

}  // namespace tollgate::engine
