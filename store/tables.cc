// Typed tables over raw LMDB: indexes and effective permissions kept in step.
#include <algorithm>
#include <unordered_set>

#include "store/internal.h"

namespace tollgate::store {

namespace {

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

// LMDB's default maximum key size is 511 bytes.
constexpr std::size_t max_key = 511;

std::string member_key(std::string_view group_id, std::string_view user_id) {
  std::string k(group_id);
  k.push_back('\0');
  k.append(user_id);
  return k;
}

std::string session_index_key(const session& s) {
  std::string k(s.user_id);
  k.push_back('\0');
  k.append(be64(static_cast<std::uint64_t>(s.created_at)));
  k.append(s.id);
  return k;
}

std::string user_prefix(std::string_view user_id) {
  std::string k(user_id);
  k.push_back('\0');
  return k;
}

}  // namespace

result<std::string_view> txn_impl::get(table t, std::string_view key) const {
  if (key.empty() || key.size() > max_key) return std::unexpected(errc::not_found);
  MDB_val k = val(key), v;
  int rc = mdb_get(txn, dbi(t), &k, &v);
  if (rc != 0) return std::unexpected(errc_of(rc));
  return view(v);
}

result<void> txn_impl::put(table t, std::string_view key, std::string_view value,
                           unsigned flags) {
  if (key.empty() || key.size() > max_key) return std::unexpected(errc::invalid_argument);
  MDB_val k = val(key), v = val(value);
  int rc = mdb_put(txn, dbi(t), &k, &v, flags);
  if (rc == MDB_MAP_FULL) map_full = true;
  if (rc != 0) return std::unexpected(errc_of(rc));
  return {};
}

result<void> txn_impl::del(table t, std::string_view key) {
  if (key.empty() || key.size() > max_key) return {};
  MDB_val k = val(key);
  int rc = mdb_del(txn, dbi(t), &k, nullptr);
  if (rc == MDB_MAP_FULL) map_full = true;
  if (rc != 0 && rc != MDB_NOTFOUND) return std::unexpected(errc_of(rc));
  return {};
}

result<void> txn_impl::scan_prefix(
    table t, std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  MDB_cursor* c = nullptr;
  if (int rc = mdb_cursor_open(txn, dbi(t), &c); rc != 0) return std::unexpected(errc_of(rc));
  MDB_val k = val(prefix), v;
  int rc = prefix.empty() ? mdb_cursor_get(c, &k, &v, MDB_FIRST)
                          : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  while (rc == 0) {
    std::string_view key = view(k);
    if (!key.starts_with(prefix) || !fn(key, view(v))) break;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (rc != 0 && rc != MDB_NOTFOUND) return std::unexpected(errc_of(rc));
  return {};
}

// ---- reads

result<user> read_txn::get_user(std::string_view id) const {
  auto rec = t_->get(table::users, id);
  if (!rec) return std::unexpected(rec.error());
  return decode_user(id, *rec);
}

result<user> read_txn::find_user_by_name(std::string_view username) const {
  auto id = t_->get(table::users_by_name, lower_ascii(username));
  if (!id) return std::unexpected(id.error());
  return get_user(std::string(*id));
}

result<user> read_txn::find_user_by_email(std::string_view email) const {
  auto id = t_->get(table::users_by_email, lower_ascii(email));
  if (!id) return std::unexpected(id.error());
  return get_user(std::string(*id));
}

result<void> read_txn::for_each_user(const std::function<bool(const user&)>& fn) const {
  errc bad = errc::ok;
  auto r = t_->scan_prefix(table::users, {}, [&](std::string_view k, std::string_view v) {
    auto u = decode_user(k, v);
    if (!u) {
      bad = u.error();
      return false;
    }
    return fn(*u);
  });
  if (!r) return r;
  if (bad != errc::ok) return std::unexpected(bad);
  return {};
}

result<std::size_t> read_txn::user_count() const {
  MDB_stat st;
  if (int rc = mdb_stat(t_->txn, t_->dbi(table::users), &st); rc != 0)
    return std::unexpected(errc_of(rc));
  return st.ms_entries;
}

result<role> read_txn::get_role(std::string_view id) const {
  auto rec = t_->get(table::roles, id);
  if (!rec) return std::unexpected(rec.error());
  return decode_role(id, *rec);
}

result<std::vector<role>> read_txn::list_roles() const {
  std::vector<role> out;
  errc bad = errc::ok;
  auto r = t_->scan_prefix(table::roles, {}, [&](std::string_view k, std::string_view v) {
    auto ro = decode_role(k, v);
    if (!ro) bad = ro.error();
    else out.push_back(std::move(*ro));
    return bool(ro);
  });
  if (!r) return std::unexpected(r.error());
  if (bad != errc::ok) return std::unexpected(bad);
  return out;
}

result<group> read_txn::get_group(std::string_view id) const {
  auto rec = t_->get(table::groups, id);
  if (!rec) return std::unexpected(rec.error());
  return decode_group(id, *rec);
}

result<group> read_txn::find_group_by_name(std::string_view name) const {
  auto id = t_->get(table::groups_by_name, lower_ascii(name));
  if (!id) return std::unexpected(id.error());
  return get_group(std::string(*id));
}

result<std::vector<group>> read_txn::list_groups() const {
  std::vector<group> out;
  errc bad = errc::ok;
  auto r = t_->scan_prefix(table::groups, {}, [&](std::string_view k, std::string_view v) {
    auto g = decode_group(k, v);
    if (!g) bad = g.error();
    else out.push_back(std::move(*g));
    return bool(g);
  });
  if (!r) return std::unexpected(r.error());
  if (bad != errc::ok) return std::unexpected(bad);
  return out;
}

result<std::vector<std::string>> read_txn::group_members(std::string_view group_id) const {
  std::vector<std::string> out;
  std::string prefix = user_prefix(group_id);
  auto r = t_->scan_prefix(table::members, prefix, [&](std::string_view k, std::string_view) {
    out.emplace_back(k.substr(prefix.size()));
    return true;
  });
  if (!r) return std::unexpected(r.error());
  return out;
}

result<session> read_txn::get_session(std::string_view id) const {
  auto rec = t_->get(table::sessions, id);
  if (!rec) return std::unexpected(rec.error());
  return decode_session(id, *rec);
}

result<std::vector<session>> read_txn::user_sessions(std::string_view user_id) const {
  std::vector<std::string> ids;
  std::string prefix = user_prefix(user_id);
  auto r = t_->scan_prefix(table::sessions_by_user, prefix,
                           [&](std::string_view k, std::string_view) {
                             if (k.size() > prefix.size() + 8)
                               ids.emplace_back(k.substr(prefix.size() + 8));
                             return true;
                           });
  if (!r) return std::unexpected(r.error());
  std::vector<session> out;
  for (auto& id : ids) {
    auto s = get_session(id);
    if (!s) return std::unexpected(s.error());
    out.push_back(std::move(*s));
  }
  return out;
}

result<refresh_token> read_txn::get_refresh(std::string_view token) const {
  auto rec = t_->get(table::refresh, sha256_raw(token));
  if (!rec) return std::unexpected(rec.error());
  return decode_refresh(*rec);
}

result<std::vector<grant>> read_txn::effective_permissions(std::string_view user_id) const {
  auto rec = t_->get(table::perms, user_id);
  if (!rec) return std::unexpected(rec.error());
  std::string_view rest;
  auto h = decode_header(*rec, rest);
  if (!h) return std::unexpected(errc::corrupt);
  permissions_view pv{h->version, rest};
  std::vector<grant> out;
  std::size_t cur = 0;
  std::string_view p, s;
  while (pv.next(cur, p, s)) out.push_back(grant{std::string(p), std::string(s)});
  return out;
}

result<std::string> read_txn::get_signing_key(std::string_view kid) const {
  auto rec = t_->get(table::keys, kid);
  if (!rec) return std::unexpected(rec.error());
  return std::string(*rec);
}

result<std::vector<std::pair<std::string, std::string>>> read_txn::list_signing_keys() const {
  std::vector<std::pair<std::string, std::string>> out;
  auto r = t_->scan_prefix(table::keys, {}, [&](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k), std::string(v));
    return true;
  });
  if (!r) return std::unexpected(r.error());
  return out;
}

