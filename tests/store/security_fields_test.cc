// tests/store/security_fields_test.cc — issue 5's store additions: user security
// fields round-trip, the audit hash chain, audit_after cursors, release_mapped_pages.
#include <gtest/gtest.h>

#include "store/store.h"
#include "tests/store/test_util.h"

namespace tollgate::store {
namespace {

using testing::admin_params;
using testing::temp_dir;

class SecurityFields : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store::init(dir_.path(), admin_params()));
    s_ = std::move(store::open(dir_.path()).value());
  }
  temp_dir dir_;
  std::unique_ptr<store> s_;
};

TEST_F(SecurityFields, UserFieldsRoundTrip) {
  user u;
  u.id = "usr_sec";
  u.username = "sec";
  u.status = user_status::active;
  u.password_changed_at = 123;
  u.password_history = {"$argon2id$a", "$argon2id$b"};
  u.api_user = true;
  u.allowed_ips = {"10.0.0.0/8", "2001:db8::/32"};
  u.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
  u.totp_last_step = 0;  // step 0 is a real step, distinct from "none" (-1)
  u.backup_codes = "hmac-sha256$00$11";
  ASSERT_TRUE(s_->write([&](write_txn& t) { return t.put_user(u); }));
  user got;
  ASSERT_TRUE(s_->read([&](const read_txn& t) -> result<void> {
    got = t.get_user("usr_sec").value();
    return {};
  }));
  EXPECT_EQ(got.password_changed_at, 123);
  EXPECT_EQ(got.password_history, u.password_history);
  EXPECT_TRUE(got.api_user);
  EXPECT_EQ(got.allowed_ips, u.allowed_ips);
  EXPECT_EQ(got.totp_secret, u.totp_secret);
  EXPECT_EQ(got.totp_last_step, 0);
  EXPECT_EQ(got.backup_codes, u.backup_codes);
  // The admin written by init predates nothing but has the defaults.
  ASSERT_TRUE(s_->read([&](const read_txn& t) -> result<void> {
    got = t.get_user(admin_params().admin_user_id).value();
    return {};
  }));
  EXPECT_EQ(got.totp_last_step, -1);
  EXPECT_FALSE(got.api_user);
}

TEST_F(SecurityFields, AuditChainAndCursor) {
  ASSERT_TRUE(s_->write([&](write_txn& t) -> result<void> {
    for (int i = 0; i < 25; ++i) {
      audit_entry e;
      e.timestamp = 1000 + i;
      e.action = "login";
      e.details_json = "{\"i\":" + std::to_string(i) + "}";
      if (auto r = t.append_audit(e); !r) return std::unexpected(r.error());
    }
    return {};
  }));
  std::vector<audit_entry> all, page;
  ASSERT_TRUE(s_->read([&](const read_txn& t) -> result<void> {
    all = t.audit_after(0, 1000).value();
    page = t.audit_after(10, 5).value();
    EXPECT_TRUE(t.audit_after(all.back().id, 10).value().empty());
    EXPECT_TRUE(t.audit_after(UINT64_MAX, 10).value().empty());
    return {};
  }));
  ASSERT_EQ(all.size(), 26u);  // init's user_create + 25
  ASSERT_EQ(page.size(), 5u);
  EXPECT_EQ(page.front().id, 11u);
  EXPECT_EQ(page.back().id, 15u);
  std::string prev;
  for (auto& e : all) {
    EXPECT_EQ(e.hash, audit_chain_hash(prev, e)) << e.id;
    prev = e.hash;
  }
  // Any field change changes the hash; so does the predecessor.
  auto e = all[5];
  e.details_json = "{\"i\":99}";
  EXPECT_NE(audit_chain_hash(all[4].hash, e), all[5].hash);
  EXPECT_NE(audit_chain_hash(all[3].hash, all[5]), all[5].hash);
  // Length prefixes: moving bytes between fields changes the canonical form.
  audit_entry a, b;
  a.user_id = "ab";
  b.user_id = "a";
  b.actor_id = "b";
  EXPECT_NE(audit_canonical(a), audit_canonical(b));
}

TEST_F(SecurityFields, ReleaseMappedPagesKeepsDataReadable) {
  ASSERT_TRUE(s_->read([](const read_txn& t) -> result<void> {
    EXPECT_EQ(t.user_count().value_or(0), 1u);
    return {};
  }));
  s_->release_mapped_pages();
  ASSERT_TRUE(s_->read([](const read_txn& t) -> result<void> {
    EXPECT_EQ(t.user_count().value_or(0), 1u);
    EXPECT_EQ(t.audit_after(0, 10).value().size(), 1u);
    return {};
  }));
}

}  // namespace
}  // namespace tollgate::store
