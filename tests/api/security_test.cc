// tests/api/security_test.cc — issue 5 over real HTTP: settings, lockout, login rate
// limit, password change/expiry/reset, audit logs, export and hash chain.
#include <gtest/gtest.h>
#include <lmdb.h>

#include <ctime>
#include <fstream>
#include <future>
#include <sstream>
#include <vector>

#include "authz/rate_limiter.h"
#include "crypto/totp.h"
#include "policy/notifier.h"
#include "tests/api/harness.h"

namespace tollgate::api {
namespace {

using testing::server;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view settings_path = "/api/v1/security/settings/security";
constexpr std::string_view strong = "Strong-Passw0rd!";

std::string str(const json::value& v, std::string_view k) { return std::string(v.at(k).as_string()); }

std::string make_user(server& srv, const std::string& admin, std::string_view name,
                      std::string_view password, std::string_view email = {}) {
  json::object b{{"username", name}, {"password", password}};
  if (!email.empty()) b["email"] = email;
  auto r = srv.call("POST", "/api/v1/security/users", json::serialize(b), admin);
  EXPECT_EQ(r.status, 201) << r.body;
  return r.status == 201 ? str(r.json(), "user_id") : "";
}

testing::reply login(const server& srv, std::string_view user, std::string_view password) {
  return srv.call("POST", "/api/v1/security/auth/login",
                  json::serialize(json::object{{"username", user}, {"password", password}}));
}

std::size_t audit_count(server& srv, const std::string& admin, std::string_view query) {
  auto r = srv.call("GET", "/api/v1/security/audit/logs?" + std::string(query), {}, admin);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.status == 200 ? static_cast<std::size_t>(r.json().at("total").as_int64()) : 0;
}

// ---- settings

TEST(Settings, DefaultsPatchDeepMergesAndPersists) {
  server srv(2);
  auto admin = srv.admin_token();
  auto g = srv.call("GET", std::string(settings_path), {}, admin);
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.json().at("password_policy").at("min_length"), 12);
  EXPECT_EQ(g.json().at("lockout_policy").at("max_attempts"), 5);

  auto p = srv.call("PATCH", std::string(settings_path),
                    R"({"password_policy":{"min_length":16},"lockout_policy":{"max_attempts":3}})",
                    admin);
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.json().at("password_policy").at("min_length"), 16);
  // Deep merge: siblings keep their values.
  EXPECT_EQ(p.json().at("password_policy").at("require_uppercase"), true);
  EXPECT_EQ(p.json().at("lockout_policy").at("lockout_duration_minutes"), 30);
  EXPECT_EQ(p.json().at("lockout_policy").at("max_attempts"), 3);

  auto again = srv.call("GET", std::string(settings_path), {}, admin);
  EXPECT_EQ(again.json(), p.json());
  EXPECT_EQ(audit_count(srv, admin, "action=settings_update"), 1u);

  // Session policy changes reach the session code at once.
  auto s = srv.call("PATCH", std::string(settings_path), R"({"session_policy":{"timeout_minutes":1}})", admin);
  ASSERT_EQ(s.status, 200) << s.body;
  srv.advance(2min);
  EXPECT_EQ(srv.call("GET", std::string(settings_path), {}, admin).status, 401);
}

struct bad_patch {
  const char* body;
  const char* field;  // must appear in the message
};

class SettingsBadInput : public ::testing::TestWithParam<bad_patch> {
 protected:
  static void SetUpTestSuite() {
    srv_ = new server(1);
    admin_ = srv_->admin_token();
  }
  static void TearDownTestSuite() { delete srv_; }
  static server* srv_;
  static std::string admin_;
};
server* SettingsBadInput::srv_ = nullptr;
std::string SettingsBadInput::admin_;

TEST_P(SettingsBadInput, Answers400NamingTheField) {
  auto before = srv_->call("GET", std::string(settings_path), {}, admin_).body;
  auto r = srv_->call("PATCH", std::string(settings_path), GetParam().body, admin_);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json().at("error"), "invalid_request");
  EXPECT_NE(r.json().at("message").as_string().find(GetParam().field), std::string::npos) << r.body;
  EXPECT_EQ(srv_->call("GET", std::string(settings_path), {}, admin_).body, before);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SettingsBadInput,
    ::testing::Values(bad_patch{"not json", "body"}, bad_patch{"[]", "body"},
                      bad_patch{R"({"password_policy":{"min_lenght":9}})", "password_policy.min_lenght"},
                      bad_patch{R"({"password_policy":{"min_length":"9"}})", "password_policy.min_length"},
                      bad_patch{R"({"password_policy":{"min_length":7}})", "password_policy.min_length"},
                      bad_patch{R"({"lockout_policy":{"max_attempts":0}})", "lockout_policy.max_attempts"},
                      bad_patch{R"({"two_factor":{"methods":["sms"]}})", "two_factor.methods[0]"},
                      bad_patch{R"({"session_policy":{"max_sessions":1.5}})", "session_policy.max_sessions"},
                      bad_patch{R"({"surprise":true})", "surprise"}));

TEST(Settings, NeedsSystemConfigure) {
  server srv(1);
  auto admin = srv.admin_token();
  make_user(srv, admin, "plain", "Pw-123456-abc!");
  auto plain = server::token_of(srv.login("plain", "Pw-123456-abc!"));
  EXPECT_EQ(srv.call("GET", std::string(settings_path), {}, plain).status, 403);
  EXPECT_EQ(srv.call("PATCH", std::string(settings_path), "{}", plain).status, 403);
  EXPECT_EQ(srv.call("GET", std::string(settings_path)).status, 401);
}

