// tests/policy/notifier_test.cc — outbox lines are JSON, concurrent appends never
// interleave, the webhook POSTs the same object and its limits are enforced.
#include "policy/notifier.h"

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

namespace tollgate::policy::notify {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;
using std::chrono::seconds;
using std::chrono::sys_seconds;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "notifier_test.XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

notice sample(std::string token = "tok_secret") {
  return notice{"password_reset", "john@example.com", "usr_abc123", std::move(token),
                sys_seconds{seconds{1705330800}}};
}

TEST(NoticeJson, ExactFieldsAndRfc3339) {
  const std::string line = to_json_line(sample());
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(json::parse(line), json::parse(R"({"kind":"password_reset",
      "to":"john@example.com","user_id":"usr_abc123","token":"tok_secret",
      "created_at":"2024-01-15T15:00:00Z"})"));
}

TEST(NoticeJson, NewlinesAndQuotesStayInsideOneLine) {
  const std::string line = to_json_line(sample("a\nb\"c\r\u2028"));
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(json::parse(line).as_object().at("token").as_string(), "a\nb\"c\r\u2028");
}

TEST(Outbox, AppendsOneParsableLinePerMessage) {
  TempDir dir;
  const auto path = dir.path() / "outbox.jsonl";
  {
    auto box = outbox_notifier::open(path);
    ASSERT_TRUE(box.has_value());
    ASSERT_TRUE((*box)->send(sample("t1")));
    ASSERT_TRUE((*box)->send(sample("t2")));
  }
  {
    auto again = outbox_notifier::open(path);  // reopening appends, never truncates
    ASSERT_TRUE(again.has_value());
    ASSERT_TRUE((*again)->send(sample("t3")));
  }
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    boost::system::error_code ec;
    const json::value v = json::parse(lines[i], ec);
    ASSERT_FALSE(ec) << lines[i];
    EXPECT_EQ(v.as_object().at("token").as_string(), "t" + std::to_string(i + 1));
    EXPECT_EQ(v.as_object().size(), 5u);
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // tokens: owner only
}

TEST(Outbox, ConcurrentAppendsNeverInterleave) {
  TempDir dir;
  const auto path = dir.path() / "outbox.jsonl";
  auto box = outbox_notifier::open(path);
  ASSERT_TRUE(box.has_value());
  constexpr int threads = 4, per_thread = 25;
  // Long tokens make a torn or interleaved write likely to show if it could happen.
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string token = std::to_string(t) + ":" + std::to_string(i) + ":" +
                                  std::string(3000, static_cast<char>('a' + t));
        EXPECT_TRUE((*box)->send(sample(token)));
      }
    });
  }
  for (auto& th : pool) th.join();
  std::set<std::string> seen;
  for (const auto& line : lines_of(path)) {
    boost::system::error_code ec;
    const json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "line is not JSON: " << line.substr(0, 80);
    const std::string token(v.as_object().at("token").as_string());
    const int t = token[0] - '0';
    EXPECT_EQ(token.substr(token.size() - 3000), std::string(3000, static_cast<char>('a' + t)));
    seen.insert(token.substr(0, token.find(':', 2)));
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(threads * per_thread));
}

TEST(Outbox, MissingDirectoryIsAnError) {
  TempDir dir;
  EXPECT_EQ(outbox_notifier::open(dir.path() / "nope" / "outbox.jsonl").error(),
            errc::open_failed);
}

TEST(MakeNotifier, OutboxRelativeToDataDir) {
  TempDir dir;
  auto n = make_notifier(dir.path(), "outbox.jsonl", "");
  ASSERT_TRUE(n.has_value());
  ASSERT_TRUE((*n)->send(sample()));
  EXPECT_EQ(lines_of(dir.path() / "outbox.jsonl").size(), 1u);
}

struct url_case {
  std::string url;
  errc error;
};
class WebhookUrls : public testing::TestWithParam<url_case> {};
TEST_P(WebhookUrls, Refused) {
  EXPECT_EQ(webhook_notifier::create(GetParam().url).error(), GetParam().error);
}
INSTANTIATE_TEST_SUITE_P(
    Urls, WebhookUrls,
    testing::Values(url_case{"https://127.0.0.1/hook", errc::https_unsupported},
                    url_case{"http://example.com/hook", errc::not_loopback},
                    url_case{"http://10.0.0.1/hook", errc::not_loopback},
                    url_case{"http://[2001:db8::1]/hook", errc::not_loopback},
                    url_case{"ftp://127.0.0.1/", errc::bad_url},
                    url_case{"127.0.0.1:8080", errc::bad_url},
                    url_case{"not a url", errc::bad_url},
                    url_case{"http://user:pw@127.0.0.1/", errc::bad_url},
                    url_case{"http://127.0.0.1:0/", errc::bad_url}));

