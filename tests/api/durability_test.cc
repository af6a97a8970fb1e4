// tests/api/durability_test.cc — acknowledged writes survive SIGKILL of the server;
// concurrent creations respect the unique indexes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <thread>

#include "tests/api/harness.h"

namespace tollgate::api {
namespace {

using testing::server;
namespace json = boost::json;

// child_server runs api_test_server on `dir` and reads its port.
struct child_server {
  pid_t pid = -1;
  std::uint16_t port = 0;
  explicit child_server(const std::string& dir) {
    const char* bin = std::getenv("TOLLGATE_TEST_SERVER");
    if (bin == nullptr) return;
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::execl(bin, bin, dir.c_str(), "2", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    FILE* f = ::fdopen(fds[0], "r");
    unsigned p = 0;
    if (std::fscanf(f, "port %u", &p) == 1) port = static_cast<std::uint16_t>(p);
    std::fclose(f);
    for (int i = 0; i < 500 && testing::http(port, "GET", "/readyz").status != 200; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void kill9() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int st = 0;
      ::waitpid(pid, &st, 0);
      pid = -1;
    }
  }
  ~child_server() { kill9(); }
};

std::string login_token(std::uint16_t port, std::string_view user, std::string_view pw) {
  auto r = testing::http(port, "POST", "/api/v1/security/auth/login",
                         json::serialize(json::object{{"username", user}, {"password", pw}}));
  if (r.status != 200) return "";
  return std::string(r.json().at("access_token").as_string());
}

TEST(Durability, AcknowledgedUsersSurviveSigkill) {
  testing::temp_dir dir;
  std::vector<std::pair<std::string, std::string>> acked;  // id, username
  {
    child_server s(dir.path());
    ASSERT_NE(s.port, 0) << "set TOLLGATE_TEST_SERVER";
    std::string admin = login_token(s.port, "admin", testing::admin_password);
    ASSERT_FALSE(admin.empty());
    std::atomic<bool> killed{false};
    std::thread killer;
    for (int i = 0; i < 200; ++i) {
      std::string name = "durable" + std::to_string(i);
      auto r = testing::http(s.port, "POST", "/api/v1/security/users",
                             json::serialize(json::object{{"username", name}, {"password", "Pw-1234!-" + name}}),
                             admin);
      if (r.status == 201) acked.emplace_back(std::string(r.json().at("user_id").as_string()), name);
      // Kill while requests are still in flight, after most have been acknowledged.
      if (i == 190) killer = std::thread([&] { s.kill9(); killed = true; });
      if (killed) break;
    }
    if (killer.joinable()) killer.join();
  }
  ASSERT_GE(acked.size(), 150u);
  child_server again(dir.path());
  ASSERT_NE(again.port, 0);
  std::string admin = login_token(again.port, "admin", testing::admin_password);
  ASSERT_FALSE(admin.empty());
  for (auto& [id, name] : acked) {
    auto g = testing::http(again.port, "GET", "/api/v1/security/users/" + id, {}, admin);
    EXPECT_EQ(g.status, 200) << name;
    EXPECT_FALSE(login_token(again.port, name, "Pw-1234!-" + name).empty()) << name;
  }
}

TEST(Concurrency, FiftyDistinctAllSucceedFiftySameOneWins) {
  server srv(2);
  std::string admin = srv.admin_token();
  auto run = [&](auto name_of) {
    std::vector<int> statuses(50);
    std::vector<std::thread> ts;
    for (int i = 0; i < 50; ++i) {
      ts.emplace_back([&, i] {
        statuses[i] = srv.call("POST", "/api/v1/security/users",
                               json::serialize(json::object{{"username", name_of(i)}}), admin)
                          .status;
      });
    }
    for (auto& t : ts) t.join();
    return statuses;
  };
  auto distinct = run([](int i) { return "parallel" + std::to_string(i); });
  EXPECT_EQ(std::count(distinct.begin(), distinct.end(), 201), 50);
  auto same = run([](int) { return std::string("contended"); });
  EXPECT_EQ(std::count(same.begin(), same.end(), 201), 1);
  EXPECT_EQ(std::count(same.begin(), same.end(), 409), 49);
  auto list = srv.call("GET", "/api/v1/security/users?search=contended", {}, admin);
  EXPECT_EQ(list.json().at("total"), 1);
}

}  // namespace
}  // namespace tollgate::api
