// engine/route_table.cc — collecting routes before the router compiles them.
#include "engine/engine.h"

namespace tollgate::engine {

// Duplicates are detected when the router is built, where shapes are compared.
void route_table::add(method verb, std::string_view pattern, route_kind kind, handler run) {
  routes_.push_back(route{verb, std::string(pattern), kind, std::move(run)});
}

}  // namespace tollgate::engine