// ---- lockout

TEST(Lockout, FiftyParallelWrongPasswordsCannotSlipPast) {
  server srv(2);
  auto admin = srv.admin_token();
  auto uid = make_user(srv, admin, "victim", "right-Pass-1234!");
  constexpr int n = 50, max_attempts = 5;
  std::vector<std::future<int>> f;
  for (int i = 0; i < n; ++i)
    f.push_back(std::async(std::launch::async, [&] { return login(srv, "victim", "wrong").status; }));
  int s401 = 0, s423 = 0, other = 0;
  for (auto& x : f) {
    int s = x.get();
    (s == 401 ? s401 : s == 423 ? s423 : other)++;
  }
  EXPECT_EQ(s401, max_attempts - 1);
  EXPECT_EQ(s423, n - max_attempts + 1);
  EXPECT_EQ(other, 0);
  // The count stopped at the lock: no failure was evaluated against an unlocked
  // account beyond max_attempts.
  store::user u;
  ASSERT_TRUE(srv.db().read([&](const store::read_txn& t) -> store::result<void> {
    u = t.get_user(uid).value();
    return {};
  }));
  EXPECT_EQ(u.failed_logins, static_cast<std::uint32_t>(max_attempts));
  EXPECT_EQ(u.status, store::user_status::locked);
  EXPECT_EQ(audit_count(srv, admin, "action=account_locked&user_id=" + uid), 1u);

  auto right = login(srv, "victim", "right-Pass-1234!");
  ASSERT_EQ(right.status, 423) << right.body;
  EXPECT_TRUE(right.json().at("locked_until").is_string());
  EXPECT_EQ(srv.call("GET", "/api/v1/security/users/" + uid, {}, admin).json().at("status"), "locked");

  // Ends at locked_until (30 minutes by default); then the right password works.
  srv.advance(29min);
  EXPECT_EQ(login(srv, "victim", "right-Pass-1234!").status, 423);
  srv.advance(2min);
  auto ok = login(srv, "victim", "right-Pass-1234!");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST(Lockout, SuccessResetsAndWindowExpires) {
  server srv(1);
  auto admin = srv.admin_token();
  ASSERT_EQ(srv.call("PATCH", std::string(settings_path),
                     R"({"lockout_policy":{"max_attempts":2,"reset_window_minutes":5}})", admin).status, 200);
  make_user(srv, admin, "bob", "bob-Pass-1234!");
  EXPECT_EQ(login(srv, "bob", "x").status, 401);
  EXPECT_EQ(login(srv, "bob", "bob-Pass-1234!").status, 200);  // resets
  EXPECT_EQ(login(srv, "bob", "x").status, 401);
  srv.advance(5min);  // the window ran out: a new one starts
  EXPECT_EQ(login(srv, "bob", "x").status, 401);
  EXPECT_EQ(login(srv, "bob", "x").status, 423);
  // Unknown usernames never lock anything.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(login(srv, "nobody", "x").status, 401);
}

// ---- rate limit

TEST(LoginRateLimit, FivePerMinutePerIpCountsEveryAttempt) {
  authz::rate_limiter limiter(authz::make_rate(5, std::chrono::minutes(1)).value(), 1024, 42);
  server srv(2, {}, [&](services& s) { s.login_limiter = &limiter; });
  EXPECT_EQ(login(srv, "admin", testing::admin_password).status, 200);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(login(srv, "nobody", "x").status, 401);
  auto r = login(srv, "admin", testing::admin_password);
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.json().at("error"), "rate_limited");
  int retry = std::atoi(r.header("retry-after").c_str());
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 12);
  srv.advance(std::chrono::seconds(retry));
  EXPECT_EQ(login(srv, "admin", testing::admin_password).status, 200);
}

// ---- passwords

