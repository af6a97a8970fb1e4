// tests/api/nginx_test.cc — a real nginx (Debian nginx-light) in front of tollgate with
// auth_request to /auth/forward, configured as api/README.md tells users to.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>

#include "tests/api/hot_fixture.h"

namespace tollgate::testing {
namespace {

constexpr const char* nginx_bin = "/usr/sbin/nginx";

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class NginxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(nginx_bin, X_OK) != 0) GTEST_SKIP() << "nginx is not installed (" << nginx_bin << ")";
    api::hot::hot_config cfg;
    cfg.verify_per_subject = *authz::make_rate(3, std::chrono::minutes(1));
    cfg.forward_rules = {{"*", "/admin/**", "users.manage"}};
    srv.start(cfg);
    srv.add_user("usr_alice", "alice", "user", "ses_alice");

    prefix = srv.dir / "nginx";
    std::filesystem::create_directories(prefix / "logs");
    port = free_port();
    const std::uint16_t app_port = free_port();
    std::ofstream(prefix / "nginx.conf") << R"(daemon off;
master_process off;
pid )" << (prefix / "nginx.pid").string() << R"(;
error_log )" << (prefix / "logs/error.log").string() << R"( warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path )" << (prefix / "body").string() << R"(;
  proxy_temp_path )" << (prefix / "proxy").string() << R"(;
  upstream tollgate { server 127.0.0.1:)" << srv.port << R"(; keepalive 8; }
  server {
    listen 127.0.0.1:)" << app_port << R"(;
    location / { return 200 "upstream saw user=$http_x_user\n"; }
  }
  server {
    listen 127.0.0.1:)" << port << R"(;
    location = /_tollgate {
      internal;
      proxy_pass http://tollgate/api/v1/security/auth/forward;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }
    location @tollgate_error {
      if ($tollgate_status = 429) { return 429; }
      return 500;
    }
    location / {
      auth_request /_tollgate;
      auth_request_set $user $upstream_http_x_auth_user_id;
      auth_request_set $tollgate_status $upstream_status;
      error_page 500 = @tollgate_error;
      proxy_set_header X-User $user;
      add_header X-User $user;
      proxy_pass http://127.0.0.1:)" << app_port << R"(;
    }
  }
}
)";
    pid = ::fork();
    if (pid == 0) {
      ::execl(nginx_bin, nginx_bin, "-p", prefix.c_str(), "-c", (prefix / "nginx.conf").c_str(), "-e",
              (prefix / "logs/error.log").c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Wait (bounded) until nginx accepts.
    for (int i = 0; i < 100; ++i) {
      client probe(port);
      if (probe.ok()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "nginx did not start; see " << (prefix / "logs/error.log");
  }
  void TearDown() override {
    if (pid > 0) {
      ::kill(pid, SIGQUIT);
      int st = 0;
      ::waitpid(pid, &st, 0);
    }
    srv.stop();
  }

  hot_server srv;
  std::filesystem::path prefix;
  std::uint16_t port = 0;
  pid_t pid = -1;
};

TEST_F(NginxTest, AuthRequestThroughForward) {
  const std::string t = srv.own_token("usr_alice", "ses_alice", "alice");
  client c(port);
  ASSERT_TRUE(c.ok());
  auto r = c.request("GET", "/hello?x=1", {{"Authorization", "Bearer " + t}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "upstream saw user=usr_alice\n");
  EXPECT_EQ(r.header("x-user"), "usr_alice");

  EXPECT_EQ(c.request("GET", "/hello").status, 401);
  EXPECT_EQ(c.request("GET", "/hello", {{"Authorization", "Bearer bad.token.here"}}).status, 401);
  EXPECT_EQ(c.request("GET", "/admin/x", {{"Authorization", "Bearer " + t}}).status, 403);
  // 3/minute: three allowed (one used above, one 403 counted nothing), then 429.
  int ok = 1, limited = 0;
  for (int i = 0; i < 4; ++i) {
    client fresh(port);  // nginx closes the connection after an error_page answer
    const auto rep = fresh.request("GET", "/hello", {{"Authorization", "Bearer " + t}});
    const int s = rep.status;
    EXPECT_TRUE(s == 200 || s == 429) << s << " " << rep.body;
    ok += s == 200;
    limited += s == 429;
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(limited, 2);
}

}  // namespace
}  // namespace tollgate::testing
