// http_client/http_client.cc — blocking HTTP/1.1 over a non-blocking socket with one
// deadline, optionally through BoringSSL.
#include "http_client/http_client.h"
#include "http_client/internal.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <utility>

namespace tollgate::http_client {
namespace {

using clock_type = std::chrono::steady_clock;
using boost::urls::grammar::ci_is_equal;

bool is_loopback(int family, const void* addr) {
  if (family == AF_INET) return static_cast<const unsigned char*>(addr)[0] == 127;  // 127.0.0.0/8
  if (family != AF_INET6) return false;
  const auto* a = static_cast<const in6_addr*>(addr);
  return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

bool is_loopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) return is_loopback(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
  return is_loopback(sa->sa_family, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
}

// socket_io is one non-blocking TCP socket whose every wait ends at the call's
// deadline. Reads and writes look blocking to the caller (and to BoringSSL, through
// the BIO below), so nothing above this layer deals with EAGAIN or WANT_READ.
class socket_io {
 public:
  explicit socket_io(clock_type::time_point deadline) : deadline_(deadline) {}
  ~socket_io() {
    if (fd_ >= 0) ::close(fd_);
  }
  socket_io(const socket_io&) = delete;
  socket_io& operator=(const socket_io&) = delete;

  bool timed_out() const { return timed_out_; }

  // connect resolves host:port and tries each address in turn until one connects.
  errc connect(const std::string& host, const std::string& port, bool loopback_only) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return errc::resolve_failed;
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
    bool tried = false;
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
      // Checked again after resolution: "localhost" is whatever the resolver says.
      if (loopback_only && !is_loopback(a->ai_addr)) continue;
      tried = true;
      fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd_ < 0) continue;
      if (::connect(fd_, a->ai_addr, a->ai_addrlen) == 0) return errc::ok;
      int err = errno;
      socklen_t len = sizeof err;
      if (err == EINPROGRESS && wait(POLLOUT) && ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
        return errc::ok;
      ::close(fd_);
      fd_ = -1;
      if (timed_out_) return errc::timeout;
    }
    return tried ? errc::connect_failed : errc::resolve_failed;
  }

  // send_some returns the bytes sent (> 0), or -1 on error or timeout.
  long send_some(const char* data, std::size_t len) {
    for (;;) {
      // MSG_NOSIGNAL: a peer that resets must not raise SIGPIPE in the server.
      const ssize_t n = ::send(fd_, data, len, MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno != EINTR && (errno != EAGAIN || !wait(POLLOUT))) return -1;
    }
  }

  // recv_some returns the bytes read, 0 at the peer's close, -1 on error or timeout.
  long recv_some(char* out, std::size_t len) {
    for (;;) {
      const ssize_t n = ::recv(fd_, out, len, 0);
      if (n >= 0) return n;
      if (errno != EINTR && (errno != EAGAIN || !wait(POLLIN))) return -1;
    }
  }

 private:
  // wait returns true once `events` (or an error the next call reports) is ready,
  // false when the deadline passes first.
  bool wait(short events) {
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - clock_type::now()).count();
      if (left <= 0) {
        timed_out_ = true;
        return false;
      }
      pollfd p{fd_, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left, INT_MAX)));
      if (r == 1) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  }

  int fd_ = -1;
  clock_type::time_point deadline_;
  bool timed_out_ = false;
};

// A BIO over socket_io, so TLS records go through the same deadline-bound send and
// recv as plain HTTP (BoringSSL's own socket BIO would write() and raise SIGPIPE).
int bio_write(BIO* b, const char* data, int len) {
  return static_cast<int>(static_cast<socket_io*>(BIO_get_data(b))->send_some(data, static_cast<std::size_t>(len)));
}
int bio_read(BIO* b, char* out, int len) {
  return static_cast<int>(static_cast<socket_io*>(BIO_get_data(b))->recv_some(out, static_cast<std::size_t>(len)));
}
long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }  // send() does not buffer

