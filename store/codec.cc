// Record encodings. Slow-path fields are Boost.JSON text after a fixed binary header
// that holds what the hot path reads (user status, session liveness, perms version).
#include <openssl/sha.h>

#include <boost/json.hpp>
#include <cstring>

#include "store/internal.h"

namespace tollgate::store {
namespace json = boost::json;

namespace {

template <class T>
void put_le(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // x86-64 and aarch64 are little-endian
  out.append(b, sizeof(T));
}

template <class T>
T get_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

std::string_view str(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k)) {
    if (auto* s = v->if_string()) return *s;
  }
  return {};
}
std::int64_t i64(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k)) {
    if (auto* i = v->if_int64()) return *i;
  }
  return 0;
}
bool boolean(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k)) {
    if (auto* b = v->if_bool()) return *b;
  }
  return false;
}
std::vector<std::string> strs(const json::object& o, std::string_view k) {
  std::vector<std::string> out;
  if (auto* v = o.if_contains(k)) {
    if (auto* a = v->if_array()) {
      for (auto& e : *a) {
        if (auto* s = e.if_string()) out.emplace_back(*s);
      }
    }
  }
  return out;
}
json::array to_array(const std::vector<std::string>& v) {
  json::array a;
  for (auto& s : v) a.emplace_back(s);
  return a;
}

// parse_object parses a JSON object body; nullopt when it is not one.
std::optional<json::object> parse_object(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::string with_header(const record_header& h, std::string_view aux, const json::object& o) {
  record_header hh = h;
  hh.aux_len = static_cast<std::uint16_t>(aux.size());
  std::string out = encode_header(hh);
  out.append(aux);
  out.append(json::serialize(o));
  return out;
}

// split reads header, aux and the JSON body of a record.
bool split(std::string_view rec, record_header& h, std::string_view& aux, json::object& body) {
  std::string_view rest;
  auto hh = decode_header(rec, rest);
  if (!hh || rest.size() < hh->aux_len) return false;
  h = *hh;
  aux = rest.substr(0, h.aux_len);
  auto o = parse_object(rest.substr(h.aux_len));
  if (!o) return false;
  body = std::move(*o);
  return true;
}

}  // namespace

std::string encode_header(const record_header& h) {
  std::string out;
  out.reserve(header_bytes);
  put_le(out, h.format);
  put_le(out, h.state);
  put_le(out, h.aux_len);
  put_le(out, h.version);
  put_le(out, h.a);
  put_le(out, h.b);
  put_le(out, h.c);
  return out;
}

std::optional<record_header> decode_header(std::string_view rec, std::string_view& rest) {
  if (rec.size() < header_bytes || rec[0] != 1) return std::nullopt;
  const char* p = rec.data();
  record_header h;
  h.format = get_le<std::uint8_t>(p);
  h.state = get_le<std::uint8_t>(p + 1);
  h.aux_len = get_le<std::uint16_t>(p + 2);
  h.version = get_le<std::uint32_t>(p + 4);
  h.a = get_le<std::int64_t>(p + 8);
  h.b = get_le<std::int64_t>(p + 16);
  h.c = get_le<std::int64_t>(p + 24);
  rest = rec.substr(header_bytes);
  return h;
}

std::string encode_user(const user& u) {
  json::object o;
  o["username"] = u.username;
  o["email"] = u.email;
  o["full_name"] = u.full_name;
  o["role"] = u.role;
  o["groups"] = to_array(u.groups);
  o["password_hash"] = u.password_hash;
  o["metadata"] = u.metadata_json;
  o["created_at"] = u.created_at;
  o["updated_at"] = u.updated_at;
  o["last_login"] = u.last_login;
  o["deactivated_at"] = u.deactivated_at;
  o["failed_logins"] = u.failed_logins;
  o["first_failed_login"] = u.first_failed_login;
  o["email_verified"] = u.email_verified;
  o["two_factor_enabled"] = u.two_factor_enabled;
  o["password_changed_at"] = u.password_changed_at;
  o["password_history"] = to_array(u.password_history);
  o["api_user"] = u.api_user;
  o["allowed_ips"] = to_array(u.allowed_ips);
  o["totp_secret"] = u.totp_secret;
  o["totp_last_step"] = u.totp_last_step;
  o["backup_codes"] = u.backup_codes;
  record_header h;
  h.state = static_cast<std::uint8_t>(u.status);
  h.a = u.locked_until;
  return with_header(h, {}, o);
}

