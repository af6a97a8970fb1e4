// API keys and API-user allowlists: one table, three key spaces.
//   "k:" key_id            -> key record (header, user id, hash, name, permissions)
//   "u:" user_id \0 key_id -> ""   (a user's keys, for listing)
//   "ip:" user_id          -> comma-separated allowed_ips of an API user
// The record keeps what the hot path reads (user id, hash, expiry, revocation,
// permissions) before anything variable-length it does not, so reader::api_key
// decodes it without parsing.
#include <cstring>

#include "store/internal.h"

namespace tollgate::store {

namespace {

std::string key_key(std::string_view key_id) { return "k:" + std::string(key_id); }
std::string index_prefix(std::string_view user_id) {
  std::string k = "u:" + std::string(user_id);
  k.push_back('\0');
  return k;
}
std::string ip_key(std::string_view user_id) { return "ip:" + std::string(user_id); }

// Layout after the 32-byte header: user_id (aux_len bytes), hash (32), last_used
// (8, big-endian), name length (2, little-endian), name, permission lines
// ("perm\n" each) to the end. Header fields: state = explicit permissions,
// a = expires_at, b = revoked_at, c = created_at.
constexpr std::size_t hash_bytes = 32;

std::string encode_key(const api_key_record& k) {
  record_header h;
  h.state = k.explicit_permissions ? 1 : 0;
  h.aux_len = static_cast<std::uint16_t>(k.user_id.size());
  h.a = k.expires_at;
  h.b = k.revoked_at;
  h.c = k.created_at;
  std::string out = encode_header(h);
  out.append(k.user_id);
  out.append(reinterpret_cast<const char*>(k.hash.data()), hash_bytes);
  out.append(be64(static_cast<std::uint64_t>(k.last_used)));
  const auto n = static_cast<std::uint16_t>(k.name.size());
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>(n >> 8));
  out.append(k.name);
  for (const auto& p : k.permissions) {
    out.append(p);
    out.push_back('\n');
  }
  return out;
}

struct decoded {
  record_header h;
  std::string_view user_id, hash, name, lines;
  time_ns last_used = 0;
};

std::optional<decoded> decode_key(std::string_view rec) {
  decoded d;
  std::string_view rest;
  auto h = decode_header(rec, rest);
  if (!h || rest.size() < std::size_t{h->aux_len} + hash_bytes + 8 + 2) return std::nullopt;
  d.h = *h;
  d.user_id = rest.substr(0, h->aux_len);
  rest.remove_prefix(h->aux_len);
  d.hash = rest.substr(0, hash_bytes);
  rest.remove_prefix(hash_bytes);
  d.last_used = static_cast<time_ns>(from_be64(rest.substr(0, 8)));
  rest.remove_prefix(8);
  const std::size_t n = static_cast<unsigned char>(rest[0]) | (static_cast<unsigned char>(rest[1]) << 8);
  rest.remove_prefix(2);
  if (rest.size() < n) return std::nullopt;
  d.name = rest.substr(0, n);
  d.lines = rest.substr(n);
  return d;
}

result<api_key_record> to_record(std::string_view key_id, std::string_view rec) {
  auto d = decode_key(rec);
  if (!d) return std::unexpected(errc::corrupt);
  api_key_record k;
  k.key_id = key_id;
  k.user_id = d->user_id;
  k.name = d->name;
  std::memcpy(k.hash.data(), d->hash.data(), hash_bytes);
  k.explicit_permissions = d->h.state != 0;
  for (std::string_view lines = d->lines; !lines.empty();) {
    const auto nl = lines.find('\n');
    if (nl == std::string_view::npos) return std::unexpected(errc::corrupt);
    k.permissions.emplace_back(lines.substr(0, nl));
    lines.remove_prefix(nl + 1);
  }
  k.created_at = d->h.c;
  k.expires_at = d->h.a;
  k.revoked_at = d->h.b;
  k.last_used = d->last_used;
  return k;
}

}  // namespace

result<api_key_record> read_txn::get_api_key(std::string_view key_id) const {
  auto rec = t_->get(table::api_keys, key_key(key_id));
  if (!rec) return std::unexpected(rec.error());
  return to_record(key_id, *rec);
}

result<std::vector<api_key_record>> read_txn::user_api_keys(std::string_view user_id) const {
  std::vector<api_key_record> out;
  const std::string prefix = index_prefix(user_id);
  errc failed = errc::ok;
  auto r = t_->scan_prefix(table::api_keys, prefix, [&](std::string_view key, std::string_view) {
    const std::string_view key_id = key.substr(prefix.size());
    auto k = get_api_key(key_id);
    if (!k) {
      failed = k.error();
      return false;
    }
    out.push_back(std::move(*k));
    return true;
  });
  if (!r) return std::unexpected(r.error());
  if (failed != errc::ok) return std::unexpected(failed);
  return out;
}

result<std::string> read_txn::api_user_allowlist(std::string_view user_id) const {
  auto rec = t_->get(table::api_keys, ip_key(user_id));
  if (!rec) return std::unexpected(rec.error());
  return std::string(*rec);
}

result<void> write_txn::put_api_key(const api_key_record& k) {
  if (k.key_id.empty() || k.user_id.empty() || k.user_id.size() > 0xffff || k.name.size() > 0xffff)
    return std::unexpected(errc::invalid_argument);
  for (const auto& p : k.permissions)
    if (p.find('\n') != std::string::npos) return std::unexpected(errc::invalid_argument);
  if (auto r = t_->put(table::api_keys, key_key(k.key_id), encode_key(k)); !r) return r;
  return t_->put(table::api_keys, index_prefix(k.user_id) + k.key_id, "");
}

result<void> write_txn::set_api_user(std::string_view user_id,
                                     std::optional<std::string_view> allowed_ips) {
  if (!allowed_ips) return t_->del(table::api_keys, ip_key(user_id));
  return t_->put(table::api_keys, ip_key(user_id), *allowed_ips);
}

result<api_key_view> reader::api_key(std::string_view key_id) const {
  // Stack key: the hot path never allocates (key ids are 16 characters).
  char buf[64];
  if (key_id.empty() || key_id.size() > sizeof buf - 2) return std::unexpected(errc::not_found);
  buf[0] = 'k';
  buf[1] = ':';
  std::memcpy(buf + 2, key_id.data(), key_id.size());
  MDB_val k{key_id.size() + 2, buf}, v;
  int rc = mdb_get(static_cast<MDB_txn*>(txn_), env_->dbi[static_cast<std::size_t>(table::api_keys)], &k, &v);
  if (rc != 0) return std::unexpected(errc_of(rc));
  auto d = decode_key({static_cast<const char*>(v.mv_data), v.mv_size});
  if (!d) return std::unexpected(errc::corrupt);
  return api_key_view{d->user_id, reinterpret_cast<const std::uint8_t*>(d->hash.data()),
                      d->h.a, d->h.b, d->h.state != 0, d->lines};
}

result<std::string_view> reader::api_user_allowlist(std::string_view user_id) const {
  char buf[256];
  if (user_id.empty() || user_id.size() > sizeof buf - 3) return std::unexpected(errc::not_found);
  std::memcpy(buf, "ip:", 3);
  std::memcpy(buf + 3, user_id.data(), user_id.size());
  MDB_val k{user_id.size() + 3, buf}, v;
  int rc = mdb_get(static_cast<MDB_txn*>(txn_), env_->dbi[static_cast<std::size_t>(table::api_keys)], &k, &v);
  if (rc != 0) return std::unexpected(errc_of(rc));
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

}  // namespace tollgate::store