result<std::string> read_txn::get_meta(std::string_view key) const {
  auto rec = t_->get(table::meta, key);
  if (!rec) return std::unexpected(rec.error());
  return std::string(*rec);
}

result<std::pair<std::vector<audit_entry>, std::size_t>> read_txn::audit_page(
    const std::function<bool(const audit_entry&)>& filter, std::size_t offset,
    std::size_t limit) const {
  MDB_cursor* c = nullptr;
  if (int rc = mdb_cursor_open(t_->txn, t_->dbi(table::audit), &c); rc != 0)
    return std::unexpected(errc_of(rc));
  std::vector<audit_entry> out;
  std::size_t total = 0;
  MDB_val k, v;
  int rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  errc bad = errc::ok;
  while (rc == 0) {
    auto e = decode_audit(from_be64(view(k)), view(v));
    if (!e) {
      bad = e.error();
      break;
    }
    if (filter(*e)) {
      if (total >= offset && out.size() < limit) out.push_back(std::move(*e));
      ++total;
    }
    rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
  }
  mdb_cursor_close(c);
  if (bad != errc::ok) return std::unexpected(bad);
  if (rc != 0 && rc != MDB_NOTFOUND) return std::unexpected(errc_of(rc));
  return std::pair{std::move(out), total};
}

