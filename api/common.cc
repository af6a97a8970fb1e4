// The error model, strict body and query validation, timestamps and ids.
#include <openssl/rand.h>

#include <boost/url/parse_query.hpp>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "api/internal.h"
#include "crypto/base64url.h"

namespace tollgate::api {

http_error invalid(std::string_view field_name, std::string_view why) {
  std::string msg(field_name);
  msg.append(": ").append(why);
  return {400, "invalid_request", std::move(msg)};
}
http_error unauthorized(std::string_view why) { return {401, "unauthorized", std::string(why)}; }
http_error forbidden(std::string_view why) { return {403, "forbidden", std::string(why)}; }
http_error not_found(std::string_view what) {
  std::string msg(what);
  msg.append(" not found");
  return {404, "not_found", std::move(msg)};
}
http_error conflict(std::string_view why) { return {409, "conflict", std::string(why)}; }

http_error from_store(store::errc e, std::string_view what) {
  switch (e) {
    case store::errc::not_found: return not_found(what);
    case store::errc::conflict: return conflict(std::string(what) + " already exists");
    case store::errc::invalid_argument: return invalid(what, "value too long");
    case store::errc::ok:
    case store::errc::already_initialised:
    case store::errc::not_initialised:
    case store::errc::schema_too_new:
    case store::errc::corrupt:
    case store::errc::io_error:
    case store::errc::map_full:
    case store::errc::readers_full:
      break;
  }
  return {503, "unavailable", std::string("store: ") + std::string(store::message_of(e))};
}

void send_json(engine::response& res, int status, const json::value& body) {
  res.set_status(status);
  res.set_content_type("application/json");
  res.body() = json::serialize(body);
}

void send_error(engine::response& res, const http_error& e) {
  json::object o;
  o["error"] = e.code;
  o["message"] = e.message;
  if (e.locked_until != 0) o["locked_until"] = rfc3339(e.locked_until);
  for (auto& [k, v] : e.extra) o[k] = v;
  if (e.retry_after > 0) res.add_header("Retry-After", std::to_string(e.retry_after));
  if (e.status == 401) res.add_header("WWW-Authenticate", "Bearer");
  send_json(res, e.status, o);
}

void send_no_content(engine::response& res) {
  res.set_status(204);
  res.body().clear();
}

namespace {

std::string_view type_name(jtype t) {
  switch (t) {
    case jtype::string: return "must be a string";
    case jtype::boolean: return "must be a boolean";
    case jtype::integer: return "must be an integer";
    case jtype::object: return "must be an object";
    case jtype::strings: return "must be an array of strings";
    case jtype::ip_list: return "must be an array of strings or a comma-separated string";
  }
  return "has the wrong type";
}

bool has_type(const json::value& v, jtype t) {
  switch (t) {
    case jtype::string: return v.is_string();
    case jtype::boolean: return v.is_bool();
    case jtype::integer: return v.is_int64() || v.is_uint64();
    case jtype::object: return v.is_object();
    case jtype::ip_list:
      if (v.is_string()) return true;
      [[fallthrough]];
    case jtype::strings: {
      auto* a = v.if_array();
      if (a == nullptr) return false;
      for (auto& e : *a) {
        if (!e.is_string()) return false;
      }
      return true;
    }
  }
  return false;
}

bool is_json_content_type(std::string_view ct) {
  std::string_view base = ct.substr(0, ct.find(';'));
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  if (base.size() != 16) return false;
  constexpr std::string_view want = "application/json";
  for (std::size_t i = 0; i < base.size(); ++i) {
    char c = base[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != want[i]) return false;
  }
  return true;
}

}  // namespace

outcome<json::object> parse_body(const services& svc, const engine::request& req,
                                 std::span<const field> fields) {
  if (req.body.size() > svc.cfg.max_body_bytes)
    return std::unexpected(http_error{413, "payload_too_large", "request body too large"});
  if (!is_json_content_type(req.header_value("Content-Type")))
    return std::unexpected(
        http_error{415, "unsupported_media_type", "Content-Type must be application/json"});
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  json::value v = json::parse(req.body, ec, {}, opts);
  if (ec) return std::unexpected(invalid("body", "malformed JSON"));
  auto* o = v.if_object();
  if (o == nullptr) return std::unexpected(invalid("body", "must be a JSON object"));
  for (auto& kv : *o) {
    const field* f = nullptr;
    for (auto& candidate : fields) {
      if (candidate.name == kv.key()) f = &candidate;
    }
    if (f == nullptr) return std::unexpected(invalid(kv.key(), "unknown field"));
    if (!has_type(kv.value(), f->type)) return std::unexpected(invalid(kv.key(), type_name(f->type)));
  }
  for (auto& f : fields) {
    if (f.required && !o->contains(f.name)) return std::unexpected(invalid(f.name, "is required"));
  }
  return std::move(*o);
}

std::optional<std::string_view> get_string(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k)) {
    if (auto* s = v->if_string()) return std::string_view(*s);
  }
  return std::nullopt;
}

