// The hot-path reader: one reset read txn per shard, renewed per request.
#include <thread>

#include "store/internal.h"

namespace tollgate::store {

namespace {

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

}  // namespace

result<std::unique_ptr<reader>> store::make_reader() {
  std::size_t slot = env_->next_slot.fetch_add(1);
  if (slot >= max_hot_readers) return std::unexpected(errc::readers_full);
  std::unique_ptr<reader> r(new reader(env_.get()));
  r->slot_ = slot;
  std::shared_lock lock(env_->slow_mu);
  MDB_txn* t = nullptr;
  if (int rc = mdb_txn_begin(env_->env, nullptr, MDB_RDONLY, &t); rc != 0)
    return std::unexpected(errc_of(rc));
  mdb_txn_reset(t);
  r->txn_ = t;
  return r;
}

reader::reader(env_impl* env) : env_(env), slot_(0) {}

reader::~reader() {
  if (txn_ != nullptr) mdb_txn_abort(static_cast<MDB_txn*>(txn_));
}

errc reader::begin() {
  auto& slot = env_->slots[slot_];
  for (;;) {
    slot.active.store(true, std::memory_order_seq_cst);
    if (env_->resizing.load(std::memory_order_seq_cst)) {
      slot.active.store(false, std::memory_order_seq_cst);
      while (env_->resizing.load(std::memory_order_acquire)) std::this_thread::yield();
      continue;
    }
    int rc = mdb_txn_renew(static_cast<MDB_txn*>(txn_));
    if (rc == MDB_SUCCESS) return errc::ok;
    slot.active.store(false, std::memory_order_seq_cst);
    if (rc != MDB_MAP_RESIZED) return errc_of(rc);
    // Another process grew the file; adopting its size needs the writer lock.
    // Rare (once per growth), so the shard may block here briefly.
    mdb_txn_reset(static_cast<MDB_txn*>(txn_));
    std::lock_guard lock(env_->write_mu);
    if (errc g = env_->grow(0); g != errc::ok) return g;
  }
}

void reader::end() {
  mdb_txn_reset(static_cast<MDB_txn*>(txn_));
  env_->slots[slot_].active.store(false, std::memory_order_release);
}

namespace {

result<std::string_view> lookup(void* txn, MDB_dbi dbi, std::string_view key) {
  if (key.empty() || key.size() > 511) return std::unexpected(errc::not_found);
  MDB_val k = val(key), v;
  int rc = mdb_get(static_cast<MDB_txn*>(txn), dbi, &k, &v);
  if (rc != 0) return std::unexpected(errc_of(rc));
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

}  // namespace

result<user_status_view> reader::user_status(std::string_view user_id) const {
  auto rec = lookup(txn_, env_->dbi[static_cast<std::size_t>(table::users)], user_id);
  if (!rec) return std::unexpected(rec.error());
  std::string_view rest;
  auto h = decode_header(*rec, rest);
  if (!h || h->state > static_cast<std::uint8_t>(user_status::deactivated))
    return std::unexpected(errc::corrupt);
  return user_status_view{static_cast<tollgate::store::user_status>(h->state), h->a};
}

result<session_view> reader::session(std::string_view session_id) const {
  auto rec = lookup(txn_, env_->dbi[static_cast<std::size_t>(table::sessions)], session_id);
  if (!rec) return std::unexpected(rec.error());
  std::string_view rest;
  auto h = decode_header(*rec, rest);
  if (!h || rest.size() < h->aux_len) return std::unexpected(errc::corrupt);
  return session_view{rest.substr(0, h->aux_len), h->a, h->b, h->c};
}

result<permissions_view> reader::effective_permissions(std::string_view user_id) const {
  auto rec = lookup(txn_, env_->dbi[static_cast<std::size_t>(table::perms)], user_id);
  if (!rec) return std::unexpected(rec.error());
  std::string_view rest;
  auto h = decode_header(*rec, rest);
  if (!h) return std::unexpected(errc::corrupt);
  return permissions_view{h->version, rest};
}

result<std::string_view> reader::signing_key(std::string_view kid) const {
  return lookup(txn_, env_->dbi[static_cast<std::size_t>(table::keys)], kid);
}

}  // namespace tollgate::store