// outbox_file is a notifier writing to a fresh outbox, and what it holds so far.
struct outbox_file {
  testing::temp_dir dir;
  std::unique_ptr<policy::notify::outbox_notifier> notifier =
      policy::notify::outbox_notifier::open(dir.path() + "/outbox.jsonl").value();
  std::vector<std::string> lines() const {
    std::ifstream in(dir.path() + "/outbox.jsonl");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
};

TEST(Passwords, OwnerChangeNeedsCurrentPolicyAndHistory) {
  server srv(2);
  auto admin = srv.admin_token();
  auto uid = make_user(srv, admin, "carol", "carol-Pass-1234!");
  auto t1 = server::token_of(srv.login("carol", "carol-Pass-1234!"));
  auto t2 = server::token_of(srv.login("carol", "carol-Pass-1234!"));
  std::string path = "/api/v1/security/users/" + uid + "/password";
  auto body = [](std::string_view cur, std::string_view nw) {
    return json::serialize(json::object{{"current_password", cur}, {"new_password", nw}});
  };
  EXPECT_EQ(srv.call("POST", path, body("wrong", strong), t1).status, 403);
  auto missing = srv.call("POST", path, json::serialize(json::object{{"new_password", strong}}), t1);
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("current_password"), std::string::npos);
  auto weak = srv.call("POST", path, body("carol-Pass-1234!", "short"), t1);
  ASSERT_EQ(weak.status, 400);
  EXPECT_NE(weak.body.find("new_password"), std::string::npos);
  auto ok = srv.call("POST", path, body("carol-Pass-1234!", strong), t1);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json().at("sessions_revoked"), 1);
  // The other session is revoked, the caller's stays.
  EXPECT_EQ(srv.call("GET", "/api/v1/security/users/" + uid, {}, t2).status, 401);
  EXPECT_EQ(srv.call("GET", "/api/v1/security/users/" + uid, {}, t1).status, 200);
  EXPECT_EQ(login(srv, "carol", "carol-Pass-1234!").status, 401);
  EXPECT_EQ(login(srv, "carol", strong).status, 200);
  // History: the previous password cannot come back.
  auto reuse = srv.call("POST", path, body(strong, strong), t1);
  ASSERT_EQ(reuse.status, 400) << reuse.body;
  EXPECT_NE(reuse.body.find("new_password"), std::string::npos);
  // Another user may not; an admin may without current_password.
  auto other = make_user(srv, admin, "dave", "dave-Pass-1234!");
  auto dave = server::token_of(srv.login("dave", "dave-Pass-1234!"));
  EXPECT_EQ(srv.call("POST", path, json::serialize(json::object{{"new_password", "Other-Passw0rd!"}}), dave).status, 403);
  auto adm = srv.call("POST", path, json::serialize(json::object{{"new_password", "Admin-Set-Pass1!"}}), admin);
  EXPECT_EQ(adm.status, 200) << adm.body;
  EXPECT_EQ(login(srv, "carol", "Admin-Set-Pass1!").status, 200);
  EXPECT_EQ(audit_count(srv, admin, "action=password_change&user_id=" + uid), 3u);  // 1 wrong, 1 own, 1 admin
  (void)other;
}

TEST(Passwords, ExpiredPasswordMustBeChangedWithoutAToken) {
  server srv(1);
  auto admin = srv.admin_token();
  ASSERT_EQ(srv.call("PATCH", std::string(settings_path), R"({"password_policy":{"expiry_days":1}})", admin).status, 200);
  auto uid = make_user(srv, admin, "erin", "erin-Pass-1234!");
  std::string path = "/api/v1/security/users/" + uid + "/password";
  ASSERT_EQ(srv.call("POST", path, json::serialize(json::object{{"new_password", strong}}), admin).status, 200);
  EXPECT_EQ(login(srv, "erin", strong).status, 200);
  srv.advance(24h);
  auto r = login(srv, "erin", strong);
  ASSERT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.json().at("error"), "password_change_required");
  EXPECT_EQ(str(r.json(), "user_id"), uid);
  auto wrong = srv.call("POST", path,
                        json::serialize(json::object{{"current_password", "nope"}, {"new_password", "Fresh-Passw0rd!"}}));
  EXPECT_EQ(wrong.status, 403);
  auto ch = srv.call("POST", path,
                     json::serialize(json::object{{"current_password", strong}, {"new_password", "Fresh-Passw0rd!"}}));
  ASSERT_EQ(ch.status, 200) << ch.body;
  EXPECT_EQ(login(srv, "erin", "Fresh-Passw0rd!").status, 200);
}

TEST(Passwords, ResetRequestTokenSingleUseAndRateLimited) {
  outbox_file outbox;
  authz::rate_limiter limiter(authz::make_rate(3, std::chrono::hours(1)).value(), 1024, 7);
  server srv(2, {}, [&](services& s) {
    s.notifier = outbox.notifier.get();
    s.reset_limiter = &limiter;
  });
  auto admin = srv.admin_token();
  auto uid = make_user(srv, admin, "frank", "frank-Pass-1234!", "frank@example.com");
  auto session = server::token_of(srv.login("frank", "frank-Pass-1234!"));
  auto req = [&](std::string_view email) {
    return srv.call("POST", "/api/v1/security/auth/password/reset-request",
                    json::serialize(json::object{{"email", email}}));
  };
  auto known = req("Frank@example.com");
  auto unknown = req("ghost@example.com");
  ASSERT_EQ(known.status, 202) << known.body;
  ASSERT_EQ(unknown.status, 202);
  EXPECT_EQ(known.body, unknown.body);

  auto lines = outbox.lines();
  ASSERT_EQ(lines.size(), 1u);
  json::value n = json::parse(lines[0]);
  EXPECT_EQ(n.at("kind"), "password_reset");
  EXPECT_EQ(n.at("to"), "frank@example.com");
  EXPECT_EQ(str(n, "user_id"), uid);
  std::string token = str(n, "token");

  auto reset = [&](std::string_view tok, std::string_view pw) {
    return srv.call("POST", "/api/v1/security/auth/password/reset",
                    json::serialize(json::object{{"token", tok}, {"new_password", pw}}));
  };
  auto weak = reset(token, "weak");
  ASSERT_EQ(weak.status, 400);
  EXPECT_NE(weak.body.find("new_password"), std::string::npos);
  auto ok = reset(token, strong);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(srv.call("GET", "/api/v1/security/users/" + uid, {}, session).status, 401);  // sessions revoked
  EXPECT_EQ(login(srv, "frank", strong).status, 200);
  EXPECT_EQ(reset(token, "Another-Passw0rd!").status, 400);  // single use
  EXPECT_EQ(reset("prt_forged", "Another-Passw0rd!").status, 400);

  // 3/hour per email, known and unknown alike.
  EXPECT_EQ(req("frank@example.com").status, 202);
  EXPECT_EQ(req("FRANK@example.com").status, 202);
  auto over = req("frank@example.com");
  EXPECT_EQ(over.status, 429);
  EXPECT_FALSE(over.header("retry-after").empty());
  EXPECT_EQ(req("ghost@example.com").status, 202);
  EXPECT_EQ(req("ghost@example.com").status, 202);
  EXPECT_EQ(req("ghost@example.com").status, 429);
}

