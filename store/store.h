// store/store.h — tollgate's durable state: one LMDB environment in the data dir.
//
// Threading: a `store` is opened once per process and shared by every thread.
// Writes (`store::write`) may block (LMDB's single-writer lock, fsync on commit) and
// run only on the offload pool, never on a shard thread. Slow-path reads
// (`store::read`) may run on any thread and never block writers (MVCC). Each shard
// owns one `reader` (made by `store::make_reader`) and uses it only from its own
// thread; a reader's views are valid until its next begin() or end(). Map growth
// (on MDB_MAP_FULL, or when another process grew the file) briefly waits for every
// reader to be between requests; readers never wait for writers otherwise.
//
// Every write runs in one LMDB write transaction that is committed durably (fsync;
// the environment is never opened with MDB_NOSYNC) before store::write returns, and
// the caller appends the audit entry inside the same transaction.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::store {

enum class errc : std::uint8_t {
  ok = 0,
  not_found,            // no such record
  conflict,             // a unique index (username, email, group name, id) already holds the key
  already_initialised,  // init on a data dir that has a store
  not_initialised,      // open on a data dir without a store
  schema_too_new,       // the store was written by a newer tollgate
  corrupt,              // a record could not be decoded
  io_error,             // the data dir or file could not be used (permissions, disk)
  map_full,             // the map could not grow further
  readers_full,         // MDB_READERS_FULL
  invalid_argument,     // a key too long for LMDB or otherwise unusable
};

// message_of returns a short human-readable description of `e`.
std::string_view message_of(errc e);

template <class T>
using result = std::expected<T, errc>;

// time_ns is nanoseconds since the Unix epoch; 0 means "absent".
using time_ns = std::int64_t;

enum class user_status : std::uint8_t { pending_activation, active, locked, deactivated };

// to_string returns the API spelling of `s` ("pending_activation", ...).
std::string_view to_string(user_status s);
// parse_user_status accepts the API spellings and nothing else.
std::optional<user_status> parse_user_status(std::string_view s);

struct user {
  std::string id;        // "usr_..."
  std::string username;  // as given; unique case-insensitively
  std::string email;     // as given; unique case-insensitively; may be empty
  std::string full_name;
  std::string role = "user";
  std::vector<std::string> groups;  // group ids
  user_status status = user_status::pending_activation;
  std::string password_hash;  // PHC string; empty: no password set
  std::string metadata_json = "{}";  // a JSON object, stored as given
  time_ns created_at = 0;
  time_ns updated_at = 0;
  time_ns last_login = 0;
  time_ns deactivated_at = 0;
  time_ns locked_until = 0;
  std::uint32_t failed_logins = 0;
  time_ns first_failed_login = 0;
  bool email_verified = false;
  bool two_factor_enabled = false;
  // Security features (issue 5). Records written before these existed decode with
  // the defaults, so no migration step is needed.
  time_ns password_changed_at = 0;            // 0: unknown (never expires)
  std::vector<std::string> password_history;  // PHC strings, newest (current) first
  bool api_user = false;
  std::vector<std::string> allowed_ips;  // addresses and CIDR ranges (api users)
  std::string totp_secret;               // base32; set by 2fa/enable, active once enabled
  std::int64_t totp_last_step = -1;      // last accepted TOTP step (replay protection)
  std::string backup_codes;              // crypto::backup_codes::encode record
};

struct role {
  std::string id;  // "admin", "user", or a custom id
  std::string name;
  std::vector<std::string> permissions;
  bool builtin = false;
  time_ns created_at = 0;
};

struct group {
  std::string id;  // "grp_..."
  std::string name;  // unique case-insensitively
  std::string description;
  std::vector<std::string> permissions;
  time_ns created_at = 0;
};

struct session {
  std::string id;  // "ses_..."
  std::string user_id;
  time_ns created_at = 0;
  time_ns last_activity = 0;
  time_ns revoked_at = 0;  // 0: live
  std::string ip_address;
  std::string user_agent;
  std::string revoke_reason;  // "logout", "revoked", "evicted", "refresh_reuse", ...
};

// refresh_token is stored under SHA-256(token); the token itself is never stored.
struct refresh_token {
  std::string session_id;
  time_ns issued_at = 0;
  time_ns spent_at = 0;  // 0: current
  // While spent within the grace period, retries are answered with this access token
  // (the refresh token of the pair is derived again by the caller; see api/README.md).
  std::string successor_access_token;
  time_ns successor_expires_at = 0;
};