const BIO_METHOD* socket_bio_method() {
  // Made once and kept for the life of the process.
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_NONE, "tollgate socket_io");
    if (m == nullptr || !BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl))
      std::abort();  // out of memory at the first https call: nothing sensible to do
    return m;
  }();
  return method;
}

// transport writes and reads the request and answer over TLS when `ssl` is set.
struct transport {
  socket_io& sock;
  SSL* ssl;

  bool write_all(std::string_view data) {
    while (!data.empty()) {
      const int chunk = static_cast<int>(std::min<std::size_t>(data.size(), INT_MAX));
      const long n = ssl != nullptr ? SSL_write(ssl, data.data(), chunk) : sock.send_some(data.data(), data.size());
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // read_some returns the bytes read, 0 at a clean end, -1 on error or timeout. Over
  // TLS a clean end is close_notify: a bare TCP close could be a truncation attack.
  long read_some(char* out, std::size_t len) {
    if (ssl == nullptr) return sock.recv_some(out, len);
    const int n = SSL_read(ssl, out, static_cast<int>(std::min<std::size_t>(len, INT_MAX)));
    if (n > 0) return n;
    return SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
  }
};

// handshake runs the TLS handshake and names why it failed.
errc handshake(SSL* ssl, const socket_io& sock) {
  if (SSL_connect(ssl) == 1) return errc::ok;
  if (sock.timed_out()) return errc::timeout;
  // The verify result means something only when the certificate check is what failed
  // (after a protocol failure there may be no session to hold one).
  bool certificate_failed = false;
  while (const std::uint32_t e = ERR_get_error())
    certificate_failed |= ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED;
  if (!certificate_failed) return errc::tls_failed;
  const long result = SSL_get_verify_result(ssl);
  return result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH
             ? errc::host_mismatch
             : errc::untrusted_certificate;  // the many reasons a chain fails
}

}  // namespace

std::string_view message(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::bad_url: return "not an absolute http or https URL without user info";
    case errc::not_loopback: return "plain http must point at a loopback address";
    case errc::ca_file_unreadable: return "the CA file cannot be read as PEM certificates";
    case errc::resolve_failed: return "the host name did not resolve";
    case errc::connect_failed: return "connection failed";
    case errc::tls_failed: return "TLS handshake failed";
    case errc::untrusted_certificate: return "the server certificate is not signed by a trusted CA";
    case errc::host_mismatch: return "the server certificate does not name the host";
    case errc::timeout: return "no complete answer in time";
    case errc::bad_response: return "the answer is not HTTP/1.x or is truncated";
    case errc::response_too_large: return "the answer is too large";
  }
  std::abort();
}

std::expected<client, errc> client::create(std::string_view url, options opts) {
  auto parsed = boost::urls::parse_absolute_uri(url);  // absolute-URI: no fragment
  if (!parsed) return std::unexpected(errc::bad_url);
  const boost::urls::url_view u = *parsed;
  const bool https = u.scheme_id() == boost::urls::scheme::https;
  if ((!https && u.scheme_id() != boost::urls::scheme::http) || u.has_userinfo() || u.host().empty() ||
      (u.has_port() && u.port_number() == 0))
    return std::unexpected(errc::bad_url);

  client c;
  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      c.host_is_ip_ = true;
      break;
    case boost::urls::host_type::name:
      break;
    case boost::urls::host_type::ipvfuture:
    case boost::urls::host_type::none:
      return std::unexpected(errc::bad_url);
  }
  c.host_ = u.host_address();  // decoded, IPv6 without brackets
  if (!https && opts.http == plain_http::loopback_only) {
    // The one name that is loopback by definition (RFC 6761); connect() checks what it resolves to.
    bool loopback = ci_is_equal(c.host_, "localhost");
    if (c.host_is_ip_) {
      const int family = u.host_type() == boost::urls::host_type::ipv4 ? AF_INET : AF_INET6;
      in6_addr addr{};  // large enough for either family
      loopback = ::inet_pton(family, c.host_.c_str(), &addr) == 1 && is_loopback(family, &addr);
    }
    if (!loopback) return std::unexpected(errc::not_loopback);
  }
  c.port_ = u.has_port() ? std::to_string(u.port_number()) : (https ? "443" : "80");
  c.host_header_ = std::string(u.encoded_host_and_port());
  c.target_ = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) c.target_.append("?").append(std::string(u.encoded_query()));

  if (https) {
    c.tls_.reset(SSL_CTX_new(TLS_method()), SSL_CTX_free);
    if (!c.tls_ || !SSL_CTX_set_min_proto_version(c.tls_.get(), TLS1_2_VERSION)) {
      ERR_clear_error();
      return std::unexpected(errc::tls_failed);
    }
    if (!SSL_CTX_load_verify_locations(c.tls_.get(), opts.ca_file.c_str(), nullptr)) {
      ERR_clear_error();
      return std::unexpected(errc::ca_file_unreadable);
    }
    SSL_CTX_set_verify(c.tls_.get(), SSL_VERIFY_PEER, nullptr);
  }
  c.opts_ = std::move(opts);
  return c;
}

