// A minimal blocking HTTP/1.1 GET for JWKS documents (cold path, offload pool only).
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/url/parse.hpp>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "crypto/jwks_source.h"

namespace tollgate::crypto {
namespace {

using clock_type = std::chrono::steady_clock;

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

struct conn {
  int fd;
  SSL* ssl;  // nullptr for http
  clock_type::time_point deadline;

  int remaining_ms() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
  }
  bool wait(short events) const {
    pollfd p{fd, events, 0};
    int ms = remaining_ms();
    return ms > 0 && ::poll(&p, 1, ms) == 1;
  }
  // write_all / read_some handle SSL's want-read/want-write with poll and the deadline.
  bool write_all(std::string_view data) {
    while (!data.empty()) {
      long n;
      if (ssl) {
        int r = SSL_write(ssl, data.data(), static_cast<int>(data.size()));
        if (r <= 0) {
          int e = SSL_get_error(ssl, r);
          if ((e == SSL_ERROR_WANT_READ && wait(POLLIN)) || (e == SSL_ERROR_WANT_WRITE && wait(POLLOUT))) continue;
          return false;
        }
        n = r;
      } else {
        n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
          if ((errno == EAGAIN || errno == EINTR) && wait(POLLOUT)) continue;
          return false;
        }
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // read_some returns bytes read, 0 at EOF, -1 on error or timeout.
  long read_some(char* buf, std::size_t len) {
    for (;;) {
      if (ssl) {
        int r = SSL_read(ssl, buf, static_cast<int>(len));
        if (r > 0) return r;
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        if ((e == SSL_ERROR_WANT_READ && wait(POLLIN)) || (e == SSL_ERROR_WANT_WRITE && wait(POLLOUT))) continue;
        return -1;
      }
      long n = ::recv(fd, buf, len, 0);
      if (n >= 0) return n;
      if ((errno == EAGAIN || errno == EINTR) && wait(POLLIN)) continue;
      return -1;
    }
  }
};

int connect_to(const std::string& host, const std::string& port, const conn& c) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = res; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    conn probe{fd, nullptr, c.deadline};
    int err = 0;
    socklen_t len = sizeof err;
    if (errno == EINPROGRESS && probe.wait(POLLOUT) && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
        err == 0)
      break;
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  return fd;
}

// parse_response checks "HTTP/1.x 200", then returns the body (chunked or identity).
std::expected<std::string, errc> parse_response(const std::string& raw) {
  std::size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) return std::unexpected(errc::io_error);
  std::size_t sp = raw.find(' ');
  if (sp == std::string::npos || sp > head_end || raw.compare(sp + 1, 3, "200") != 0)
    return std::unexpected(errc::io_error);
  std::string head = raw.substr(0, head_end);
  for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string body = raw.substr(head_end + 4);
  if (head.find("\r\ntransfer-encoding: chunked") == std::string::npos) return body;
  std::string out;
  std::size_t i = 0;
  for (;;) {
    std::size_t eol = body.find("\r\n", i);
    if (eol == std::string::npos) return std::unexpected(errc::io_error);
    std::size_t size = 0;
    std::size_t j = i;
    for (; j < eol && std::isxdigit(static_cast<unsigned char>(body[j])); ++j) {
      if (size > (std::size_t{1} << 40)) return std::unexpected(errc::io_error);
      char ch = static_cast<char>(std::tolower(static_cast<unsigned char>(body[j])));
      size = size * 16 + static_cast<std::size_t>(ch <= '9' ? ch - '0' : ch - 'a' + 10);
    }
    if (j == i) return std::unexpected(errc::io_error);
    if (size == 0) return out;
    if (body.size() < eol + 2 + size + 2) return std::unexpected(errc::io_error);
    out.append(body, eol + 2, size);
    i = eol + 2 + size + 2;
  }
}

std::expected<std::string, errc> get(const std::string& url, int timeout_ms, std::size_t max_bytes,
                                     const std::string& ca_file) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return std::unexpected(errc::io_error);
  bool tls = u->scheme() == "https";
  if (!tls && u->scheme() != "http") return std::unexpected(errc::io_error);
  std::string host(u->host());  // encoded host; brackets stripped below for IPv6
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  std::string port = u->has_port() ? std::string(u->port()) : (tls ? "443" : "80");
  std::string target = u->encoded_path().empty() ? std::string("/") : std::string(u->encoded_path());
  if (u->has_query()) target += "?" + std::string(u->encoded_query());

  conn c{-1, nullptr, clock_type::now() + std::chrono::milliseconds(timeout_ms)};
  fd_guard fd{connect_to(host, port, c)};
  if (fd.fd < 0) return std::unexpected(errc::io_error);
  c.fd = fd.fd;

  bssl::UniquePtr<SSL_CTX> ctx;
  bssl::UniquePtr<SSL> ssl;
  if (tls) {
    ctx.reset(SSL_CTX_new(TLS_method()));
    if (!ctx || !SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr)) {
      ERR_clear_error();
      return std::unexpected(errc::io_error);
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    ssl.reset(SSL_new(ctx.get()));
    if (!ssl || !SSL_set_fd(ssl.get(), c.fd) || !SSL_set_tlsext_host_name(ssl.get(), host.c_str()) ||
        !X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl.get()), host.data(), host.size())) {
      ERR_clear_error();
      return std::unexpected(errc::io_error);
    }
    c.ssl = ssl.get();
    for (;;) {
      int r = SSL_connect(c.ssl);
      if (r == 1) break;
      int e = SSL_get_error(c.ssl, r);
      if ((e == SSL_ERROR_WANT_READ && c.wait(POLLIN)) || (e == SSL_ERROR_WANT_WRITE && c.wait(POLLOUT))) continue;
      ERR_clear_error();
      return std::unexpected(errc::io_error);
    }
  }

  std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + std::string(u->encoded_host_and_port()) +
                    "\r\nAccept: application/json\r\nUser-Agent: tollgate\r\nConnection: close\r\n\r\n";
  if (!c.write_all(req)) {
    ERR_clear_error();
    return std::unexpected(errc::io_error);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    long n = c.read_some(buf, sizeof buf);
    if (n < 0) {
      ERR_clear_error();
      return std::unexpected(errc::io_error);
    }
    if (n == 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
    if (raw.size() > max_bytes + 16384) return std::unexpected(errc::token_too_large);
  }
  auto body = parse_response(raw);
  if (body && body->size() > max_bytes) return std::unexpected(errc::token_too_large);
  return body;
}

}  // namespace

jwks_fetch url_fetch(std::string url, int timeout_ms, std::size_t max_bytes, std::string ca_file) {
  return [url = std::move(url), timeout_ms, max_bytes, ca_file = std::move(ca_file)] {
    return get(url, timeout_ms, max_bytes, ca_file);
  };
}

}  // namespace tollgate::crypto