struct audit_entry {
  std::uint64_t id = 0;   // assigned by the store: monotonic, key order = time order
  time_ns timestamp = 0;  // clamped so it never goes backwards
  std::string user_id;    // the account acted on
  std::string actor_id;
  std::string action;
  std::string ip_address;
  std::string user_agent;
  bool success = true;
  std::string details_json = "{}";
  // hash chains the log: hex SHA-256(previous entry's hash || canonical bytes of
  // this entry), computed by append_audit. See audit_canonical.
  std::string hash;
};

// audit_canonical is the byte string an entry's hash covers (id, timestamp and every
// field, length-prefixed so no two entries share it).
std::string audit_canonical(const audit_entry& e);
// audit_chain_hash is the hash append_audit stores for `e` after `prev_hash`.
std::string audit_chain_hash(std::string_view prev_hash, const audit_entry& e);

// A permission grant with where it came from ("role:admin", "group:support_team").
struct grant {
  std::string permission;
  std::string source;
};

// api_key_record is one API key (store/api_keys.cc). Only the keyed hash of the
// secret is stored (crypto/api_key.h); `prefix` ("sk_live_<key_id>") is safe to list.
struct api_key_record {
  std::string key_id;
  std::string user_id;
  std::string name;
  std::array<std::uint8_t, 32> hash{};
  bool explicit_permissions = false;  // false: the owner's permissions at use time
  std::vector<std::string> permissions;
  time_ns created_at = 0;
  time_ns expires_at = 0;  // 0: never
  time_ns last_used = 0;
  time_ns revoked_at = 0;  // 0: live
};

// ---------------------------------------------------------------------------------
// Transactions (slow path)

class txn_impl;

// read_txn reads records. Returned records are copies (the slow path may allocate).
class read_txn {
 public:
  result<user> get_user(std::string_view id) const;
  // find_user_by_name / find_user_by_email look up the case-insensitive indexes.
  result<user> find_user_by_name(std::string_view username) const;
  result<user> find_user_by_email(std::string_view email) const;
  // for_each_user visits users in id order until `fn` returns false.
  result<void> for_each_user(const std::function<bool(const user&)>& fn) const;
  result<std::size_t> user_count() const;

  result<role> get_role(std::string_view id) const;
  result<std::vector<role>> list_roles() const;

  result<group> get_group(std::string_view id) const;
  result<group> find_group_by_name(std::string_view name) const;
  result<std::vector<group>> list_groups() const;
  // group_members lists the user ids in group `group_id`.
  result<std::vector<std::string>> group_members(std::string_view group_id) const;

  result<session> get_session(std::string_view id) const;
  // user_sessions lists a user's sessions, oldest first, revoked ones included.
  result<std::vector<session>> user_sessions(std::string_view user_id) const;

  // get_refresh looks up a refresh token by its value (hashed here).
  result<refresh_token> get_refresh(std::string_view token) const;

  // effective_permissions returns the user's precomputed grants with their source.
  result<std::vector<grant>> effective_permissions(std::string_view user_id) const;

  result<std::string> get_signing_key(std::string_view kid) const;
  // list_signing_keys returns (kid, blob) pairs in kid order.
  result<std::vector<std::pair<std::string, std::string>>> list_signing_keys() const;

  // get_meta reads a meta value (opaque bytes) such as "refresh_secret".
  result<std::string> get_meta(std::string_view key) const;

  // audit_page returns up to `limit` entries newest first, skipping `offset` matches
  // of `filter`, and the total number of matches.
  result<std::pair<std::vector<audit_entry>, std::size_t>> audit_page(
      const std::function<bool(const audit_entry&)>& filter, std::size_t offset,
      std::size_t limit) const;

  // API keys (store/api_keys.cc). user_api_keys lists a user's keys in key id
  // order, revoked ones included. api_user_allowlist returns the comma-separated
  // `allowed_ips` of an API user, not_found when the user is not an API user.
  result<api_key_record> get_api_key(std::string_view key_id) const;
  result<std::vector<api_key_record>> user_api_keys(std::string_view user_id) const;
  result<std::string> api_user_allowlist(std::string_view user_id) const;
  // audit_after returns up to `limit` entries with id > after_id, oldest first (a
  // cursor for exports and chain checks that read in batches).
  result<std::vector<audit_entry>> audit_after(std::uint64_t after_id, std::size_t limit) const;