TEST(Passwords, ResetTokenExpires) {
  outbox_file outbox;
  server srv(1, {}, [&](services& s) { s.notifier = outbox.notifier.get(); });
  auto admin = srv.admin_token();
  // A pending user (no password) is activated by the reset.
  auto r = srv.call("POST", "/api/v1/security/users",
                    R"({"username":"gina","email":"gina@example.com"})", admin);
  ASSERT_EQ(r.status, 201) << r.body;
  for (int round = 0; round < 2; ++round) {
    ASSERT_EQ(srv.call("POST", "/api/v1/security/auth/password/reset-request", R"({"email":"gina@example.com"})").status, 202);
  }
  auto lines = outbox.lines();
  ASSERT_EQ(lines.size(), 3u);
  const std::string &activation = lines[0], &first = lines[1], &second = lines[2];
  EXPECT_EQ(json::parse(activation).at("kind"), "activation");
  srv.advance(59min);
  auto t1 = str(json::parse(first), "token");
  auto ok = srv.call("POST", "/api/v1/security/auth/password/reset",
                     json::serialize(json::object{{"token", t1}, {"new_password", strong}}));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(login(srv, "gina", strong).status, 200);
  srv.advance(1min);  // one hour after the second request
  auto late = srv.call("POST", "/api/v1/security/auth/password/reset",
                       json::serialize(json::object{{"token", str(json::parse(second), "token")},
                                                    {"new_password", "Later-Passw0rd!"}}));
  EXPECT_EQ(late.status, 400);
}

TEST(Passwords, PolicyHoldsWhenAnAdminCreatesAUser) {
  server srv(1);
  auto admin = srv.admin_token();
  auto create = [&](std::string_view name, std::string_view pw) {
    return srv.call("POST", "/api/v1/security/users",
                    json::serialize(json::object{{"username", name}, {"password", pw}}), admin);
  };
  struct weak_case {
    std::string_view password, why;
  };
  for (auto [pw, why] : {weak_case{"Short-1!", "at least 12 characters"},
                         weak_case{"no-uppercase-123", "an uppercase letter"},
                         weak_case{"NO-LOWERCASE-123", "a lowercase letter"},
                         weak_case{"No-Digits-At-All", "a digit"},
                         weak_case{"NoSpecial12345", "a special character"}}) {
    auto r = create("weak", pw);
    EXPECT_EQ(r.status, 400) << pw;
    EXPECT_EQ(r.json().at("error"), "invalid_request");
    EXPECT_NE(r.body.find("password: password must"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(why), std::string::npos) << r.body;
  }
  EXPECT_EQ(srv.call("GET", "/api/v1/security/users?search=weak", {}, admin).json().at("total"), 0);
  // Settings apply at once: a relaxed policy admits what the default refused.
  ASSERT_EQ(srv.call("PATCH", std::string(settings_path),
                     R"({"password_policy":{"require_special":false}})", admin).status, 200);
  EXPECT_EQ(create("relaxed", "NoSpecial12345").status, 201);
  // The first password starts the history: changing back to it is refused.
  auto uid = make_user(srv, admin, "hist", "Hist-Pass-1234!");
  auto path = "/api/v1/security/users/" + uid + "/password";
  auto again = srv.call("POST", path, json::serialize(json::object{{"new_password", "Hist-Pass-1234!"}}), admin);
  EXPECT_EQ(again.status, 400) << again.body;
}

TEST(Passwords, UserCreatedWithoutPasswordGetsAnActivationToken) {
  outbox_file outbox;
  server srv(2, {}, [&](services& s) { s.notifier = outbox.notifier.get(); });
  auto admin = srv.admin_token();
  auto r = srv.call("POST", "/api/v1/security/users",
                    R"({"username":"ines","email":"ines@example.com"})", admin);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json().at("status"), "pending_activation");
  auto early = srv.call("POST", "/api/v1/security/users",
                        R"({"username":"jon","email":"jon@example.com"})", admin);
  ASSERT_EQ(early.status, 201) << early.body;
  EXPECT_EQ(r.body.find("prt_"), std::string::npos);  // the token goes to the notifier only

  auto lines = outbox.lines();
  ASSERT_EQ(lines.size(), 2u);
  const std::string &ines_line = lines[0], &jon_line = lines[1];
  json::value n = json::parse(ines_line);
  EXPECT_EQ(n.at("kind"), "activation");
  EXPECT_EQ(n.at("to"), "ines@example.com");
  EXPECT_EQ(str(n, "user_id"), str(r.json(), "user_id"));
  auto activate = [&](std::string_view line, std::string_view pw) {
    return srv.call("POST", "/api/v1/security/auth/password/reset",
                    json::serialize(json::object{{"token", str(json::parse(line), "token")},
                                                 {"new_password", pw}}));
  };
  EXPECT_EQ(login(srv, "ines", strong).status, 401);  // pending: no password yet
  EXPECT_EQ(activate(ines_line, "weak").status, 400);  // the policy holds here too
  srv.advance(71h);  // activation tokens last 72 hours, longer than a reset's hour
  auto ok = activate(ines_line, strong);
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto u = srv.call("GET", "/api/v1/security/users/" + str(r.json(), "user_id"), {}, srv.admin_token());
  EXPECT_EQ(u.json().at("status"), "active");
  EXPECT_EQ(login(srv, "ines", strong).status, 200);
  EXPECT_EQ(activate(ines_line, "Another-Passw0rd!").status, 400);  // single use
  srv.advance(1h);
  EXPECT_EQ(activate(jon_line, strong).status, 400);  // expired after 72 hours
}

