// tests/api/hot_fixture.h — a real 2-shard tollgate server on 127.0.0.1:0 with the
// hot routes, a fresh store, a test clock, tollgate's own issuer (HS256) and an
// external issuer (ES256, JWKS file written by the test), plus a small blocking
// HTTP/1.1 client.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/hot.h"
#include "api/hot_auth.h"
#include "crypto/api_key.h"
#include "crypto/jwk.h"
#include "crypto/signer.h"
#include "engine/engine.h"
#include "store/store.h"

namespace tollgate::testing {

struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool has(const std::string& h) const { return headers.count(h) != 0; }
  std::string header(const std::string& h) const {
    auto it = headers.find(h);
    return it == headers.end() ? "" : it->second;
  }
};

// client is one keep-alive connection.
class client {
 public:
  explicit client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~client() { ::close(fd_); }
  client(const client&) = delete;
  bool ok() const { return ok_; }

  http_reply request(const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {},
                     const std::string& body = {}) {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: test\r\n";
    for (auto& [k, v] : headers) r += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r += "\r\n" + body;
    for (std::size_t off = 0; off < r.size();) {
      ssize_t n = ::send(fd_, r.data() + off, r.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return {};
      off += static_cast<std::size_t>(n);
    }
    return read_reply(method == "HEAD");
  }

 private:
  http_reply read_reply(bool head) {
    http_reply rep;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return rep;
    std::string head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    std::size_t line_end = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, line_end);
    rep.status = std::atoi(status_line.c_str() + 9);
    std::size_t pos = line_end == std::string::npos ? head_text.size() : line_end + 2;
    while (pos < head_text.size()) {
      std::size_t e = head_text.find("\r\n", pos);
      if (e == std::string::npos) e = head_text.size();
      std::string line = head_text.substr(pos, e - pos);
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      rep.headers[name] = value;
      pos = e + 2;
    }
    std::size_t len = head ? 0 : std::strtoul(rep.header("content-length").c_str(), nullptr, 10);
    while (buf_.size() < len)
      if (!fill()) return rep;
    rep.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return rep;
  }
  bool fill() {
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool ok_ = false;
  std::string buf_;
};

// test_clock starts at a fixed instant and is moved by the tests.
inline std::atomic<std::int64_t>& test_now_ns() {
  static std::atomic<std::int64_t> now{1'900'000'000LL * 1'000'000'000LL};
  return now;
}
inline std::int64_t test_now_s() { return test_now_ns().load() / 1'000'000'000; }

struct hot_server {
  std::filesystem::path dir;
  std::unique_ptr<store::store> db;
  crypto::trust_store trust;
  api::hot::hot_state_ptr hs;
  std::unique_ptr<api::hot::issuer_loader> issuers;
  std::unique_ptr<engine::server> server;
  std::thread runner;
  crypto::signing_key own_key = *crypto::signing_key::from_secret(
      crypto::alg::hs256, std::vector<std::uint8_t>(32, 7), 0);
  std::optional<crypto::signing_key> ext_key;
  std::uint16_t port = 0;

  static constexpr const char* own_iss = "http://tollgate.test";
  static constexpr const char* ext_iss = "https://idp.test";

  // start builds everything; `cfg` is adjusted by the caller before. `routes` may hold
  // test routes served beside the hot ones.
  void start(api::hot::hot_config cfg, unsigned shards = 2, engine::route_table routes = {}) {
    char tmpl[] = "/tmp/tollgate_hot_XXXXXX";
    dir = ::mkdtemp(tmpl);
    store::init_params p;
    p.admin_user_id = "usr_admin";
    p.admin_username = "admin";
    p.admin_password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    p.now = test_now_ns();
    ASSERT_TRUE(store::store::init(dir.string(), p));
    auto opened = store::store::open(dir.string());
    ASSERT_TRUE(opened);
    db = std::move(*opened);

    crypto::issuer_config own;
    own.name = "tollgate";
    own.issuer = own_iss;
    own.audiences = {"tollgate"};
    own.algorithms = crypto::alg_bit(crypto::alg::hs256);
    trust.set_issuer(own, {{own_key.kid(), *own_key.make_verifier()}});

    // External issuer: an ES256 key published in a JWKS file.
    ext_key = *crypto::signing_key::generate(crypto::alg::es256, 0);
    std::vector<crypto::jwk> keys{ext_key->public_jwk()};
    std::ofstream(dir / "ext.jwks.json") << crypto::to_jwks_json(keys);
    api::hot::issuer ext;
    ext.name = "corp-idp";
    ext.iss = ext_iss;
    ext.audiences = {"api"};
    ext.algorithms = {"ES256"};
    ext.jwks_file = (dir / "ext.jwks.json").string();
    auto loaded = api::hot::load_issuers(trust, {ext});
    ASSERT_TRUE(loaded) << loaded.error();
    issuers = std::move(*loaded);

    cfg.seed = 42;
    auto made = api::hot::make_hot_state(*db, trust, cfg);
    ASSERT_TRUE(made) << made.error();
    hs = std::move(*made);

    api::hot::register_hot_routes(routes, *hs, [](const engine::request& req) {
      api::hot::caller c;
      c.user_id = std::string(req.header_value("X-Test-User"));
      c.manages_users = req.has_header("X-Test-Admin");
      return c;
    });
    engine::options o;
    o.port = 0;
    o.shards = shards;
    o.pin_shards = false;
    o.offload_threads = 2;
    o.clock = [] { return engine::unix_time(std::chrono::nanoseconds(test_now_ns().load())); };
    o.metrics_sources.push_back(api::hot::metrics_source(*hs));
    o.hooks = api::hot::shard_hooks(*hs);
    auto s = engine::server::create(std::move(o), std::move(routes));
    ASSERT_TRUE(s);
    server = std::move(*s);
    port = server->port();
    runner = std::thread([this] { server->run(); });
  }

  void stop() {
    if (server) {
      server->stop();
      runner.join();
      server.reset();
    }
    hs.reset();
    issuers.reset();
    db.reset();
    std::filesystem::remove_all(dir);
  }

  // add_user writes an active user with `role`, and a live session for it.
  void add_user(const std::string& id, const std::string& name, const std::string& role,
                const std::string& sid = {}) {
    auto w = db->write([&](store::write_txn& t) -> store::result<void> {
      store::user u;
      u.id = id;
      u.username = name;
      u.role = role;
      u.status = store::user_status::active;
      u.created_at = test_now_ns();
      if (auto r = t.put_user(u); !r) return r;
      if (sid.empty()) return {};
      store::session s;
      s.id = sid;
      s.user_id = id;
      s.created_at = test_now_ns();
      s.last_activity = test_now_ns();
      return t.put_session(s);
    });
    ASSERT_TRUE(w);
  }

  std::string own_token(const std::string& sub, const std::string& sid, const std::string& username,
                        std::int64_t ttl = 3600) {
    crypto::token_spec spec;
    spec.iss = own_iss;
    spec.aud = {"tollgate"};
    spec.sub = sub;
    spec.sid = sid;
    spec.username = username;
    spec.iat = test_now_s();
    spec.exp = test_now_s() + ttl;
    return *own_key.sign(crypto::encode_payload(spec));
  }

  std::string ext_token(const std::string& sub, const std::string& scope, std::int64_t ttl = 3600,
                        std::vector<std::string> groups = {}) {
    crypto::token_spec spec;
    spec.iss = ext_iss;
    spec.aud = {"api"};
    spec.sub = sub;
    spec.scope = scope;
    spec.groups = std::move(groups);
    spec.iat = test_now_s();
    spec.exp = test_now_s() + ttl;
    return *ext_key->sign(crypto::encode_payload(spec));
  }

  // add_key stores an API key for `user` and returns its presented form.
  std::string add_key(const std::string& user, std::optional<std::vector<std::string>> perms,
                      store::time_ns expires_at = 0) {
    auto gen = hs->hasher().generate();
    EXPECT_TRUE(gen);
    store::api_key_record k;
    k.key_id = gen->key_id;
    k.user_id = user;
    k.name = "test";
    std::copy(gen->hash.begin(), gen->hash.end(), k.hash.begin());
    k.explicit_permissions = perms.has_value();
    if (perms) k.permissions = *perms;
    k.created_at = test_now_ns();
    k.expires_at = expires_at;
    EXPECT_TRUE(db->write([&](store::write_txn& t) { return t.put_api_key(k); }));
    return gen->presented;
  }
};

}  // namespace tollgate::testing
