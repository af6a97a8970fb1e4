// tests/cli/cli_test.cc — the built tollgate binary, run as a subprocess.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "crypto/password.h"
#include "store/store.h"
#include "tests/temp_dir.h"

namespace {

std::string tollgate_bin;  // argv[1]: the binary under test

using tollgate::testing::temp_dir;

void write_file(const std::string& path, std::string_view content) {
  std::ofstream(path, std::ios::binary) << content;
}

// child is a running tollgate with its stdout and stderr on pipes.
struct child {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
};

child spawn(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  int out[2], err[2];
  EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
  std::vector<char*> argv{const_cast<char*>(tollgate_bin.c_str())};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  return {pid, out[0], err[0]};
}

// drain reads both pipes until EOF or the deadline.
void drain(child& c, std::string& out, std::string& err, std::chrono::steady_clock::time_point deadline) {
  pollfd fds[2] = {{c.out, POLLIN, 0}, {c.err, POLLIN, 0}};
  int open = 2;
  while (open > 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      } else {
        (i == 0 ? out : err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
}

// wait_exit waits up to `timeout` for the child; nullopt (after SIGKILL) if it hangs.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    usleep(10'000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return std::nullopt;
}

struct outcome {
  int status = -1;
  std::string out, err;
};

outcome run(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  child c = spawn(args, env);
  outcome o;
  drain(c, o.out, o.err, std::chrono::steady_clock::now() + std::chrono::seconds(20));
  o.status = wait_exit(c.pid, std::chrono::seconds(5)).value_or(-1);
  return o;
}

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// A usage or config error: exit 2, nothing on stdout, exactly one line on stderr.
void expect_usage_error(const outcome& o, std::string_view contains) {
  EXPECT_EQ(o.status, 2) << o.err;
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(lines(o.err), 1u) << o.err;
  EXPECT_TRUE(o.err.starts_with("tollgate: ")) << o.err;
  EXPECT_NE(o.err.find(contains), std::string::npos) << o.err;
}

TEST(Cli, Version) {
  const outcome o = run({"version"});
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.out, "tollgate 0.1.0\n");
  EXPECT_EQ(o.err, "");
}

TEST(Cli, HelpForms) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"help"}, {"-h"}, {"help", "serve"}, {"serve", "--help"},
                                             {"init", "--help"}, {"backup", "--help"}}) {
    const outcome o = run(args);
    EXPECT_EQ(o.status, 0) << args[0];
    EXPECT_TRUE(o.out.starts_with("usage: tollgate")) << o.out;
    EXPECT_EQ(o.err, "");
  }
  // serve --help lists a flag for every serve setting.
  const outcome s = run({"serve", "--help"});
  for (const char* f : {"--listen", "--data-dir", "--shards", "--io", "--max-header-bytes", "--trusted-proxies",
                        "--registration", "--login-per-ip", "--webhook-url", "TOLLGATE_SERVER_LISTEN"}) {
    EXPECT_NE(s.out.find(f), std::string::npos) << f;
  }
}

TEST(Cli, BadUsageExitsTwoWithOneLine) {
  expect_usage_error(run({}), "no command");
  expect_usage_error(run({"frobnicate"}), "unknown command 'frobnicate'");
  expect_usage_error(run({"help", "nope"}), "unknown command 'nope'");
  expect_usage_error(run({"version", "x"}), "takes no arguments");
  expect_usage_error(run({"serve", "--bogus"}), "serve: unknown flag --bogus");
  expect_usage_error(run({"serve", "--shards"}), "--shards needs a value");
  expect_usage_error(run({"serve", "stray"}), "unexpected argument 'stray'");
  expect_usage_error(run({"serve", "--shards", "1", "--shards=2"}), "--shards given twice");
  expect_usage_error(run({"serve", "--io=kqueue"}), "config: --io: expected \"uring\" or \"epoll\"");
  expect_usage_error(run({"serve", "--listen", "localhost:80"}), "config: --listen: expected HOST:PORT");
  expect_usage_error(run({"serve"}, {"TOLLGATE_SERVER_SHARDS=none"}),
                     "config: TOLLGATE_SERVER_SHARDS: expected a positive integer");
  expect_usage_error(run({"serve"}, {"TOLLGATE_NO_SUCH=1"}), "unknown environment variable TOLLGATE_NO_SUCH");
}