result<user> decode_user(std::string_view id, std::string_view rec) {
  record_header h;
  std::string_view aux;
  json::object o;
  if (!split(rec, h, aux, o) || h.state > static_cast<std::uint8_t>(user_status::deactivated))
    return std::unexpected(errc::corrupt);
  user u;
  u.id = id;
  u.status = static_cast<user_status>(h.state);
  u.locked_until = h.a;
  u.username = str(o, "username");
  u.email = str(o, "email");
  u.full_name = str(o, "full_name");
  u.role = str(o, "role");
  u.groups = strs(o, "groups");
  u.password_hash = str(o, "password_hash");
  u.metadata_json = str(o, "metadata");
  u.created_at = i64(o, "created_at");
  u.updated_at = i64(o, "updated_at");
  u.last_login = i64(o, "last_login");
  u.deactivated_at = i64(o, "deactivated_at");
  u.failed_logins = static_cast<std::uint32_t>(i64(o, "failed_logins"));
  u.first_failed_login = i64(o, "first_failed_login");
  u.email_verified = boolean(o, "email_verified");
  u.two_factor_enabled = boolean(o, "two_factor_enabled");
  u.password_changed_at = i64(o, "password_changed_at");
  u.password_history = strs(o, "password_history");
  u.api_user = boolean(o, "api_user");
  u.allowed_ips = strs(o, "allowed_ips");
  u.totp_secret = str(o, "totp_secret");
  u.totp_last_step = o.contains("totp_last_step") ? i64(o, "totp_last_step") : -1;
  u.backup_codes = str(o, "backup_codes");
  return u;
}

std::string encode_session(const session& s) {
  json::object o;
  o["ip_address"] = s.ip_address;
  o["user_agent"] = s.user_agent;
  o["revoke_reason"] = s.revoke_reason;
  record_header h;
  h.state = s.revoked_at != 0 ? 1 : 0;
  h.a = s.created_at;
  h.b = s.last_activity;
  h.c = s.revoked_at;
  return with_header(h, s.user_id, o);
}

result<session> decode_session(std::string_view id, std::string_view rec) {
  record_header h;
  std::string_view aux;
  json::object o;
  if (!split(rec, h, aux, o)) return std::unexpected(errc::corrupt);
  session s;
  s.id = id;
  s.user_id = aux;
  s.created_at = h.a;
  s.last_activity = h.b;
  s.revoked_at = h.c;
  s.ip_address = str(o, "ip_address");
  s.user_agent = str(o, "user_agent");
  s.revoke_reason = str(o, "revoke_reason");
  return s;
}

std::string encode_role(const role& r) {
  json::object o;
  o["name"] = r.name;
  o["permissions"] = to_array(r.permissions);
  o["builtin"] = r.builtin;
  o["created_at"] = r.created_at;
  return with_header({}, {}, o);
}

result<role> decode_role(std::string_view id, std::string_view rec) {
  record_header h;
  std::string_view aux;
  json::object o;
  if (!split(rec, h, aux, o)) return std::unexpected(errc::corrupt);
  role r;
  r.id = id;
  r.name = str(o, "name");
  r.permissions = strs(o, "permissions");
  r.builtin = boolean(o, "builtin");
  r.created_at = i64(o, "created_at");
  return r;
}

std::string encode_group(const group& g) {
  json::object o;
  o["name"] = g.name;
  o["description"] = g.description;
  o["permissions"] = to_array(g.permissions);
  o["created_at"] = g.created_at;
  return with_header({}, {}, o);
}

