// config/config.cc — defaults, TOML file, variables and flags merged into settings.
//
// toml++ as Debian ships it is a shared library built with exceptions, and its
// exception and no-exception builds live in different ABI namespaces, so the
// no-exception parse_result API cannot be linked against it. Parsing therefore uses
// the throwing API and catches toml::parse_error right here: startup code, never a
// request path.
#include "config/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <toml++/toml.h>

namespace tollgate::config {
namespace {

// raw is one value to apply: a TOML node from the file, or text from a variable or
// flag. Each key's setter accepts both, so every layer shares one conversion.
struct raw {
  const toml::node* node = nullptr;
  std::string_view text;
};

using problem = std::optional<std::string>;  // the reason, without the key
using setter = problem (*)(settings&, const raw&);

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_digits(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

std::expected<std::string, std::string> get_string(const raw& r) {
  if (r.node == nullptr) return std::string(r.text);
  if (const auto* s = r.node->as_string()) return s->get();
  return std::unexpected("expected a string");
}

// get_uint reads an integer in [lo, hi]; `what` is the message on failure.
std::expected<std::uint64_t, std::string> get_uint(const raw& r, std::uint64_t lo, std::uint64_t hi,
                                                   std::string_view what) {
  std::uint64_t v = 0;
  if (r.node != nullptr) {
    const auto* i = r.node->as_integer();
    if (i == nullptr || i->get() < 0) return std::unexpected(std::string(what));
    v = static_cast<std::uint64_t>(i->get());
  } else if (!parse_digits(trim(r.text), v)) {
    return std::unexpected(std::string(what));
  }
  if (v < lo || v > hi) return std::unexpected(std::string(what));
  return v;
}

// get_list reads an array of strings, or comma-separated text.
std::expected<std::vector<std::string>, std::string> get_list(const raw& r) {
  std::vector<std::string> out;
  if (r.node != nullptr) {
    const auto* a = r.node->as_array();
    if (a == nullptr) return std::unexpected("expected an array of strings");
    for (const toml::node& e : *a) {
      const auto* s = e.as_string();
      if (s == nullptr) return std::unexpected("expected an array of strings");
      out.push_back(s->get());
    }
    return out;
  }
  std::string_view t = r.text;
  while (!t.empty()) {
    const std::size_t comma = t.find(',');
    const std::string_view item = trim(t.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    t = comma == std::string_view::npos ? std::string_view{} : t.substr(comma + 1);
  }
  return out;
}

// parse_listen splits "a.b.c.d:port" or "[v6]:port" with numeric addresses only.
problem parse_listen(std::string_view text, std::string& host, std::uint16_t& port) {
  constexpr std::string_view want = "expected HOST:PORT with a numeric IPv4 or [IPv6] address";
  std::string h;
  std::string_view port_text;
  unsigned char buf[16];
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::string(want);
    h.assign(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    if (inet_pton(AF_INET6, h.c_str(), buf) != 1) return std::string(want);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::string(want);
    h.assign(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (inet_pton(AF_INET, h.c_str(), buf) != 1) return std::string(want);
  }
  std::uint64_t p = 0;
  if (!parse_digits(port_text, p) || p > 65535) return std::string(want);
  host = std::move(h);
  port = static_cast<std::uint16_t>(p);
  return std::nullopt;
}

// check_cidr validates "addr/len" (or a bare address: one host). Host bits must be
// zero, so "10.0.0.1/8" — almost always a typo for a host or for 10.0.0.0/8 — fails.
problem check_cidr(std::string_view text) {
  // Appended piecewise: "'" + std::string + "..." trips GCC 12's false -Wrestrict.
  auto quoted = [&](std::string_view why) {
    std::string m(1, '\'');
    m.append(text).append(why);
    return m;
  };
  const std::string bad = quoted("' is not an IPv4 or IPv6 CIDR");
  const std::size_t slash = text.find('/');
  const std::string addr(text.substr(0, slash));
  unsigned char buf[16] = {};
  std::size_t bits = 0;
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) bits = 32;
  else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) bits = 128;
  else return bad;
  if (slash == std::string_view::npos) return std::nullopt;
  std::uint64_t len = 0;
  if (!parse_digits(text.substr(slash + 1), len) || len > bits) return bad;
  for (std::size_t bit = len; bit < bits; ++bit) {
    if ((buf[bit / 8] >> (7 - bit % 8)) & 1) return quoted("' has host bits set");
  }
  return std::nullopt;
}

problem check_url(std::string_view url, bool https_only) {
  const bool https = url.starts_with("https://") && url.size() > 8;
  const bool http = url.starts_with("http://") && url.size() > 7;
  if (https || (!https_only && http)) return std::nullopt;
  return https_only ? "expected an https:// URL" : "expected an http:// or https:// URL";
}

constexpr std::string_view positive = "expected a positive integer";
constexpr std::uint64_t big = std::uint64_t{1} << 40;

template <class T>
problem set_int(const raw& r, T& field, std::uint64_t lo, std::uint64_t hi, std::string_view what) {
  auto v = get_uint(r, lo, hi, what);
  if (!v) return v.error();
  field = T(static_cast<typename T::rep>(*v));
  return std::nullopt;
}
template <class T>
  requires std::is_integral_v<T>
problem set_int(const raw& r, T& field, std::uint64_t lo, std::uint64_t hi, std::string_view what) {
  auto v = get_uint(r, lo, hi, what);
  if (!v) return v.error();
  field = static_cast<T>(*v);
  return std::nullopt;
}

problem set_nonempty(const raw& r, std::string& field) {
  auto v = get_string(r);
  if (!v) return v.error();
  if (v->empty()) return "expected a non-empty string";
  field = std::move(*v);
  return std::nullopt;
}

problem set_rate(const raw& r, rate& field) {
  std::string text;
  if (r.node != nullptr && r.node->is_integer()) {
    // `key = 0` reads naturally in TOML; any other bare number lacks a period.
    if (r.node->as_integer()->get() != 0) return "expected \"N/second|minute|hour|day\" or \"0\"";
    text = "0";
  } else {
    auto v = get_string(r);
    if (!v) return "expected \"N/second|minute|hour|day\" or \"0\"";
    text = std::move(*v);
  }
  auto parsed = parse_rate(text);
  if (!parsed) return parsed.error();
  field = *parsed;
  return std::nullopt;
}

// The scalar keys. `infos` and `setters` are parallel: keys() hands out the first.
constexpr key_info infos[] = {
    {"server", "listen", "TOLLGATE_SERVER_LISTEN", "--listen", "HOST:PORT to listen on (default 127.0.0.1:8080)"},
    {"server", "shards", "TOLLGATE_SERVER_SHARDS", "--shards", "number of shards (default: one per core)"},
    {"server", "io", "TOLLGATE_SERVER_IO", "--io", "uring or epoll (default uring, falls back to epoll)"},
    {"server", "offload_priority", "TOLLGATE_SERVER_OFFLOAD_PRIORITY", "--offload-priority",
     "offload threads (Argon2id, writes): idle (SCHED_IDLE, default) or a nice value 0..19"},
    {"server", "trusted_proxies", "TOLLGATE_SERVER_TRUSTED_PROXIES", "--trusted-proxies",
     "comma-separated CIDRs whose X-Forwarded-For is believed"},
    {"server", "max_header_bytes", "TOLLGATE_SERVER_MAX_HEADER_BYTES", "--max-header-bytes",
     "request line + headers limit (default 8192)"},
    {"server", "max_body_bytes", "TOLLGATE_SERVER_MAX_BODY_BYTES", "--max-body-bytes",
     "request body limit (default 1048576)"},
    {"server", "header_timeout_ms", "TOLLGATE_SERVER_HEADER_TIMEOUT_MS", "--header-timeout-ms",
     "time for a request head to arrive, else 408 (default 10000)"},
    {"server", "idle_timeout_ms", "TOLLGATE_SERVER_IDLE_TIMEOUT_MS", "--idle-timeout-ms",
     "idle keep-alive connection lifetime (default 60000)"},
    {"server", "max_connections", "TOLLGATE_SERVER_MAX_CONNECTIONS", "--max-connections",
     "open connections limit (default 10000)"},
    {"store", "data_dir", "TOLLGATE_STORE_DATA_DIR", "--data-dir", "data directory (default ./data)"},
    {"tokens", "issuer", "TOLLGATE_TOKENS_ISSUER", "--issuer", "iss of issued tokens (default http://<listen>)"},
    {"tokens", "audience", "TOLLGATE_TOKENS_AUDIENCE", "--audience", "aud of issued tokens (default tollgate)"},
    {"tokens", "algorithm", "TOLLGATE_TOKENS_ALGORITHM", "--algorithm", "HS256, ES256 or EdDSA (default HS256)"},
    {"tokens", "access_ttl_seconds", "TOLLGATE_TOKENS_ACCESS_TTL_SECONDS", "--access-ttl-seconds",
     "access token lifetime (default 3600)"},
    {"tokens", "leeway_seconds", "TOLLGATE_TOKENS_LEEWAY_SECONDS", "--leeway-seconds",
     "clock leeway for exp/nbf/iat (default 30)"},
    {"tokens", "refresh_ttl_seconds", "TOLLGATE_TOKENS_REFRESH_TTL_SECONDS", "--refresh-ttl-seconds",
     "refresh token lifetime (default 2592000)"},
    {"rate_limits", "verify_per_subject", "TOLLGATE_RATE_LIMITS_VERIFY_PER_SUBJECT", "--verify-per-subject",
     "hot-path limit per subject (default 1000/second)"},
    {"rate_limits", "login_per_ip", "TOLLGATE_RATE_LIMITS_LOGIN_PER_IP", "--login-per-ip",
     "login attempts per client IP (default 5/minute)"},
    {"rate_limits", "password_reset_per_email", "TOLLGATE_RATE_LIMITS_PASSWORD_RESET_PER_EMAIL",
     "--password-reset-per-email", "reset requests per email (default 3/hour)"},
    {"rate_limits", "api_key_generation_per_user", "TOLLGATE_RATE_LIMITS_API_KEY_GENERATION_PER_USER",
     "--api-key-generation-per-user", "API keys created per user (default 10/day)"},
    {"auth", "registration", "TOLLGATE_AUTH_REGISTRATION", "--registration", "open or closed (default closed)"},
    {"auth", "refresh_reuse_grace_seconds", "TOLLGATE_AUTH_REFRESH_REUSE_GRACE_SECONDS",
     "--refresh-reuse-grace-seconds", "grace for a just-spent refresh token (default 5)"},
    {"auth", "max_token_bytes", "TOLLGATE_AUTH_MAX_TOKEN_BYTES", "--max-token-bytes",
     "longest accepted token, below max_header_bytes (default 4096)"},
    {"notifier", "outbox", "TOLLGATE_NOTIFIER_OUTBOX", "--outbox",
     "JSON-lines outbox, relative to the data dir (default outbox.jsonl)"},
    {"notifier", "webhook_url", "TOLLGATE_NOTIFIER_WEBHOOK_URL", "--webhook-url",
     "POST each notification here (default: none)"},
    {"notifier", "webhook_ca_file", "TOLLGATE_NOTIFIER_WEBHOOK_CA_FILE", "--webhook-ca-file",
     "PEM CAs trusted for an https webhook_url (default /etc/ssl/certs/ca-certificates.crt)"},
};

constexpr setter setters[] = {
    [](settings& s, const raw& r) -> problem {  // server.listen
      auto v = get_string(r);
      if (!v) return v.error();
      if (problem p = parse_listen(*v, s.server.host, s.server.port)) return p;
      s.server.listen = std::move(*v);
      return std::nullopt;
    },
    [](settings& s, const raw& r) -> problem { return set_int(r, s.server.shards, 1, 1024, positive); },
    [](settings& s, const raw& r) -> problem {
      auto v = get_string(r);
      if (v && *v == "uring") s.server.io = io_mode::uring;
      else if (v && *v == "epoll") s.server.io = io_mode::epoll;
      else return "expected \"uring\" or \"epoll\"";
      return std::nullopt;
    },
    [](settings& s, const raw& r) -> problem {  // server.offload_priority
      if (auto v = get_string(r); v && *v == "idle") {
        s.server.offload_idle = true;
        return std::nullopt;
      }
      auto nice = get_uint(r, 0, 19, "expected \"idle\" or a nice value from 0 to 19");
      if (!nice) return nice.error();
      s.server.offload_idle = false;
      s.server.offload_nice = static_cast<int>(*nice);
      return std::nullopt;
    },
    [](settings& s, const raw& r) -> problem {
      auto v = get_list(r);
      if (!v) return v.error();
      for (const std::string& c : *v) {
        if (problem p = check_cidr(c)) return p;
      }
      s.server.trusted_proxies = std::move(*v);
      return std::nullopt;
    },
    [](settings& s, const raw& r) -> problem {
      return set_int(r, s.server.max_header_bytes, 512, 1 << 20, "expected an integer from 512 to 1048576");
    },
    [](settings& s, const raw& r) -> problem {
      return set_int(r, s.server.max_body_bytes, 1, 1 << 30, "expected an integer from 1 to 1073741824");
    },
    [](settings& s, const raw& r) -> problem {
      return set_int(r, s.server.header_timeout, 1, 3'600'000, "expected milliseconds from 1 to 3600000");
    },
    [](settings& s, const raw& r) -> problem {
      return set_int(r, s.server.idle_timeout, 1, 3'600'000, "expected milliseconds from 1 to 3600000");
    },
    [](settings& s, const raw& r) -> problem {
      return set_int(r, s.server.max_connections, 1, 10'000'000, positive);
    },
    [](settings& s, const raw& r) -> problem { return set_nonempty(r, s.store.data_dir); },
    [](settings& s, const raw& r) -> problem { return set_nonempty(r, s.tokens.issuer); },
    [](settings& s, const raw& r) -> problem { return set_nonempty(r, s.tokens.audience); },
    [](settings& s, const raw& r) -> problem {
      auto v = get_string(r);
      if (!v || (*v != "HS256" && *v != "ES256" && *v != "EdDSA")) return "expected HS256, ES256 or EdDSA";
      s.tokens.algorithm = std::move(*v);
      return std::nullopt;
    },
    [](settings& s, const raw& r) -> problem { return set_int(r, s.tokens.access_ttl, 1, big, positive); },
    [](settings& s, const raw& r) -> problem {
      return set_int(r, s.tokens.leeway, 0, 3600, "expected seconds from 0 to 3600");
    },
    [](settings& s, const raw& r) -> problem { return set_int(r, s.tokens.refresh_ttl, 1, big, positive); },
    [](settings& s, const raw& r) -> problem { return set_rate(r, s.rate_limits.verify_per_subject); },
    [](settings& s, const raw& r) -> problem { return set_rate(r, s.rate_limits.login_per_ip); },
    [](settings& s, const raw& r) -> problem { return set_rate(r, s.rate_limits.password_reset_per_email); },
    [](settings& s, const raw& r) -> problem { return set_rate(r, s.rate_limits.api_key_generation_per_user); },
    [](settings& s, const raw& r) -> problem {
      auto v = get_string(r);
      if (v && *v == "open") s.auth.registration = registration_mode::open;
      else if (v && *v == "closed") s.auth.registration = registration_mode::closed;
      else return "expected \"open\" or \"closed\"";
      return std::nullopt;
    },
    [](settings& s, const raw& r) -> problem {
      return set_int(r, s.auth.refresh_reuse_grace, 0, 3600, "expected seconds from 0 to 3600");
    },
    [](settings& s, const raw& r) -> problem {
      return set_int(r, s.auth.max_token_bytes, 64, 1 << 20, "expected an integer from 64 to 1048576");
    },
    [](settings& s, const raw& r) -> problem { return set_nonempty(r, s.notifier.outbox); },
    [](settings& s, const raw& r) -> problem {
      auto v = get_string(r);
      if (!v) return v.error();
      if (!v->empty()) {
        if (problem p = check_url(*v, false)) return p;
      }
      s.notifier.webhook_url = std::move(*v);
      return std::nullopt;
    },
    [](settings& s, const raw& r) -> problem { return set_nonempty(r, s.notifier.webhook_ca_file); },
};
static_assert(std::size(infos) == std::size(setters), "every key needs exactly one setter");

std::size_t index_of(const key_info* k) { return static_cast<std::size_t>(k - infos); }

const key_info* find_key(std::string_view section, std::string_view key) {
  for (const key_info& k : infos) {
    if (k.section == section && k.key == key) return &k;
  }
  return nullptr;
}

std::string fail(std::string_view where, std::string_view why) {
  return "config: " + std::string(where) + ": " + std::string(why);
}

// ---- arrays of tables ----

constexpr std::string_view issuer_algorithms[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                                  "PS512", "ES256", "ES384", "EdDSA"};
// HMAC issuers share a secret (an oct JWK): allowed from a local jwks_file only, never
// from a URL, where publishing the secret would let anyone mint tokens.
constexpr std::string_view hmac_algorithms[] = {"HS256", "HS384", "HS512"};
constexpr std::string_view rule_methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"};

template <class List>
bool one_of(std::string_view v, const List& list) {
  for (std::string_view x : list) {
    if (v == x) return true;
  }
  return false;
}

// Field readers for table entries: they report the first problem as "where: why".
struct entry_reader {
  const toml::table& t;
  std::string where;  // "issuers[0]"
  std::string error;

  std::string at(std::string_view key) const { return where + "." + std::string(key); }
  bool ok() const { return error.empty(); }

  void check_keys(std::initializer_list<std::string_view> known) {
    for (auto&& [k, v] : t) {
      bool found = false;
      for (std::string_view n : known) found = found || k.str() == n;
      if (!found && ok()) error = fail(at(k.str()), "unknown key");
    }
  }
  std::string str(std::string_view key, bool required) {
    const toml::node* n = t.get(key);
    if (!ok()) return {};
    if (n == nullptr) {
      if (required) error = fail(at(key), "required");
      return {};
    }
    auto v = get_string(raw{n, {}});
    if (!v) error = fail(at(key), v.error());
    else if (v->empty()) error = fail(at(key), "expected a non-empty string");
    return v.value_or(std::string{});
  }
  std::vector<std::string> list(std::string_view key) {
    const toml::node* n = t.get(key);
    if (!ok() || n == nullptr) return {};
    auto v = get_list(raw{n, {}});
    if (!v) error = fail(at(key), v.error());
    return v.value_or(std::vector<std::string>{});
  }
};

std::optional<std::string> read_issuer(const toml::table& t, std::size_t i, issuer_settings& out) {
  entry_reader r{t, "issuers[" + std::to_string(i) + "]", {}};
  r.check_keys({"name", "issuer", "audiences", "jwks_file", "jwks_url", "algorithms", "refresh_seconds"});
  out.name = r.str("name", true);
  out.issuer = r.str("issuer", true);
  out.audiences = r.list("audiences");
  out.jwks_file = r.str("jwks_file", false);
  out.jwks_url = r.str("jwks_url", false);
  out.algorithms = r.list("algorithms");
  if (!r.ok()) return r.error;
  if (out.jwks_file.empty() == out.jwks_url.empty()) return fail(r.where, "set exactly one of jwks_file and jwks_url");
  if (!out.jwks_url.empty()) {
    if (problem p = check_url(out.jwks_url, true)) return fail(r.at("jwks_url"), *p);
  }
  if (out.algorithms.empty()) return fail(r.at("algorithms"), "required (for example [\"RS256\"])");
  for (const std::string& a : out.algorithms) {
    if (one_of(a, hmac_algorithms) && !out.jwks_url.empty())
      return fail(r.at("algorithms"), "'" + a + "' needs a shared secret: use jwks_file, not jwks_url");
    if (!one_of(a, issuer_algorithms) && !one_of(a, hmac_algorithms))
      return fail(r.at("algorithms"),
                  "'" + a + "' is not one of HS256/384/512, RS256/384/512, PS256/384/512, ES256/384, EdDSA");
  }
  if (const toml::node* n = t.get("refresh_seconds")) {
    if (problem p = set_int(raw{n, {}}, out.refresh, 1, 7 * 86400, "expected seconds from 1 to 604800"))
      return fail(r.at("refresh_seconds"), *p);
  }
  return std::nullopt;
}

// check_rule_path accepts '/'-separated segments where '*' and '**' stand alone.
bool rule_path_ok(std::string_view p) {
  if (p.empty() || p.front() != '/') return false;
  std::size_t i = 1;
  while (i <= p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    const std::string_view seg = p.substr(i, j - i);
    if (seg.find('*') != std::string_view::npos && seg != "*" && seg != "**") return false;
    i = j + 1;
  }
  return true;
}

// Permission names: segments of non-space visible characters separated by '.' or ':'.
bool permission_ok(std::string_view p) {
  if (p.empty()) return false;
  char prev = '.';
  for (char c : p) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
    const bool sep = c == '.' || c == ':';
    if (sep && (prev == '.' || prev == ':')) return false;
    prev = c;
  }
  return prev != '.' && prev != ':';
}

std::optional<std::string> read_rule(const toml::table& t, std::size_t i, forward_rule& out) {
  entry_reader r{t, "forward.rules[" + std::to_string(i) + "]", {}};
  r.check_keys({"method", "path", "permission"});
  out.method = r.str("method", true);
  out.path = r.str("path", true);
  out.permission = r.str("permission", true);
  if (!r.ok()) return r.error;
  if (!one_of(out.method, rule_methods))
    return fail(r.at("method"), "expected GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or \"*\"");
  if (!rule_path_ok(out.path))
    return fail(r.at("path"), "expected a path starting with '/' where '*' and '**' are whole segments");
  if (!permission_ok(out.permission))
    return fail(r.at("permission"), "expected segments separated by '.' or ':' without spaces");
  return std::nullopt;
}

template <class T, class Reader>
std::optional<std::string> read_array_of_tables(const toml::node& n, std::string_view name, std::vector<T>& out,
                                                Reader read) {
  const auto* a = n.as_array();
  if (a == nullptr || !a->is_array_of_tables())
    return fail(name, "expected an array of tables ([[" + std::string(name) + "]])");
  for (std::size_t i = 0; i < a->size(); ++i) {
    T item;
    if (auto e = read(*a->get(i)->as_table(), i, item)) return e;
    out.push_back(std::move(item));
  }
  return std::nullopt;
}

std::optional<std::string> apply_file(const toml::table& root, settings& s) {
  for (auto&& [section_key, node] : root) {
    const std::string_view section = section_key.str();
    if (section == "issuers") {
      if (auto e = read_array_of_tables(node, "issuers", s.issuers, read_issuer)) return e;
      continue;
    }
    const toml::table* t = node.as_table();
    const bool known = section == "forward" || std::any_of(std::begin(infos), std::end(infos), [&](const key_info& k) {
                         return k.section == section;
                       });
    if (!known) return "config: unknown section [" + std::string(section) + "]";
    if (t == nullptr) return fail(section, "expected a table ([" + std::string(section) + "])");
    for (auto&& [key, value] : *t) {
      const std::string dotted = std::string(section) + "." + std::string(key.str());
      if (section == "forward") {
        if (key.str() != "rules") return "config: unknown key " + dotted;
        if (auto e = read_array_of_tables(value, "forward.rules", s.forward_rules, read_rule)) return e;
        continue;
      }
      const key_info* k = find_key(section, key.str());
      if (k == nullptr) return "config: unknown key " + dotted;
      if (problem p = setters[index_of(k)](s, raw{&value, {}})) return fail(dotted, *p);
    }
  }
  return std::nullopt;
}

std::expected<settings, std::string> finish(std::expected<toml::table, std::string> file,
                                            std::span<const override_value> env,
                                            std::span<const override_value> flags) {
  if (!file) return std::unexpected(file.error());
  settings s;
  if (auto e = apply_file(*file, s)) return std::unexpected(*e);
  for (std::span<const override_value> layer : {env, flags}) {
    for (const override_value& o : layer) {
      if (problem p = setters[index_of(o.key)](s, raw{nullptr, o.value})) return std::unexpected(fail(o.origin, *p));
    }
  }
  // Cross-key rules, after every layer: they hold for the merged result.
  if (s.auth.max_token_bytes >= s.server.max_header_bytes) {
    return std::unexpected(fail("auth.max_token_bytes", "must be below server.max_header_bytes (" +
                                                            std::to_string(s.server.max_header_bytes) + ")"));
  }
  for (std::size_t i = 0; i < s.issuers.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (s.issuers[i].name == s.issuers[j].name)
        return std::unexpected(fail("issuers[" + std::to_string(i) + "].name", "duplicate '" + s.issuers[i].name + "'"));
      if (s.issuers[i].issuer == s.issuers[j].issuer)
        return std::unexpected(
            fail("issuers[" + std::to_string(i) + "].issuer", "duplicate '" + s.issuers[i].issuer + "'"));
    }
  }
  if (s.tokens.issuer.empty()) s.tokens.issuer = "http://" + s.server.listen;
  return s;
}

std::expected<toml::table, std::string> parse_toml(std::string_view text, std::string_view name) {
  try {
    return toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return std::unexpected("config: " + std::string(name) + ":" + std::to_string(b.line) + ":" +
                           std::to_string(b.column) + ": " + std::string(e.description()));
  }
}

}  // namespace