// ---- audit

TEST(Audit, LogsFiltersPaginationAndBadInput) {
  server srv(1);
  auto admin = srv.admin_token();
  for (int i = 0; i < 3; ++i) login(srv, "admin", "wrong");
  auto r = srv.call("GET", "/api/v1/security/audit/logs?action=login_failed&limit=2&page=1", {}, admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("total"), 3);
  ASSERT_EQ(r.json().at("logs").as_array().size(), 2u);
  auto page1 = r.json();
  auto& e = page1.at("logs").at(0);
  EXPECT_EQ(e.at("action"), "login_failed");
  EXPECT_EQ(e.at("success"), false);
  EXPECT_EQ(e.at("ip_address"), "127.0.0.1");
  EXPECT_EQ(e.at("user_agent"), "api-test");
  EXPECT_TRUE(e.at("details").is_object());
  EXPECT_EQ(str(e, "log_id").rfind("log_", 0), 0u);
  auto p2 = srv.call("GET", "/api/v1/security/audit/logs?action=login_failed&limit=2&page=2", {}, admin);
  EXPECT_EQ(p2.json().at("logs").as_array().size(), 1u);
  EXPECT_EQ(audit_count(srv, admin, "start_date=2000-01-01&end_date=2000-01-02"), 0u);
  for (auto [q, field] : {std::pair{"limit=0", "limit"}, {"limit=101", "limit"}, {"page=x", "page"},
                          {"start_date=2024-13-01", "start_date"}, {"end_date=yesterday", "end_date"},
                          {"bogus=1", "bogus"}}) {
    auto b = srv.call("GET", std::string("/api/v1/security/audit/logs?") + q, {}, admin);
    EXPECT_EQ(b.status, 400) << q;
    EXPECT_NE(b.body.find(field), std::string::npos) << b.body;
  }
}

