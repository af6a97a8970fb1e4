// The LMDB environment: open, map growth, transactions, init, migrations, backup.
#include <sys/mman.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "store/internal.h"

namespace tollgate::store {

namespace {

constexpr const char* table_names[table_count] = {
    "users",    "users_by_name",    "users_by_email", "roles", "groups", "groups_by_name",
    "members",  "sessions",         "sessions_by_user", "refresh", "perms", "keys",
    "meta",     "audit",            "api_keys",
};

constexpr std::string_view schema_key = "schema_version";

std::string encode_u32(std::uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
  return out;
}
std::uint32_t decode_u32(std::string_view s) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4 && i < s.size(); ++i)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])) << (8 * i);
  return v;
}

bool data_file_exists(const std::string& dir) {
  struct stat st{};
  return ::stat((dir + "/data.mdb").c_str(), &st) == 0 && st.st_size > 0;
}

}  // namespace

errc errc_of(int rc) {
  switch (rc) {
    case MDB_SUCCESS: return errc::ok;
    case MDB_NOTFOUND: return errc::not_found;
    case MDB_KEYEXIST: return errc::conflict;
    case MDB_MAP_FULL: return errc::map_full;
    case MDB_READERS_FULL: return errc::readers_full;
    case MDB_BAD_VALSIZE: return errc::invalid_argument;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH: return errc::corrupt;
    default: return errc::io_error;
  }
}

std::string_view message_of(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::not_found: return "not found";
    case errc::conflict: return "already exists";
    case errc::already_initialised: return "the data dir already holds an initialised store";
    case errc::not_initialised: return "the data dir holds no store (run tollgate init)";
    case errc::schema_too_new: return "the store was written by a newer tollgate";
    case errc::corrupt: return "the store holds a record that cannot be decoded";
    case errc::io_error: return "the data dir or its files cannot be used";
    case errc::map_full: return "the store is full and cannot grow";
    case errc::readers_full: return "too many concurrent store readers";
    case errc::invalid_argument: return "key too long or unusable";
  }
  return "unknown store error";
}

std::string_view to_string(user_status s) {
  switch (s) {
    case user_status::pending_activation: return "pending_activation";
    case user_status::active: return "active";
    case user_status::locked: return "locked";
    case user_status::deactivated: return "deactivated";
  }
  return "deactivated";
}

