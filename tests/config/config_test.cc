// tests/config/config_test.cc — config/config.cc.
#include "config/config.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

namespace tollgate::config {
namespace {

using namespace std::chrono_literals;

std::vector<override_value> env_of(std::vector<std::string> vars) {
  std::vector<const char*> p;
  for (const std::string& v : vars) p.push_back(v.c_str());
  p.push_back(nullptr);
  auto r = env_overrides(p.data());
  EXPECT_TRUE(r.has_value()) << r.error();
  return r.value_or(std::vector<override_value>{});
}

override_value flag(std::string_view name, std::string value) {
  const key_info* k = find_flag(name);
  EXPECT_NE(k, nullptr) << name;
  return {k, std::move(value), std::string(name)};
}

std::expected<settings, std::string> from_text(std::string_view toml, std::vector<override_value> env = {},
                                               std::vector<override_value> flags = {}) {
  return load_text(toml, "test.toml", env, flags);
}

TEST(Config, Defaults) {
  auto s = load("", {}, {});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->server.listen, "127.0.0.1:8080");
  EXPECT_EQ(s->server.host, "127.0.0.1");
  EXPECT_EQ(s->server.port, 8080);
  EXPECT_EQ(s->server.shards, 0u);
  EXPECT_EQ(s->server.io, io_mode::uring);
  EXPECT_TRUE(s->server.offload_idle);
  EXPECT_TRUE(s->server.trusted_proxies.empty());
  EXPECT_EQ(s->server.max_header_bytes, 8192u);
  EXPECT_EQ(s->server.max_body_bytes, 1048576u);
  EXPECT_EQ(s->server.header_timeout, 10s);
  EXPECT_EQ(s->server.idle_timeout, 60s);
  EXPECT_EQ(s->server.max_connections, 10000u);
  EXPECT_EQ(s->store.data_dir, "./data");
  EXPECT_EQ(s->tokens.issuer, "http://127.0.0.1:8080");
  EXPECT_EQ(s->tokens.audience, "tollgate");
  EXPECT_EQ(s->tokens.algorithm, "HS256");
  EXPECT_EQ(s->tokens.access_ttl, 3600s);
  EXPECT_EQ(s->tokens.leeway, 30s);
  EXPECT_EQ(s->rate_limits.verify_per_subject, (rate{1000, 1s, 1000}));
  EXPECT_EQ(s->rate_limits.login_per_ip, (rate{5, 60s, 5}));
  EXPECT_EQ(s->rate_limits.password_reset_per_email, (rate{3, 3600s, 3}));
  EXPECT_EQ(s->rate_limits.api_key_generation_per_user, (rate{10, 86400s, 10}));
  EXPECT_EQ(s->auth.registration, registration_mode::closed);
  EXPECT_EQ(s->auth.refresh_reuse_grace, 5s);
  EXPECT_EQ(s->auth.max_token_bytes, 4096u);
  EXPECT_EQ(s->outbox_path(), "./data/outbox.jsonl");
  EXPECT_TRUE(s->notifier.webhook_url.empty());
  EXPECT_EQ(s->notifier.webhook_ca_file, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_TRUE(s->issuers.empty());
  EXPECT_TRUE(s->forward_rules.empty());
}

// The whole example of DESIGN.md loads, and every value lands where it should.
TEST(Config, DesignExample) {
  auto s = from_text(R"(
[server]
listen = "127.0.0.1:8080"
shards = 2
io = "epoll"
trusted_proxies = ["127.0.0.1/32", "::1/128"]
max_header_bytes = 8192
max_body_bytes = 1048576
header_timeout_ms = 5000
idle_timeout_ms = 30000
max_connections = 100

[store]
data_dir = "/var/lib/tollgate"

[tokens]
issuer = "https://auth.example.com"
audience = "tollgate"
algorithm = "EdDSA"
access_ttl_seconds = 900
leeway_seconds = 10
refresh_ttl_seconds = 86400

[[issuers]]
name = "corp-idp"
issuer = "https://idp.example.com"
audiences = ["api"]
jwks_file = "/etc/tollgate/corp-idp.jwks.json"
algorithms = ["RS256", "ES256", "EdDSA", "HS256"]

[[issuers]]
name = "other"
issuer = "https://other.example.com"
jwks_url = "https://other.example.com/jwks.json"
algorithms = ["PS256"]
refresh_seconds = 60

[[forward.rules]]
method = "GET"
path = "/bots/*"
permission = "bots.use"

[[forward.rules]]
method = "*"
path = "/admin/**"
permission = "machines:read:assigned"

[rate_limits]
verify_per_subject = "1000/second, burst=2000"
login_per_ip = "5/minute"
password_reset_per_email = "3/hour"
api_key_generation_per_user = "0"

[auth]
registration = "open"
refresh_reuse_grace_seconds = 5
max_token_bytes = 4096

[notifier]
outbox = "/var/log/outbox.jsonl"
webhook_url = "https://hooks.example.com/x"
webhook_ca_file = "/etc/tollgate/hooks-ca.pem"
)");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->server.shards, 2u);
  EXPECT_EQ(s->server.io, io_mode::epoll);
  EXPECT_EQ(s->server.trusted_proxies, (std::vector<std::string>{"127.0.0.1/32", "::1/128"}));
  EXPECT_EQ(s->server.header_timeout, 5s);
  EXPECT_EQ(s->server.max_connections, 100u);
  EXPECT_EQ(s->store.data_dir, "/var/lib/tollgate");
  EXPECT_EQ(s->tokens.issuer, "https://auth.example.com");
  EXPECT_EQ(s->tokens.algorithm, "EdDSA");
  EXPECT_EQ(s->tokens.refresh_ttl, 86400s);
  ASSERT_EQ(s->issuers.size(), 2u);
  EXPECT_EQ(s->issuers[0].name, "corp-idp");
  EXPECT_EQ(s->issuers[0].audiences, std::vector<std::string>{"api"});
  EXPECT_EQ(s->issuers[0].jwks_file, "/etc/tollgate/corp-idp.jwks.json");
  EXPECT_EQ(s->issuers[0].refresh, 300s);
  EXPECT_EQ(s->issuers[0].algorithms, (std::vector<std::string>{"RS256", "ES256", "EdDSA", "HS256"}));
  EXPECT_EQ(s->issuers[1].jwks_url, "https://other.example.com/jwks.json");
  EXPECT_EQ(s->issuers[1].refresh, 60s);
  ASSERT_EQ(s->forward_rules.size(), 2u);
  EXPECT_EQ(s->forward_rules[1].method, "*");
  EXPECT_EQ(s->forward_rules[1].permission, "machines:read:assigned");
  EXPECT_EQ(s->rate_limits.verify_per_subject, (rate{1000, 1s, 2000}));
  EXPECT_FALSE(s->rate_limits.api_key_generation_per_user.enabled());
  EXPECT_EQ(s->auth.registration, registration_mode::open);
  EXPECT_EQ(s->outbox_path(), "/var/log/outbox.jsonl");
  EXPECT_EQ(s->notifier.webhook_url, "https://hooks.example.com/x");
  EXPECT_EQ(s->notifier.webhook_ca_file, "/etc/tollgate/hooks-ca.pem");
}

TEST(Config, PrecedenceFlagOverEnvOverFileOverDefault) {
  const std::string file = "[server]\nlisten = \"10.0.0.1:1\"\nshards = 3\nmax_body_bytes = 77\n";
  auto env = env_of({"TOLLGATE_SERVER_LISTEN=10.0.0.2:2", "TOLLGATE_SERVER_SHARDS=4", "PATH=/bin"});
  auto s = from_text(file, env, {flag("--listen", "[::1]:3")});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->server.listen, "[::1]:3");  // flag
  EXPECT_EQ(s->server.host, "::1");
  EXPECT_EQ(s->server.port, 3);
  EXPECT_EQ(s->server.shards, 4u);             // variable over file
  EXPECT_EQ(s->server.max_body_bytes, 77u);    // file over default
  EXPECT_EQ(s->server.max_header_bytes, 8192u);  // default
  EXPECT_EQ(s->tokens.issuer, "http://[::1]:3");  // derived from the final listen
}

TEST(Config, ConfigFileOnDisk) {
  char path[] = "/tmp/tollgate_config_testXXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string body = "[store]\ndata_dir = \"/srv/tg\"\n";
  ASSERT_EQ(write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
  close(fd);
  auto s = load(path, {}, {});
  std::remove(path);
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->store.data_dir, "/srv/tg");
  auto missing = load("/nonexistent/tollgate.toml", {}, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "config: cannot read /nonexistent/tollgate.toml: No such file or directory");
}

TEST(Config, EnvUnknownVariableIsAnError) {
  const char* vars[] = {"TOLLGATE_SERVER_LISTN=1.2.3.4:5", nullptr};
  auto r = env_overrides(vars);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "config: unknown environment variable TOLLGATE_SERVER_LISTN");
  const char* admin[] = {"TOLLGATE_ADMIN_PASSWORD=x", "HOME=/", nullptr};
  auto ok = env_overrides(admin);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->empty());
}

