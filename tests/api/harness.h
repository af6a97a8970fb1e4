// tests/api/harness.h — a real tollgate management server on 127.0.0.1:0 and a
// small blocking HTTP/1.1 client for the api tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "api/api.h"
#include "crypto/jws.h"
#include "crypto/password.h"
#include "tests/temp_dir.h"
#include "engine/engine.h"
#include "store/store.h"

namespace tollgate::api::testing {

namespace json = boost::json;

// Argon2id costs for tests only: real logins use password::params{} (m=19 MiB, t=2).
inline constexpr crypto::password::params test_costs{64, 1, 1};
inline constexpr std::string_view admin_password = "Admin-Password-1";

struct reply {
  int status = 0;
  std::string headers;  // raw header block, lowercase names
  std::string body;
  json::value json() const {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    return ec ? json::value(nullptr) : v;
  }
  std::string header(std::string_view name) const {
    std::string key("\n");
    key.append(name).append(":");
    auto p = headers.find(key);
    if (p == std::string::npos) return "";
    auto e = headers.find('\r', p + key.size());
    std::string v = headers.substr(p + key.size(), e - p - key.size());
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    return v;
  }
};

// http sends one request on a fresh connection and reads the reply.
inline reply http(std::uint16_t port, std::string_view method, std::string_view target,
                  std::string_view body = {}, std::string_view token = {},
                  std::string_view content_type = "application/json",
                  std::string_view extra_headers = {}) {
  reply r;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINTR) {
    ::close(fd);
    return r;
  }
  std::string req(method);
  req.append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
  req.append("User-Agent: api-test\r\n");
  if (!token.empty()) req.append("Authorization: Bearer ").append(token).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PATCH") {
    if (!content_type.empty()) req.append("Content-Type: ").append(content_type).append("\r\n");
    req.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  req.append(extra_headers);
  req.append("\r\n").append(body);
  std::size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string in;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    // The engine's threads raise signals in-process (seen as EINTR here): retry.
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto head_end = in.find("\r\n\r\n");
  if (in.size() < 12 || head_end == std::string::npos) return r;
  r.status = std::atoi(in.c_str() + 9);
  r.headers = in.substr(0, head_end + 2);
  for (char& c : r.headers) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  r.body = in.substr(head_end + 4);
  return r;
}

using tollgate::testing::temp_dir;

// init_store creates a store with admin "admin" / admin_password.
inline void init_store(const std::string& dir, const crypto::password::hasher& h) {
  store::init_params p;
  p.admin_user_id = "usr_admin";
  p.admin_username = "admin";
  p.admin_password_hash = h.hash(admin_password).value();
  p.now = std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  if (!store::store::init(dir, p)) std::abort();
}

// server runs the api routes on a real engine server with `shards` shards.
class server {
 public:
  // setup may point the services at rate limiters or a notifier (they must outlive
  // the server) before the routes are registered.
  explicit server(unsigned shards = 2, api::config cfg = {},
                  std::function<void(api::services&)> setup = {})
      : hasher_(test_costs), setup_(std::move(setup)) {
    init_store(dir_.path(), hasher_);
    start(shards, cfg);
  }
  ~server() { stop(); }

  void start(unsigned shards, api::config cfg) {
    db_ = std::move(store::store::open(dir_.path()).value());
    trust_ = std::make_unique<crypto::trust_store>();
    auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    tokens_ = std::move(api::token_service::create(*db_, *trust_, cfg, now_s).value());
    svc_.db = db_.get();
    svc_.passwords = &hasher_;
    svc_.tokens = tokens_.get();
    svc_.cfg = cfg;
    if (setup_) setup_(svc_);
    engine::route_table routes;
    api::register_routes(routes, svc_);
    engine::options o;
    o.port = 0;
    o.shards = shards;
    o.pin_shards = false;
    o.offload_threads = 4;
    o.clock = [this] {
      return engine::unix_time(std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())) +
             std::chrono::nanoseconds(offset_ns_.load());
    };
    auto s = engine::server::create(o, std::move(routes));
    if (!s) std::abort();
    srv_ = std::move(*s);
    thread_ = std::thread([this] { srv_->run(); });
    for (int i = 0; i < 500 && http(port(), "GET", "/readyz").status != 200; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void stop() {
    if (srv_) {
      srv_->stop();
      thread_.join();
      srv_.reset();
    }
  }
  std::uint16_t port() const { return srv_->port(); }
  // advance moves the server's clock forward (idle timeouts, grace periods).
  void advance(std::chrono::nanoseconds d) { offset_ns_ += d.count(); }
  store::store& db() { return *db_; }
  const std::string& dir() const { return dir_.path(); }

  reply call(std::string_view method, std::string_view target, std::string_view body = {},
             std::string_view token = {}) const {
    return http(port(), method, target, body, token);
  }
  // login returns the login reply's JSON (null on failure).
  json::value login(std::string_view user, std::string_view password) const {
    json::object b{{"username", user}, {"password", password}};
    auto r = call("POST", "/api/v1/security/auth/login", json::serialize(b));
    return r.status == 200 ? r.json() : json::value(nullptr);
  }
  std::string admin_token() const { return token_of(login("admin", admin_password)); }
  static std::string token_of(const json::value& login_reply) {
    if (!login_reply.is_object()) return "";
    return std::string(login_reply.at("access_token").as_string());
  }

 private:
  temp_dir dir_;
  crypto::password::hasher hasher_;
  std::unique_ptr<store::store> db_;
  std::unique_ptr<crypto::trust_store> trust_;
  std::unique_ptr<api::token_service> tokens_;
  api::services svc_;
  std::function<void(api::services&)> setup_;
  std::unique_ptr<engine::server> srv_;
  std::thread thread_;
  std::atomic<std::int64_t> offset_ns_{0};
};

}  // namespace tollgate::api::testing