std::optional<user_status> parse_user_status(std::string_view s) {
  for (auto st : {user_status::pending_activation, user_status::active, user_status::locked,
                  user_status::deactivated}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

env_impl::~env_impl() {
  if (env != nullptr) mdb_env_close(env);
}

errc env_impl::grow(std::size_t bytes) {
  // Publish the intent first, then wait: a hot reader re-checks `resizing` after
  // marking itself active (both seq_cst), so after this loop none can be inside.
  resizing.store(true, std::memory_order_seq_cst);
  std::unique_lock slow(slow_mu);
  std::size_t used = next_slot.load();
  for (std::size_t i = 0; i < used && i < max_hot_readers; ++i) {
    while (slots[i].active.load(std::memory_order_seq_cst)) std::this_thread::yield();
  }
  int rc = mdb_env_set_mapsize(env, bytes);
  if (rc == MDB_SUCCESS) {
    MDB_envinfo info;
    mdb_env_info(env, &info);
    map_size.store(info.me_mapsize);
  }
  resizing.store(false, std::memory_order_seq_cst);
  return errc_of(rc);
}

result<std::unique_ptr<env_impl>> open_env(const std::string& dir, const open_options& opts,
                                           bool create) {
  auto e = std::make_unique<env_impl>();
  e->dir = dir;
  if (int rc = mdb_env_create(&e->env); rc != 0) return std::unexpected(errc_of(rc));
  mdb_env_set_maxdbs(e->env, table_count + 2);
  mdb_env_set_maxreaders(e->env, static_cast<unsigned>(opts.max_readers));
  mdb_env_set_mapsize(e->env, opts.initial_map_bytes);
  // MDB_NOTLS: read txns are tied to handles, not threads, so a shard's reader (and
  // the offload pool's short reads) may use any thread. No MDB_NOSYNC: every commit
  // is fsynced before write() returns.
  if (int rc = mdb_env_open(e->env, dir.c_str(), MDB_NOTLS, 0600); rc != 0) {
    return std::unexpected(rc == ENOENT || rc == EACCES || rc == ENOTDIR ? errc::io_error
                                                                         : errc_of(rc));
  }
  MDB_envinfo info;
  mdb_env_info(e->env, &info);
  e->map_size.store(info.me_mapsize);

  MDB_txn* t = nullptr;
  if (int rc = mdb_txn_begin(e->env, nullptr, create ? 0 : MDB_RDONLY, &t); rc != 0)
    return std::unexpected(errc_of(rc));
  for (std::size_t i = 0; i < table_count; ++i) {
    int rc = mdb_dbi_open(t, table_names[i], create ? MDB_CREATE : 0, &e->dbi[i]);
    if (rc != 0) {
      mdb_txn_abort(t);
      return std::unexpected(rc == MDB_NOTFOUND ? errc::not_initialised : errc_of(rc));
    }
  }
  int rc = mdb_txn_commit(t);
  if (rc != 0) return std::unexpected(errc_of(rc));
  return e;
}

store::store(std::unique_ptr<env_impl> env) : env_(std::move(env)) {}
store::~store() = default;

std::size_t store::map_bytes() const { return env_->map_size.load(); }

void store::release_mapped_pages() const {
  // LMDB does not report where it mapped the file (mdb_env_info's me_mapaddr is
  // only set with MDB_FIXEDMAP), so find the mapping of data.mdb in /proc/self/maps.
  // Shared with slow readers, exclusive with map growth, which unmaps and remaps.
  std::shared_lock lock(env_->slow_mu);
  std::error_code ec;
  std::string file = std::filesystem::weakly_canonical(std::filesystem::path(env_->dir) / "data.mdb", ec);
  if (ec) return;
  FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return;
  char line[4352];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    std::string_view l(line);
    if (!l.ends_with(file + "\n")) continue;
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line, "%lx-%lx", &lo, &hi) != 2 || hi <= lo) continue;
    // Advisory only: a failure leaves the pages mapped, which is merely more RSS.
    (void)::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
  }
  std::fclose(maps);
}

result<void> store::write(const std::function<result<void>(write_txn&)>& fn) {
  std::lock_guard lock(env_->write_mu);
  for (;;) {
    MDB_txn* t = nullptr;
    int rc = mdb_txn_begin(env_->env, nullptr, 0, &t);
    if (rc == MDB_MAP_RESIZED) {
      // Another process (tollgate backup, an admin tool) grew the file.
      if (errc g = env_->grow(0); g != errc::ok) return std::unexpected(g);
      continue;
    }
    if (rc != 0) return std::unexpected(errc_of(rc));
    txn_impl ti(env_.get(), t);
    write_txn w(&ti);
    result<void> r = fn(w);
    if (r && !ti.map_full) {
      rc = mdb_txn_commit(t);
      if (rc == MDB_SUCCESS) return {};
      if (rc != MDB_MAP_FULL) return std::unexpected(errc_of(rc));
    } else {
      mdb_txn_abort(t);
      if (!ti.map_full) return r;
    }
    // MDB_MAP_FULL: double the map and run the whole transaction again.
    std::size_t cur = env_->map_size.load();
    if (cur > (std::size_t{1} << 44)) return std::unexpected(errc::map_full);
    if (errc g = env_->grow(cur * 2); g != errc::ok) return std::unexpected(g);
  }
}

result<void> store::read(const std::function<result<void>(const read_txn&)>& fn) const {
  for (;;) {
    std::shared_lock lock(env_->slow_mu);
    MDB_txn* t = nullptr;
    int rc = mdb_txn_begin(env_->env, nullptr, MDB_RDONLY, &t);
    if (rc == MDB_MAP_RESIZED) {
      lock.unlock();
      std::lock_guard w(env_->write_mu);
      if (errc g = env_->grow(0); g != errc::ok) return std::unexpected(g);
      continue;
    }
    if (rc != 0) return std::unexpected(errc_of(rc));
    txn_impl ti(env_.get(), t);
    read_txn r(&ti);
    result<void> out = fn(r);
    mdb_txn_abort(t);
    return out;
  }
}

std::uint32_t read_txn::schema_version() const {
  auto v = t_->get(table::meta, schema_key);
  return v ? decode_u32(*v) : 0;
}

