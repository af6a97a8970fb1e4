// engine/io_loop.h — the one interface both I/O backends implement. Private to
// engine/.
//
// Threading: an io_loop belongs to one shard and is used only on its thread.
//
// The backends differ only in how they submit I/O; everything HTTP lives in
// connection and shard. A backend reports events to its shard (shard::on_accept,
// on_data, on_eof, on_error, on_sent, on_wake) and the shard asks it to start reading
// a connection, send its output, half-close it or close it.
#pragma once

#include <chrono>
#include <expected>
#include <memory>
#include <string>

namespace tollgate::engine {

class connection;
class shard;

class io_loop {
 public:
  virtual ~io_loop() = default;
  // poll submits queued work, waits up to `timeout` for events, calls shard::tick()
  // once the wait returns, then delivers every event that is ready. May block (for
  // at most `timeout`).
  virtual void poll(std::chrono::milliseconds timeout) = 0;
  // start begins reading a freshly accepted connection. Never blocks.
  virtual void start(connection& c) = 0;
  // want_send sends the connection's output at the next chance. Never blocks.
  virtual void want_send(connection& c) = 0;
  // shutdown_write sends FIN after the output, for a lingering close. Never blocks.
  virtual void shutdown_write(connection& c) = 0;
  // close closes the socket and calls shard::release(c) once no operation in flight
  // still uses the connection's buffers. Never blocks.
  virtual void close(connection& c) = 0;
  // stop_accepting closes the listener (drain). Never blocks.
  virtual void stop_accepting() = 0;
};

// make_uring_loop sets up a ring for `s` (SINGLE_ISSUER|DEFER_TASKRUN, else
// COOP_TASKRUN) with a provided buffer ring, multishot accept on `listen_fd` and a
// read of `wake_fd`. Failure returns why, in one line.
std::expected<std::unique_ptr<io_loop>, std::string> make_uring_loop(shard& s, int listen_fd,
                                                                     int wake_fd);
// make_epoll_loop sets up an epoll instance for `s`. Failure returns why.
std::expected<std::unique_ptr<io_loop>, std::string> make_epoll_loop(shard& s, int listen_fd,
                                                                     int wake_fd);
// probe_uring checks, with a throwaway ring, that this process may use io_uring with
// every opcode and feature make_uring_loop needs. Failure returns why, in one line.
std::expected<void, std::string> probe_uring();

}  // namespace tollgate::engine
