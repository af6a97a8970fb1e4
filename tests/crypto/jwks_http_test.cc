// JWKS over real loopback HTTP and HTTPS: a server thread on 127.0.0.1:0 serves the document,
// the test rotates it and checks the verifier follows (tests crypto/jwks_http.cc).
#include <gtest/gtest.h>

#include <cstdio>

#include "crypto/jwk.h"
#include "crypto/jwks_source.h"
#include "tests/crypto/test_util.h"
#include "tests/loopback_server.h"
#include "tests/temp_dir.h"

namespace tollgate::crypto {
namespace {

using test::keys;
using test::kNow;

using tollgate::testing::loopback_server;

// jwks_reply is an answer with |status| and |body|, sent in two chunks when |chunked|.
std::string jwks_reply(int status, const std::string& body, bool chunked = false) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n";
  if (!chunked) return head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  std::size_t half = body.size() / 2;
  auto hex = [](std::size_t n) {
    char h[32];
    std::snprintf(h, sizeof h, "%zx", n);
    return std::string(h);
  };
  return head + "Transfer-Encoding: chunked\r\n\r\n" + hex(half) + "\r\n" + body.substr(0, half) + "\r\n" +
         hex(body.size() - half) + "\r\n" + body.substr(half) + "\r\n0\r\n\r\n";
}

std::string jwks_url(const loopback_server& s) { return s.url("127.0.0.1", "/.well-known/jwks.json"); }

TEST(JwksHttp, ServesRotatesAndKeepsLastGood) {
  loopback_server server(jwks_reply(200, "{\"keys\":[" + keys().ec_jwk("k1") + "]}"));
  trust_store store;
  issuer_config cfg;
  cfg.name = "corp";
  cfg.issuer = "https://idp.example.com";
  cfg.algorithms = alg_bit(alg::es256) | alg_bit(alg::eddsa);
  store.set_issuer(cfg, {});
  jwks_source src(store, {.issuer_name = "corp", .algorithms = cfg.algorithms, .min_refetch_seconds = 30},
                  url_fetch(jwks_url(server), 1000));
  verifier v(store);
  verify_scratch scratch;
  auto token = [](alg a, const char* kid) {
    return keys().token(a, std::string("{\"alg\":\"") + std::string(name_of(a)) + "\",\"kid\":\"" + kid + "\"}",
                        R"({"iss":"https://idp.example.com","sub":"u","exp":)" + std::to_string(kNow + 9999) + "}");
  };
  auto check = [&](const std::string& t) {
    auto r = v.verify(t, kNow, scratch);
    return r ? errc::ok : r.error();
  };

  src.poll(kNow);
  ASSERT_EQ(src.status().last_error, errc::ok);
  EXPECT_EQ(check(token(alg::es256, "k1")), errc::ok);

  // Rotation, served chunked: unknown kid → one refetch once the rate limit allows.
  server.set_reply(jwks_reply(200, "{\"keys\":[" + keys().ed_jwk("k2") + "," + keys().ec_jwk("k1") + "]}", true));
  EXPECT_EQ(check(token(alg::eddsa, "k2")), errc::unknown_kid);
  int before = server.requests();
  src.poll(kNow + 5);  // inside min_refetch_seconds: no request
  EXPECT_EQ(server.requests(), before);
  src.poll(kNow + 31);
  EXPECT_EQ(server.requests(), before + 1);
  EXPECT_EQ(check(token(alg::eddsa, "k2")), errc::ok);

  // Server errors and timeouts keep the last good keys.
  server.set_reply(jwks_reply(500, "oops"));
  src.poll(kNow + 10000);
  EXPECT_EQ(src.status().last_error, errc::io_error);
  EXPECT_EQ(check(token(alg::eddsa, "k2")), errc::ok);
  server.set_reply("");  // silent
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(url_fetch(jwks_url(server), 300)().error(), errc::io_error);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1200));
}

TEST(JwksHttp, BadUrlsAndOversizeBodies) {
  EXPECT_EQ(url_fetch("ftp://127.0.0.1/x")().error(), errc::io_error);
  EXPECT_EQ(url_fetch("not a url")().error(), errc::io_error);
  loopback_server server(jwks_reply(200, std::string(5000, ' ')));
  EXPECT_EQ(url_fetch(jwks_url(server), 1000, 1000)().error(), errc::token_too_large);
  server.set_reply(jwks_reply(404, "{}"));
  EXPECT_EQ(url_fetch(jwks_url(server), 1000)().error(), errc::io_error);
}

// --- https: a self-signed certificate for "localhost", trusted through the CA file ---

using tollgate::testing::tls_identity;

TEST(JwksHttps, VerifiesTheServerCertificateAndHost) {
  tls_identity id, other;
  tollgate::testing::temp_dir dir;
  std::string ca = id.write_pem(dir / "ca.pem");
  std::string wrong_ca = other.write_pem(dir / "other.pem");
  std::string doc = "{\"keys\":[" + keys().ec_jwk("k1") + "]}";
  loopback_server server(jwks_reply(200, doc), &id);

  auto got = url_fetch(server.url("localhost", "/jwks"), 2000, 1 << 20, ca)();
  ASSERT_TRUE(got.has_value()) << message_of(got.error());
  EXPECT_EQ(*got, doc);
  EXPECT_TRUE(parse_jwks(*got).has_value());
  // Untrusted issuer, or a host name the certificate does not name: refused.
  EXPECT_EQ(url_fetch(server.url("localhost", "/jwks"), 2000, 1 << 20, wrong_ca)().error(), errc::io_error);
  EXPECT_EQ(url_fetch(server.url("127.0.0.1", "/jwks"), 2000, 1 << 20, ca)().error(), errc::io_error);
}

}  // namespace
}  // namespace tollgate::crypto