// Each key's variable and flag follow one naming rule, and no two keys share one.
TEST(Config, KeyNamesFollowTheRule) {
  std::set<std::string_view> flags, envs;
  for (const key_info& k : keys()) {
    std::string env = "TOLLGATE_";
    for (char c : std::string(k.section) + "_" + std::string(k.key)) env += static_cast<char>(std::toupper(c));
    EXPECT_EQ(k.env, env);
    std::string f = "--";
    for (char c : k.key) f += c == '_' ? '-' : c;
    EXPECT_EQ(k.flag, f);
    EXPECT_TRUE(flags.insert(k.flag).second) << k.flag;
    EXPECT_TRUE(envs.insert(k.env).second) << k.env;
    EXPECT_EQ(find_flag(k.flag), &k);
    EXPECT_FALSE(k.help.empty());
  }
  EXPECT_EQ(find_flag("--nope"), nullptr);
}

struct bad_case {
  const char* name;
  std::string toml;
  std::string message;
};
void PrintTo(const bad_case& c, std::ostream* os) { *os << c.name; }
class BadFileTest : public ::testing::TestWithParam<bad_case> {};

TEST_P(BadFileTest, OneLineNamingTheKey) {
  auto s = from_text(GetParam().toml);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), GetParam().message);
  EXPECT_EQ(s.error().find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Config, BadFileTest,
    ::testing::Values(
        bad_case{"unknown_section", "[serverr]\nx = 1\n", "config: unknown section [serverr]"},
        bad_case{"unknown_key", "[server]\nlistn = \"1.2.3.4:5\"\n", "config: unknown key server.listn"},
        bad_case{"top_level_key", "listen = \"1.2.3.4:5\"\n", "config: unknown section [listen]"},
        bad_case{"section_not_table", "server = 1\n", "config: server: expected a table ([server])"},
        bad_case{"syntax", "[server\n", "config: test.toml:1:8: Error while parsing table header: expected ']', saw '\\n'"},
        bad_case{"shards_zero", "[server]\nshards = 0\n", "config: server.shards: expected a positive integer"},
        bad_case{"shards_negative", "[server]\nshards = -1\n", "config: server.shards: expected a positive integer"},
        bad_case{"shards_string", "[server]\nshards = \"2\"\n", "config: server.shards: expected a positive integer"},
        bad_case{"shards_float", "[server]\nshards = 2.0\n", "config: server.shards: expected a positive integer"},
        bad_case{"listen_no_port", "[server]\nlisten = \"127.0.0.1\"\n",
                 "config: server.listen: expected HOST:PORT with a numeric IPv4 or [IPv6] address"},
        bad_case{"listen_hostname", "[server]\nlisten = \"localhost:80\"\n",
                 "config: server.listen: expected HOST:PORT with a numeric IPv4 or [IPv6] address"},
        bad_case{"listen_v6_unbracketed", "[server]\nlisten = \"::1:80\"\n",
                 "config: server.listen: expected HOST:PORT with a numeric IPv4 or [IPv6] address"},
        bad_case{"listen_port_too_big", "[server]\nlisten = \"127.0.0.1:65536\"\n",
                 "config: server.listen: expected HOST:PORT with a numeric IPv4 or [IPv6] address"},
        bad_case{"listen_not_string", "[server]\nlisten = 8080\n", "config: server.listen: expected a string"},
        bad_case{"io", "[server]\nio = \"kqueue\"\n", "config: server.io: expected \"uring\" or \"epoll\""},
        bad_case{"offload_priority_word", "[server]\noffload_priority = \"low\"\n",
                 "config: server.offload_priority: expected \"idle\" or a nice value from 0 to 19"},
        bad_case{"offload_priority_range", "[server]\noffload_priority = 20\n",
                 "config: server.offload_priority: expected \"idle\" or a nice value from 0 to 19"},
        bad_case{"proxy_not_cidr", "[server]\ntrusted_proxies = [\"10.0.0.0/33\"]\n",
                 "config: server.trusted_proxies: '10.0.0.0/33' is not an IPv4 or IPv6 CIDR"},
        bad_case{"proxy_hostname", "[server]\ntrusted_proxies = [\"proxy.local\"]\n",
                 "config: server.trusted_proxies: 'proxy.local' is not an IPv4 or IPv6 CIDR"},
        bad_case{"proxy_host_bits", "[server]\ntrusted_proxies = [\"10.0.0.1/8\"]\n",
                 "config: server.trusted_proxies: '10.0.0.1/8' has host bits set"},
        bad_case{"proxy_not_array", "[server]\ntrusted_proxies = \"10.0.0.0/8\"\n",
                 "config: server.trusted_proxies: expected an array of strings"},
        bad_case{"max_header_small", "[server]\nmax_header_bytes = 100\n",
                 "config: server.max_header_bytes: expected an integer from 512 to 1048576"},
        bad_case{"token_not_below_header", "[server]\nmax_header_bytes = 4096\n",
                 "config: auth.max_token_bytes: must be below server.max_header_bytes (4096)"},
        bad_case{"algorithm", "[tokens]\nalgorithm = \"none\"\n",
                 "config: tokens.algorithm: expected HS256, ES256 or EdDSA"},
        bad_case{"leeway", "[tokens]\nleeway_seconds = 4000\n", "config: tokens.leeway_seconds: expected seconds from 0 to 3600"},
        bad_case{"empty_data_dir", "[store]\ndata_dir = \"\"\n", "config: store.data_dir: expected a non-empty string"},
        bad_case{"registration", "[auth]\nregistration = \"maybe\"\n",
                 "config: auth.registration: expected \"open\" or \"closed\""},
        bad_case{"rate", "[rate_limits]\nlogin_per_ip = \"5/fortnight\"\n",
                 "config: rate_limits.login_per_ip: expected \"N/second|minute|hour|day\" (optionally \", burst=B\") or \"0\""},
        bad_case{"rate_number", "[rate_limits]\nlogin_per_ip = 5\n",
                 "config: rate_limits.login_per_ip: expected \"N/second|minute|hour|day\" or \"0\""},
        bad_case{"webhook", "[notifier]\nwebhook_url = \"ftp://x\"\n",
                 "config: notifier.webhook_url: expected an http:// or https:// URL"},
        bad_case{"webhook_ca_file", "[notifier]\nwebhook_ca_file = \"\"\n",
                 "config: notifier.webhook_ca_file: expected a non-empty string"},
        bad_case{"issuers_not_array", "[issuers]\nname = \"x\"\n",
                 "config: issuers: expected an array of tables ([[issuers]])"},
        bad_case{"issuer_unknown_key", "[[issuers]]\nnme = \"x\"\n", "config: issuers[0].nme: unknown key"},
        bad_case{"issuer_missing_name", "[[issuers]]\nissuer = \"https://i\"\n", "config: issuers[0].name: required"},
        bad_case{"issuer_no_jwks",
                 "[[issuers]]\nname = \"a\"\nissuer = \"https://i\"\nalgorithms = [\"RS256\"]\n",
                 "config: issuers[0]: set exactly one of jwks_file and jwks_url"},
        bad_case{"issuer_both_jwks",
                 "[[issuers]]\nname = \"a\"\nissuer = \"https://i\"\njwks_file = \"f\"\njwks_url = \"https://u\"\n"
                 "algorithms = [\"RS256\"]\n",
                 "config: issuers[0]: set exactly one of jwks_file and jwks_url"},
        bad_case{"issuer_http_jwks",
                 "[[issuers]]\nname = \"a\"\nissuer = \"https://i\"\njwks_url = \"http://u\"\nalgorithms = [\"RS256\"]\n",
                 "config: issuers[0].jwks_url: expected an https:// URL"},
        bad_case{"issuer_no_algorithms", "[[issuers]]\nname = \"a\"\nissuer = \"https://i\"\njwks_file = \"f\"\n",
                 "config: issuers[0].algorithms: required (for example [\"RS256\"])"},
        bad_case{"issuer_hmac_from_url",
                 "[[issuers]]\nname = \"a\"\nissuer = \"https://i\"\njwks_url = \"https://u\"\nalgorithms = [\"HS256\"]\n",
                 "config: issuers[0].algorithms: 'HS256' needs a shared secret: use jwks_file, not jwks_url"},
        bad_case{"issuer_unknown_algorithm",
                 "[[issuers]]\nname = \"a\"\nissuer = \"https://i\"\njwks_file = \"f\"\nalgorithms = [\"none\"]\n",
                 "config: issuers[0].algorithms: 'none' is not one of HS256/384/512, RS256/384/512, PS256/384/512, ES256/384, EdDSA"},
        bad_case{"issuer_duplicate",
                 "[[issuers]]\nname = \"a\"\nissuer = \"https://i\"\njwks_file = \"f\"\nalgorithms = [\"RS256\"]\n"
                 "[[issuers]]\nname = \"a\"\nissuer = \"https://j\"\njwks_file = \"f\"\nalgorithms = [\"RS256\"]\n",
                 "config: issuers[1].name: duplicate 'a'"},
        bad_case{"forward_unknown", "[forward]\nrule = []\n", "config: unknown key forward.rule"},
        bad_case{"rule_method", "[[forward.rules]]\nmethod = \"get\"\npath = \"/x\"\npermission = \"p\"\n",
                 "config: forward.rules[0].method: expected GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or \"*\""},
        bad_case{"rule_path", "[[forward.rules]]\nmethod = \"GET\"\npath = \"x\"\npermission = \"p\"\n",
                 "config: forward.rules[0].path: expected a path starting with '/' where '*' and '**' are whole segments"},
        bad_case{"rule_path_star", "[[forward.rules]]\nmethod = \"GET\"\npath = \"/a*\"\npermission = \"p\"\n",
                 "config: forward.rules[0].path: expected a path starting with '/' where '*' and '**' are whole segments"},
        bad_case{"rule_permission_empty", "[[forward.rules]]\nmethod = \"GET\"\npath = \"/x\"\npermission = \"\"\n",
                 "config: forward.rules[0].permission: expected a non-empty string"},
        bad_case{"rule_permission_bad", "[[forward.rules]]\nmethod = \"GET\"\npath = \"/x\"\npermission = \"a..b\"\n",
                 "config: forward.rules[0].permission: expected segments separated by '.' or ':' without spaces"},
        bad_case{"rule_missing", "[[forward.rules]]\nmethod = \"GET\"\npath = \"/x\"\n",
                 "config: forward.rules[0].permission: required"}),
    [](const ::testing::TestParamInfo<bad_case>& i) { return std::string(i.param.name); });

