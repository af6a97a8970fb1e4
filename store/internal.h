// store/internal.h — private to store/: the environment, table handles and codecs.
#pragma once

#include <lmdb.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "store/store.h"

namespace tollgate::store {

// errc_of converts an LMDB return code at the module edge.
errc errc_of(int rc);

enum class table : std::uint8_t {
  users,           // user id -> user record
  users_by_name,   // lowercased username -> user id
  users_by_email,  // lowercased email -> user id
  roles,           // role id -> role record
  groups,          // group id -> group record
  groups_by_name,  // lowercased group name -> group id
  members,         // group id \0 user id -> ""
  sessions,        // session id -> session record
  sessions_by_user,  // user id \0 be64(created_at) session id -> ""
  refresh,         // SHA-256(token) -> refresh record
  perms,           // user id -> effective permissions
  keys,            // kid -> signing key blob
  meta,            // name -> value
  audit,           // be64(id) -> audit record
  count_,
};
inline constexpr std::size_t table_count = static_cast<std::size_t>(table::count_);

// Hot readers publish whether they are inside a request so map growth can wait for
// them (munmap under a live reader would fault). One cache line each.
struct alignas(64) reader_slot {
  std::atomic<bool> active{false};
};
inline constexpr std::size_t max_hot_readers = 256;

struct env_impl {
  MDB_env* env = nullptr;
  std::array<MDB_dbi, table_count> dbi{};
  std::string dir;
  std::mutex write_mu;            // writers and map growth (offload pool only)
  mutable std::shared_mutex slow_mu;  // slow readers (shared) vs map growth (unique)
  std::atomic<bool> resizing{false};
  std::array<reader_slot, max_hot_readers> slots;
  std::atomic<std::size_t> next_slot{0};
  std::atomic<std::size_t> map_size{0};

  ~env_impl();
  // grow sets the map to `bytes` (0: adopt the size another process set), waiting
  // for hot readers to leave their requests. Caller holds write_mu and no txn.
  errc grow(std::size_t bytes);
};

// open_env opens (creating files only when `create`) the environment in `dir`.
result<std::unique_ptr<env_impl>> open_env(const std::string& dir, const open_options& opts,
                                           bool create);

class txn_impl {
 public:
  txn_impl(env_impl* e, MDB_txn* t) : env(e), txn(t) {}
  env_impl* env;
  MDB_txn* txn;
  bool map_full = false;  // a put hit MDB_MAP_FULL: the txn must be aborted and rerun

  MDB_dbi dbi(table t) const { return env->dbi[static_cast<std::size_t>(t)]; }
  // get returns the value (a view into the map) or not_found.
  result<std::string_view> get(table t, std::string_view key) const;
  result<void> put(table t, std::string_view key, std::string_view value,
                   unsigned flags = 0);
  // del removes a key; a missing key is ok.
  result<void> del(table t, std::string_view key);
  // scan_prefix visits keys starting with `prefix` in order until fn returns false.
  result<void> scan_prefix(table t, std::string_view prefix,
                           const std::function<bool(std::string_view key,
                                                    std::string_view value)>& fn) const;
};

// ---- codec: records are a fixed little-endian header, then per-kind bytes.
// The header carries the fields the hot path reads, so it never parses JSON.
struct record_header {
  std::uint8_t format = 1;
  std::uint8_t state = 0;      // user: status; session: 1 when revoked
  std::uint16_t aux_len = 0;   // bytes after the header before the JSON body
  std::uint32_t version = 0;   // perms: version
  std::int64_t a = 0;          // user: locked_until; session: created_at
  std::int64_t b = 0;          // session: last_activity
  std::int64_t c = 0;          // session: revoked_at
};
inline constexpr std::size_t header_bytes = 32;

std::string encode_header(const record_header& h);
// decode_header reads the header and returns the bytes after it (aux then body).
std::optional<record_header> decode_header(std::string_view rec, std::string_view& rest);

std::string encode_user(const user& u);
result<user> decode_user(std::string_view id, std::string_view rec);
std::string encode_session(const session& s);
result<session> decode_session(std::string_view id, std::string_view rec);
std::string encode_role(const role& r);
result<role> decode_role(std::string_view id, std::string_view rec);
std::string encode_group(const group& g);
result<group> decode_group(std::string_view id, std::string_view rec);
std::string encode_refresh(const refresh_token& r);
result<refresh_token> decode_refresh(std::string_view rec);
std::string encode_audit(const audit_entry& e);
result<audit_entry> decode_audit(std::uint64_t id, std::string_view rec);
std::string encode_perms(std::uint32_t version, std::string_view lines);

std::string lower_ascii(std::string_view s);
std::string be64(std::uint64_t v);
std::uint64_t from_be64(std::string_view s);
std::string sha256_raw(std::string_view data);

// builtin_roles are written by init.
std::array<role, 2> builtin_roles(time_ns now);

}  // namespace tollgate::store