result<std::unique_ptr<store>> store::open(const std::string& data_dir, const open_options& opts) {
  if (!data_file_exists(data_dir)) return std::unexpected(errc::not_initialised);
  auto env = open_env(data_dir, opts, false);
  if (!env) return std::unexpected(env.error());
  std::unique_ptr<store> s(new store(std::move(*env)));
  std::uint32_t version = 0;
  auto r = s->read([&](const read_txn& t) -> result<void> {
    version = t.schema_version();
    return {};
  });
  if (!r) return std::unexpected(r.error());
  if (version == 0) return std::unexpected(errc::not_initialised);
  if (version > opts.target_version) return std::unexpected(errc::schema_too_new);
  // Built-in migrations: none yet (schema 1 is the first). Each step commits on its
  // own, so an interrupted upgrade resumes from the last completed step.
  std::span<const migration> steps = opts.migrations;
  while (version < opts.target_version) {
    const migration* step = nullptr;
    for (auto& m : steps) {
      if (m.from == version) step = &m;
    }
    if (step == nullptr) return std::unexpected(errc::schema_too_new);
    auto w = s->write([&](write_txn& t) -> result<void> {
      if (auto ok = step->run(t); !ok) return ok;
      return t.put_meta(schema_key, encode_u32(version + 1));
    });
    if (!w) return std::unexpected(w.error());
    ++version;
  }
  return s;
}

std::array<role, 2> builtin_roles(time_ns now) {
  return {role{"admin", "Administrator", {"users.manage", "bots.manage", "system.configure"},
               true, now},
          role{"user", "User", {"bots.use", "profile.edit"}, true, now}};
}

result<void> store::init(const std::string& data_dir, const init_params& p,
                         const open_options& opts) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return std::unexpected(errc::io_error);
  if (data_file_exists(data_dir)) {
    // A data.mdb may exist from an init that crashed before its commit: only a
    // store with a schema version counts as initialised.
    auto existing = open(data_dir, opts);
    if (existing || existing.error() != errc::not_initialised)
      return std::unexpected(errc::already_initialised);
  }
  auto env = open_env(data_dir, opts, true);
  if (!env) return std::unexpected(env.error());
  store s(std::move(*env));
  return s.write([&](write_txn& t) -> result<void> {
    if (t.schema_version() != 0) return std::unexpected(errc::already_initialised);
    if (auto r = t.put_meta(schema_key, encode_u32(opts.target_version)); !r) return r;
    std::string secret(32, '\0');
    RAND_bytes(reinterpret_cast<std::uint8_t*>(secret.data()), secret.size());
    if (auto r = t.put_meta("refresh_secret", secret); !r) return r;
    for (auto& r : builtin_roles(p.now)) {
      if (auto ok = t.put_role(r); !ok) return ok;
    }
    user admin;
    admin.id = p.admin_user_id;
    admin.username = p.admin_username;
    admin.email = p.admin_email;
    admin.role = "admin";
    admin.status = user_status::active;
    admin.password_hash = p.admin_password_hash;
    admin.created_at = admin.updated_at = p.now;
    if (auto r = t.put_user(admin); !r) return r;
    audit_entry e;
    e.timestamp = p.now;
    e.user_id = admin.id;
    e.actor_id = "system";
    e.action = "user_create";
    e.details_json = R"({"source":"init","role":"admin"})";
    if (auto r = t.append_audit(e); !r) return std::unexpected(r.error());
    return {};
  });
}

result<void> store::backup(const std::string& data_dir, const std::string& out_file) {
  if (!data_file_exists(data_dir)) return std::unexpected(errc::not_initialised);
  open_options adopt;
  adopt.initial_map_bytes = 0;  // 0: take the map size recorded in the file
  auto env = open_env(data_dir, adopt, false);
  if (!env) return std::unexpected(env.error());
  // Copy to a temporary name and rename, so out_file is either absent or complete.
  std::string tmp = out_file + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(errc::io_error);
  int rc = mdb_env_copyfd2((*env)->env, fd, MDB_CP_COMPACT);
  bool ok = rc == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), out_file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return std::unexpected(rc != 0 ? errc_of(rc) : errc::io_error);
  }
  return {};
}

}  // namespace tollgate::store