  std::uint32_t schema_version() const;

 protected:
  explicit read_txn(txn_impl* t) : t_(t) {}
  txn_impl* t_;
  friend class store;
};

// write_txn adds writes. Each put keeps the indexes and the effective permissions of
// affected users in step within the same transaction.
class write_txn : public read_txn {
 public:
  // put_user inserts or replaces `u` (by id). conflict when another user holds the
  // username or email. Recomputes u's effective permissions (the version bumps only
  // when the set of grants changed).
  result<void> put_user(const user& u);
  // delete_user removes the user, its indexes, memberships, sessions and grants.
  result<void> delete_user(std::string_view id);

  // put_role inserts or replaces a role and recomputes every holder's permissions.
  result<void> put_role(const role& r);
  // delete_role removes a role; conflict while any user holds it.
  result<void> delete_role(std::string_view id);

  // put_group inserts or replaces a group (conflict on a duplicate name) and
  // recomputes every member's permissions.
  result<void> put_group(const group& g);
  // add_member / remove_member change a membership (user record and index).
  // add_member of an existing member and remove_member of a non-member are ok.
  result<void> add_member(std::string_view group_id, std::string_view user_id);
  result<void> remove_member(std::string_view group_id, std::string_view user_id);

  result<void> put_session(const session& s);
  // put_refresh stores `rec` under SHA-256(token).
  result<void> put_refresh(std::string_view token, const refresh_token& rec);

  result<void> put_signing_key(std::string_view kid, std::string_view blob);
  result<void> delete_signing_key(std::string_view kid);
  result<void> put_meta(std::string_view key, std::string_view value);

  // put_api_key inserts or replaces a key record (by key_id) and its user index.
  result<void> put_api_key(const api_key_record& k);
  // set_api_user makes `user_id` an API user restricted to `allowed_ips` (a
  // comma-separated list of addresses and CIDR ranges, already validated; empty
  // allows nothing), or, with nullopt, an ordinary user again.
  result<void> set_api_user(std::string_view user_id, std::optional<std::string_view> allowed_ips);

  // append_audit assigns e.id and clamps e.timestamp; returns the id.
  result<std::uint64_t> append_audit(audit_entry& e);

 private:
  explicit write_txn(txn_impl* t) : read_txn(t) {}
  friend class store;
};

// ---------------------------------------------------------------------------------
// Hot-path reader

// user_status_view is a user's hot fields.
struct user_status_view {
  user_status status = user_status::deactivated;
  time_ns locked_until = 0;
  // usable_at says whether the user may authenticate at `now`: active, or locked
  // with the lock already expired.
  bool usable_at(time_ns now) const {
    return status == user_status::active ||
           (status == user_status::locked && locked_until != 0 && now >= locked_until);
  }
};

// session_view is a session's hot fields; user_id points into the map.
struct session_view {
  std::string_view user_id;
  time_ns created_at = 0;
  time_ns last_activity = 0;
  time_ns revoked_at = 0;
  bool live() const { return revoked_at == 0; }
};

// api_key_view is an API key's hot fields; views point into the map.
struct api_key_view {
  std::string_view user_id;
  const std::uint8_t* hash = nullptr;  // 32 bytes
  time_ns expires_at = 0;  // 0: never
  time_ns revoked_at = 0;
  bool explicit_permissions = false;
  std::string_view permission_lines;  // "perm\n" per explicit permission
  bool live() const { return revoked_at == 0; }
};

// permissions_view lists a user's effective permissions, one per line (each
// "permission\tsource\n"), pointing into the map. `version` changes whenever the
// set changes (role, group or membership change), so callers may cache a compiled
// form keyed by (user id, version).
struct permissions_view {
  std::uint32_t version = 0;
  std::string_view lines;
  // next extracts the next grant from `cursor` (start at 0); false at the end.
  bool next(std::size_t& cursor, std::string_view& permission, std::string_view& source) const;
};

struct env_impl;

