// GET/PATCH /api/v1/security/settings/security.
#include "api/security.h"

namespace tollgate::api {

policy::security_settings load_settings(const store::read_txn& t) {
  auto raw = t.get_meta(settings_meta_key);
  if (!raw) return {};
  auto s = policy::parse(*raw);
  return s ? *s : policy::security_settings{};
}

outcome<principal> require_permission(const services& svc, const engine::request& req,
                                      std::string_view permission) {
  auto p = authenticate(svc, req);
  if (!p) return p;
  if (!p->has(permission)) return std::unexpected(forbidden());
  return p;
}

namespace {

void send_settings(engine::response& res, const policy::security_settings& s) {
  res.set_status(200);
  res.set_body("application/json", policy::serialize(s));
}

void get_settings(const services& svc, const engine::request& req, engine::response& res) {
  auto p = require_permission(svc, req, "system.configure");
  if (!p) return send_error(res, p.error());
  policy::security_settings s;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    s = load_settings(t);
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "settings"));
  send_settings(res, s);
}

void patch_settings(const services& svc, const engine::request& req, engine::response& res) {
  auto p = require_permission(svc, req, "system.configure");
  if (!p) return send_error(res, p.error());
  if (req.body.size() > svc.cfg.max_body_bytes)
    return send_error(res, http_error{413, "payload_too_large", "body too large"});
  if (auto ct = req.header_value("Content-Type");
      ct.substr(0, ct.find(';')) != "application/json")
    return send_error(res, http_error{415, "unsupported_media_type",
                                      "Content-Type must be application/json"});
  policy::security_settings s;
  std::optional<http_error> fail;
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    // Merge onto the record read inside the write transaction, so two concurrent
    // PATCHes of different fields both survive.
    s = load_settings(t);
    if (auto r = policy::apply_patch_text(s, req.body); !r) {
      // An error of the body as a whole (not JSON, not an object) is named "body".
      policy::field_error e = r.error();
      if (e.field.empty()) e.field = "body";
      fail = http_error{400, "invalid_request", e.to_string()};
      return {};
    }
    std::string text = policy::serialize(s);
    if (auto r = t.put_meta(settings_meta_key, text); !r) return r;
    boost::system::error_code ec;
    json::value patch = json::parse(req.body, ec);
    json::object details{{"changes", ec ? json::value(nullptr) : patch}};
    return write_audit(t, audit(svc, req, p->user.id, "", "settings_update", true, details));
  });
  if (fail) return send_error(res, *fail);
  if (!w) return send_error(res, from_store(w.error(), "settings"));
  send_settings(res, s);
}

constexpr route_spec routes[] = {
    {engine::method::get, "/api/v1/security/settings/security", get_settings},
    {engine::method::patch, "/api/v1/security/settings/security", patch_settings},
};

}  // namespace

std::span<const route_spec> settings_routes() { return routes; }

}  // namespace tollgate::api