TEST(Config, BadValuesFromEnvAndFlagsNameTheirOrigin) {
  auto e = from_text("", env_of({"TOLLGATE_SERVER_SHARDS=zero"}));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error(), "config: TOLLGATE_SERVER_SHARDS: expected a positive integer");
  auto f = from_text("", {}, {flag("--shards", "-3")});
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error(), "config: --shards: expected a positive integer");
  auto g = from_text("", {}, {flag("--trusted-proxies", "10.0.0.0/8, 300.1.1.1")});
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error(), "config: --trusted-proxies: '300.1.1.1' is not an IPv4 or IPv6 CIDR");
}

TEST(Config, OffloadPriorityIsIdleOrANiceValue) {
  auto file = from_text("[server]\noffload_priority = 12\n");
  ASSERT_TRUE(file) << file.error();
  EXPECT_FALSE(file->server.offload_idle);
  EXPECT_EQ(file->server.offload_nice, 12);
  auto env = from_text("[server]\noffload_priority = 12\n", env_of({"TOLLGATE_SERVER_OFFLOAD_PRIORITY=idle"}));
  ASSERT_TRUE(env) << env.error();
  EXPECT_TRUE(env->server.offload_idle);
  auto flag_nice = from_text("", {}, {flag("--offload-priority", "0")});
  ASSERT_TRUE(flag_nice) << flag_nice.error();
  EXPECT_FALSE(flag_nice->server.offload_idle);
  EXPECT_EQ(flag_nice->server.offload_nice, 0);
}