// reader is one shard's hot-path read handle: a read transaction opened once
// (MDB_NOTLS), reset between requests and renewed per request. No allocation, no
// lock, no exception; begin() costs one mdb_txn_renew.
class reader {
 public:
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  // begin renews the snapshot: every write committed before begin() is visible.
  // Never blocks, except for the brief wait while the map grows (rare).
  errc begin();
  // end resets the snapshot; views from it become invalid.
  void end();

  // The lookups below need a begin() without an end() since; their views are
  // valid until the next end() or begin().
  // WARNING: do not keep a view across requests.
  result<user_status_view> user_status(std::string_view user_id) const;
  result<session_view> session(std::string_view session_id) const;
  result<permissions_view> effective_permissions(std::string_view user_id) const;
  // signing_key returns the blob stored for `kid`.
  result<std::string_view> signing_key(std::string_view kid) const;
  // api_key looks a key up by key id (store/api_keys.cc).
  result<api_key_view> api_key(std::string_view key_id) const;
  // api_user_allowlist returns an API user's comma-separated allowed_ips (possibly
  // empty: nothing allowed); not_found for ordinary users.
  result<std::string_view> api_user_allowlist(std::string_view user_id) const;

 private:
  friend class store;
  explicit reader(env_impl* env);
  env_impl* env_;
  void* txn_ = nullptr;  // MDB_txn*
  std::size_t slot_;
};

// ---------------------------------------------------------------------------------

// migration upgrades a store from version `from` to `from + 1` inside one write txn.
struct migration {
  std::uint32_t from;
  std::function<result<void>(write_txn&)> run;
};

// schema_version is the version this build writes.
inline constexpr std::uint32_t schema_version = 1;

struct open_options {
  std::size_t initial_map_bytes = std::size_t{1} << 30;
  std::size_t max_readers = 512;
  // Test hook: replaces the built-in migrations and target version.
  std::span<const migration> migrations;
  std::uint32_t target_version = schema_version;
};

// init_params describes the first admin of a new store.
struct init_params {
  std::string admin_user_id;  // "usr_..."
  std::string admin_username;
  std::string admin_password_hash;  // PHC string (crypto/password.h)
  std::string admin_email;          // may be empty
  time_ns now = 0;
};

class store {
 public:
  // open opens the store in `data_dir` (data.mdb inside it), upgrades an older
  // schema step by step, and refuses a newer one. not_initialised when there is no
  // store yet. May block.
  [[gnu::cold]] static result<std::unique_ptr<store>> open(const std::string& data_dir,
                                                           const open_options& opts = {});
  // init creates the data dir if missing and a new store in it with the built-in
  // roles and the first admin (role admin, status active), with a user_create audit
  // entry. already_initialised when the data dir already holds a store. May block.
  [[gnu::cold]] static result<void> init(const std::string& data_dir, const init_params& p,
                                         const open_options& opts = {});
  // backup writes a compacted consistent copy of the store at `data_dir` to
  // `out_file` (mdb_env_copy2 + MDB_CP_COMPACT) while it may be in use. The copy is
  // a complete data.mdb. May block.
  [[gnu::cold]] static result<void> backup(const std::string& data_dir, const std::string& out_file);

  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // write runs `fn` in a write transaction and commits durably when it returns a
  // value; an error aborts. If the map is full, the map grows and `fn` runs again
  // from scratch, so `fn` must have no effect outside the transaction.
  // May block; offload pool only.
  result<void> write(const std::function<result<void>(write_txn&)>& fn);
  // read runs `fn` in a read transaction. May block briefly during map growth.
  result<void> read(const std::function<result<void>(const read_txn&)>& fn) const;

  // make_reader creates a hot-path reader (one per shard).
  [[gnu::cold]] result<std::unique_ptr<reader>> make_reader();

  // map_bytes is the current map size (for metrics).
  std::size_t map_bytes() const;

  // release_mapped_pages drops this process's page mappings of the data file
  // (madvise MADV_DONTNEED on the read-only shared map: the data stays in the page
  // cache and is faulted back in on the next access, hot readers included, at the
  // cost of minor faults). Long scans such as an audit export call it now and then
  // so the pages they touched do not accumulate in the process's RSS. Slow path.
  void release_mapped_pages() const;

 private:
  explicit store(std::unique_ptr<env_impl> env);
  std::unique_ptr<env_impl> env_;
};

// sha256_hex is the hash refresh tokens are stored under (hex, for tests and tools).
std::string sha256_hex(std::string_view data);

}  // namespace tollgate::store
