// policy/notifier.h — delivery of reset and activation tokens and security notices:
// one JSON line per message appended to an outbox file in the data dir (default),
// or a JSON POST to a webhook URL from the config ([notifier] webhook_url).
//
// Threading: a notifier may be shared by every thread of the offload pool; send()
// is safe to call concurrently and MAY BLOCK (fsync, network): never call it on a
// shard thread. Lines of concurrent sends never interleave.
//
// A message carries a live credential (`token`). Nothing here logs, and no error
// value or message contains a message's fields.
//
// The webhook goes through http_client (http_client/http_client.h). https:// URLs
// need a certificate that chains to a CA of [notifier] webhook_ca_file (default: the
// system bundle) and names the URL's host, over TLS 1.2 or later. Plain http:// would
// carry the token in the clear, so it is accepted only for loopback addresses
// (127.0.0.0/8, ::1, "localhost"), where a local relay can forward it. There is no
// retry queue: a failed send is the caller's error (reset-request still answers 202,
// so the failure is logged without the token).
#pragma once

#include <chrono>
#include <expected>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "http_client/http_client.h"

namespace tollgate::policy::notify {

enum class errc {
  ok = 0,
  open_failed,            // outbox: cannot open or create the file
  write_failed,           // outbox: write failed (the partial line is truncated away)
  sync_failed,            // outbox: fsync failed: the message may not be durable
  bad_url,                // webhook: not an absolute http(s) URL with a host; user info or fragment
  not_loopback,           // webhook: plain http to a non-loopback host would leak tokens
  ca_file_unreadable,     // webhook: webhook_ca_file cannot be read as PEM certificates
  resolve_failed,         // webhook: the host name did not resolve (to loopback, for http)
  connect_failed,         // webhook: connection refused or reset
  tls_failed,             // webhook: TLS handshake failed (protocol, not the certificate)
  untrusted_certificate,  // webhook: the certificate does not chain to webhook_ca_file
  host_mismatch,          // webhook: the certificate does not name the URL's host
  timeout,                // webhook: no complete answer within the timeout
  bad_response,           // webhook: the answer is not HTTP, truncated or too large
  http_status,            // webhook: answered, but not 2xx
};

// message describes an errc in a few words.
std::string_view message(errc e);

// notice is one notification: kind ("password_reset", "activation", ...), the
// address it is for, the user it concerns, the token (may be empty for a notice)
// and when it was made. Serialised as {"kind","to","user_id","token","created_at"}
// with created_at in RFC 3339 UTC.
struct notice {
  std::string kind;
  std::string to;
  std::string user_id;
  std::string token;
  std::chrono::sys_seconds created_at{};
};

// to_json_line renders `n` as one JSON object followed by '\n'; JSON escaping
// guarantees no raw newline inside.
std::string to_json_line(const notice& n);

// notifier is where messages go.
class notifier {
 public:
  virtual ~notifier() = default;
  // send delivers `n`. For the outbox, success means the line is on disk (fsync
  // done); for the webhook, that the receiver answered 2xx. May block.
  virtual std::expected<void, errc> send(const notice& n) = 0;
};

// outbox_notifier appends to one file opened O_APPEND, mode 0600.
class outbox_notifier final : public notifier {
 public:
  // open opens or creates `path` (its directory must exist) and, when it creates
  // the file, fsyncs the directory so the file itself survives a crash.
  static std::expected<std::unique_ptr<outbox_notifier>, errc> open(
      const std::filesystem::path& path);
  ~outbox_notifier() override;
  outbox_notifier(const outbox_notifier&) = delete;
  outbox_notifier& operator=(const outbox_notifier&) = delete;

  std::expected<void, errc> send(const notice& n) override;

 private:
  explicit outbox_notifier(int fd) : fd_(fd) {}
  int fd_;
  // Serialises appends so that a failed write can be cut off before anyone else
  // appends after it. Slow path only; the hot path never sends.
  std::mutex mu_;
};

// webhook_config is the webhook part of [notifier].
struct webhook_config {
  std::string url;  // empty: no webhook
  std::string ca_file{http_client::system_ca_file};  // PEM CAs trusted for https
  std::chrono::milliseconds timeout = std::chrono::seconds{5};  // one whole delivery
};

// webhook_notifier POSTs each message as application/json, one connection each.
class webhook_notifier final : public notifier {
 public:
  // create checks cfg.url (see the limits above) and, for https, loads cfg.ca_file
  // (errc::ca_file_unreadable). Never touches the network.
  static std::expected<std::unique_ptr<webhook_notifier>, errc> create(const webhook_config& cfg);

  std::expected<void, errc> send(const notice& n) override;

 private:
  explicit webhook_notifier(http_client::client c) : client_(std::move(c)) {}
  http_client::client client_;
};

// make_notifier builds what the [notifier] config asks for: the webhook when
// `webhook.url` is non-empty, else the outbox at data_dir / outbox (outbox may be
// absolute).
std::expected<std::unique_ptr<notifier>, errc> make_notifier(const std::filesystem::path& data_dir,
                                                             const std::filesystem::path& outbox,
                                                             const webhook_config& webhook);

}  // namespace tollgate::policy::notify
