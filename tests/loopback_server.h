// tests/loopback_server.h — the far end of tollgate's outgoing HTTP(S) calls in tests
// (http_client, JWKS URLs, the notifier's webhook): a throwaway certificate and a
// one-connection-at-a-time server on 127.0.0.1:0, plain or TLS.
#pragma once

#include <arpa/inet.h>
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
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace tollgate::testing {

// tls_identity is a fresh P-256 key and a self-signed certificate for "localhost"
// (and, when asked, the IP address 127.0.0.1). It is marked CA:TRUE so that a CA file
// holding just this certificate trusts it.
struct tls_identity {
  enum class names { localhost, localhost_and_loopback_ip };

  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;

  explicit tls_identity(names n = names::localhost) {
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
    GENERAL_NAMES* sans = GENERAL_NAMES_new();
    GENERAL_NAME* dns = GENERAL_NAME_new();
    dns->type = GEN_DNS;
    dns->d.dNSName = ASN1_IA5STRING_new();
    ASN1_STRING_set(dns->d.dNSName, "localhost", 9);
    sk_GENERAL_NAME_push(sans, dns);
    if (n == names::localhost_and_loopback_ip) {
      static constexpr unsigned char loopback[] = {127, 0, 0, 1};
      GENERAL_NAME* ip = GENERAL_NAME_new();
      ip->type = GEN_IPADD;
      ip->d.iPAddress = ASN1_OCTET_STRING_new();
      ASN1_OCTET_STRING_set(ip->d.iPAddress, loopback, sizeof loopback);
      sk_GENERAL_NAME_push(sans, ip);
    }
    X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, sans, 0, 0);
    GENERAL_NAMES_free(sans);
    BASIC_CONSTRAINTS* bc = BASIC_CONSTRAINTS_new();
    bc->ca = 0xff;
    X509_add1_ext_i2d(cert.get(), NID_basic_constraints, bc, 1, 0);
    BASIC_CONSTRAINTS_free(bc);
    X509_sign(cert.get(), key.get(), EVP_sha256());
  }

  // write_pem writes the certificate to `path` (a CA file) and returns the path.
  std::string write_pem(const std::string& path) const {
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) std::abort();
    PEM_write_X509(f, cert.get());
    std::fclose(f);
    return path;
  }
};

// loopback_server answers each connection, one at a time, with the raw bytes of
// `reply` after reading the request head and its Content-Length body, then closes.
// With a tls_identity it speaks TLS, up to `max_tls_version`. An empty reply answers
// nothing and holds the connection until the client closes it (at most 3 s), so the
// client times out.
class loopback_server {
 public:
  explicit loopback_server(std::string reply, const tls_identity* tls = nullptr,
                           std::uint16_t max_tls_version = TLS1_3_VERSION)
      : reply_(std::move(reply)) {
    if (tls != nullptr) {
      ctx_.reset(SSL_CTX_new(TLS_method()));
      SSL_CTX_use_certificate(ctx_.get(), tls->cert.get());
      SSL_CTX_use_PrivateKey(ctx_.get(), tls->key.get());
      SSL_CTX_set_max_proto_version(ctx_.get(), max_tls_version);
    }
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
  ~loopback_server() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  void set_reply(std::string reply) {
    std::lock_guard l(mu_);
    reply_ = std::move(reply);
  }
  unsigned short port() const { return port_; }
  // url is scheme://host:port path, the scheme following the server's mode.
  std::string url(std::string_view host, std::string_view path) const {
    return std::string(ctx_ ? "https://" : "http://") + std::string(host) + ":" + std::to_string(port_) +
           std::string(path);
  }
  // requests counts the connections that got as far as sending a request (after the
  // handshake, for TLS).
  int requests() const { return requests_; }
  // last_request is the last request read, head and body.
  std::string last_request() const {
    std::lock_guard l(mu_);
    return last_request_;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      timeval tv{2, 0};  // a stuck client cannot stall the server thread for long
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      serve(c);
      ERR_clear_error();
      ::close(c);
    }
  }

  void serve(int c) {
    bssl::UniquePtr<SSL> ssl;
    if (ctx_) {
      ssl.reset(SSL_new(ctx_.get()));
      SSL_set_fd(ssl.get(), c);
      if (SSL_accept(ssl.get()) != 1) return;  // the client refused the certificate, say
    }
    const auto read_some = [&](char* buf, int len) {
      return ssl ? SSL_read(ssl.get(), buf, len) : static_cast<int>(::recv(c, buf, static_cast<std::size_t>(len), 0));
    };
    std::string req;
    char buf[4096];
    std::size_t want = std::string::npos;  // head + body, once the head is in
    while (req.size() < want) {
      const int n = read_some(buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, static_cast<std::size_t>(n));
      const std::size_t head = req.find("\r\n\r\n");
      if (want == std::string::npos && head != std::string::npos) {
        const std::size_t cl = req.find("\r\nContent-Length: ");
        want = head + 4 + (cl != std::string::npos && cl < head ? std::stoul(req.substr(cl + 18)) : 0);
      }
    }
    ++requests_;
    std::string reply;
    {
      std::lock_guard l(mu_);
      last_request_ = req;
      reply = reply_;
    }
    if (reply.empty()) {
      pollfd z{c, POLLIN, 0};
      ::poll(&z, 1, 3000);
      return;
    }
    if (ssl) {
      SSL_write(ssl.get(), reply.data(), static_cast<int>(reply.size()));
      SSL_shutdown(ssl.get());
    } else {
      ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    }
  }

  bssl::UniquePtr<SSL_CTX> ctx_;  // null: plain HTTP
  int fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::string reply_;
  std::string last_request_;
  std::thread thread_;
};

}  // namespace tollgate::testing
