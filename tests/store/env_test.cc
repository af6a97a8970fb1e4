// tests/store/env_test.cc — init, open, migrations, backup, growth, durability.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "store/store.h"
#include "tests/store/test_util.h"

namespace tollgate::store {
namespace {

using testing::admin_params;
using testing::temp_dir;

// name builds "<prefix><i>" (GCC 12 warns falsely on `literal + std::to_string`).
std::string name(std::string_view prefix, std::uint32_t i) {
  std::string out(prefix);
  out.append(std::to_string(i));
  return out;
}

TEST(StoreInit, CreatesAdminAndBuiltinRoles) {
  temp_dir d;
  ASSERT_TRUE(store::init(d.path(), admin_params()));
  auto s = store::open(d.path());
  ASSERT_TRUE(s) << message_of(s.error());
  ASSERT_TRUE((*s)->read([](const read_txn& t) -> result<void> {
    EXPECT_EQ(t.schema_version(), schema_version);
    auto u = t.find_user_by_name("admin");  // case-insensitive
    EXPECT_TRUE(u);
    if (u) {
      EXPECT_EQ(u->id, "usr_admin");
      EXPECT_EQ(u->role, "admin");
      EXPECT_EQ(u->status, user_status::active);
    }
    auto roles = t.list_roles();
    EXPECT_TRUE(roles);
    if (roles) {
      EXPECT_EQ(roles->size(), 2u);
      EXPECT_EQ((*roles)[0].id, "admin");
      EXPECT_EQ((*roles)[0].permissions,
                (std::vector<std::string>{"users.manage", "bots.manage", "system.configure"}));
      EXPECT_EQ((*roles)[1].permissions, (std::vector<std::string>{"bots.use", "profile.edit"}));
    }
    auto perms = t.effective_permissions("usr_admin");
    EXPECT_TRUE(perms);
    if (perms) {
      EXPECT_EQ(perms->size(), 3u);
      EXPECT_EQ((*perms)[0].source, "role:admin");
    }
    auto log = t.audit_page([](const audit_entry&) { return true; }, 0, 10);
    EXPECT_TRUE(log);
    if (log) {
      EXPECT_EQ(log->second, 1u);
      EXPECT_EQ(log->first[0].action, "user_create");
    }
    return {};
  }));
}

TEST(StoreInit, RefusesInitialisedStore) {
  temp_dir d;
  ASSERT_TRUE(store::init(d.path(), admin_params()));
  auto again = store::init(d.path(), admin_params());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), errc::already_initialised);
}

TEST(StoreInit, CreatesMissingDataDir) {
  temp_dir d;
  std::string nested = d.path() + "/a/b";
  ASSERT_TRUE(store::init(nested, admin_params()));
  EXPECT_TRUE(std::filesystem::exists(nested + "/data.mdb"));
}

TEST(StoreOpen, NotInitialised) {
  temp_dir d;
  auto s = store::open(d.path());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::not_initialised);
  auto missing = store::open(d.path() + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), errc::not_initialised);
}

TEST(StoreOpen, UnusableDataDirIsIoError) {
  temp_dir d;
  // A regular file where the data dir should be.
  std::string file = d.path() + "/file";
  FILE* f = std::fopen(file.c_str(), "w");
  std::fclose(f);
  auto r = store::init(file, admin_params());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::io_error);
}

TEST(StoreMigrations, UpgradesStepByStepAndRefusesNewer) {
  temp_dir d;
  open_options v1;
  v1.target_version = 1;
  ASSERT_TRUE(store::init(d.path(), admin_params(), v1));

  std::vector<std::uint32_t> ran;
  std::vector<migration> steps = {
      {2, [&](write_txn& t) { ran.push_back(2); return t.put_meta("m2", "done"); }},
      {1, [&](write_txn& t) { ran.push_back(1); return t.put_meta("m1", "done"); }},
  };
  open_options v3;
  v3.migrations = steps;
  v3.target_version = 3;
  {
    auto s = store::open(d.path(), v3);
    ASSERT_TRUE(s) << message_of(s.error());
    EXPECT_EQ(ran, (std::vector<std::uint32_t>{1, 2}));
    ASSERT_TRUE((*s)->read([](const read_txn& t) -> result<void> {
      EXPECT_EQ(t.schema_version(), 3u);
      EXPECT_EQ(t.get_meta("m1").value_or(""), "done");
      EXPECT_EQ(t.get_meta("m2").value_or(""), "done");
      return {};
    }));
  }
  // Opening again runs nothing.
  ran.clear();
  ASSERT_TRUE(store::open(d.path(), v3));
  EXPECT_TRUE(ran.empty());
  // This build's own schema (1) is older than the store now.
  auto old = store::open(d.path());
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error(), errc::schema_too_new);
}

TEST(StoreMigrations, FailedStepLeavesVersion) {
  temp_dir d;
  open_options v1;
  v1.target_version = 1;
  ASSERT_TRUE(store::init(d.path(), admin_params(), v1));
  std::vector<migration> steps = {
      {1, [](write_txn& t) -> result<void> {
         if (auto r = t.put_meta("half", "x"); !r) return r;
         return std::unexpected(errc::corrupt);
       }},
  };
  open_options v2;
  v2.migrations = steps;
  v2.target_version = 2;
  auto s = store::open(d.path(), v2);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::corrupt);
  auto again = store::open(d.path(), v1);
  ASSERT_TRUE(again);
  ASSERT_TRUE((*again)->read([](const read_txn& t) -> result<void> {
    EXPECT_EQ(t.schema_version(), 1u);
    EXPECT_FALSE(t.get_meta("half"));  // the step's writes were rolled back
    return {};
  }));
}

