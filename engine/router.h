// engine/router.h — matches a request's method and path to a registered route.
// Private to engine/.
//
// Threading: built once at startup from a route_table; immutable afterwards and
// shared read-only by every shard. find() never allocates, locks or throws.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"

namespace tollgate::engine {

// method_count is the number of methods a route can be registered for (all but other).
inline constexpr std::size_t method_count = static_cast<std::size_t>(method::other);

class router {
 public:
  // router compiles `table`. A route registered twice (same method and shape)
  // aborts with a message: that is a programming error found at startup.
  [[gnu::cold]] explicit router(const route_table& table);

  struct match {
    const route_table::route* route = nullptr;  // null when status != 200
    int status = 404;           // 200 found, 404 no such path, 405 path without method
    std::string_view allow;     // for 405: "GET, HEAD, POST", valid for the router's life
    std::size_t param_count = 0;
  };

  // find looks up `path` (not decoded, without query) for `verb`. Parameter values
  // are written to `params` (views into `path`); a path with more parameters than
  // params.size() does not match. HEAD matches GET routes.
  match find(method verb, std::string_view path, std::span<std::string_view> params) const;

 private:
  // One node per distinct path prefix; a node's children are its static segments
  // (tried first) and at most one "{param}" child, tried when the static ones fail.
  struct node {
    std::string segment;                 // static text; unused for a param node
    std::vector<std::size_t> statics;    // child node indices
    std::size_t param = npos;            // child node index of "{name}", or npos
    std::size_t params_here = 0;         // parameters on the path to this node
    std::array<std::size_t, method_count> route{};  // index into routes_, or npos
    unsigned methods = 0;                // bit per method with a route here
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  std::size_t walk(std::size_t n, std::string_view rest, unsigned bit,
                   std::span<std::string_view> params, unsigned& seen) const;

  const route_table::route* routes_ = nullptr;  // the table's routes
  std::vector<node> nodes_;
  std::array<std::string, 1u << method_count> allows_;  // Allow value per method set
};

}  // namespace tollgate::engine
