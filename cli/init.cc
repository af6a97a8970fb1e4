// cli/init.cc — `tollgate init`: a new store with the first admin.
#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "cli/cli.h"
#include "crypto/password.h"
#include "policy/password.h"
#include "store/store.h"

namespace tollgate::cli {
namespace {

bool init_flag(std::string_view n) {
  return n == "--data-dir" || n == "--admin-user" || n == "--admin-password-file" || n == "--admin-email";
}

// Usernames the API accepts too: letters, digits and . _ - @, at most 64 bytes.
bool username_ok(std::string_view u) {
  if (u.empty() || u.size() > 64) return false;
  for (char c : u) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

// read_password reads the file, refusing one too long to be a password, and strips
// one trailing newline ("\n" or "\r\n") as `echo pw > file` leaves it.
std::expected<std::string, std::string> read_password(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot read password file " + path);
  std::string pw(crypto::password::max_password_bytes + 3, '\0');
  in.read(pw.data(), static_cast<std::streamsize>(pw.size()));
  if (in.bad()) return std::unexpected("cannot read password file " + path);
  pw.resize(static_cast<std::size_t>(in.gcount()));
  if (pw.ends_with('\n')) pw.pop_back();
  if (pw.ends_with('\r')) pw.pop_back();
  return pw;
}

std::string new_user_id() {
  unsigned char bytes[12];
  RAND_bytes(bytes, sizeof bytes);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "usr_";
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

}  // namespace

void print_init_help() {
  std::puts(
      "usage: tollgate init [--data-dir DIR] --admin-user NAME [--admin-password-file FILE] [--admin-email EMAIL]\n"
      "\n"
      "Creates the store in DIR (default ./data, or TOLLGATE_STORE_DATA_DIR; created if\n"
      "missing) with the built-in roles and the first admin. The password is read from\n"
      "FILE (one trailing newline stripped) or from TOLLGATE_ADMIN_PASSWORD. Refuses to\n"
      "run on a data dir that already holds a store (exit 1).");
}

int init(std::span<char* const> args) {
  bool help = false;
  auto opts = parse_options(args, init_flag, &help);
  if (!opts) return fail(exit_usage, "init: " + opts.error() + " (see tollgate init --help)");
  if (help) {
    print_init_help();
    return exit_ok;
  }
  std::string user, password_file, email;
  bool have_password_file = false;
  for (const option& o : *opts) {
    if (o.name == "--admin-user") user = o.value;
    if (o.name == "--admin-email") email = o.value;
    if (o.name == "--admin-password-file") {
      password_file = o.value;
      have_password_file = true;
    }
  }
  if (user.empty()) return fail(exit_usage, "init: --admin-user NAME is required");
  if (!username_ok(user)) return fail(exit_usage, "init: --admin-user: use 1 to 64 letters, digits or . _ - @");
  std::string password;
  if (have_password_file) {
    auto pw = read_password(password_file);
    if (!pw) return fail(exit_usage, "init: " + pw.error());
    password = std::move(*pw);
  } else if (const char* env = std::getenv("TOLLGATE_ADMIN_PASSWORD")) {
    password = env;
  } else {
    return fail(exit_usage, "init: give --admin-password-file FILE or set TOLLGATE_ADMIN_PASSWORD");
  }
  if (password.empty()) return fail(exit_usage, "init: the admin password is empty");
  // The store is new, so its security settings are the defaults: the first admin's
  // password meets the default password policy like every later one.
  const policy::password_policy rules;
  if (auto ok = policy::password::check(password, rules); !ok) {
    return fail(exit_usage, "init: admin password: " + policy::password::message(ok.error(), rules));
  }
  // Only --data-dir is a config key here; it goes through the same layers as serve.
  auto s = settings_from("", *opts, "init");
  if (!s) return s.error();

  const crypto::password::hasher hasher;
  auto hash = hasher.hash(password);
  if (!hash) return fail(exit_runtime, "init: hashing the password: " + std::string(crypto::password::message_of(hash.error())));
  store::init_params p;
  p.admin_user_id = new_user_id();
  p.admin_username = user;
  p.admin_password_hash = std::move(*hash);
  p.admin_email = email;
  p.now = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
  if (auto r = store::store::init(s->store.data_dir, p); !r) {
    return fail(exit_runtime, "init: " + s->store.data_dir + ": " + std::string(store::message_of(r.error())));
  }
  std::printf("tollgate: initialised %s; first admin '%s' (%s)\n", s->store.data_dir.c_str(), user.c_str(),
              p.admin_user_id.c_str());
  return exit_ok;
}

}  // namespace tollgate::cli
