// tests/http_client/http_client_test.cc — URL rules, answer framing and limits over
// real loopback HTTP, and TLS verification (trusted, untrusted, wrong host, old TLS).
#include "http_client/http_client.h"
#include "http_client/internal.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <fstream>

#include "tests/loopback_server.h"
#include "tests/temp_dir.h"

namespace tollgate::http_client {
namespace {

using std::chrono::milliseconds;
using tollgate::testing::loopback_server;
using tollgate::testing::temp_dir;
using tollgate::testing::tls_identity;

const options loopback_only{.http = plain_http::loopback_only};

struct url_case {
  std::string url;
  options opts;
  errc error;
};
class Urls : public ::testing::TestWithParam<url_case> {};
TEST_P(Urls, Refused) { EXPECT_EQ(client::create(GetParam().url, GetParam().opts).error(), GetParam().error); }
INSTANTIATE_TEST_SUITE_P(
    All, Urls,
    ::testing::Values(url_case{"ftp://127.0.0.1/", {}, errc::bad_url}, url_case{"not a url", {}, errc::bad_url},
                      url_case{"127.0.0.1:8080", {}, errc::bad_url},
                      url_case{"http://user:pw@127.0.0.1/", {}, errc::bad_url},
                      url_case{"http://127.0.0.1:0/", {}, errc::bad_url},
                      url_case{"http://127.0.0.1/x#fragment", {}, errc::bad_url},
                      url_case{"http://example.com/", loopback_only, errc::not_loopback},
                      url_case{"http://10.0.0.1/", loopback_only, errc::not_loopback},
                      url_case{"http://[2001:db8::1]/", loopback_only, errc::not_loopback},
                      url_case{"https://example.com/", {.ca_file = "/nonexistent/ca.pem"}, errc::ca_file_unreadable}));

TEST(Urls, LoopbackForms) {
  for (const char* url : {"http://127.1.2.3/", "http://[::1]:9/", "http://localhost/", "http://LocalHost:9/",
                          "http://[::ffff:127.0.0.1]/"})
    EXPECT_TRUE(client::create(url, loopback_only).has_value()) << url;
  // https is verified, so it may go anywhere; plain http anywhere only when allowed.
  EXPECT_TRUE(client::create("https://example.com/", loopback_only).has_value());
  EXPECT_TRUE(client::create("http://example.com/").has_value());
}

TEST(Urls, CaFileIsReadOnlyForHttpsAndMustHoldCertificates) {
  temp_dir dir;
  std::ofstream(dir / "junk.pem") << "not a certificate\n";
  EXPECT_TRUE(client::create("http://127.0.0.1/", {.ca_file = "/nonexistent/ca.pem"}).has_value());
  EXPECT_EQ(client::create("https://localhost/", {.ca_file = dir / "junk.pem"}).error(), errc::ca_file_unreadable);
}

std::expected<response, errc> get(const loopback_server& s, options o = {}) {
  auto c = client::create(s.url("127.0.0.1", "/x"), std::move(o));
  if (!c) return std::unexpected(c.error());
  return c->get();
}

TEST(Plain, PostSendsTheJsonBodyAndReadsTheAnswer) {
  loopback_server server("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
  auto c = client::create(server.url("127.0.0.1", "/hook?a=1"), loopback_only);
  ASSERT_TRUE(c.has_value());
  auto r = c->post_json(R"({"k":"v"})");
  ASSERT_TRUE(r.has_value()) << message(r.error());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "ok");
  const std::string req = server.last_request();
  EXPECT_EQ(req.rfind("POST /hook?a=1 HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n", 0), 0u)
      << req;
  EXPECT_NE(req.find("\r\nContent-Type: application/json\r\nContent-Length: 9\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(req.substr(req.find("\r\n\r\n") + 4), R"({"k":"v"})");
}

struct answer_case {
  std::string reply;
  std::expected<std::string, errc> body;  // expected body, or error
};
class Answers : public ::testing::TestWithParam<answer_case> {
 protected:
  void expect(const std::expected<response, errc>& r, const char* how) {
    if (GetParam().body) {
      ASSERT_TRUE(r.has_value()) << how << ": " << message(r.error());
      EXPECT_EQ(r->body, *GetParam().body) << how;
    } else {
      ASSERT_FALSE(r.has_value()) << how;
      EXPECT_EQ(r.error(), GetParam().body.error()) << how;
    }
  }
};
TEST_P(Answers, FramingOverTheNetwork) {
  loopback_server server(GetParam().reply);
  expect(get(server, {.max_body_bytes = 16}), "one connection");
}
TEST_P(Answers, SameResultFedByteByByte) {
  answer_parser parser(16);
  const auto parse = [&]() -> std::expected<response, errc> {
    for (const char& c : GetParam().reply) {
      auto done = parser.feed(std::string_view(&c, 1));
      if (!done) return std::unexpected(done.error());
      if (*done) return parser.take();
    }
    return parser.close();  // the server closes after its reply
  };
  expect(parse(), "byte by byte");
}
INSTANTIATE_TEST_SUITE_P(
    All, Answers,
    ::testing::Values(
        // Content-Length ends the body, whatever follows.
        answer_case{"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA", "ok"},
        // Interim answers are skipped; chunk extensions ignored.
        answer_case{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
                    "3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n",
                    "abc0123456789"},
        answer_case{"HTTP/1.0 200 OK\r\n\r\nuntil close", "until close"},
        answer_case{"HTTP/1.1 204 No Content\r\n\r\n", ""},
        answer_case{"SMTP ready\r\n", std::unexpected(errc::bad_response)},
        answer_case{"HTTP/1.1 OK\r\n\r\n", std::unexpected(errc::bad_response)},
        answer_case{"HTTP/1.1 600 Beyond\r\n\r\n", std::unexpected(errc::bad_response)},
        answer_case{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", std::unexpected(errc::bad_response)},
        answer_case{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
                    std::unexpected(errc::bad_response)},
        answer_case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", std::unexpected(errc::bad_response)},
        answer_case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", std::unexpected(errc::bad_response)},
        answer_case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX", std::unexpected(errc::bad_response)},
        answer_case{"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n", std::unexpected(errc::response_too_large)},
        answer_case{"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                    std::unexpected(errc::response_too_large)},
        answer_case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n123456789\r\n9\r\n",
                    std::unexpected(errc::response_too_large)},
        answer_case{"HTTP/1.0 200 OK\r\n\r\n12345678901234567", std::unexpected(errc::response_too_large)}));

TEST(Plain, ServerThatNeverAnswersTimesOut) {
  loopback_server server("");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(get(server, {.timeout = milliseconds(200)}).error(), errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
}

TEST(Plain, ClosedPortIsConnectFailed) {
  unsigned short port;
  {
    loopback_server gone("x");
    port = gone.port();
  }
  auto c = client::create("http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->get().error(), errc::connect_failed);
}

class Tls : public ::testing::Test {
 protected:
  std::expected<response, errc> get_tls(const std::string& url, const std::string& ca_file,
                                        milliseconds t = milliseconds(2000)) {
    auto c = client::create(url, {.timeout = t, .ca_file = ca_file});
    if (!c) return std::unexpected(c.error());
    return c->get();
  }
  temp_dir dir;
  tls_identity id{tls_identity::names::localhost_and_loopback_ip};
  tls_identity stranger;
  std::string ca = id.write_pem(dir / "ca.pem");
  std::string stranger_ca = stranger.write_pem(dir / "stranger.pem");
};

TEST_F(Tls, VerifiedByNameOrIpAddress) {
  loopback_server server("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{\"a\"", &id);
  for (const char* host : {"localhost", "127.0.0.1"}) {
    auto r = get_tls(server.url(host, "/"), ca);
    ASSERT_TRUE(r.has_value()) << host << ": " << message(r.error());
    EXPECT_EQ(r->body, "{\"a\"");
  }
  EXPECT_NE(server.last_request().find("\r\nHost: 127.0.0.1:"), std::string::npos);
}

TEST_F(Tls, UntrustedCertificateAndWrongHostAreNamed) {
  loopback_server server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &stranger);  // names localhost only
  EXPECT_EQ(get_tls(server.url("localhost", "/"), ca).error(), errc::untrusted_certificate);
  EXPECT_EQ(get_tls(server.url("127.0.0.1", "/"), stranger_ca).error(), errc::host_mismatch);
  EXPECT_EQ(get_tls(server.url("localhost", "/"), stranger_ca)->status, 200);
  EXPECT_EQ(server.requests(), 1);  // nothing was sent over the refused connections
}

TEST_F(Tls, OlderThanTls12IsRefused) {
  loopback_server server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &id, TLS1_1_VERSION);
  EXPECT_EQ(get_tls(server.url("localhost", "/"), ca).error(), errc::tls_failed);
}

TEST_F(Tls, HandshakeThatNeverCompletesTimesOut) {
  loopback_server server("", nullptr);  // plain: it waits for a request head that never comes
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(get_tls(server.url("localhost", "/").replace(0, 4, "https"), ca, milliseconds(200)).error(), errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
}

}  // namespace
}  // namespace tollgate::http_client
