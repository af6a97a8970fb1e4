// tests/store/reader_test.cc — the hot-path reader sees every committed write.
#include <gtest/gtest.h>

#include <thread>

#include "store/store.h"
#include "tests/store/test_util.h"

namespace tollgate::store {
namespace {

using testing::admin_params;
using testing::temp_dir;

TEST(Reader, SeesCommitsAfterRenewNotBefore) {
  temp_dir d;
  ASSERT_TRUE(store::init(d.path(), admin_params()));
  auto s = store::open(d.path());
  ASSERT_TRUE(s);
  auto r = (*s)->make_reader();
  ASSERT_TRUE(r);
  auto put_session = [&](time_ns revoked) {
    return (*s)->write([&](write_txn& t) {
      session ss;
      ss.id = "ses_1";
      ss.user_id = "usr_admin";
      ss.created_at = 10;
      ss.last_activity = 20;
      ss.revoked_at = revoked;
      return t.put_session(ss);
    });
  };
  ASSERT_TRUE(put_session(0));

  ASSERT_EQ((*r)->begin(), errc::ok);
  auto live = (*r)->session("ses_1");
  ASSERT_TRUE(live);
  EXPECT_TRUE(live->live());
  EXPECT_EQ(live->user_id, "usr_admin");
  EXPECT_EQ(live->created_at, 10);
  EXPECT_EQ(live->last_activity, 20);

  // A writer on another thread is not blocked by the open snapshot.
  std::thread w([&] { EXPECT_TRUE(put_session(99)); });
  w.join();
  EXPECT_TRUE((*r)->session("ses_1")->live());  // same snapshot
  (*r)->end();

  ASSERT_EQ((*r)->begin(), errc::ok);
  auto revoked = (*r)->session("ses_1");
  ASSERT_TRUE(revoked);
  EXPECT_FALSE(revoked->live());
  EXPECT_EQ(revoked->revoked_at, 99);
  EXPECT_EQ((*r)->session("ses_none").error(), errc::not_found);
  (*r)->end();
}

TEST(Reader, UserStatusAndLockExpiry) {
  temp_dir d;
  ASSERT_TRUE(store::init(d.path(), admin_params()));
  auto s = store::open(d.path());
  ASSERT_TRUE(s);
  auto r = (*s)->make_reader();
  ASSERT_TRUE(r);
  ASSERT_TRUE((*s)->write([](write_txn& t) -> result<void> {
    auto u = t.get_user("usr_admin");
    if (!u) return std::unexpected(u.error());
    u->status = user_status::locked;
    u->locked_until = 1000;
    return t.put_user(*u);
  }));
  ASSERT_EQ((*r)->begin(), errc::ok);
  auto st = (*r)->user_status("usr_admin");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->status, user_status::locked);
  EXPECT_FALSE(st->usable_at(999));
  EXPECT_TRUE(st->usable_at(1000));
  EXPECT_EQ((*r)->user_status("usr_nobody").error(), errc::not_found);
  auto perms = (*r)->effective_permissions("usr_admin");
  ASSERT_TRUE(perms);
  std::size_t cur = 0;
  std::string_view p, src;
  std::vector<std::string> names;
  while (perms->next(cur, p, src)) {
    names.emplace_back(p);
    EXPECT_EQ(src, "role:admin");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"users.manage", "bots.manage", "system.configure"}));
  (*r)->end();
}

TEST(Reader, EveryShardReaderSeesWriteBeforeWriteReturns) {
  temp_dir d;
  ASSERT_TRUE(store::init(d.path(), admin_params()));
  auto s = store::open(d.path());
  ASSERT_TRUE(s);
  std::vector<std::unique_ptr<reader>> shards;
  for (int i = 0; i < 4; ++i) {
    auto r = (*s)->make_reader();
    ASSERT_TRUE(r);
    shards.push_back(std::move(*r));
  }
  for (int round = 0; round < 20; ++round) {
    auto st = round % 2 ? user_status::active : user_status::deactivated;
    ASSERT_TRUE((*s)->write([&](write_txn& t) -> result<void> {
      auto u = t.get_user("usr_admin");
      if (!u) return std::unexpected(u.error());
      u->status = st;
      return t.put_user(*u);
    }));
    std::vector<std::thread> ts;
    std::atomic<int> seen{0};
    for (auto& r : shards) {
      ts.emplace_back([&, rp = r.get()] {
        if (rp->begin() != errc::ok) return;
        auto v = rp->user_status("usr_admin");
        if (v && v->status == st) ++seen;
        rp->end();
      });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(seen.load(), 4) << round;
  }
}

}  // namespace
}  // namespace tollgate::store
