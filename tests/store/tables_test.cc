// tests/store/tables_test.cc — typed tables, indexes and effective permissions.
#include <gtest/gtest.h>

#include "store/store.h"
#include "tests/store/test_util.h"

namespace tollgate::store {
namespace {

using testing::admin_params;
using testing::temp_dir;

class Tables : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store::init(dir_.path(), admin_params()));
    auto s = store::open(dir_.path());
    ASSERT_TRUE(s);
    s_ = std::move(*s);
  }
  result<void> add_user(std::string id, std::string name, std::string email,
                        std::string role = "user") {
    return s_->write([&](write_txn& t) {
      user u;
      u.id = id;
      u.username = name;
      u.email = email;
      u.role = role;
      u.status = user_status::active;
      return t.put_user(u);
    });
  }
  std::vector<grant> grants(std::string_view uid) {
    std::vector<grant> out;
    EXPECT_TRUE(s_->read([&](const read_txn& t) -> result<void> {
      out = t.effective_permissions(uid).value_or(std::vector<grant>{});
      return {};
    }));
    return out;
  }
  temp_dir dir_;
  std::unique_ptr<store> s_;
};

TEST_F(Tables, UsernameAndEmailUniqueCaseInsensitive) {
  ASSERT_TRUE(add_user("usr_1", "JohnDoe", "John@Example.com"));
  auto dup_name = add_user("usr_2", "johndoe", "other@example.com");
  ASSERT_FALSE(dup_name);
  EXPECT_EQ(dup_name.error(), errc::conflict);
  auto dup_email = add_user("usr_3", "jane", "JOHN@example.COM");
  ASSERT_FALSE(dup_email);
  EXPECT_EQ(dup_email.error(), errc::conflict);
  // The failed writes left nothing behind.
  ASSERT_TRUE(s_->read([](const read_txn& t) -> result<void> {
    EXPECT_EQ(t.user_count().value_or(0), 2u);
    EXPECT_FALSE(t.get_user("usr_2"));
    EXPECT_FALSE(t.find_user_by_name("jane"));
    EXPECT_EQ(t.find_user_by_email("john@EXAMPLE.com").value_or(user{}).id, "usr_1");
    return {};
  }));
  // Users without an email do not collide with each other.
  EXPECT_TRUE(add_user("usr_4", "a", ""));
  EXPECT_TRUE(add_user("usr_5", "b", ""));
}

TEST_F(Tables, RenameFreesOldIndexKeys) {
  ASSERT_TRUE(add_user("usr_1", "old", "old@example.com"));
  ASSERT_TRUE(s_->write([](write_txn& t) -> result<void> {
    auto u = t.get_user("usr_1");
    if (!u) return std::unexpected(u.error());
    u->username = "new";
    u->email = "new@example.com";
    return t.put_user(*u);
  }));
  EXPECT_TRUE(add_user("usr_2", "old", "old@example.com"));
  EXPECT_FALSE(add_user("usr_3", "NEW", ""));
}

TEST_F(Tables, RoleAndGroupPermissionsWithSourcesAndVersions) {
  ASSERT_TRUE(add_user("usr_1", "u1", ""));
  auto g0 = grants("usr_1");
  ASSERT_EQ(g0.size(), 2u);
  EXPECT_EQ(g0[0].permission, "bots.use");
  EXPECT_EQ(g0[0].source, "role:user");

  std::uint32_t v1 = 0, v2 = 0, v3 = 0;
  auto rd = s_->make_reader();
  ASSERT_TRUE(rd);
  auto version = [&] {
    EXPECT_EQ((*rd)->begin(), errc::ok);
    auto p = (*rd)->effective_permissions("usr_1");
    std::uint32_t v = p ? p->version : 0;
    (*rd)->end();
    return v;
  };
  v1 = version();
  ASSERT_TRUE(s_->write([](write_txn& t) -> result<void> {
    group g{"grp_1", "support_team", "Support", {"tickets.manage", "bots.use"}, 1};
    if (auto r = t.put_group(g); !r) return r;
    return t.add_member("grp_1", "usr_1");
  }));
  v2 = version();
  EXPECT_GT(v2, v1);
  auto g1 = grants("usr_1");
  ASSERT_EQ(g1.size(), 3u);  // bots.use keeps its role source
  EXPECT_EQ(g1[2].permission, "tickets.manage");
  EXPECT_EQ(g1[2].source, "group:support_team");

  // Changing the group's permissions reaches the member.
  ASSERT_TRUE(s_->write([](write_txn& t) -> result<void> {
    group g{"grp_1", "support_team", "Support", {"kb.edit"}, 1};
    return t.put_group(g);
  }));
  v3 = version();
  EXPECT_GT(v3, v2);
  auto g2 = grants("usr_1");
  ASSERT_EQ(g2.size(), 3u);
  EXPECT_EQ(g2[2].permission, "kb.edit");

  // Changing the role reaches its holders; unrelated writes keep the version.
  ASSERT_TRUE(s_->write([](write_txn& t) -> result<void> {
    return t.put_role(role{"user", "User", {"profile.edit"}, true, 1});
  }));
  EXPECT_GT(version(), v3);
  auto v4 = version();
  ASSERT_TRUE(s_->write([](write_txn& t) -> result<void> {
    auto u = t.get_user("usr_1");
    if (!u) return std::unexpected(u.error());
    u->full_name = "changed";
    return t.put_user(*u);
  }));
  EXPECT_EQ(version(), v4);

  ASSERT_TRUE(s_->write([](write_txn& t) { return t.remove_member("grp_1", "usr_1"); }));
  auto g3 = grants("usr_1");
  ASSERT_EQ(g3.size(), 1u);
  EXPECT_EQ(g3[0].permission, "profile.edit");
  ASSERT_TRUE(s_->read([](const read_txn& t) -> result<void> {
    EXPECT_TRUE(t.group_members("grp_1").value_or(std::vector<std::string>{"x"}).empty());
    return {};
  }));
}

