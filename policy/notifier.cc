// policy/notifier.cc — outbox file and webhook delivery.
#include "policy/notifier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cerrno>
#include <cstdlib>
#include <ctime>

namespace tollgate::policy::notify {
namespace {

std::string rfc3339(std::chrono::sys_seconds t) {
  const std::time_t tt = t.time_since_epoch().count();
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::string_view message(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::open_failed: return "cannot open the notifier outbox";
    case errc::write_failed: return "cannot write to the notifier outbox";
    case errc::sync_failed: return "cannot sync the notifier outbox to disk";
    case errc::bad_url: return "webhook_url must be an absolute http(s) URL without user info or fragment";
    case errc::not_loopback: return "webhook_url must be https unless it points at a loopback address";
    case errc::ca_file_unreadable: return "webhook_ca_file cannot be read as PEM certificates";
    case errc::resolve_failed: return "webhook host name did not resolve";
    case errc::connect_failed: return "webhook connection failed";
    case errc::tls_failed: return "webhook TLS handshake failed";
    case errc::untrusted_certificate: return "webhook certificate is not signed by a CA of webhook_ca_file";
    case errc::host_mismatch: return "webhook certificate does not name the webhook host";
    case errc::timeout: return "webhook timed out";
    case errc::bad_response: return "webhook answered something that is not HTTP, or too much of it";
    case errc::http_status: return "webhook answered a non-2xx status";
  }
  std::abort();
}

std::string to_json_line(const notice& n) {
  boost::json::object o;
  o["kind"] = n.kind;
  o["to"] = n.to;
  o["user_id"] = n.user_id;
  o["token"] = n.token;
  o["created_at"] = rfc3339(n.created_at);
  std::string line = boost::json::serialize(o);
  line += '\n';
  return line;
}

// ---- outbox ----

std::expected<std::unique_ptr<outbox_notifier>, errc> outbox_notifier::open(
    const std::filesystem::path& path) {
  const bool existed = ::access(path.c_str(), F_OK) == 0;
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(errc::open_failed);
  if (!existed) {
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const bool synced = dfd >= 0 && ::fsync(dfd) == 0;
    if (dfd >= 0) ::close(dfd);
    if (!synced) {
      ::close(fd);
      return std::unexpected(errc::sync_failed);
    }
  }
  return std::unique_ptr<outbox_notifier>(new outbox_notifier(fd));
}

outbox_notifier::~outbox_notifier() { ::close(fd_); }

std::expected<void, errc> outbox_notifier::send(const notice& n) {
  const std::string line = to_json_line(n);
  std::lock_guard lock(mu_);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return std::unexpected(errc::write_failed);
  if (!write_all(fd_, line)) {
    // A torn line would make the rest of the file unparseable: cut it off.
    // If this fails too there is nothing better to do than report the write error.
    [[maybe_unused]] const int cut = ::ftruncate(fd_, st.st_size);
    return std::unexpected(errc::write_failed);
  }
  if (::fsync(fd_) != 0) return std::unexpected(errc::sync_failed);
  return {};
}

// ---- webhook ----

namespace {

// A receiver's answer is judged by its status alone; this is room for an error page.
constexpr std::size_t max_answer_bytes = 64 * 1024;

errc from_http(http_client::errc e) {
  using h = http_client::errc;
  switch (e) {
    case h::ok: return errc::ok;
    case h::bad_url: return errc::bad_url;
    case h::not_loopback: return errc::not_loopback;
    case h::ca_file_unreadable: return errc::ca_file_unreadable;
    case h::resolve_failed: return errc::resolve_failed;
    case h::connect_failed: return errc::connect_failed;
    case h::tls_failed: return errc::tls_failed;
    case h::untrusted_certificate: return errc::untrusted_certificate;
    case h::host_mismatch: return errc::host_mismatch;
    case h::timeout: return errc::timeout;
    case h::bad_response:
    case h::response_too_large: return errc::bad_response;
  }
  std::abort();
}

}  // namespace

std::expected<std::unique_ptr<webhook_notifier>, errc> webhook_notifier::create(const webhook_config& cfg) {
  auto c = http_client::client::create(cfg.url, {.timeout = cfg.timeout,
                                                 .max_body_bytes = max_answer_bytes,
                                                 .ca_file = cfg.ca_file,
                                                 .http = http_client::plain_http::loopback_only});
  if (!c) return std::unexpected(from_http(c.error()));
  return std::unique_ptr<webhook_notifier>(new webhook_notifier(std::move(*c)));
}

std::expected<void, errc> webhook_notifier::send(const notice& n) {
  std::string body = to_json_line(n);
  body.pop_back();  // the newline belongs to the outbox format
  auto r = client_.post_json(body);
  if (!r) return std::unexpected(from_http(r.error()));
  if (r->status < 200 || r->status > 299) return std::unexpected(errc::http_status);
  return {};
}

std::expected<std::unique_ptr<notifier>, errc> make_notifier(const std::filesystem::path& data_dir,
                                                             const std::filesystem::path& outbox,
                                                             const webhook_config& webhook) {
  if (!webhook.url.empty()) {
    auto w = webhook_notifier::create(webhook);
    if (!w) return std::unexpected(w.error());
    return std::unique_ptr<notifier>(std::move(*w));
  }
  auto o = outbox_notifier::open(outbox.is_absolute() ? outbox : data_dir / outbox);
  if (!o) return std::unexpected(o.error());
  return std::unique_ptr<notifier>(std::move(*o));
}

}  // namespace tollgate::policy::notify
