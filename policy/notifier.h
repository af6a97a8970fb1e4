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
// Limits, plainly: the webhook speaks plain HTTP/1.1 only, so it is accepted only
// for loopback addresses (127.0.0.0/8, ::1, "localhost"), where a local relay can
// forward it; https:// URLs are refused with errc::https_unsupported until a TLS
// client is added. There is no retry queue: a failed send is the caller's error
// (reset-request still answers 202, so the failure is logged without the token).
#pragma once

#include <chrono>
#include <expected>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace tollgate::policy::notify {

enum class errc {
  ok = 0,
  open_failed,        // outbox: cannot open or create the file
  write_failed,       // outbox: write failed (the partial line is truncated away)
  sync_failed,        // outbox: fsync failed: the message may not be durable
  bad_url,            // webhook: not an absolute http URL with a host, or has userinfo
  https_unsupported,  // webhook: https is not implemented yet
  not_loopback,       // webhook: plain http to a non-loopback host would leak tokens
  connect_failed,     // webhook: connection refused or reset
  timeout,            // webhook: no complete answer within the timeout
  bad_response,       // webhook: the answer is not an HTTP status line
  http_status,        // webhook: answered, but not 2xx
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

// webhook_notifier POSTs each message as application/json, one connection each.
class webhook_notifier final : public notifier {
 public:
  // create checks `url` (see the limits above) and keeps its parts.
  static std::expected<std::unique_ptr<webhook_notifier>, errc> create(
      std::string_view url, std::chrono::milliseconds timeout = std::chrono::seconds{5});

  std::expected<void, errc> send(const notice& n) override;

 private:
  webhook_notifier() = default;
  std::string address_;  // numeric IP
  unsigned short port_ = 80;
  std::string host_header_;
  std::string target_;
  std::chrono::milliseconds timeout_{};
};

// make_notifier builds what the [notifier] config asks for: the webhook when
// `webhook_url` is non-empty, else the outbox at data_dir / outbox (outbox may be
// absolute).
std::expected<std::unique_ptr<notifier>, errc> make_notifier(const std::filesystem::path& data_dir,
                                                             const std::filesystem::path& outbox,
                                                             std::string_view webhook_url);

}  // namespace tollgate::policy::notify
