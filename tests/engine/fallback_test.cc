// tests/engine/fallback_test.cc — when io_uring is forbidden (as seccomp does in
// containers) the server still starts, logs exactly one warning line, and serves
// through epoll. The forbidding happens in a forked child so the rest of the test
// binary keeps io_uring.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "tests/engine/client.h"

namespace tollgate::engine {
namespace {

// forbid_io_uring makes io_uring_setup fail with EPERM in this process.
bool forbid_io_uring() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// child serves one request with io_uring forbidden; its exit code says how far it got.
[[noreturn]] void child(int log_fd) {
  ::dup2(log_fd, 2);
  if (!forbid_io_uring()) ::_exit(10);
  options o;
  o.port = 0;
  o.shards = 2;
  o.io = io_backend::uring;
  o.pin_shards = false;
  auto s = server::create(o, {});
  if (!s) ::_exit(11);
  if ((*s)->backend() != io_backend::epoll) ::_exit(12);
  std::thread runner([&] { (*s)->run(); });
  int code = 0;
  {
    testing::client c((*s)->port());
    if (!c.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")) code = 13;
    auto r = c.read_response();
    if (!r || r->status != 200) code = 14;
  }
  (*s)->stop();
  runner.join();
  ::_exit(code);
}

TEST(fallback, forbidden_io_uring_warns_once_and_serves_with_epoll) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    child(pipe_fds[1]);
  }
  ::close(pipe_fds[1]);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL() << "child did not finish";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string log;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) log.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << log;
  std::size_t lines = 0;
  for (char c : log) lines += c == '\n';
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_NE(log.find("warning: io_uring unavailable"), std::string::npos) << log;
  EXPECT_NE(log.find("epoll"), std::string::npos) << log;
}

}  // namespace
}  // namespace tollgate::engine