result<std::vector<audit_entry>> read_txn::audit_after(std::uint64_t after_id,
                                                       std::size_t limit) const {
  MDB_cursor* c = nullptr;
  if (int rc = mdb_cursor_open(t_->txn, t_->dbi(table::audit), &c); rc != 0)
    return std::unexpected(errc_of(rc));
  std::vector<audit_entry> out;
  std::string start = be64(after_id + 1);
  MDB_val k{start.size(), start.data()}, v;
  int rc = after_id == UINT64_MAX ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  errc bad = errc::ok;
  while (rc == 0 && out.size() < limit) {
    auto e = decode_audit(from_be64(view(k)), view(v));
    if (!e) {
      bad = e.error();
      break;
    }
    out.push_back(std::move(*e));
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (bad != errc::ok) return std::unexpected(bad);
  if (rc != 0 && rc != MDB_NOTFOUND) return std::unexpected(errc_of(rc));
  return out;
}

// ---- writes

namespace {

// recompute_perms rebuilds the user's grants from its role and groups: role first,
// then groups in membership order; a permission keeps its first source.
result<void> recompute_perms(txn_impl& t, const read_txn& r, const user& u) {
  std::string lines;
  std::unordered_set<std::string> seen;
  auto add = [&](const std::vector<std::string>& perms, const std::string& source) {
    for (auto& p : perms) {
      if (p.empty() || p.find_first_of("\t\n") != std::string::npos) continue;
      if (!seen.insert(p).second) continue;
      lines.append(p).push_back('\t');
      lines.append(source).push_back('\n');
    }
  };
  if (auto ro = r.get_role(u.role)) add(ro->permissions, "role:" + ro->id);
  else if (ro.error() != errc::not_found) return std::unexpected(ro.error());
  for (auto& gid : u.groups) {
    if (auto g = r.get_group(gid)) add(g->permissions, "group:" + g->name);
    else if (g.error() != errc::not_found) return std::unexpected(g.error());
  }
  std::uint32_t version = 1;
  if (auto old = t.get(table::perms, u.id)) {
    std::string_view rest;
    auto h = decode_header(*old, rest);
    if (h && rest == lines) return {};
    if (h) version = h->version + 1;
  }
  return t.put(table::perms, u.id, encode_perms(version, lines));
}

}  // namespace

result<void> write_txn::put_user(const user& u) {
  if (u.id.empty() || u.username.empty()) return std::unexpected(errc::invalid_argument);
  std::string name_key = lower_ascii(u.username), email_key = lower_ascii(u.email);
  std::optional<user> old;
  if (auto o = get_user(u.id)) old = std::move(*o);
  else if (o.error() != errc::not_found) return std::unexpected(o.error());

  auto claim = [&](table idx, const std::string& key, const std::string& old_key) -> result<void> {
    if (old && old_key == key) return {};
    if (auto holder = t_->get(idx, key)) {
      if (*holder != u.id) return std::unexpected(errc::conflict);
    }
    if (old && !old_key.empty()) {
      if (auto r = t_->del(idx, old_key); !r) return r;
    }
    return t_->put(idx, key, u.id);
  };
  if (auto r = claim(table::users_by_name, name_key, old ? lower_ascii(old->username) : ""); !r)
    return r;
  if (!email_key.empty() || (old && !old->email.empty())) {
    std::string old_email = old ? lower_ascii(old->email) : "";
    if (email_key.empty()) {
      if (auto r = t_->del(table::users_by_email, old_email); !r) return r;
    } else if (auto r = claim(table::users_by_email, email_key, old_email); !r) {
      return r;
    }
  }
  // Memberships: the index mirrors the user's group list.
  if (old) {
    for (auto& g : old->groups) {
      if (std::find(u.groups.begin(), u.groups.end(), g) == u.groups.end()) {
        if (auto r = t_->del(table::members, member_key(g, u.id)); !r) return r;
      }
    }
  }
  for (auto& g : u.groups) {
    if (auto r = t_->put(table::members, member_key(g, u.id), {}); !r) return r;
  }
  if (auto r = t_->put(table::users, u.id, encode_user(u)); !r) return r;
  // The hot path reads an API user's ranges from their own small record; keep it in
  // step with the user record in the same transaction.
  std::optional<std::string> ranges;
  if (u.api_user) {
    ranges.emplace();
    for (const auto& ip : u.allowed_ips) {
      if (!ranges->empty()) ranges->push_back(',');
      ranges->append(ip);
    }
  }
  if (auto r = set_api_user(u.id, ranges); !r) return r;
  return recompute_perms(*t_, *this, u);
}

result<void> write_txn::delete_user(std::string_view id) {
  auto u = get_user(id);
  if (!u) return std::unexpected(u.error());
  auto sessions = user_sessions(id);
  if (!sessions) return std::unexpected(sessions.error());
  for (auto& s : *sessions) {
    if (auto r = t_->del(table::sessions_by_user, session_index_key(s)); !r) return r;
    if (auto r = t_->del(table::sessions, s.id); !r) return r;
  }
  for (auto& g : u->groups) {
    if (auto r = t_->del(table::members, member_key(g, u->id)); !r) return r;
  }
  if (auto r = t_->del(table::users_by_name, lower_ascii(u->username)); !r) return r;
  if (!u->email.empty()) {
    if (auto r = t_->del(table::users_by_email, lower_ascii(u->email)); !r) return r;
  }
  if (auto r = t_->del(table::perms, id); !r) return r;
  if (auto r = set_api_user(id, std::nullopt); !r) return r;
  return t_->del(table::users, id);
}

result<void> write_txn::put_role(const role& r) {
  if (auto ok = t_->put(table::roles, r.id, encode_role(r)); !ok) return ok;
  std::vector<user> holders;
  auto scan = for_each_user([&](const user& u) {
    if (u.role == r.id) holders.push_back(u);
    return true;
  });
  if (!scan) return scan;
  for (auto& u : holders) {
    if (auto ok = recompute_perms(*t_, *this, u); !ok) return ok;
  }
  return {};
}

result<void> write_txn::delete_role(std::string_view id) {
  if (auto r = get_role(id); !r) return std::unexpected(r.error());
  bool held = false;
  auto scan = for_each_user([&](const user& u) {
    held = u.role == id;
    return !held;
  });
  if (!scan) return scan;
  if (held) return std::unexpected(errc::conflict);
  return t_->del(table::roles, id);
}

result<void> write_txn::put_group(const group& g) {
  std::string name_key = lower_ascii(g.name);
  std::string old_name;
  if (auto old = get_group(g.id)) old_name = lower_ascii(old->name);
  else if (old.error() != errc::not_found) return std::unexpected(old.error());
  if (old_name != name_key) {
    if (auto holder = t_->get(table::groups_by_name, name_key); holder && *holder != g.id)
      return std::unexpected(errc::conflict);
    if (!old_name.empty()) {
      if (auto r = t_->del(table::groups_by_name, old_name); !r) return r;
    }
    if (auto r = t_->put(table::groups_by_name, name_key, g.id); !r) return r;
  }
  if (auto r = t_->put(table::groups, g.id, encode_group(g)); !r) return r;
  auto members = group_members(g.id);
  if (!members) return std::unexpected(members.error());
  for (auto& uid : *members) {
    auto u = get_user(uid);
    if (!u) return std::unexpected(u.error());
    if (auto r = recompute_perms(*t_, *this, *u); !r) return r;
  }
  return {};
}

result<void> write_txn::add_member(std::string_view group_id, std::string_view user_id) {
  if (auto g = get_group(group_id); !g) return std::unexpected(g.error());
  auto u = get_user(user_id);
  if (!u) return std::unexpected(u.error());
  if (std::find(u->groups.begin(), u->groups.end(), group_id) != u->groups.end()) return {};
  u->groups.emplace_back(group_id);
  return put_user(*u);
}

result<void> write_txn::remove_member(std::string_view group_id, std::string_view user_id) {
  auto u = get_user(user_id);
  if (!u) return std::unexpected(u.error());
  auto it = std::find(u->groups.begin(), u->groups.end(), group_id);
  if (it == u->groups.end()) return {};
  u->groups.erase(it);
  return put_user(*u);
}

result<void> write_txn::put_session(const session& s) {
  if (s.id.empty() || s.user_id.empty() || s.user_id.size() > 200)
    return std::unexpected(errc::invalid_argument);
  if (auto r = t_->put(table::sessions, s.id, encode_session(s)); !r) return r;
  return t_->put(table::sessions_by_user, session_index_key(s), {});
}

result<void> write_txn::put_refresh(std::string_view token, const refresh_token& rec) {
  return t_->put(table::refresh, sha256_raw(token), encode_refresh(rec));
}

result<void> write_txn::put_signing_key(std::string_view kid, std::string_view blob) {
  return t_->put(table::keys, kid, blob);
}

result<void> write_txn::delete_signing_key(std::string_view kid) {
  return t_->del(table::keys, kid);
}

result<void> write_txn::put_meta(std::string_view key, std::string_view value) {
  return t_->put(table::meta, key, value);
}

result<std::uint64_t> write_txn::append_audit(audit_entry& e) {
  MDB_cursor* c = nullptr;
  if (int rc = mdb_cursor_open(t_->txn, t_->dbi(table::audit), &c); rc != 0)
    return std::unexpected(errc_of(rc));
  MDB_val k, v;
  int rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  std::uint64_t id = 1;
  std::string prev_hash;
  if (rc == 0) {
    id = from_be64(view(k)) + 1;
    auto last = decode_audit(id - 1, view(v));
    if (!last) {
      mdb_cursor_close(c);
      return std::unexpected(last.error());
    }
    // Clamp so key order is time order even if the wall clock stepped back.
    if (last->timestamp > e.timestamp) e.timestamp = last->timestamp;
    prev_hash = std::move(last->hash);
  }
  mdb_cursor_close(c);
  if (rc != 0 && rc != MDB_NOTFOUND) return std::unexpected(errc_of(rc));
  e.id = id;
  e.hash = audit_chain_hash(prev_hash, e);
  // MDB_APPEND: keys only grow, so LMDB can skip the search and fill pages fully.
  if (auto r = t_->put(table::audit, be64(id), encode_audit(e), MDB_APPEND); !r)
    return std::unexpected(r.error());
  return id;
}

}  // namespace tollgate::store
