// JWKS over real loopback HTTP and HTTPS: a server thread on 127.0.0.1:0 serves the document,
// the test rotates it and checks the verifier follows (tests crypto/jwks_http.cc).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "crypto/jwk.h"
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

// --- https: a self-signed certificate for "localhost", trusted through the CA file ---

namespace tollgate::crypto {
namespace {

struct tls_identity {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
  tls_identity() {
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    EC_KEY_generate_key(ec.get());
    key.reset(EVP_PKEY_new());
    EVP_PKEY_assign_EC_KEY(key.get(), ec.release());
    cert.reset(X509_new());
    X509_set_version(cert.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    // TLS validity is checked by BoringSSL against the real clock; it is not a token.
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    GENERAL_NAMES* names = GENERAL_NAMES_new();
    GENERAL_NAME* dns = GENERAL_NAME_new();
    dns->type = GEN_DNS;
    dns->d.dNSName = ASN1_IA5STRING_new();
    ASN1_STRING_set(dns->d.dNSName, "localhost", 9);
    sk_GENERAL_NAME_push(names, dns);
    X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names, 0, 0);
    GENERAL_NAMES_free(names);
    BASIC_CONSTRAINTS* bc = BASIC_CONSTRAINTS_new();
    bc->ca = 0xff;
    X509_add1_ext_i2d(cert.get(), NID_basic_constraints, bc, 1, 0);
    BASIC_CONSTRAINTS_free(bc);
    X509_sign(cert.get(), key.get(), EVP_sha256());
  }
  std::string write_ca(const std::string& path) const {
    FILE* f = std::fopen(path.c_str(), "w");
    PEM_write_X509(f, cert.get());
    std::fclose(f);
    return path;
  }
};

// One TLS connection per accept; |body| served with Content-Length.
class tls_server {
 public:
  tls_server(const tls_identity& id, std::string body) : body_(std::move(body)) {
    ctx_.reset(SSL_CTX_new(TLS_method()));
    SSL_CTX_use_certificate(ctx_.get(), id.cert.get());
    SSL_CTX_use_PrivateKey(ctx_.get(), id.key.get());
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
  ~tls_server() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url(const char* host) const { return "https://" + std::string(host) + ":" + std::to_string(port_) + "/jwks"; }
  int handshakes_ok() const { return ok_; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      timeval tv{2, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      bssl::UniquePtr<SSL> ssl(SSL_new(ctx_.get()));
      SSL_set_fd(ssl.get(), c);
      if (SSL_accept(ssl.get()) == 1) {
        ++ok_;
        char buf[4096];
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) {
          int n = SSL_read(ssl.get(), buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<std::size_t>(n));
        }
        std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body_.size()) + "\r\n\r\n" + body_;
        SSL_write(ssl.get(), resp.data(), static_cast<int>(resp.size()));
        SSL_shutdown(ssl.get());
      }
      ERR_clear_error();
      ::close(c);
    }
  }
  bssl::UniquePtr<SSL_CTX> ctx_;
  std::string body_;
  int fd_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::thread thread_;
};

TEST(JwksHttps, VerifiesTheServerCertificateAndHost) {
  tls_identity id, other;
  std::string dir = testing::TempDir();
  std::string ca = id.write_ca(dir + "jwks_https_ca_" + std::to_string(::getpid()) + ".pem");
  std::string wrong_ca = other.write_ca(dir + "jwks_https_other_" + std::to_string(::getpid()) + ".pem");
  std::string doc = "{\"keys\":[" + keys().ec_jwk("k1") + "]}";
  tls_server server(id, doc);

  auto got = url_fetch(server.url("localhost"), 2000, 1 << 20, ca)();
  ASSERT_TRUE(got.has_value()) << message_of(got.error());
  EXPECT_EQ(*got, doc);
  EXPECT_TRUE(parse_jwks(*got).has_value());
  // Untrusted issuer, or a host name the certificate does not name: refused.
  EXPECT_EQ(url_fetch(server.url("localhost"), 2000, 1 << 20, wrong_ca)().error(), errc::io_error);
  EXPECT_EQ(url_fetch(server.url("127.0.0.1"), 2000, 1 << 20, ca)().error(), errc::io_error);
  std::remove(ca.c_str());
  std::remove(wrong_ca.c_str());
}

}  // namespace
}  // namespace tollgate::crypto