TEST(Config, ListFromText) {
  auto s = from_text("", {}, {flag("--trusted-proxies", " 10.0.0.0/8 , ::1/128,,192.168.1.7")});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->server.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "::1/128", "192.168.1.7"}));
}

TEST(Config, PortZeroForTests) {
  auto s = from_text("", {}, {flag("--listen", "127.0.0.1:0")});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->server.port, 0);
}

struct rate_case {
  const char* text;
  bool ok;
  rate want;
};
void PrintTo(const rate_case& c, std::ostream* os) { *os << '"' << c.text << '"'; }
class RateTest : public ::testing::TestWithParam<rate_case> {};

TEST_P(RateTest, Parses) {
  const rate_case& c = GetParam();
  auto r = parse_rate(c.text);
  ASSERT_EQ(r.has_value(), c.ok) << (r ? "" : r.error());
  if (c.ok) {
    EXPECT_EQ(*r, c.want);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Config, RateTest,
    ::testing::Values(rate_case{"1000/second", true, {1000, 1s, 1000}}, rate_case{"5/minute", true, {5, 60s, 5}},
                      rate_case{"3/hour", true, {3, 3600s, 3}}, rate_case{"10/day", true, {10, 86400s, 10}},
                      rate_case{" 7 / minute ", true, {7, 60s, 7}},
                      rate_case{"100/second, burst=250", true, {100, 1s, 250}},
                      rate_case{"100/second,burst = 1", true, {100, 1s, 1}}, rate_case{"0", true, {}},
                      rate_case{"", false, {}}, rate_case{"0/second", false, {}}, rate_case{"5", false, {}},
                      rate_case{"5/sec", false, {}}, rate_case{"5/seconds", false, {}},
                      rate_case{"-5/second", false, {}}, rate_case{"5/second, burst=0", false, {}},
                      rate_case{"5/second, burst", false, {}}, rate_case{"5/second, bust=3", false, {}},
                      rate_case{"99999999999999999999/second", false, {}}));

}  // namespace
}  // namespace tollgate::config