std::optional<bool> get_bool(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k)) {
    if (auto* b = v->if_bool()) return *b;
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> get_strings(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (v == nullptr || !v->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (auto& e : v->get_array()) {
    if (auto* s = e.if_string()) out.emplace_back(*s);
  }
  return out;
}

outcome<query_map> parse_query(std::string_view query, std::span<const std::string_view> allowed) {
  query_map out;
  if (query.empty()) return out;
  // Boost.URL 1.81's parse_query reads the last value past the end of a view that is
  // not the end of its buffer (it runs into " HTTP/1.1"); parse a copy.
  std::string copy(query);
  auto parsed = boost::urls::parse_query(copy);
  if (!parsed) return std::unexpected(invalid("query", "malformed query string"));
  for (auto p : *parsed) {
    std::string key = p.key.decode();
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) return std::unexpected(invalid(key, "unknown query parameter"));
    if (out.contains(key)) return std::unexpected(invalid(key, "given more than once"));
    out.emplace(std::move(key), p.has_value ? p.value.decode() : std::string());
  }
  return out;
}

outcome<std::size_t> positive_param(const query_map& q, std::string_view name, std::size_t dflt,
                                    std::size_t max) {
  auto it = q.find(name);
  if (it == q.end()) return dflt;
  std::size_t v = 0;
  auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc{} || ptr != it->second.data() + it->second.size() || v == 0)
    return std::unexpected(invalid(name, "must be a positive integer"));
  if (v > max) return std::unexpected(invalid(name, "must be at most " + std::to_string(max)));
  return v;
}

std::string rfc3339(store::time_ns t) {
  std::time_t secs = static_cast<std::time_t>(t / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json::value time_or_null(store::time_ns t) {
  if (t == 0) return nullptr;
  return json::value(rfc3339(t));
}

std::string new_id(std::string_view prefix) {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::uint8_t raw[20];
  RAND_bytes(raw, sizeof raw);
  std::string out(prefix);
  for (std::uint8_t b : raw) out.push_back(alphabet[b & 31]);
  return out;
}

std::string random_token(std::string_view prefix, std::size_t bytes) {
  std::vector<std::uint8_t> raw(bytes);
  RAND_bytes(raw.data(), raw.size());
  std::string out(prefix);
  std::size_t start = out.size();
  out.resize(start + crypto::base64url::encoded_size(bytes));
  crypto::base64url::encode(raw, std::span<char>(out.data() + start, out.size() - start));
  return out;
}

std::expected<engine::ip_address, authz::cidr_errc> client_of(const authz::ip_allowlist& trusted,
                                                              const engine::request& req) noexcept {
  // Several X-Forwarded-For lines are rare; the first is used when the peer is not
  // trusted anyway, and client_address only reads it for trusted peers.
  return authz::client_address(req.peer, req.header_value("X-Forwarded-For"), trusted);
}

std::string client_ip(const authz::ip_allowlist& trusted, const engine::request& req) {
  auto client = client_of(trusted, req);
  return (client ? *client : req.peer).to_string();
}

std::optional<http_error> check_text(std::string_view field_name, std::string_view v,
                                     std::size_t max_bytes) {
  if (v.size() > max_bytes)
    return invalid(field_name, "must be at most " + std::to_string(max_bytes) + " bytes");
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) return invalid(field_name, "must not contain control characters");
  }
  return std::nullopt;
}

std::optional<http_error> check_username(std::string_view field_name, std::string_view v) {
  if (v.empty() || v.size() > 64) return invalid(field_name, "must be 1 to 64 characters");
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@';
    if (!ok) return invalid(field_name, "may contain only letters, digits and . _ - @");
  }
  return std::nullopt;
}

std::optional<http_error> check_email(std::string_view field_name, std::string_view v) {
  std::size_t at = v.find('@');
  if (v.size() > 254 || at == 0 || at == std::string_view::npos || at + 1 >= v.size() ||
      v.find('@', at + 1) != std::string_view::npos)
    return invalid(field_name, "must be an email address");
  for (unsigned char c : v) {
    if (c <= 0x20 || c == 0x7f) return invalid(field_name, "must be an email address");
  }
  return std::nullopt;
}

std::optional<http_error> check_permissions(std::string_view field_name,
                                            const std::vector<std::string>& perms) {
  if (perms.size() > 256) return invalid(field_name, "at most 256 permissions");
  for (std::size_t i = 0; i < perms.size(); ++i) {
    if (auto r = authz::validate_permission(perms[i]); !r) {
      std::string name(field_name);
      name.append("[").append(std::to_string(i)).append("]");
      return invalid(name, authz::message_of(r.error()));
    }
  }
  return std::nullopt;
}

store::audit_entry audit(const services& svc, const engine::request& req, std::string_view actor_id,
                         std::string_view user_id, std::string_view action, bool success,
                         const json::object& details) {
  return audit_from(client_ip(svc.trusted_proxies, req), req, actor_id, user_id, action, success, details);
}

store::audit_entry audit_from(std::string client_ip, const engine::request& req,
                              std::string_view actor_id, std::string_view user_id,
                              std::string_view action, bool success,
                              const json::object& details) {
  store::audit_entry e;
  e.timestamp = now_of(req);
  e.actor_id = actor_id;
  e.user_id = user_id;
  e.action = action;
  e.success = success;
  e.ip_address = std::move(client_ip);
  e.user_agent = std::string(req.header_value("User-Agent").substr(0, 512));
  e.details_json = json::serialize(details);
  return e;
}

store::result<void> write_audit(store::write_txn& t, store::audit_entry e) {
  if (auto r = t.append_audit(e); !r) return std::unexpected(r.error());
  return {};
}

std::optional<http_error> no_body(const services& svc, const engine::request& req) {
  if (req.body.empty()) return std::nullopt;
  auto b = parse_body(svc, req, {});
  if (!b) return b.error();
  return std::nullopt;
}

}  // namespace tollgate::api