TEST_F(Tables, GroupNamesUnique) {
  ASSERT_TRUE(s_->write([](write_txn& t) {
    return t.put_group(group{"grp_1", "Ops", "", {}, 1});
  }));
  auto dup = s_->write([](write_txn& t) {
    return t.put_group(group{"grp_2", "ops", "", {}, 1});
  });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error(), errc::conflict);
}

TEST_F(Tables, DeleteRoleConflictsWhileAssigned) {
  ASSERT_TRUE(s_->write([](write_txn& t) {
    return t.put_role(role{"auditor", "Auditor", {"audit.read"}, false, 1});
  }));
  ASSERT_TRUE(add_user("usr_1", "u1", "", "auditor"));
  auto busy = s_->write([](write_txn& t) { return t.delete_role("auditor"); });
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error(), errc::conflict);
  ASSERT_TRUE(s_->write([](write_txn& t) -> result<void> {
    auto u = t.get_user("usr_1");
    if (!u) return std::unexpected(u.error());
    u->role = "user";
    return t.put_user(*u);
  }));
  EXPECT_TRUE(s_->write([](write_txn& t) { return t.delete_role("auditor"); }));
  auto gone = s_->write([](write_txn& t) { return t.delete_role("auditor"); });
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error(), errc::not_found);
}

TEST_F(Tables, SessionsOrderedOldestFirstAndDeletedWithUser) {
  ASSERT_TRUE(add_user("usr_1", "u1", "u1@example.com"));
  ASSERT_TRUE(s_->write([](write_txn& t) -> result<void> {
    for (int i : {3, 1, 2}) {
      session s;
      s.id = "ses_" + std::to_string(i);
      s.user_id = "usr_1";
      s.created_at = i * 1000;
      s.last_activity = i * 1000;
      if (auto r = t.put_session(s); !r) return r;
    }
    return t.put_refresh("tok", refresh_token{"ses_1", 5, 0, "", 0});
  }));
  ASSERT_TRUE(s_->read([](const read_txn& t) -> result<void> {
    auto ss = t.user_sessions("usr_1");
    EXPECT_TRUE(ss);
    if (ss) {
      EXPECT_EQ(ss->size(), 3u);
      EXPECT_EQ((*ss)[0].id, "ses_1");
      EXPECT_EQ((*ss)[2].id, "ses_3");
    }
    auto r = t.get_refresh("tok");
    EXPECT_TRUE(r);
    if (r) {
      EXPECT_EQ(r->session_id, "ses_1");
    }
    EXPECT_FALSE(t.get_refresh("other"));
    return {};
  }));
  ASSERT_TRUE(s_->write([](write_txn& t) { return t.delete_user("usr_1"); }));
  ASSERT_TRUE(s_->read([](const read_txn& t) -> result<void> {
    EXPECT_FALSE(t.get_user("usr_1"));
    EXPECT_FALSE(t.get_session("ses_2"));
    EXPECT_FALSE(t.find_user_by_email("u1@example.com"));
    EXPECT_FALSE(t.effective_permissions("usr_1"));
    return {};
  }));
  EXPECT_TRUE(add_user("usr_9", "u1", "u1@example.com"));
}

TEST_F(Tables, AuditIdsMonotonicAndTimeNeverGoesBack) {
  ASSERT_TRUE(s_->write([](write_txn& t) -> result<void> {
    audit_entry a;
    a.action = "login";
    a.timestamp = 2'000'000'000'000'000'000;
    if (auto r = t.append_audit(a); !r) return std::unexpected(r.error());
    audit_entry b;
    b.action = "logout";
    b.timestamp = 1;  // the clock stepped back
    if (auto r = t.append_audit(b); !r) return std::unexpected(r.error());
    EXPECT_EQ(b.id, a.id + 1);
    EXPECT_EQ(b.timestamp, a.timestamp);
    return {};
  }));
  ASSERT_TRUE(s_->read([](const read_txn& t) -> result<void> {
    auto p = t.audit_page([](const audit_entry&) { return true; }, 0, 2);
    EXPECT_TRUE(p);
    if (p) {
      EXPECT_EQ(p->second, 3u);
      EXPECT_EQ(p->first[0].action, "logout");  // newest first
      EXPECT_EQ(p->first[1].action, "login");
    }
    return {};
  }));
}

TEST_F(Tables, AbortedWriteLeavesNothing) {
  auto r = s_->write([](write_txn& t) -> result<void> {
    user u;
    u.id = "usr_x";
    u.username = "x";
    if (auto ok = t.put_user(u); !ok) return ok;
    return std::unexpected(errc::invalid_argument);
  });
  ASSERT_FALSE(r);
  ASSERT_TRUE(s_->read([](const read_txn& t) -> result<void> {
    EXPECT_FALSE(t.get_user("usr_x"));
    EXPECT_FALSE(t.find_user_by_name("x"));
    return {};
  }));
}

TEST_F(Tables, OversizeKeysAreRejectedNotCrashing) {
  auto r = add_user("usr_long", std::string(600, 'a'), "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::invalid_argument);
  ASSERT_TRUE(s_->read([](const read_txn& t) -> result<void> {
    EXPECT_EQ(t.get_user(std::string(600, 'a')).error(), errc::not_found);
    return {};
  }));
}

}  // namespace
}  // namespace tollgate::store
