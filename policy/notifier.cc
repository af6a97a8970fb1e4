// policy/notifier.cc — outbox file and loopback webhook delivery.
#include "policy/notifier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <optional>

namespace tollgate::policy::notify {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

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
    case errc::bad_url: return "webhook_url must be an absolute http URL without user info";
    case errc::https_unsupported: return "https webhooks are not supported yet";
    case errc::not_loopback: return "plain http webhooks must point at a loopback address";
    case errc::connect_failed: return "webhook connection failed";
    case errc::timeout: return "webhook timed out";
    case errc::bad_response: return "webhook answered something that is not HTTP";
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

std::expected<std::unique_ptr<webhook_notifier>, errc> webhook_notifier::create(
    std::string_view url, std::chrono::milliseconds timeout) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return std::unexpected(errc::bad_url);
  const boost::urls::url_view u = *parsed;
  if (u.scheme_id() == boost::urls::scheme::https) return std::unexpected(errc::https_unsupported);
  if (u.scheme_id() != boost::urls::scheme::http || u.has_userinfo() || u.host().empty()) {
    return std::unexpected(errc::bad_url);
  }
  std::unique_ptr<webhook_notifier> w(new webhook_notifier());
  boost::system::error_code ec;
  asio::ip::address addr;
  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      addr = asio::ip::make_address(u.host_address(), ec);
      if (ec) return std::unexpected(errc::bad_url);
      break;
    case boost::urls::host_type::name:
      // The one name that needs no resolver and is loopback by definition.
      if (u.host() != "localhost") return std::unexpected(errc::not_loopback);
      addr = asio::ip::make_address_v4("127.0.0.1");
      break;
    case boost::urls::host_type::ipvfuture:
    case boost::urls::host_type::none:
      return std::unexpected(errc::bad_url);
  }
  if (!addr.is_loopback()) return std::unexpected(errc::not_loopback);
  if (u.has_port()) {
    if (u.port_number() == 0) return std::unexpected(errc::bad_url);
    w->port_ = u.port_number();
  }
  w->address_ = addr.to_string();
  w->host_header_ = std::string(u.encoded_host_and_port());
  w->target_ = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) {
    w->target_ += '?';
    w->target_ += std::string(u.encoded_query());
  }
  w->timeout_ = timeout;
  return w;
}

std::expected<void, errc> webhook_notifier::send(const notice& n) {
  std::string body = to_json_line(n);
  body.pop_back();  // the newline belongs to the outbox format
  std::string request = "POST " + target_ + " HTTP/1.1\r\nHost: " + host_header_ +
                        "\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;

  asio::io_context io;
  tcp::socket sock(io);
  boost::system::error_code addr_ec;
  const tcp::endpoint ep(asio::ip::make_address(address_, addr_ec), port_);  // checked in create
  std::string response;
  std::optional<errc> result;
  bool timed_out = false;
  sock.async_connect(ep, [&](boost::system::error_code ec) {
    if (timed_out) return;
    if (ec) {
      result = errc::connect_failed;
      return;
    }
    asio::async_write(sock, asio::buffer(request), [&](boost::system::error_code wec, std::size_t) {
      if (timed_out) return;
      if (wec) {
        result = errc::connect_failed;
        return;
      }
      asio::async_read_until(
          sock, asio::dynamic_buffer(response, 8192), "\r\n",
          [&](boost::system::error_code rec, std::size_t line_end) {
            if (timed_out) return;
            // "HTTP/1.x NNN ..." — only the status code matters.
            const auto digit = [&](std::size_t i) { return response[i] >= '0' && response[i] <= '9'; };
            if (rec || line_end < 14 || response.compare(0, 7, "HTTP/1.") != 0 ||
                response[8] != ' ' || !digit(9) || !digit(10) || !digit(11)) {
              result = errc::bad_response;
              return;
            }
            result = response[9] == '2' ? errc::ok : errc::http_status;
          });
    });
  });
  io.run_for(timeout_);
  if (!result) {
    timed_out = true;
    boost::system::error_code ignored;
    sock.close(ignored);
    io.restart();
    io.run();  // let the aborted handlers run before their captures go away
    return std::unexpected(errc::timeout);
  }
  if (*result != errc::ok) return std::unexpected(*result);
  return {};
}

std::expected<std::unique_ptr<notifier>, errc> make_notifier(const std::filesystem::path& data_dir,
                                                             const std::filesystem::path& outbox,
                                                             std::string_view webhook_url) {
  if (!webhook_url.empty()) {
    auto w = webhook_notifier::create(webhook_url);
    if (!w) return std::unexpected(w.error());
    return std::unique_ptr<notifier>(std::move(*w));
  }
  auto o = outbox_notifier::open(outbox.is_absolute() ? outbox : data_dir / outbox);
  if (!o) return std::unexpected(o.error());
  return std::unique_ptr<notifier>(std::move(*o));
}

}  // namespace tollgate::policy::notify
