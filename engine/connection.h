// engine/connection.h — one client connection's HTTP/1.1 state machine. Private to
// engine/.
//
// Threading: a connection belongs to one shard and is touched only on its thread;
// a slow request's private copy (slow_job) travels to the offload pool and back, and
// finds its connection again by (slot, generation), so a connection closed meanwhile
// is never written to.
//
// The state machine is the same for both backends: it consumes received bytes,
// parses every complete request in them (pipelining), runs hot routes inline and
// hands slow ones to the shard, and appends responses, in request order, to its
// output. The backend sends that output; while one buffer is being sent the next
// responses collect in the other, so a send in flight never sees its bytes move.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "engine/http.h"
#include "engine/router.h"
#include "engine/timer.h"

namespace tollgate::engine {

class shard;

// slow_job is a request copied off the connection for a slow route or for the next
// piece of a streamed body. It owns every byte its request's views point at.
struct slow_job {
  enum class stage : std::uint8_t { respond, next_chunk };
  shard* owner = nullptr;
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  stage what = stage::respond;
  const route_table::route* route = nullptr;
  std::size_t route_index = 0;
  std::string storage;  // head bytes then body bytes
  std::vector<header> headers;
  std::vector<std::string_view> params;
  request req;
  response resp;
  bool head_only = false;
  bool keep_alive = true;
  int minor_version = 1;
  std::chrono::steady_clock::time_point started{};
  std::string chunk;  // the piece produced by the last chunk_source call
  bool more = false;  // whether the chunk_source has more after `chunk`
};

class connection {
 public:
  enum class phase : std::uint8_t {
    idle,    // between requests
    head,    // part of a request head has arrived
    body,    // head parsed, body still arriving
    slow,    // a slow route runs on the offload pool; later requests wait
    stream,  // a streamed body is being sent
    linger,  // final response sent, write side shut; input is discarded until EOF
    closed,
  };
  enum class timer_kind : std::uint8_t { none, fresh, head, idle, body, linger };

  connection(shard& owner, std::uint32_t slot) : shard_(owner), slot_(slot) {
    timer.owner = this;
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // open starts serving a newly accepted socket; a refused one is answered 503.
  void open(int fd, const ip_address& peer, std::uint16_t peer_port, bool refuse);
  // reset forgets the socket and trims oversized buffers; the slot may be reused.
  void reset();

  // on_bytes consumes received bytes. `data` may be modified (chunked bodies are
  // decoded in place); what is not consumed at once is copied into the connection.
  void on_bytes(char* data, std::size_t size);
  // on_peer_eof records that the client will send nothing more.
  void on_peer_eof();
  // on_sent records that `n` bytes of the output went out.
  void on_sent(std::size_t n);
  // on_job_done takes back a slow job: its response, or the next streamed piece.
  void on_job_done(std::unique_ptr<slow_job> job);
  // on_timeout handles the expiry of the connection's timer. Returns true when the
  // connection should close now; otherwise it has queued a 408 and closes after it.
  bool on_timeout();
  // begin_drain makes the connection finish what it is doing and close.
  void begin_drain();

  // begin_send returns the bytes to send next (empty: nothing to send) and marks a
  // send in flight; end_send(n) settles it.
  std::string_view begin_send();
  void end_send(std::size_t n);

  bool has_output() const { return sent_ < sending_.size() || !queued_.empty(); }
  std::size_t output_bytes() const { return sending_.size() - sent_ + queued_.size(); }
  bool wants_close_now() const { return close_now_; }
  bool close_after_output() const { return close_after_; }
  bool peer_eof() const { return peer_eof_; }
  bool input_empty() const { return in_.empty(); }
  bool served_any() const { return served_any_; }
  // stream_job_ready: a streamed body waits for its next piece and the output drained.
  bool stream_ready() const { return phase_ == phase::stream && stream_job_ && !has_output(); }
  std::unique_ptr<slow_job> take_stream_job() { return std::move(stream_job_); }
  phase state() const { return phase_; }
  void set_linger() { phase_ = phase::linger; }
  void set_closed() { phase_ = phase::closed; }

  int fd = -1;
  std::uint32_t slot() const { return slot_; }
  std::uint32_t generation = 0;
  bool in_use = false;
  bool refused = false;  // over max_connections: answered 503 and closed

  // Backend bookkeeping; the backend owns these.
  struct io_flags {
    bool reading = false;          // a (multishot) receive is armed
    bool sending = false;          // a send owns the sending buffer
    bool send_queued = false;      // on the backend's list of connections to flush
    bool rearm_queued = false;     // receive to be re-armed at the next submit
    bool release_pending = false;  // closed; release once the send completes
  } io;

  deadline_hook timer;
  timer_kind timer_is = timer_kind::none;

 private:
  std::size_t process(char* base, std::size_t size);
  void wait_for_body(const http::request_head& h);
  // reply_unmatched answers 404, or 405 with Allow, for a request no route takes.
  void reply_unmatched(const router::match& m, bool keep_alive, bool head_only);
  void dispatch(const http::request_head& h, std::string_view head_bytes, std::string_view body);
  void resume();
  void finish_request();
  std::unique_ptr<slow_job> copy_for_slow(const http::request_head& h, std::string_view head_bytes,
                                          std::string_view body, const route_table::route& route,
                                          std::size_t route_index, std::size_t param_count);
  void write_response(const response& r, bool keep_alive, bool head_only, int minor_version,
                      bool chunked);
  void write_error(int status, std::string_view code, std::string_view message, bool keep_alive,
                   std::string_view allow, bool head_only = false);
  void reply_parse_error(http::errc e);
  void write_status_line(int status);
  void append_input(const char* data, std::size_t size);

  shard& shard_;
  std::uint32_t slot_;
  phase phase_ = phase::idle;
  bool close_after_ = false;  // close once the output is sent
  bool close_now_ = false;    // close at once (abandoned request, overflow)
  bool peer_eof_ = false;
  bool continue_sent_ = false;
  bool served_any_ = false;
  bool paused_ = false;  // stopped parsing: too much output waiting

  ip_address peer_;
  std::uint16_t peer_port_ = 0;
  std::string in_;
  std::string sending_;
  std::size_t sent_ = 0;
  std::string queued_;
  std::optional<http::chunked_decoder> chunks_;
  std::unique_ptr<slow_job> stream_job_;
  response resp_;
  std::array<header, 64> slots_;
  std::array<std::string_view, 16> params_;
};

}  // namespace tollgate::engine