TEST(Cli, BadConfigFileExitsTwo) {
  temp_dir d;
  write_file(d / "bad.toml", "[server]\nshards = 0\n");
  expect_usage_error(run({"serve", "--config", d / "bad.toml"}), "config: server.shards: expected a positive integer");
  write_file(d / "unknown.toml", "[server]\nlisten_address = \"1.2.3.4:5\"\n");
  expect_usage_error(run({"serve", "--config", d / "unknown.toml"}), "config: unknown key server.listen_address");
  write_file(d / "syntax.toml", "[server\n");
  expect_usage_error(run({"serve", "--config", d / "syntax.toml"}), "syntax.toml:1:");
  expect_usage_error(run({"serve", "--config", d / "missing.toml"}), "cannot read");
}

TEST(Cli, ServeWithoutStoreIsARuntimeError) {
  temp_dir d;
  const outcome o = run({"serve", "--data-dir", d / "empty", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(lines(o.err), 1u) << o.err;
  EXPECT_NE(o.err.find("run tollgate init first"), std::string::npos) << o.err;
}

TEST(Cli, UnusableWebhookExitsTwoNamingTheKey) {
  temp_dir d;
  ASSERT_EQ(run({"init", "--data-dir", d / "s", "--admin-user", "admin"}, {"TOLLGATE_ADMIN_PASSWORD=Serve-pass-7"}).status,
            0);
  const std::vector<std::string> serve = {"serve", "--data-dir", d / "s", "--listen", "127.0.0.1:0"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = serve;
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  expect_usage_error(with({"--webhook-url", "https://hooks.example.com/x", "--webhook-ca-file", d / "none.pem"}),
                     "serve: notifier: webhook_ca_file cannot be read as PEM certificates: " + d / "none.pem");
  expect_usage_error(with({"--webhook-url", "http://hooks.example.com/x"}),
                     "serve: notifier: webhook_url must be https unless it points at a loopback address");
}

// ---- init and backup ----

TEST(Cli, InitArgumentErrors) {
  temp_dir d;
  write_file(d / "pw", "Correct-horse-9\n");
  expect_usage_error(run({"init", "--data-dir", d / "s", "--admin-password-file", d / "pw"}),
                     "--admin-user NAME is required");
  expect_usage_error(run({"init", "--data-dir", d / "s", "--admin-user", "root"}),
                     "give --admin-password-file FILE or set TOLLGATE_ADMIN_PASSWORD");
  expect_usage_error(run({"init", "--data-dir", d / "s", "--admin-user", "root", "--admin-password-file", d / "nope"}),
                     "cannot read password file");
  expect_usage_error(run({"init", "--data-dir", d / "s", "--admin-user", "bad name", "--admin-password-file", d / "pw"}),
                     "--admin-user");
  write_file(d / "empty", "\n");
  expect_usage_error(run({"init", "--data-dir", d / "s", "--admin-user", "root", "--admin-password-file", d / "empty"}),
                     "password is empty");
  write_file(d / "long", std::string(2000, 'a'));
  expect_usage_error(run({"init", "--data-dir", d / "s", "--admin-user", "root", "--admin-password-file", d / "long"}),
                     "init: admin password: ");
  // The default password policy applies to the first admin (exit 2: bad input).
  write_file(d / "weak", "password\n");
  expect_usage_error(run({"init", "--data-dir", d / "s", "--admin-user", "root", "--admin-password-file", d / "weak"}),
                     "init: admin password: ");
  expect_usage_error(run({"init", "--listen", "1.2.3.4:5"}), "unknown flag --listen");
  EXPECT_FALSE(std::filesystem::exists(d / "s"));
}

// The stored hash verifies against the password without the file's newline.
TEST(Cli, InitStripsOneTrailingNewlineAndRefusesASecondInit) {
  temp_dir d;
  write_file(d / "pw", "Correct-horse-9\r\n");
  const outcome o = run({"init", "--data-dir", d / "s", "--admin-user", "root", "--admin-password-file", d / "pw"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("first admin 'root'"), std::string::npos) << o.out;
  {
    auto db = tollgate::store::store::open(d / "s");
    ASSERT_TRUE(db);
    std::string hash;
    ASSERT_TRUE((*db)->read([&](const tollgate::store::read_txn& t) -> tollgate::store::result<void> {
      auto u = t.find_user_by_name("root");
      if (!u) return std::unexpected(u.error());
      EXPECT_EQ(u->role, "admin");
      hash = u->password_hash;
      return {};
    }));
    const tollgate::crypto::password::hasher h;
    EXPECT_TRUE(h.verify(hash, "Correct-horse-9"));
    EXPECT_FALSE(h.verify(hash, "Correct-horse-9\r"));
  }
  const outcome again = run({"init", "--data-dir", d / "s", "--admin-user", "root", "--admin-password-file", d / "pw"});
  EXPECT_EQ(again.status, 1);
  EXPECT_EQ(lines(again.err), 1u) << again.err;
}

TEST(Cli, InitFromEnvironmentAndBackup) {
  temp_dir d;
  const std::vector<std::string> env = {"TOLLGATE_ADMIN_PASSWORD=Env-pass-4242", "TOLLGATE_STORE_DATA_DIR=" + (d / "s")};
  const outcome o = run({"init", "--admin-user", "admin"}, env);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(std::filesystem::exists(d / "s/data.mdb"));

  expect_usage_error(run({"backup", "--data-dir", d / "s"}), "--out FILE is required");
  const outcome b = run({"backup", "--data-dir", d / "s", "--out", d / "copy.mdb"});
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_GT(std::filesystem::file_size(d / "copy.mdb"), 0u);
  // The copy is a complete store: restore it into a fresh dir and open it.
  std::filesystem::create_directory(d / "restored");
  std::filesystem::copy_file(d / "copy.mdb", d / "restored/data.mdb");
  EXPECT_TRUE(tollgate::store::store::open(d / "restored"));

  const outcome exists = run({"backup", "--data-dir", d / "s", "--out", d / "copy.mdb"});
  EXPECT_EQ(exists.status, 1);
  EXPECT_NE(exists.err.find("already exists"), std::string::npos) << exists.err;
  const outcome none = run({"backup", "--data-dir", d / "nothing", "--out", d / "x.mdb"});
  EXPECT_EQ(none.status, 1) << none.err;
  EXPECT_EQ(lines(none.err), 1u) << none.err;
}

// ---- serve ----

// http_get sends one request to 127.0.0.1:port and returns the status line.
std::string http_get(std::uint16_t port, std::string_view path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[1024];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<std::size_t>(n));
    }
  }
  close(fd);
  return reply.substr(0, reply.find("\r\n"));
}

class ServeTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ServeTest, ServesUntilSigtermThenExitsZero) {
  temp_dir d;
  ASSERT_EQ(run({"init", "--data-dir", d / "s", "--admin-user", "admin"}, {"TOLLGATE_ADMIN_PASSWORD=Serve-pass-7"}).status,
            0);
  child c = spawn({"serve", "--data-dir", d / "s", "--listen", "127.0.0.1:0", "--shards", "1", "--io", GetParam()}, {});
  // Read stderr until the "serving on 127.0.0.1:PORT" line (bounded wait).
  std::string err;
  std::uint16_t port = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (port == 0 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{c.err, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    const ssize_t n = read(c.err, buf, sizeof buf);
    if (n <= 0) break;
    err.append(buf, static_cast<std::size_t>(n));
    const std::size_t at = err.find("serving on 127.0.0.1:");
    if (at != std::string::npos && err.find('\n', at) != std::string::npos)
      port = static_cast<std::uint16_t>(std::stoi(err.substr(at + 21)));
  }
  ASSERT_NE(port, 0) << err;
  EXPECT_EQ(http_get(port, "/healthz"), "HTTP/1.1 200 OK");
  EXPECT_EQ(http_get(port, "/readyz"), "HTTP/1.1 200 OK");
  // The management API is registered (a slow route, answered from the offload pool).
  EXPECT_EQ(http_get(port, "/api/v1/security/openapi.json"), "HTTP/1.1 200 OK");
  EXPECT_EQ(http_get(port, "/api/v1/security/users"), "HTTP/1.1 401 Unauthorized");
  ASSERT_EQ(kill(c.pid, SIGTERM), 0);
  std::string out;
  drain(c, out, err, std::chrono::steady_clock::now() + std::chrono::seconds(10));
  EXPECT_EQ(wait_exit(c.pid, std::chrono::seconds(10)), std::optional<int>(0)) << err;
}

INSTANTIATE_TEST_SUITE_P(Cli, ServeTest, ::testing::Values("epoll", "uring"));

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: cli_test PATH_TO_TOLLGATE\n");
    return 2;
  }
  tollgate_bin = argv[1];
  return RUN_ALL_TESTS();
}
