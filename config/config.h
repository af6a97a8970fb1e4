// config/config.h — the process's settings: TOML file, TOLLGATE_* variables, flags.
//
// Threading: load() runs once at startup on the main thread ([[gnu::cold]]; it
// allocates and uses toml++, whose parser throws — caught inside, never escapes).
// The resulting `settings` is a plain value: copy it, or share it read-only with
// every shard after startup.
//
// Layers, lowest first: built-in defaults, the TOML file, TOLLGATE_<SECTION>_<KEY>
// environment variables, command-line flags. Variables and flags are both
// `override_value`s applied by the same code, so there is one precedence mechanism.
// Unknown sections, keys, variables and flags are errors; every error is one line
// that names the key as the user wrote it:
//   "config: server.shards: expected a positive integer"
//   "config: TOLLGATE_SERVER_SHARDS: expected a positive integer"
//   "config: --shards: expected a positive integer"
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::config {

using std::chrono::milliseconds;
using std::chrono::seconds;

// rate is a GCRA limit: `count` requests per `period`, up to `burst` at once.
// Written "N/second|minute|hour|day", optionally ", burst=B"; "0" disables.
struct rate {
  std::uint64_t count = 0;  // 0: disabled
  seconds period{0};
  std::uint64_t burst = 0;  // defaults to count
  bool enabled() const { return count != 0; }
  friend bool operator==(const rate&, const rate&) = default;
};

enum class io_mode : std::uint8_t { uring, epoll };
enum class registration_mode : std::uint8_t { closed, open };

struct server_settings {
  std::string listen = "127.0.0.1:8080";
  std::string host = "127.0.0.1";  // from listen, without brackets
  std::uint16_t port = 8080;       // from listen; 0 picks a free port
  unsigned shards = 0;             // 0: one per online core
  io_mode io = io_mode::uring;
  // Offload pool threads: SCHED_IDLE when offload_idle, else nice offload_nice.
  bool offload_idle = true;
  int offload_nice = 10;
  // CIDRs whose X-Forwarded-For is believed, syntax-checked ("10.0.0.0/8",
  // "::1/128"; a bare address means one host). Matching is authz/'s job.
  std::vector<std::string> trusted_proxies;
  std::size_t max_header_bytes = 8192;
  std::size_t max_body_bytes = 1048576;
  milliseconds header_timeout{10'000};
  milliseconds idle_timeout{60'000};
  std::size_t max_connections = 10'000;
};

struct store_settings {
  std::string data_dir = "./data";
};

struct token_settings {
  std::string issuer;  // default "http://<listen>"
  std::string audience = "tollgate";
  std::string algorithm = "HS256";  // HS256, ES256 or EdDSA
  seconds access_ttl{3600};
  seconds leeway{30};
  seconds refresh_ttl{30 * 24 * 3600};
};

// issuer_settings is one [[issuers]] entry: an external issuer whose JWTs verify.
struct issuer_settings {
  std::string name;
  std::string issuer;                  // the `iss` claim
  std::vector<std::string> audiences;  // empty: `aud` not required
  std::string jwks_file;               // exactly one of jwks_file and jwks_url
  std::string jwks_url;                // https:// only
  std::vector<std::string> algorithms; // required; HS* only with jwks_file (a shared secret)
  seconds refresh{300};
};

// forward_rule is one [[forward.rules]] entry; the first match wins.
struct forward_rule {
  std::string method;      // "GET", "POST", ... or "*"
  std::string path;        // starts with '/'; '*' one segment, '**' the rest
  std::string permission;  // required permission
};

struct rate_limit_settings {
  rate verify_per_subject{1000, seconds{1}, 1000};
  rate login_per_ip{5, seconds{60}, 5};
  rate password_reset_per_email{3, seconds{3600}, 3};
  rate api_key_generation_per_user{10, seconds{86400}, 10};
};

struct auth_settings {
  registration_mode registration = registration_mode::closed;
  seconds refresh_reuse_grace{5};
  std::size_t max_token_bytes = 4096;  // always below server.max_header_bytes
};

struct notifier_settings {
  std::string outbox = "outbox.jsonl";  // relative paths are inside store.data_dir
  std::string webhook_url;              // empty: none
  // PEM CAs an https webhook_url must chain to; the default is the system bundle
  // (http_client::system_ca_file, which config/ cannot include). Read by the notifier
  // at startup, not here.
  std::string webhook_ca_file = "/etc/ssl/certs/ca-certificates.crt";
};

// settings is every configurable value of the process.
struct settings {
  server_settings server;
  store_settings store;
  token_settings tokens;
  std::vector<issuer_settings> issuers;
  std::vector<forward_rule> forward_rules;
  rate_limit_settings rate_limits;
  auth_settings auth;
  notifier_settings notifier;

  // outbox_path is notifier.outbox resolved against store.data_dir.
  std::string outbox_path() const;
};

// key_info describes one scalar key that variables and flags can set.
struct key_info {
  std::string_view section;  // "server"
  std::string_view key;      // "max_header_bytes"
  std::string_view env;      // "TOLLGATE_SERVER_MAX_HEADER_BYTES"
  std::string_view flag;     // "--max-header-bytes"
  std::string_view help;     // one line for --help
};

// keys lists every key settable by variable and flag (all but [[issuers]] and
// [[forward.rules]], which are arrays of tables and live in the file only).
std::span<const key_info> keys();

// find_flag returns the key for a flag spelled "--name", or null.
const key_info* find_flag(std::string_view flag);

// override_value is one setting from a variable or a flag, as text.
struct override_value {
  const key_info* key;
  std::string value;
  std::string origin;  // "TOLLGATE_SERVER_LISTEN" or "--listen", for messages
};

// env_overrides collects TOLLGATE_* variables from `envp` (a null-terminated
// environ-style array). An unknown TOLLGATE_* variable is an error;
// TOLLGATE_ADMIN_PASSWORD (read by `tollgate init`) is skipped.
[[gnu::cold]] std::expected<std::vector<override_value>, std::string> env_overrides(const char* const* envp);

// load builds the settings: defaults, then `file` (empty: no file), then `env`,
// then `flags`, then validation across keys. The error is the one line to print.
[[gnu::cold]] std::expected<settings, std::string> load(std::string_view file,
                                                        std::span<const override_value> env,
                                                        std::span<const override_value> flags);

// load_text is load() over TOML text instead of a file; `name` is used in messages.
[[gnu::cold]] std::expected<settings, std::string> load_text(std::string_view toml, std::string_view name,
                                                             std::span<const override_value> env,
                                                             std::span<const override_value> flags);

// parse_rate parses "N/second|minute|hour|day[, burst=B]" or "0". The error is the
// reason without the key ("expected N/second|minute|hour|day").
std::expected<rate, std::string> parse_rate(std::string_view text);

}  // namespace tollgate::config