std::expected<response, errc> client::get() const { return exchange("GET", "Accept: application/json\r\n", {}); }

std::expected<response, errc> client::post_json(std::string_view json) const {
  std::string headers = "Content-Type: application/json\r\nContent-Length: ";
  headers.append(std::to_string(json.size())).append("\r\n");
  return exchange("POST", headers, json);
}

std::expected<response, errc> client::exchange(std::string_view method, std::string_view extra_headers,
                                               std::string_view body) const {
  const auto result = [&]() -> std::expected<response, errc> {
    socket_io sock(clock_type::now() + opts_.timeout);
    if (errc e = sock.connect(host_, port_, !tls_ && opts_.http == plain_http::loopback_only); e != errc::ok)
      return std::unexpected(e);

    bssl::UniquePtr<SSL> ssl;
    if (tls_) {
      ssl.reset(SSL_new(tls_.get()));
      BIO* bio = ssl ? BIO_new(socket_bio_method()) : nullptr;
      if (bio == nullptr) return std::unexpected(errc::tls_failed);
      BIO_set_data(bio, &sock);
      BIO_set_init(bio, 1);
      SSL_set_bio(ssl.get(), bio, bio);  // one reference, owned by ssl
      // SNI only for names (RFC 6066 forbids IP literals there); the certificate must
      // name what the URL names: a DNS SAN for a name, an IP SAN for an address.
      const bool named = host_is_ip_ ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host_.c_str())
                                     : SSL_set_tlsext_host_name(ssl.get(), host_.c_str()) &&
                                           SSL_set1_host(ssl.get(), host_.c_str());
      if (!named) return std::unexpected(errc::tls_failed);
      if (errc e = handshake(ssl.get(), sock); e != errc::ok) return std::unexpected(e);
    }

    transport t{sock, ssl.get()};
    std::string request;
    request.append(method).append(" ").append(target_).append(" HTTP/1.1\r\nHost: ").append(host_header_);
    request.append("\r\nUser-Agent: tollgate\r\nConnection: close\r\n").append(extra_headers).append("\r\n");
    request.append(body);
    if (!t.write_all(request)) return std::unexpected(sock.timed_out() ? errc::timeout : errc::connect_failed);

    answer_parser parser(opts_.max_body_bytes);
    char buf[16384];
    for (;;) {
      const long n = t.read_some(buf, sizeof buf);
      if (n < 0) return std::unexpected(sock.timed_out() ? errc::timeout : errc::bad_response);
      if (n == 0) return parser.close();
      auto done = parser.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      if (!done) return std::unexpected(done.error());
      if (*done) return parser.take();
    }
  }();
  // BoringSSL's failures leave entries on this thread's error queue; an offload
  // thread lives long, so empty it whatever happened.
  ERR_clear_error();
  return result;
}

}  // namespace tollgate::http_client