TEST(WebhookUrls, LoopbackAccepted) {
  EXPECT_TRUE(webhook_notifier::create("http://127.0.0.1:9/hook?x=1").has_value());
  EXPECT_TRUE(webhook_notifier::create("http://[::1]:9/").has_value());
  EXPECT_TRUE(webhook_notifier::create("http://localhost/").has_value());
  EXPECT_TRUE(webhook_notifier::create("http://127.1.2.3/").has_value());
}

// A one-shot HTTP server on 127.0.0.1:0 that records the request and answers `reply`
// (or stays silent when reply is empty).
class HookServer {
 public:
  explicit HookServer(std::string reply)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), reply_(std::move(reply)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~HookServer() { finish(); }
  unsigned short port() const { return port_; }
  // finish waits for the server thread and returns the request it read.
  std::string finish() {
    if (thread_.joinable()) {
      boost::system::error_code ec;
      acceptor_.close(ec);  // unblocks accept() if no client ever came
      thread_.join();
    }
    return request_;
  }

 private:
  void serve() {
    boost::system::error_code ec;
    asio::ip::tcp::socket s(io_);
    acceptor_.accept(s, ec);
    if (ec) return;
    const std::size_t head = asio::read_until(s, asio::dynamic_buffer(request_), "\r\n\r\n", ec);
    if (ec) return;
    const auto cl = request_.find("Content-Length: ");
    const std::size_t len = cl == std::string::npos ? 0 : std::stoul(request_.substr(cl + 16));
    if (request_.size() < head + len) {
      std::string rest(head + len - request_.size(), '\0');
      asio::read(s, asio::buffer(rest), ec);
      request_ += rest;
    }
    if (reply_.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(600));  // outlast the client
      return;
    }
    asio::write(s, asio::buffer(reply_), ec);
  }
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = acceptor_.local_endpoint().port();
  std::string reply_;
  std::string request_;
  std::thread thread_;
};

std::string hook_url(const HookServer& s, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + std::string(path);
}

TEST(Webhook, PostsTheNoticeAsJson) {
  HookServer server("HTTP/1.1 204 No Content\r\n\r\n");
  auto hook = webhook_notifier::create(hook_url(server, "/notify?src=tollgate"));
  ASSERT_TRUE(hook.has_value());
  auto r = (*hook)->send(sample());
  EXPECT_TRUE(r.has_value()) << message(r.error());
  const std::string req = server.finish();
  EXPECT_EQ(req.rfind("POST /notify?src=tollgate HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nContent-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos);
  const std::string body = req.substr(req.find("\r\n\r\n") + 4);
  std::string expected = to_json_line(sample());
  expected.pop_back();
  EXPECT_EQ(json::parse(body), json::parse(expected));
}

TEST(Webhook, Non2xxIsAnError) {
  HookServer server("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  auto hook = webhook_notifier::create(hook_url(server, "/"));
  ASSERT_TRUE(hook.has_value());
  EXPECT_EQ((*hook)->send(sample()).error(), errc::http_status);
}

TEST(Webhook, GarbageAnswerIsBadResponse) {
  HookServer server("SMTP ready\r\n");
  auto hook = webhook_notifier::create(hook_url(server, "/"));
  ASSERT_TRUE(hook.has_value());
  EXPECT_EQ((*hook)->send(sample()).error(), errc::bad_response);
}

TEST(Webhook, SilentServerTimesOut) {
  HookServer server("");
  auto hook = webhook_notifier::create(hook_url(server, "/"), std::chrono::milliseconds(200));
  ASSERT_TRUE(hook.has_value());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ((*hook)->send(sample()).error(), errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Webhook, ClosedPortIsConnectFailed) {
  unsigned short port;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  auto hook = webhook_notifier::create("http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_TRUE(hook.has_value());
  EXPECT_EQ((*hook)->send(sample()).error(), errc::connect_failed);
}

TEST(MakeNotifier, WebhookWinsWhenConfigured) {
  TempDir dir;
  EXPECT_EQ(make_notifier(dir.path(), "outbox.jsonl", "https://hooks.example/x").error(),
            errc::https_unsupported);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "outbox.jsonl"));
}

}  // namespace
}  // namespace tollgate::policy::notify