TEST(Audit, ExportCsvAndNdjsonInclusiveRange) {
  server srv(2);
  auto admin = srv.admin_token();
  login(srv, "a,\"b\"", "x");  // details carry the username: commas and quotes
  auto csv = srv.call("POST", "/api/v1/security/audit/export", R"({"format":"csv"})", admin);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.header("content-type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv.header("transfer-encoding"), "chunked");
  EXPECT_NE(csv.body.find("log_id,timestamp,user_id,actor_id,action,ip_address,user_agent,success,details"),
            std::string::npos);
  EXPECT_NE(csv.body.find("\"user_create\""), std::string::npos);
  EXPECT_NE(csv.body.find(R"(""username"":""a,\""b\"""")"), std::string::npos);  // quotes doubled

  // Today, inclusive, as a date: everything; only logins with the filter.
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char today[16];
  std::strftime(today, sizeof today, "%Y-%m-%d", &tm);
  std::string body = R"({"format":"ndjson","date_range":{"start":")" + std::string(today) + R"(","end":")" + today +
                     R"("},"filters":{"actions":["login"]}})";
  auto nd = srv.call("POST", "/api/v1/security/audit/export", body, admin);
  ASSERT_EQ(nd.status, 200) << nd.body;
  EXPECT_EQ(nd.header("content-type"), "application/x-ndjson");
  // Chunked framing in the raw body: count the JSON lines by their action.
  std::size_t logins = 0;
  for (std::size_t p = 0; (p = nd.body.find("\"action\":\"login\"", p)) != std::string::npos; ++p) ++logins;
  EXPECT_EQ(logins, 1u);
  EXPECT_EQ(nd.body.find("user_create"), std::string::npos);

  for (auto [b, field] : {std::pair{R"({"format":"xml"})", "format"},
                          {R"({})", "format"},
                          {R"({"format":"csv","date_range":{"start":"2024-02-30"}})", "date_range.start"},
                          {R"({"format":"csv","date_range":{"begin":"2024-01-01"}})", "date_range.begin"},
                          {R"({"format":"csv","date_range":{"start":"2024-02-02","end":"2024-02-01"}})", "date_range.end"},
                          {R"({"format":"csv","filters":{"actions":[1]}})", "filters.actions[0]"},
                          {R"({"format":"csv","filters":{"who":"x"}})", "filters.who"},
                          {R"({"format":"csv","date_range":"2024"})", "date_range"}}) {
    auto r = srv.call("POST", "/api/v1/security/audit/export", b, admin);
    EXPECT_EQ(r.status, 400) << b;
    EXPECT_NE(r.body.find(field), std::string::npos) << r.body;
  }
}

TEST(Audit, HashChainVerifies) {
  server srv(1);
  auto admin = srv.admin_token();
  for (int i = 0; i < 3; ++i) login(srv, "admin", "wrong");  // below the lockout
  auto v = srv.call("GET", "/api/v1/security/audit/verify", {}, admin);
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(v.json().at("valid"), true);
  EXPECT_GE(v.json().at("entries").as_int64(), 5);
  EXPECT_TRUE(v.json().at("first_bad_log_id").is_null());
  // Each stored hash is SHA-256(previous hash || canonical bytes).
  std::vector<store::audit_entry> all;
  ASSERT_TRUE(srv.db().read([&](const store::read_txn& t) -> store::result<void> {
    all = t.audit_after(0, 1000).value();
    return {};
  }));
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(all[0].hash, store::audit_chain_hash("", all[0]));
  EXPECT_EQ(all[1].hash, store::audit_chain_hash(all[0].hash, all[1]));
  auto altered = all[1];
  altered.success = !altered.success;
  EXPECT_NE(store::audit_chain_hash(all[0].hash, altered), all[1].hash);
  auto plain = srv.call("GET", "/api/v1/security/audit/verify", {}, "");
  EXPECT_EQ(plain.status, 401);
}


// Edits one stored audit record behind the store's back (raw LMDB) and checks that
// /audit/verify names it.
TEST(Audit, VerifyFindsATamperedEntry) {
  server srv(1);
  auto admin = srv.admin_token();
  for (int i = 0; i < 3; ++i) login(srv, "admin", "wrong");
  srv.stop();
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    mdb_env_set_mapsize(env, std::size_t{1} << 30);
    ASSERT_EQ(mdb_env_open(env, srv.dir().c_str(), 0, 0600), 0);
    MDB_txn* t = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &t), 0);
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(t, "audit", 0, &dbi), 0);
    unsigned char key[8] = {0, 0, 0, 0, 0, 0, 0, 3};
    MDB_val k{sizeof key, key}, v;
    ASSERT_EQ(mdb_get(t, dbi, &k, &v), 0);
    std::string rec(static_cast<const char*>(v.mv_data), v.mv_size);
    auto at = rec.find("api-test");
    ASSERT_NE(at, std::string::npos);
    rec[at] = 'A';  // the user agent now reads "Api-test"
    MDB_val nv{rec.size(), rec.data()};
    ASSERT_EQ(mdb_put(t, dbi, &k, &nv, 0), 0);
    ASSERT_EQ(mdb_txn_commit(t), 0);
    mdb_env_close(env);
  }
  srv.start(1, {});
  auto tok = srv.admin_token();
  auto v = srv.call("GET", "/api/v1/security/audit/verify", {}, tok);
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(v.json().at("valid"), false);
  EXPECT_EQ(v.json().at("first_bad_log_id"), "log_3");
}

// ---- 2FA

std::string code_at(const std::string& secret, std::chrono::sys_seconds t) {
  return crypto::totp::code_for(secret, t).value();
}

testing::reply login2(const server& srv, std::string_view user, std::string_view password,
                      std::string_view code) {
  return srv.call("POST", "/api/v1/security/auth/login",
                  json::serialize(json::object{{"username", user}, {"password", password},
                                               {"two_factor_code", code}}));
}

TEST(TwoFactor, EnableVerifyLoginNoReplayBackupOnceDisable) {
  server srv(2);
  auto admin = srv.admin_token();
  auto uid = make_user(srv, admin, "hank", "hank-Pass-1234!");
  auto tok = server::token_of(srv.login("hank", "hank-Pass-1234!"));
  std::string base = "/api/v1/security/users/" + uid + "/2fa/";
  // Nobody else may enrol hank (the secret would go to them).
  EXPECT_EQ(srv.call("POST", base + "enable", {}, admin).status, 403);
  auto en = srv.call("POST", base + "enable", {}, tok);
  ASSERT_EQ(en.status, 200) << en.body;
  auto secret = str(en.json(), "secret");
  EXPECT_EQ(str(en.json(), "otpauth_uri").rfind("otpauth://totp/", 0), 0u);
  EXPECT_EQ(str(en.json(), "qr_code").rfind("data:image/png;base64,", 0), 0u);
  auto backups = en.json().at("backup_codes").as_array();
  ASSERT_EQ(backups.size(), 10u);
  // Not active before verify: login without a code still works.
  EXPECT_EQ(login(srv, "hank", "hank-Pass-1234!").status, 200);
  auto bad = srv.call("POST", base + "verify", R"({"code":"000000x"})", tok);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("code"), std::string::npos);
  // The server's clock is the system clock plus the harness offset (0 so far); the
  // ±1 step window absorbs the time between computing a code and its check.
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto v = srv.call("POST", base + "verify", json::serialize(json::object{{"code", code_at(secret, now)}}), tok);
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(srv.call("GET", "/api/v1/security/users/" + uid, {}, admin).json().at("two_factor_enabled"), true);

  // Login needs the code now; the code of the verify step is spent.
  auto none = login(srv, "hank", "hank-Pass-1234!");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.json().at("error"), "two_factor_required");
  EXPECT_EQ(login2(srv, "hank", "hank-Pass-1234!", code_at(secret, now)).status, 401);  // replay
  srv.advance(30s);
  auto next = code_at(secret, now + 30s);
  EXPECT_EQ(login2(srv, "hank", "hank-Pass-1234!", next).status, 200);
  EXPECT_EQ(login2(srv, "hank", "hank-Pass-1234!", next).status, 401);  // never twice
  // A backup code works once.
  std::string backup(backups[0].as_string());
  EXPECT_EQ(login2(srv, "hank", "hank-Pass-1234!", backup).status, 200);
  EXPECT_EQ(login2(srv, "hank", "hank-Pass-1234!", backup).status, 401);
  EXPECT_EQ(audit_count(srv, admin, "action=backup_code_used&user_id=" + uid), 1u);

  // Disable: the owner needs a code or the password; an admin needs neither.
  auto t2 = server::token_of(login2(srv, "hank", "hank-Pass-1234!", std::string(backups[1].as_string())).json());
  EXPECT_EQ(srv.call("POST", base + "disable", "{}", t2).status, 400);
  EXPECT_EQ(srv.call("POST", base + "disable", R"({"password":"wrong"})", t2).status, 403);
  auto off2 = srv.call("POST", base + "disable", R"({"password":"hank-Pass-1234!"})", t2);
  ASSERT_EQ(off2.status, 200) << off2.body;
  EXPECT_EQ(login(srv, "hank", "hank-Pass-1234!").status, 200);
  ASSERT_EQ(srv.call("POST", base + "enable", {}, t2).status, 200);
  EXPECT_EQ(srv.call("POST", base + "disable", "{}", admin).status, 200);
}

TEST(TwoFactor, RequiredRoleGetsAnEnrollmentTokenOnlyFor2fa) {
  server srv(1);
  auto admin = srv.admin_token();
  ASSERT_EQ(srv.call("PATCH", std::string(settings_path), R"({"two_factor":{"enabled":true,"required_for_roles":["admin"]}})", admin).status, 200);
  auto r = login(srv, "admin", testing::admin_password);
  ASSERT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.json().at("error"), "two_factor_enrollment_required");
  auto enr = str(r.json(), "enrollment_token");
  auto uid = str(r.json(), "user_id");
  // Not usable for anything but the user's own 2fa enable/verify.
  EXPECT_EQ(srv.call("GET", "/api/v1/security/users/" + uid, {}, enr).status, 401);
  EXPECT_EQ(srv.call("POST", "/api/v1/security/users/" + uid + "/2fa/disable", "{}", enr).status, 401);
  auto en = srv.call("POST", "/api/v1/security/users/" + uid + "/2fa/enable", {}, enr);
  ASSERT_EQ(en.status, 200) << en.body;
  auto secret = str(en.json(), "secret");
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto v = srv.call("POST", "/api/v1/security/users/" + uid + "/2fa/verify",
                    json::serialize(json::object{{"code", code_at(secret, now)}}), enr);
  ASSERT_EQ(v.status, 200) << v.body;
  srv.advance(31s);
  auto ok = login2(srv, "admin", testing::admin_password, code_at(secret, now + 31s));
  EXPECT_EQ(ok.status, 200) << ok.body;
  // The token expires after 10 minutes.
  ASSERT_EQ(srv.call("PATCH", std::string(settings_path), R"({"two_factor":{"required_for_roles":["user"]}})",
                     server::token_of(ok.json())).status, 200);
  auto uid2 = make_user(srv, server::token_of(ok.json()), "ivy", "ivy-Pass-1234!");
  auto r2 = login(srv, "ivy", "ivy-Pass-1234!");
  ASSERT_EQ(r2.status, 403);
  auto enr2 = str(r2.json(), "enrollment_token");
  srv.advance(10min);
  EXPECT_EQ(srv.call("POST", "/api/v1/security/users/" + uid2 + "/2fa/enable", {}, enr2).status, 401);
}

TEST(TwoFactor, SelfServiceMfaSetupAndVerify) {
  server srv(1);
  auto admin = srv.admin_token();
  make_user(srv, admin, "jo", "jo-Pass-1234!");
  auto tok = server::token_of(srv.login("jo", "jo-Pass-1234!"));
  auto bad = srv.call("POST", "/api/auth/mfa/setup", R"({"mfa_method":"sms"})", tok);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("mfa_method"), std::string::npos);
  auto s = srv.call("POST", "/api/auth/mfa/setup", R"({"mfa_method":"totp"})", tok);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.json().at("mfa_enabled"), false);
  auto secret = str(s.json(), "secret");
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto v = srv.call("POST", "/api/auth/mfa/verify", json::serialize(json::object{{"code", code_at(secret, now)}}), tok);
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(v.json().at("mfa_enabled"), true);
  srv.advance(31s);
  auto l = srv.call("POST", "/api/auth/login",
                    json::serialize(json::object{{"username", "jo"}, {"password", "jo-Pass-1234!"},
                                                 {"mfa_token", code_at(secret, now + 31s)}}));
  EXPECT_EQ(l.status, 200) << l.body;
}


// ---- API users

TEST(ApiUsers, AllowedIpsOnLoginAndManagementCalls) {
  server srv(2);
  auto admin = srv.admin_token();
  auto r = srv.call("POST", "/api/v1/security/users",
                    R"({"username":"bot","password":"bot-Pass-1234!","api_user":true,"allowed_ips":"10.0.0.0/8, 2001:db8::/32"})",
                    admin);
  ASSERT_EQ(r.status, 201) << r.body;
  auto uid = str(r.json(), "user_id");
  EXPECT_EQ(r.json().at("api_user"), true);
  ASSERT_TRUE(r.json().at("allowed_ips").is_array());
  EXPECT_EQ(r.json().at("allowed_ips").as_array().size(), 2u);
  auto denied = login(srv, "bot", "bot-Pass-1234!");
  ASSERT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(denied.json().at("error"), "ip_denied");
  EXPECT_EQ(audit_count(srv, admin, "action=ip_denied&user_id=" + uid), 1u);

  // Allowed from loopback; exempt from 2FA even where its role requires it.
  ASSERT_EQ(srv.call("PATCH", std::string(settings_path), R"({"two_factor":{"enabled":true,"required_for_roles":["user"]}})", admin).status, 200);
  ASSERT_EQ(srv.call("PATCH", "/api/v1/security/users/" + uid, R"({"allowed_ips":["127.0.0.0/8"]})", admin).status, 200);
  auto ok = login(srv, "bot", "bot-Pass-1234!");
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto tok = server::token_of(ok.json());
  EXPECT_EQ(srv.call("GET", "/api/v1/security/users/" + uid, {}, tok).status, 200);
  // An empty list allows nothing; refusals are audited each time.
  ASSERT_EQ(srv.call("PATCH", "/api/v1/security/users/" + uid, R"({"allowed_ips":[]})", admin).status, 200);
  for (int i = 0; i < 2; ++i) {
    auto g = srv.call("GET", "/api/v1/security/users/" + uid, {}, tok);
    EXPECT_EQ(g.status, 403);
    EXPECT_EQ(g.json().at("error"), "ip_denied");
  }
  EXPECT_EQ(audit_count(srv, admin, "action=ip_denied&user_id=" + uid), 3u);
  // The user itself may not change its own list.
  EXPECT_EQ(srv.call("PATCH", "/api/v1/security/users/" + uid, R"({"allowed_ips":"0.0.0.0/0"})", tok).status, 403);

  for (auto [b, field] : {std::pair{R"({"allowed_ips":["10.0.0.0/33"]})", "allowed_ips[0]"},
                          {R"({"allowed_ips":"10.0.0.1, nope"})", "allowed_ips[1]"},
                          {R"({"allowed_ips":5})", "allowed_ips"},
                          {R"({"allowed_ips":[1]})", "allowed_ips"},
                          {R"({"api_user":"yes"})", "api_user"}}) {
    auto bad = srv.call("PATCH", "/api/v1/security/users/" + uid, b, admin);
    EXPECT_EQ(bad.status, 400) << b;
    EXPECT_NE(bad.body.find(field), std::string::npos) << bad.body;
  }
}

TEST(ApiUsers, ForwardedForFromATrustedProxyIsTheClient) {
  authz::rate_limiter limiter(authz::make_rate(2, std::chrono::minutes(1)).value(), 1024, 11);
  server srv(2, {}, [&](services& s) {
    s.trusted_proxies = authz::ip_allowlist::from_strings(std::vector<std::string>{"127.0.0.1/32"}).value();
    s.login_limiter = &limiter;
  });
  auto admin = srv.admin_token();
  auto r = srv.call("POST", "/api/v1/security/users",
                    R"({"username":"bot","password":"bot-Pass-1234!","api_user":true,"allowed_ips":["10.0.0.0/8"]})",
                    admin);
  ASSERT_EQ(r.status, 201) << r.body;
  auto uid = str(r.json(), "user_id");
  auto login_via = [&](std::string_view xff, std::string_view pw) {
    std::string headers = xff.empty() ? "" : "X-Forwarded-For: " + std::string(xff) + "\r\n";
    return testing::http(srv.port(), "POST", "/api/v1/security/auth/login",
                         json::serialize(json::object{{"username", "bot"}, {"password", pw}}), {},
                         "application/json", headers);
  };
  EXPECT_EQ(login_via("10.1.2.3", "bot-Pass-1234!").status, 200);
  EXPECT_EQ(login_via("", "bot-Pass-1234!").status, 403);                    // the proxy itself
  EXPECT_EQ(login_via("192.0.2.7", "bot-Pass-1234!").status, 403);
  EXPECT_EQ(login_via("10.1.2.3, 192.0.2.7", "bot-Pass-1234!").status, 403);  // rightmost untrusted hop
  EXPECT_EQ(login_via("10.1.2.3, 127.0.0.1", "bot-Pass-1234!").status, 200);  // trusted hops skipped
  auto logs = srv.call("GET", "/api/v1/security/audit/logs?action=login&user_id=" + uid, {}, admin);
  ASSERT_EQ(logs.status, 200) << logs.body;
  EXPECT_NE(logs.body.find(R"("ip_address":"10.1.2.3")"), std::string::npos) << logs.body;
  EXPECT_EQ(logs.body.find(R"("ip_address":"127.0.0.1")"), std::string::npos) << logs.body;

  // The login limit counts per client behind the proxy, not per proxy.
  EXPECT_EQ(login_via("10.9.9.9", "wrong").status, 401);
  EXPECT_EQ(login_via("10.9.9.9", "wrong").status, 401);
  EXPECT_EQ(login_via("10.9.9.9", "wrong").status, 429);
  EXPECT_EQ(login_via("10.8.8.8", "wrong").status, 401);

  // Without trusted proxies the header is the client's own word, and ignored.
  server plain(1);
  auto padmin = plain.admin_token();
  ASSERT_EQ(plain.call("POST", "/api/v1/security/users",
                       R"({"username":"bot","password":"bot-Pass-1234!","api_user":true,"allowed_ips":["10.0.0.0/8"]})",
                       padmin).status, 201);
  auto spoofed = testing::http(plain.port(), "POST", "/api/v1/security/auth/login",
                               R"({"username":"bot","password":"bot-Pass-1234!"})", {}, "application/json",
                               "X-Forwarded-For: 10.1.2.3\r\n");
  EXPECT_EQ(spoofed.status, 403);
}

}  // namespace
}  // namespace tollgate::api
