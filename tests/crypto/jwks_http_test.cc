// JWKS over real loopback HTTP: a server thread on 127.0.0.1:0 serves the document,
// the test rotates it and checks the verifier follows (tests crypto/jwks_http.cc).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "crypto/jwks_source.h"
#include "tests/crypto/test_util.h"

namespace tollgate::crypto {
namespace {

using test::keys;
using test::kNow;

// Serves |body| with |status| to each connection until stopped; bounded by poll timeouts.
class jwks_server {
 public:
  jwks_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) std::abort();
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~jwks_server() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  void set(int status, std::string body, bool chunked = false, bool silent = false) {
    std::lock_guard l(mu_);
    status_ = status;
    body_ = std::move(body);
    chunked_ = chunked;
    silent_ = silent;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/.well-known/jwks.json"; }
  int requests() const { return requests_; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++requests_;
      char buf[4096];
      std::string req;
      pollfd q{c, POLLIN, 0};
      while (req.find("\r\n\r\n") == std::string::npos && ::poll(&q, 1, 1000) == 1) {
        long n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      std::string resp;
      bool silent;
      {
        std::lock_guard l(mu_);
        silent = silent_;
        std::string head = "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Type: application/json\r\n";
        if (chunked_) {
          std::size_t half = body_.size() / 2;
          auto hex = [](std::size_t n) {
            char h[32];
            std::snprintf(h, sizeof h, "%zx", n);
            return std::string(h);
          };
          resp = head + "Transfer-Encoding: chunked\r\n\r\n" + hex(half) + "\r\n" + body_.substr(0, half) + "\r\n" +
                 hex(body_.size() - half) + "\r\n" + body_.substr(half) + "\r\n0\r\n\r\n";
        } else {
          resp = head + "Content-Length: " + std::to_string(body_.size()) + "\r\n\r\n" + body_;
        }
      }
      if (silent) {
        // Hold the connection open without answering, so the client times out.
        pollfd z{c, POLLIN, 0};
        ::poll(&z, 1, 1500);
      } else {
        ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      }
      ::close(c);
    }
  }
  int fd_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  int status_ = 200;
  std::string body_;
  bool chunked_ = false;
  bool silent_ = false;
  std::thread thread_;
};

TEST(JwksHttp, ServesRotatesAndKeepsLastGood) {
  jwks_server server;
  server.set(200, "{\"keys\":[" + keys().ec_jwk("k1") + "]}");
  trust_store store;
  issuer_config cfg;
  cfg.name = "corp";
  cfg.issuer = "https://idp.example.com";
  cfg.algorithms = alg_bit(alg::es256) | alg_bit(alg::eddsa);
  store.set_issuer(cfg, {});
  jwks_source src(store, {.issuer_name = "corp", .algorithms = cfg.algorithms, .min_refetch_seconds = 30},
                  url_fetch(server.url(), 1000));
  verifier v(store);
  verify_scratch scratch;
  auto token = [](alg a, const char* kid) {
    return keys().token(a, std::string("{\"alg\":\"") + std::string(name_of(a)) + "\",\"kid\":\"" + kid + "\"}",
                        R"({"iss":"https://idp.example.com","sub":"u","exp":)" + std::to_string(kNow + 9999) + "}");
  };
  auto check = [&](const std::string& t) {
    auto r = v.verify(t, kNow, scratch);
    return r ? errc::ok : r.error();
  };

  src.poll(kNow);
  ASSERT_EQ(src.status().last_error, errc::ok);
  EXPECT_EQ(check(token(alg::es256, "k1")), errc::ok);

  // Rotation, served chunked: unknown kid → one refetch once the rate limit allows.
  server.set(200, "{\"keys\":[" + keys().ed_jwk("k2") + "," + keys().ec_jwk("k1") + "]}", true);
  EXPECT_EQ(check(token(alg::eddsa, "k2")), errc::unknown_kid);
  int before = server.requests();
  src.poll(kNow + 5);  // inside min_refetch_seconds: no request
  EXPECT_EQ(server.requests(), before);
  src.poll(kNow + 31);
  EXPECT_EQ(server.requests(), before + 1);
  EXPECT_EQ(check(token(alg::eddsa, "k2")), errc::ok);

  // Server errors and timeouts keep the last good keys.
  server.set(500, "oops");
  src.poll(kNow + 10000);
  EXPECT_EQ(src.status().last_error, errc::io_error);
  EXPECT_EQ(check(token(alg::eddsa, "k2")), errc::ok);
  server.set(200, "", false, true);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(url_fetch(server.url(), 300)().error(), errc::io_error);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1200));
}

TEST(JwksHttp, BadUrlsAndOversizeBodies) {
  EXPECT_EQ(url_fetch("ftp://127.0.0.1/x")().error(), errc::io_error);
  EXPECT_EQ(url_fetch("not a url")().error(), errc::io_error);
  jwks_server server;
  server.set(200, std::string(5000, ' '));
  EXPECT_EQ(url_fetch(server.url(), 1000, 1000)().error(), errc::token_too_large);
  server.set(404, "{}");
  EXPECT_EQ(url_fetch(server.url(), 1000)().error(), errc::io_error);
}

}  // namespace
}  // namespace tollgate::crypto