TEST(StoreBackup, CopyOpensAsStore) {
  temp_dir d, out;
  ASSERT_TRUE(store::init(d.path(), admin_params()));
  {
    auto s = store::open(d.path());
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->write([](write_txn& t) -> result<void> {
      user u;
      u.id = "usr_b";
      u.username = "bob";
      return t.put_user(u);
    }));
    // Backup while the store is open (hot copy).
    ASSERT_TRUE(store::backup(d.path(), out.path() + "/copy.mdb"));
  }
  std::string restored = out.path() + "/restored";
  std::filesystem::create_directories(restored);
  std::filesystem::copy_file(out.path() + "/copy.mdb", restored + "/data.mdb");
  auto s = store::open(restored);
  ASSERT_TRUE(s) << message_of(s.error());
  ASSERT_TRUE((*s)->read([](const read_txn& t) -> result<void> {
    EXPECT_TRUE(t.find_user_by_name("BOB"));
    EXPECT_TRUE(t.find_user_by_name("admin"));
    return {};
  }));
  EXPECT_FALSE(std::filesystem::exists(out.path() + "/copy.mdb.tmp"));
}

TEST(StoreBackup, ErrorsAreReported) {
  temp_dir d;
  auto none = store::backup(d.path(), d.path() + "/x.mdb");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), errc::not_initialised);
  ASSERT_TRUE(store::init(d.path(), admin_params()));
  auto bad = store::backup(d.path(), d.path() + "/no/such/dir/x.mdb");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), errc::io_error);
}

TEST(StoreGrowth, MapFullGrowsInsteadOfFailing) {
  temp_dir d;
  open_options small;
  small.initial_map_bytes = 256 * 1024;
  ASSERT_TRUE(store::init(d.path(), admin_params(), small));
  auto s = store::open(d.path(), small);
  ASSERT_TRUE(s);
  std::size_t before = (*s)->map_bytes();
  auto rd = (*s)->make_reader();
  ASSERT_TRUE(rd);
  // A hot reader keeps working on another thread while the map grows.
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, bad{0};
  std::thread hot([&] {
    while (!stop.load()) {
      if ((*rd)->begin() != errc::ok) { ++bad; continue; }
      auto st = (*rd)->user_status("usr_admin");
      if (!st || st->status != user_status::active) ++bad;
      (*rd)->end();
      ++reads;
    }
  });
  std::string big(8000, 'x');
  for (int i = 0; i < 200; ++i) {
    auto r = (*s)->write([&](write_txn& t) -> result<void> {
      user u;
      u.id = name("usr_", static_cast<std::uint32_t>(i));
      u.username = name("u", static_cast<std::uint32_t>(i));
      u.full_name = big;
      return t.put_user(u);
    });
    ASSERT_TRUE(r) << message_of(r.error());
  }
  stop = true;
  hot.join();
  EXPECT_GT((*s)->map_bytes(), before);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(bad.load(), 0);
  ASSERT_TRUE((*s)->read([](const read_txn& t) -> result<void> {
    EXPECT_EQ(t.user_count().value_or(0), 201u);
    return {};
  }));
}

// A child writes users one transaction each and acknowledges each commit over a
// pipe; the parent SIGKILLs it mid-stream and checks every acknowledged user.
TEST(StoreDurability, EveryAckedWriteSurvivesSigkill) {
  temp_dir d;
  ASSERT_TRUE(store::init(d.path(), admin_params()));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto s = store::open(d.path());
    if (!s) ::_exit(3);
    for (std::uint32_t i = 0;; ++i) {
      auto r = (*s)->write([&](write_txn& t) -> result<void> {
        user u;
        u.id = name("usr_k", i);
        u.username = name("k", i);
        if (auto ok = t.put_user(u); !ok) return ok;
        audit_entry e;
        e.action = "user_create";
        e.user_id = u.id;
        if (auto a = t.append_audit(e); !a) return std::unexpected(a.error());
        return {};
      });
      if (!r) ::_exit(4);
      if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(5);
    }
  }
  ::close(fds[1]);
  std::uint32_t last = 0, got = 0;
  bool any = false;
  while (got < 40 && ::read(fds[0], &last, sizeof last) == sizeof last) {
    any = true;
    ++got;
  }
  ::kill(pid, SIGKILL);
  // Acks already in the pipe were sent after their commit returned: count them too.
  std::uint32_t v;
  while (::read(fds[0], &v, sizeof v) == sizeof v) last = v;
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  ASSERT_TRUE(any);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto s = store::open(d.path());
  ASSERT_TRUE(s) << message_of(s.error());
  ASSERT_TRUE((*s)->read([&](const read_txn& t) -> result<void> {
    for (std::uint32_t i = 0; i <= last; ++i) {
      EXPECT_TRUE(t.get_user(name("usr_k", i))) << i;
      EXPECT_TRUE(t.find_user_by_name(name("k", i))) << i;
    }
    auto log = t.audit_page([](const audit_entry& e) { return e.action == "user_create"; }, 0, 1);
    EXPECT_TRUE(log);
    if (log) {
      EXPECT_GE(log->second, last + 2);  // + the admin's
    }
    return {};
  }));
}

}  // namespace
}  // namespace tollgate::store