result<group> decode_group(std::string_view id, std::string_view rec) {
  record_header h;
  std::string_view aux;
  json::object o;
  if (!split(rec, h, aux, o)) return std::unexpected(errc::corrupt);
  group g;
  g.id = id;
  g.name = str(o, "name");
  g.description = str(o, "description");
  g.permissions = strs(o, "permissions");
  g.created_at = i64(o, "created_at");
  return g;
}

std::string encode_refresh(const refresh_token& r) {
  json::object o;
  o["session_id"] = r.session_id;
  o["issued_at"] = r.issued_at;
  o["spent_at"] = r.spent_at;
  o["successor_access_token"] = r.successor_access_token;
  o["successor_expires_at"] = r.successor_expires_at;
  return with_header({}, {}, o);
}

result<refresh_token> decode_refresh(std::string_view rec) {
  record_header h;
  std::string_view aux;
  json::object o;
  if (!split(rec, h, aux, o)) return std::unexpected(errc::corrupt);
  refresh_token r;
  r.session_id = str(o, "session_id");
  r.issued_at = i64(o, "issued_at");
  r.spent_at = i64(o, "spent_at");
  r.successor_access_token = str(o, "successor_access_token");
  r.successor_expires_at = i64(o, "successor_expires_at");
  return r;
}

std::string encode_audit(const audit_entry& e) {
  json::object o;
  o["user_id"] = e.user_id;
  o["actor_id"] = e.actor_id;
  o["action"] = e.action;
  o["ip_address"] = e.ip_address;
  o["user_agent"] = e.user_agent;
  o["success"] = e.success;
  o["details"] = e.details_json;
  o["hash"] = e.hash;
  record_header h;
  h.a = e.timestamp;
  return with_header(h, {}, o);
}

result<audit_entry> decode_audit(std::uint64_t id, std::string_view rec) {
  record_header h;
  std::string_view aux;
  json::object o;
  if (!split(rec, h, aux, o)) return std::unexpected(errc::corrupt);
  audit_entry e;
  e.id = id;
  e.timestamp = h.a;
  e.user_id = str(o, "user_id");
  e.actor_id = str(o, "actor_id");
  e.action = str(o, "action");
  e.ip_address = str(o, "ip_address");
  e.user_agent = str(o, "user_agent");
  e.success = boolean(o, "success");
  e.details_json = str(o, "details");
  e.hash = str(o, "hash");
  return e;
}

std::string encode_perms(std::uint32_t version, std::string_view lines) {
  record_header h;
  h.version = version;
  std::string out = encode_header(h);
  out.append(lines);
  return out;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::uint64_t from_be64(std::string_view s) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < s.size(); ++i)
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

std::string sha256_raw(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const std::uint8_t*>(data.data()), data.size(),
         reinterpret_cast<std::uint8_t*>(out.data()));
  return out;
}

std::string audit_canonical(const audit_entry& e) {
  std::string out;
  auto add = [&out](std::string_view f) {
    out.append(std::to_string(f.size())).push_back(':');
    out.append(f);
  };
  add(std::to_string(e.id));
  add(std::to_string(e.timestamp));
  add(e.user_id);
  add(e.actor_id);
  add(e.action);
  add(e.ip_address);
  add(e.user_agent);
  add(e.success ? "1" : "0");
  add(e.details_json);
  return out;
}

std::string audit_chain_hash(std::string_view prev_hash, const audit_entry& e) {
  std::string in(prev_hash);
  in.append(audit_canonical(e));
  return sha256_hex(in);
}

std::string sha256_hex(std::string_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string raw = sha256_raw(data), out;
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

bool permissions_view::next(std::size_t& cursor, std::string_view& permission,
                            std::string_view& source) const {
  if (cursor >= lines.size()) return false;
  std::size_t nl = lines.find('\n', cursor);
  if (nl == std::string_view::npos) nl = lines.size();
  std::string_view line = lines.substr(cursor, nl - cursor);
  cursor = nl + 1;
  std::size_t tab = line.find('\t');
  permission = line.substr(0, tab);
  source = tab == std::string_view::npos ? std::string_view{} : line.substr(tab + 1);
  return true;
}

}  // namespace tollgate::store