std::string settings::outbox_path() const {
  if (!notifier.outbox.empty() && notifier.outbox.front() == '/') return notifier.outbox;
  return store.data_dir + "/" + notifier.outbox;
}

std::span<const key_info> keys() { return infos; }

const key_info* find_flag(std::string_view flag) {
  for (const key_info& k : infos) {
    if (k.flag == flag) return &k;
  }
  return nullptr;
}

std::expected<std::vector<override_value>, std::string> env_overrides(const char* const* envp) {
  std::vector<override_value> out;
  for (; envp != nullptr && *envp != nullptr; ++envp) {
    const std::string_view entry = *envp;
    if (!entry.starts_with("TOLLGATE_")) continue;
    const std::size_t eq = entry.find('=');
    const std::string_view name = entry.substr(0, eq);
    if (name == "TOLLGATE_ADMIN_PASSWORD") continue;
    const key_info* k = nullptr;
    for (const key_info& i : infos) {
      if (i.env == name) k = &i;
    }
    if (k == nullptr) return std::unexpected("config: unknown environment variable " + std::string(name));
    out.push_back({k, eq == std::string_view::npos ? std::string{} : std::string(entry.substr(eq + 1)),
                   std::string(name)});
  }
  return out;
}

std::expected<settings, std::string> load_text(std::string_view toml, std::string_view name,
                                               std::span<const override_value> env,
                                               std::span<const override_value> flags) {
  return finish(parse_toml(toml, name), env, flags);
}

