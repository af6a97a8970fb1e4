// http_client/http_client.h — the one client for tollgate's own outgoing HTTP calls:
// GET of JWKS documents (crypto/jwks_source.h, url_fetch) and POST of notices to a
// webhook (policy/notifier.h). HTTP/1.1, one connection per call (Connection: close),
// over plain TCP or over BoringSSL TLS.
//
// Threading: a client is immutable once create() returns; get() and post_json() may
// run concurrently on any number of threads (each call has its own socket and SSL;
// the shared SSL_CTX is only read). Both BLOCK — name resolution, connect, TLS
// handshake, the peer's answer — so call them on the offload pool or at startup,
// never on a shard thread.
//
// TLS (https://): TLS 1.2 or later; the server certificate must chain to a CA in
// options::ca_file and name the URL's host (DNS name, or IP address for an IP
// literal; no partial wildcards). SNI is sent for DNS names. There is no way to turn
// verification off.
//
// Bounds: options::timeout covers the whole exchange (connect, handshake, request,
// answer); a body over options::max_body_bytes is refused without reading the rest. The answer ends at its Content-Length, at the last chunk, or, with
// neither, at the peer's close (over TLS only a clean close_notify counts, so a
// truncated body is an error, not a shorter body).
//
// WARNING: name resolution (getaddrinfo) counts against options::timeout but cannot be
// cut short: a stuck resolver holds the calling offload thread for as long as it takes.
//
// Errors are values (errc) and their messages are fixed text: no URL, header or body
// ever appears in one, so callers may log them even when the body is a credential.
#pragma once

#include <chrono>
#include <cstddef>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

struct ssl_ctx_st;  // BoringSSL's SSL_CTX; only http_client.cc sees its definition

namespace tollgate::http_client {

// system_ca_file is Debian's bundle of the system's trusted CAs (ca-certificates).
inline constexpr std::string_view system_ca_file = "/etc/ssl/certs/ca-certificates.crt";

enum class errc {
  ok = 0,
  bad_url,                // not an absolute http(s) URL with a host; user info or fragment
  not_loopback,           // plain http to a host that is not loopback (plain_http::loopback_only)
  ca_file_unreadable,     // options::ca_file could not be loaded as PEM certificates
  resolve_failed,         // the host name did not resolve (to a loopback address, if required)
  connect_failed,         // connection refused, reset or closed while sending
  tls_failed,             // TLS handshake failed for a reason other than the certificate
  untrusted_certificate,  // the server certificate does not chain to a CA of ca_file
  host_mismatch,          // the server certificate does not name the URL's host
  timeout,                // no complete answer within options::timeout
  bad_response,           // the answer is not HTTP/1.x, or is truncated
  response_too_large,     // the body is larger than options::max_body_bytes
};

// message describes an errc in a few words.
std::string_view message(errc e);

// plain_http says where http:// may go. loopback_only accepts only literal loopback
// addresses and "localhost", and checks every resolved address again before connecting.
enum class plain_http { allowed, loopback_only };

struct options {
  std::chrono::milliseconds timeout{5000};
  std::size_t max_body_bytes = 1 << 20;
  std::string ca_file{system_ca_file};  // PEM; read by create() for https URLs only
  plain_http http = plain_http::allowed;
};

// response is a final (non-1xx) answer of any status; the caller judges the status.
struct response {
  int status = 0;
  std::string body;  // de-chunked
};

// client talks to one URL.
class client {
 public:
  // create parses `url` and, for https, loads options::ca_file into a TLS context that
  // every call reuses (a changed bundle is read again only by a new client). Fails with
  // bad_url, not_loopback or ca_file_unreadable. Never touches the network.
  static std::expected<client, errc> create(std::string_view url, options opts = {});

  // get sends GET with `Accept: application/json` and returns the answer. May block.
  std::expected<response, errc> get() const;

  // post_json sends POST with `Content-Type: application/json` and `json` as the body,
  // and returns the answer. May block.
  std::expected<response, errc> post_json(std::string_view json) const;

 private:
  client() = default;
  std::expected<response, errc> exchange(std::string_view method, std::string_view extra_headers,
                                         std::string_view body) const;

  std::shared_ptr<ssl_ctx_st> tls_;  // null for http://
  std::string host_;                 // for the resolver and the certificate check: no brackets
  bool host_is_ip_ = false;
  std::string port_;
  std::string host_header_;  // as written in the URL, with the port if one was given
  std::string target_;       // path and query
  options opts_;
};

}  // namespace tollgate::http_client
