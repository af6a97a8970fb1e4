// tests/policy/notifier_test.cc — outbox lines are JSON, concurrent appends never
// interleave, the webhook POSTs the same object (plain http to loopback, https to a
// receiver whose certificate a test CA file trusts) and its limits are enforced.
#include "policy/notifier.h"

#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "tests/loopback_server.h"
#include "tests/temp_dir.h"

namespace tollgate::policy::notify {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;
using tollgate::testing::loopback_server;
using tollgate::testing::temp_dir;
using tollgate::testing::tls_identity;

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
  temp_dir dir;
  const std::filesystem::path path = dir / "outbox.jsonl";
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
  const std::string_view tokens[] = {"t1", "t2", "t3"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    boost::system::error_code ec;
    const json::value v = json::parse(lines[i], ec);
    ASSERT_FALSE(ec) << lines[i];
    EXPECT_EQ(v.as_object().at("token").as_string(), tokens[i]);
    EXPECT_EQ(v.as_object().size(), 5u);
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // tokens: owner only
}

TEST(Outbox, ConcurrentAppendsNeverInterleave) {
  temp_dir dir;
  const std::filesystem::path path = dir / "outbox.jsonl";
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
  temp_dir dir;
  EXPECT_EQ(outbox_notifier::open(dir / "nope/outbox.jsonl").error(),
            errc::open_failed);
}

TEST(MakeNotifier, OutboxRelativeToDataDir) {
  temp_dir dir;
  auto n = make_notifier(dir.path(), "outbox.jsonl", {});
  ASSERT_TRUE(n.has_value());
  ASSERT_TRUE((*n)->send(sample()));
  EXPECT_EQ(lines_of(dir / "outbox.jsonl").size(), 1u);
}

struct url_case {
  std::string url;
  errc error;
};
class WebhookUrls : public ::testing::TestWithParam<url_case> {};
TEST_P(WebhookUrls, Refused) {
  EXPECT_EQ(webhook_notifier::create({.url = GetParam().url}).error(), GetParam().error);
}
INSTANTIATE_TEST_SUITE_P(
    Urls, WebhookUrls,
    ::testing::Values(url_case{"http://example.com/hook", errc::not_loopback},
                      url_case{"http://10.0.0.1/hook", errc::not_loopback},
                      url_case{"http://[2001:db8::1]/hook", errc::not_loopback},
                      url_case{"ftp://127.0.0.1/", errc::bad_url},
                      url_case{"127.0.0.1:8080", errc::bad_url},
                      url_case{"not a url", errc::bad_url},
                      url_case{"http://user:pw@127.0.0.1/", errc::bad_url},
                      url_case{"https://user:pw@hooks.example/", errc::bad_url},
                      url_case{"http://127.0.0.1:0/", errc::bad_url}));

TEST(WebhookUrls, LoopbackHttpAndAnyHttpsAccepted) {
  for (const char* url : {"http://127.0.0.1:9/hook?x=1", "http://[::1]:9/", "http://localhost/", "http://127.1.2.3/",
                          "https://hooks.example.com/notify", "https://10.0.0.1:8443/"})
    EXPECT_TRUE(webhook_notifier::create({.url = url}).has_value()) << url;
}

TEST(WebhookUrls, UnreadableCaFileIsRefusedForHttpsOnly) {
  const webhook_config https{.url = "https://hooks.example.com/", .ca_file = "/nonexistent/ca.pem"};
  EXPECT_EQ(webhook_notifier::create(https).error(), errc::ca_file_unreadable);
  EXPECT_NE(message(errc::ca_file_unreadable).find("webhook_ca_file"), std::string_view::npos);
  EXPECT_TRUE(webhook_notifier::create({.url = "http://127.0.0.1/", .ca_file = "/nonexistent/ca.pem"}).has_value());
}

// body_of is the body of a request the receiver read.
std::string body_of(const std::string& request) { return request.substr(request.find("\r\n\r\n") + 4); }

// notice_body is what the webhook must POST: the outbox line without its newline.
std::string notice_body(const notice& n) {
  std::string line = to_json_line(n);
  line.pop_back();
  return line;
}

TEST(Webhook, PostsTheNoticeAsJson) {
  loopback_server server("HTTP/1.1 204 No Content\r\n\r\n");
  auto hook = webhook_notifier::create({.url = server.url("127.0.0.1", "/notify?src=tollgate")});
  ASSERT_TRUE(hook.has_value());
  auto r = (*hook)->send(sample());
  EXPECT_TRUE(r.has_value()) << message(r.error());
  const std::string req = server.last_request();
  EXPECT_EQ(req.rfind("POST /notify?src=tollgate HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nContent-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"), std::string::npos);
  EXPECT_EQ(json::parse(body_of(req)), json::parse(notice_body(sample())));
}

TEST(Webhook, Non2xxIsAnError) {
  loopback_server server("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  auto hook = webhook_notifier::create({.url = server.url("127.0.0.1", "/")});
  ASSERT_TRUE(hook.has_value());
  EXPECT_EQ((*hook)->send(sample()).error(), errc::http_status);
}

TEST(Webhook, GarbageAnswerIsBadResponse) {
  loopback_server server("SMTP ready\r\n");
  auto hook = webhook_notifier::create({.url = server.url("127.0.0.1", "/")});
  ASSERT_TRUE(hook.has_value());
  EXPECT_EQ((*hook)->send(sample()).error(), errc::bad_response);
}

TEST(Webhook, SilentServerTimesOut) {
  loopback_server server("");
  auto hook = webhook_notifier::create({.url = server.url("127.0.0.1", "/"), .timeout = milliseconds(200)});
  ASSERT_TRUE(hook.has_value());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ((*hook)->send(sample()).error(), errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2));
}

TEST(Webhook, ClosedPortIsConnectFailed) {
  unsigned short port;
  {
    loopback_server gone("x");
    port = gone.port();
  }  // closed: nothing listens there now
  auto hook = webhook_notifier::create({.url = "http://127.0.0.1:" + std::to_string(port) + "/"});
  ASSERT_TRUE(hook.has_value());
  EXPECT_EQ((*hook)->send(sample()).error(), errc::connect_failed);
}

// A receiver behind https whose self-signed certificate (for "localhost") is the one
// CA of a test CA file.
class HttpsWebhook : public ::testing::Test {
 protected:
  std::expected<void, errc> send_to(const loopback_server& s, const char* host, const std::string& ca_file,
                                    milliseconds timeout = milliseconds(2000)) {
    auto hook = webhook_notifier::create({.url = s.url(host, "/notify"), .ca_file = ca_file, .timeout = timeout});
    if (!hook) return std::unexpected(hook.error());
    return (*hook)->send(sample(token));
  }
  const std::string token = "rst_live_credential_do_not_log";
  temp_dir dir;
  tls_identity receiver;
  tls_identity stranger;
  std::string ca = receiver.write_pem(dir / "ca.pem");
  std::string stranger_ca = stranger.write_pem(dir / "stranger.pem");
};

TEST_F(HttpsWebhook, DeliversTheJsonLineIntact) {
  loopback_server server("HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}", &receiver);
  auto r = send_to(server, "localhost", ca);
  ASSERT_TRUE(r.has_value()) << message(r.error());
  const std::string req = server.last_request();
  EXPECT_EQ(req.rfind("POST /notify HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nHost: localhost:" + std::to_string(server.port()) + "\r\n"), std::string::npos);
  EXPECT_EQ(body_of(req), notice_body(sample(token)));  // byte for byte
}

TEST_F(HttpsWebhook, UntrustedOrMisnamedReceiverNeverSeesTheToken) {
  loopback_server server("HTTP/1.1 204 No Content\r\n\r\n", &receiver);
  const auto untrusted = send_to(server, "localhost", stranger_ca);
  const auto misnamed = send_to(server, "127.0.0.1", ca);  // the certificate names localhost only
  EXPECT_EQ(untrusted.error(), errc::untrusted_certificate);
  EXPECT_EQ(misnamed.error(), errc::host_mismatch);
  EXPECT_EQ(server.requests(), 0);  // refused during the handshake: nothing was sent
  for (errc e : {untrusted.error(), misnamed.error()})
    EXPECT_EQ(message(e).find(token), std::string_view::npos) << message(e);
}

TEST_F(HttpsWebhook, Non2xxIsHttpStatus) {
  loopback_server server("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", &receiver);
  EXPECT_EQ(send_to(server, "localhost", ca).error(), errc::http_status);
}

TEST_F(HttpsWebhook, ReceiverThatNeverAnswersTimesOutWithinTheBound) {
  loopback_server server("", &receiver);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(send_to(server, "localhost", ca, milliseconds(300)).error(), errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(300) + seconds(1));
  EXPECT_EQ(server.requests(), 1);  // it was delivered to a receiver that then said nothing
}

TEST(MakeNotifier, WebhookWinsWhenConfigured) {
  temp_dir dir;
  EXPECT_TRUE(make_notifier(dir.path(), "outbox.jsonl", {.url = "https://hooks.example/x"}).has_value());
  EXPECT_EQ(make_notifier(dir.path(), "outbox.jsonl", {.url = "http://hooks.example/x"}).error(), errc::not_loopback);
  EXPECT_EQ(make_notifier(dir.path(), "outbox.jsonl", {.url = "https://hooks.example/x", .ca_file = dir / "none.pem"})
                .error(),
            errc::ca_file_unreadable);
  EXPECT_FALSE(std::filesystem::exists(dir / "outbox.jsonl"));
}

}  // namespace
}  // namespace tollgate::policy::notify