std::expected<settings, std::string> load(std::string_view file, std::span<const override_value> env,
                                          std::span<const override_value> flags) {
  if (file.empty()) return finish(toml::table{}, env, flags);
  const std::string path(file);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("config: cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::unexpected("config: cannot read " + path + ": " + std::strerror(errno));
  return load_text(text.str(), path, env, flags);
}

std::expected<rate, std::string> parse_rate(std::string_view text) {
  constexpr std::string_view want = "expected \"N/second|minute|hour|day\" (optionally \", burst=B\") or \"0\"";
  text = trim(text);
  if (text == "0") return rate{};
  const std::size_t comma = text.find(',');
  const std::string_view main = trim(text.substr(0, comma));
  const std::size_t slash = main.find('/');
  if (slash == std::string_view::npos) return std::unexpected(std::string(want));
  rate r;
  if (!parse_digits(trim(main.substr(0, slash)), r.count) || r.count == 0) return std::unexpected(std::string(want));
  const std::string_view unit = trim(main.substr(slash + 1));
  if (unit == "second") r.period = seconds{1};
  else if (unit == "minute") r.period = seconds{60};
  else if (unit == "hour") r.period = seconds{3600};
  else if (unit == "day") r.period = seconds{86400};
  else return std::unexpected(std::string(want));
  r.burst = r.count;
  if (comma != std::string_view::npos) {
    std::string_view b = trim(text.substr(comma + 1));
    if (!b.starts_with("burst")) return std::unexpected(std::string(want));
    b = trim(b.substr(5));
    if (b.empty() || b.front() != '=') return std::unexpected(std::string(want));
    if (!parse_digits(trim(b.substr(1)), r.burst) || r.burst == 0)
      return std::unexpected("burst: expected a positive integer");
  }
  return r;
}

}  // namespace tollgate::config
