// engine/router.h — matches a request's method and path to a registered route.
// Private to engine/.
//
// Threading: built once at startup from a route_table; immutable afterwards and
// shared read-only by every shard. find() never allocates, locks or throws.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"

namespace tollgate::engine {

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
  struct node;
  std::vector<node> nodes_;          // implementation's choice; shown for size only
  std::vector<std::string> allows_;  // Allow header values, one per path
};

}  // namespace tollgate::engine
