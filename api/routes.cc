// register_routes: every management and self-service route, all on the slow path.
#include <cstdio>
#include <exception>

#include "api/internal.h"
#include "api/security.h"

namespace tollgate::api {

namespace {

void openapi(const services&, const engine::request&, engine::response& res) {
  res.set_status(200);
  res.set_content_type("application/json");
  res.body().assign(openapi_document());
}

constexpr route_spec doc_routes[] = {
    {engine::method::get, "/api/v1/security/openapi.json", openapi},
};

}  // namespace

void register_routes(engine::route_table& routes, const services& svc) {
  for (auto family : {user_routes(), auth_routes(), role_routes(), self_service_routes(),
                      settings_routes(), audit_routes(), password_routes(), two_factor_routes(),
                      well_known_routes(), std::span<const route_spec>(doc_routes)}) {
    for (const route_spec& r : family) {
      routes.add(r.verb, r.pattern, engine::route_kind::slow,
                 [&svc, fn = r.fn](const engine::request& req, engine::response& res) {
                   // Handlers report errors as values; this only catches what the
                   // libraries may still throw (allocation failure), so the server
                   // answers instead of dying.
                   try {
                     fn(svc, req, res);
                   } catch (const std::exception& e) {
                     std::fprintf(stderr, "tollgate: api handler failed: %s\n", e.what());
                     res.reset();
                     send_error(res, http_error{500, "internal", "internal error"});
                   }
                 });
    }
  }
}

}  // namespace tollgate::api
