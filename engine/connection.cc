// engine/connection.cc — the HTTP/1.1 connection state machine shared by both
// backends.
#include "engine/connection.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "engine/router.h"
#include "engine/shard.h"

namespace tollgate::engine {
namespace {

// Parsing pauses while this much output waits for the client to read it, so a client
// that pipelines without reading cannot grow our output without bound.
constexpr std::size_t output_high_water = 256 * 1024;
constexpr std::size_t output_low_water = 64 * 1024;
// Buffers above this are given back when the connection closes.
constexpr std::size_t keep_capacity = 64 * 1024;

std::string_view reason_of(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// error_code_of names an engine-produced error status in the JSON error model.
std::string_view error_code_of(int status) {
  switch (status) {
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 431: return "request_header_fields_too_large";
    case 501: return "not_implemented";
    case 505: return "http_version_not_supported";
    default: return "invalid_request";
  }
}

void append_uint(std::string& out, std::size_t v) {
  char text[24];
  const auto r = std::to_chars(text, text + sizeof text, v);
  out.append(text, static_cast<std::size_t>(r.ptr - text));
}

void append_hex(std::string& out, std::size_t v) {
  char text[24];
  const auto r = std::to_chars(text, text + sizeof text, v, 16);
  out.append(text, static_cast<std::size_t>(r.ptr - text));
}

bool needs_escape(char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; }

std::size_t json_escaped_size(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += !needs_escape(c) ? 1 : (c == '"' || c == '\\') ? 2 : 6;
  return n;
}

void append_json_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    if (!needs_escape(c)) {
      out.push_back(c);
    } else if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else {
      char text[8];
      std::snprintf(text, sizeof text, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out.append(text, 6);
    }
  }
}

bool is_field_value(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

}  // namespace

void connection::open(int socket, const ip_address& peer, std::uint16_t peer_port, bool refuse) {
  fd = socket;
  peer_ = peer;
  peer_port_ = peer_port;
  phase_ = phase::idle;
  if (refuse) {
    write_error(503, "unavailable", "the server has too many open connections", false, {});
  }
}

void connection::reset() {
  fd = -1;
  in_use = false;
  phase_ = phase::idle;
  close_after_ = close_now_ = peer_eof_ = continue_sent_ = served_any_ = paused_ = false;
  io = {};
  timer.unlink();
  timer_is = timer_kind::none;
  chunks_.reset();
  stream_job_.reset();
  resp_.reset();
  sent_ = 0;
  for (std::string* s : {&in_, &sending_, &queued_}) {
    if (s->capacity() > keep_capacity) {
      std::string().swap(*s);
    } else {
      s->clear();
    }
  }
}

void connection::append_input(const char* data, std::size_t size) {
  const http::limits& lim = shard_.opts().limits;
  // A chunked body may carry framing on top of max_body_bytes; allow twice that.
  const std::size_t cap = lim.max_header_bytes + 2 * lim.max_body_bytes + 64 * 1024;
  if (in_.size() + size > cap) {
    if (phase_ == phase::body) {
      in_.clear();
      reply_parse_error(http::errc::body_too_large);
    } else {
      // Pipelined far ahead of a slow response or of its own unread output.
      close_now_ = true;
    }
    return;
  }
  in_.append(data, size);
}

void connection::on_bytes(char* data, std::size_t size) {
  switch (phase_) {
    case phase::linger:
    case phase::closed:
      return;
    case phase::slow:
    case phase::stream:
      append_input(data, size);
      return;
    case phase::idle:
    case phase::head:
    case phase::body:
      break;
  }
  if (close_after_ || close_now_) return;
  if (paused_) {
    append_input(data, size);
    return;
  }
  if (in_.empty()) {
    // Common case: whole requests in one receive, parsed straight from the receive
    // buffer; only a partial tail is copied.
    const std::size_t used = process(data, size);
    if (used < size && !close_after_ && !close_now_) append_input(data + used, size - used);
    return;
  }
  append_input(data, size);
  if (close_now_ || close_after_) return;
  // An incomplete head that the new bytes end no line of would parse to the same
  // partial result: skip it, so a client sending a byte at a time costs O(n), not
  // O(n^2). At the header limit the parser runs again and answers 414/431.
  if (phase_ == phase::head && std::memchr(data, '\n', size) == nullptr &&
      in_.size() < shard_.opts().limits.max_header_bytes)
    return;
  const std::size_t used = process(in_.data(), in_.size());
  in_.erase(0, used);
}

std::size_t connection::process(char* base, std::size_t size) {
  const http::limits& lim = shard_.opts().limits;
  std::size_t pos = 0;
  while (pos < size) {
    if (phase_ == phase::slow || phase_ == phase::stream || close_after_ || close_now_) break;
    if (output_bytes() >= output_high_water) {
      paused_ = true;
      break;
    }
    http::request_head h;
    const std::string_view rest(base + pos, size - pos);
    const http::parse_result r = http::parse_request_head(rest, lim, slots_, h);
    if (r.status == http::parse_status::partial) {
      if (rest.size() > lim.max_header_bytes) {
        reply_parse_error(http::errc::headers_too_large);
        return size;
      }
      if (phase_ == phase::idle) phase_ = phase::head;
      break;
    }
    if (r.status == http::parse_status::error) {
      reply_parse_error(r.error);
      return size;
    }
    char* body = base + pos + r.consumed;
    const std::size_t available = size - pos - r.consumed;
    std::size_t body_size = 0;
    std::size_t raw_size = 0;
    if (h.chunked) {
      if (!chunks_) chunks_.emplace(lim.max_body_bytes);
      const http::chunked_decoder::result d = chunks_->decode(body, available);
      if (d.status == http::parse_status::error) {
        reply_parse_error(d.error);
        return size;
      }
      if (d.status == http::parse_status::partial) {
        wait_for_body(h);
        break;
      }
      body_size = chunks_->decoded_total();
      raw_size = d.consumed;
    } else {
      if (h.content_length > lim.max_body_bytes) {
        reply_parse_error(http::errc::body_too_large);
        return size;
      }
      if (available < h.content_length) {
        wait_for_body(h);
        break;
      }
      body_size = raw_size = static_cast<std::size_t>(h.content_length);
    }
    chunks_.reset();
    continue_sent_ = false;
    phase_ = phase::idle;
    dispatch(h, std::string_view(base + pos, r.consumed), std::string_view(body, body_size));
    pos += r.consumed + raw_size;
  }
  return pos;
}

void connection::wait_for_body(const http::request_head& h) {
  phase_ = phase::body;
  if (h.expect_continue && !continue_sent_ && h.minor_version >= 1) {
    // A request no route takes gets its final answer instead of 100 (RFC 9110
    // 10.1.1), and the connection closes rather than read a body nobody wants.
    const router::match m = shard_.routes_index().find(h.verb, h.path, params_);
    if (m.status != 200 || m.route == nullptr) {
      phase_ = phase::idle;  // answered: no body is awaited, so no 408 either
      reply_unmatched(m, false, h.verb == method::head);
      return;
    }
    queued_.append("HTTP/1.1 100 Continue\r\n\r\n");
    continue_sent_ = true;
  }
}

void connection::reply_unmatched(const router::match& m, bool keep_alive, bool head_only) {
  if (m.status == 405) {
    write_error(405, "method_not_allowed", "the path exists but not for this method", keep_alive,
                m.allow, head_only);
  } else {
    write_error(404, "not_found", "no route matches the path", keep_alive, {}, head_only);
  }
  shard_.stats().record(shard_.routes().routes().size(), m.status == 405 ? 405 : 404,
                        std::chrono::steady_clock::now() - shard_.batch_start());
  served_any_ = true;
}

void connection::dispatch(const http::request_head& h, std::string_view head_bytes,
                          std::string_view body) {
  const bool head_only = h.verb == method::head;
  const bool keep = h.keep_alive && !shard_.draining();
  const router::match m = shard_.routes_index().find(h.verb, h.path, params_);
  if (m.status != 200 || m.route == nullptr) {
    reply_unmatched(m, keep, head_only);
    return;
  }
  const std::size_t route_index = static_cast<std::size_t>(m.route - shard_.routes().routes().data());
  if (m.route->kind == route_kind::slow) {
    std::unique_ptr<slow_job> job = copy_for_slow(h, head_bytes, body, *m.route, route_index, m.param_count);
    job->keep_alive = keep;
    job->head_only = head_only;
    job->minor_version = h.minor_version;
    phase_ = phase::slow;
    shard_.submit(std::move(job));
    return;
  }
  request req;
  req.verb = h.verb;
  req.method_text = h.method_text;
  req.target = h.target;
  req.path = h.path;
  req.query = h.query;
  req.headers = h.headers;
  req.body = body;
  req.params = std::span<const std::string_view>(params_.data(), m.param_count);
  req.peer = peer_;
  req.peer_port = peer_port_;
  req.now = shard_.now();
  req.shard = &shard_;
  resp_.reset();
  m.route->run(req, resp_);
  if (resp_.streamer()) {
    std::fprintf(stderr, "tollgate: route %s is hot but streams its response; streams need a slow route\n",
                 m.route->pattern.c_str());
    std::abort();
  }
  write_response(resp_, keep, head_only, h.minor_version, false);
  shard_.stats().record(route_index, resp_.status(), std::chrono::steady_clock::now() - shard_.batch_start());
  served_any_ = true;
}

std::unique_ptr<slow_job> connection::copy_for_slow(const http::request_head& h,
                                                    std::string_view head_bytes,
                                                    std::string_view body,
                                                    const route_table::route& route,
                                                    std::size_t route_index,
                                                    std::size_t param_count) {
  auto job = std::make_unique<slow_job>();
  job->owner = &shard_;
  job->slot = slot_;
  job->generation = generation;
  job->route = &route;
  job->route_index = route_index;
  job->started = std::chrono::steady_clock::now();
  job->storage.reserve(head_bytes.size() + body.size());
  job->storage.append(head_bytes);
  job->storage.append(body);
  const char* old_base = head_bytes.data();
  const char* new_base = job->storage.data();
  // Views into the head move with it; the parser may also hand out views of its own
  // constants, which stay valid as they are.
  auto moved = [&](std::string_view v) -> std::string_view {
    if (v.empty()) return {};
    if (v.data() >= old_base && v.data() + v.size() <= old_base + head_bytes.size()) {
      return {new_base + (v.data() - old_base), v.size()};
    }
    return v;
  };
  job->headers.reserve(h.headers.size());
  for (const header& x : h.headers) job->headers.push_back(header{moved(x.name), moved(x.value)});
  job->params.reserve(param_count);
  for (std::size_t i = 0; i < param_count; ++i) job->params.push_back(moved(params_[i]));
  request& req = job->req;
  req.verb = h.verb;
  req.method_text = moved(h.method_text);
  req.target = moved(h.target);
  req.path = moved(h.path);
  req.query = moved(h.query);
  req.headers = job->headers;
  req.body = std::string_view(new_base + head_bytes.size(), body.size());
  req.params = job->params;
  req.peer = peer_;
  req.peer_port = peer_port_;
  req.now = shard_.now();
  req.shard = &shard_;
  return job;
}

void connection::on_job_done(std::unique_ptr<slow_job> job) {
  const bool chunked = job->minor_version >= 1;
  if (job->what == slow_job::stage::respond) {
    response& r = job->resp;
    if (r.streamer()) {
      // HTTP/1.0 has no chunked coding: the body then ends when the connection does.
      write_response(r, job->keep_alive && chunked, job->head_only, job->minor_version, true);
      if (job->head_only) {
        shard_.stats().record(job->route_index, r.status(), std::chrono::steady_clock::now() - job->started);
        finish_request();
        return;
      }
      job->what = slow_job::stage::next_chunk;
      stream_job_ = std::move(job);
      phase_ = phase::stream;
      return;
    }
    write_response(r, job->keep_alive, job->head_only, job->minor_version, false);
    shard_.stats().record(job->route_index, r.status(), std::chrono::steady_clock::now() - job->started);
    finish_request();
    return;
  }
  if (!job->chunk.empty()) {
    if (chunked) {
      append_hex(queued_, job->chunk.size());
      queued_.append("\r\n");
      queued_.append(job->chunk);
      queued_.append("\r\n");
    } else {
      queued_.append(job->chunk);
    }
  }
  if (job->more) {
    stream_job_ = std::move(job);
    return;
  }
  if (chunked) queued_.append("0\r\n\r\n");
  shard_.stats().record(job->route_index, job->resp.status(), std::chrono::steady_clock::now() - job->started);
  finish_request();
}

void connection::finish_request() {
  phase_ = phase::idle;
  served_any_ = true;
  resume();
}

void connection::resume() {
  if (in_.empty() || phase_ != phase::idle || close_after_ || close_now_) return;
  const std::size_t used = process(in_.data(), in_.size());
  in_.erase(0, used);
}

void connection::on_peer_eof() {
  peer_eof_ = true;
  switch (phase_) {
    case phase::head:
    case phase::body:
    case phase::linger:
      close_now_ = true;  // the request can never complete, or we were only waiting for this
      return;
    case phase::slow:
    case phase::stream:
      close_after_ = true;
      return;
    case phase::idle:
    case phase::closed:
      return;
  }
}

void connection::on_sent(std::size_t n) {
  sent_ += n;
  if (sent_ >= sending_.size()) {
    sending_.clear();
    sent_ = 0;
  }
  if (paused_ && output_bytes() < output_low_water) {
    paused_ = false;
    resume();
  }
}

std::string_view connection::begin_send() {
  if (sent_ < sending_.size()) return {sending_.data() + sent_, sending_.size() - sent_};
  sending_.clear();
  sent_ = 0;
  if (queued_.empty()) return {};
  std::swap(sending_, queued_);  // both keep their capacity
  return sending_;
}

bool connection::on_timeout() {
  switch (timer_is) {
    case timer_kind::head:
    case timer_kind::body:
      in_.clear();
      chunks_.reset();
      phase_ = phase::idle;
      write_error(408, "request_timeout", "the request did not arrive in time", false, {});
      shard_.stats().record(shard_.routes().routes().size(), 408, std::chrono::nanoseconds(0));
      return false;
    case timer_kind::none:
    case timer_kind::fresh:
    case timer_kind::idle:
    case timer_kind::linger:
      return true;
  }
  return true;
}

void connection::begin_drain() {
  if (phase_ != phase::idle || !in_.empty() || paused_) return;  // finishes, then closes
  if (has_output()) {
    close_after_ = true;
  } else {
    close_now_ = true;
  }
}

void connection::write_status_line(int status) {
  queued_.append("HTTP/1.1 ");
  append_uint(queued_, static_cast<std::size_t>(status));
  queued_.push_back(' ');
  queued_.append(reason_of(status));
  queued_.append("\r\n");
  queued_.append(shard_.date_line());
}

void connection::write_response(const response& r, bool keep_alive, bool head_only,
                                int minor_version, bool streamed) {
  const int status = r.status();
  const bool bodyless = status < 200 || status == 204 || status == 304;
  const bool keep = keep_alive && !r.closes() && !shard_.draining();
  write_status_line(status);
  const std::string_view type = r.content_type();
  if (!type.empty() && is_field_value(type)) {
    queued_.append("Content-Type: ");
    queued_.append(type);
    queued_.append("\r\n");
  }
  queued_.append(r.header_block());
  if (streamed) {
    if (minor_version >= 1 && !bodyless) queued_.append("Transfer-Encoding: chunked\r\n");
  } else if (!bodyless) {
    queued_.append("Content-Length: ");
    append_uint(queued_, r.body_view().size());
    queued_.append("\r\n");
  }
  if (!keep) {
    queued_.append("Connection: close\r\n");
  } else if (minor_version == 0) {
    queued_.append("Connection: keep-alive\r\n");
  }
  queued_.append("\r\n");
  if (!streamed && !head_only && !bodyless) queued_.append(r.body_view());
  if (!keep) close_after_ = true;
}

void connection::write_error(int status, std::string_view code, std::string_view message,
                             bool keep_alive, std::string_view allow, bool head_only) {
  const bool keep = keep_alive && !shard_.draining();
  write_status_line(status);
  queued_.append("Content-Type: application/json\r\n");
  if (!allow.empty()) {
    queued_.append("Allow: ");
    queued_.append(allow);
    queued_.append("\r\n");
  }
  static constexpr std::string_view open = "{\"error\":\"";
  static constexpr std::string_view middle = "\",\"message\":\"";
  static constexpr std::string_view close = "\"}";
  queued_.append("Content-Length: ");
  append_uint(queued_, open.size() + code.size() + middle.size() + json_escaped_size(message) + close.size());
  queued_.append(keep ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  if (!keep) close_after_ = true;
  if (head_only) return;
  queued_.append(open);
  queued_.append(code);
  queued_.append(middle);
  append_json_escaped(queued_, message);
  queued_.append(close);
}

void connection::reply_parse_error(http::errc e) {
  const int status = http::status_of(e);
  chunks_.reset();
  phase_ = phase::idle;
  write_error(status, error_code_of(status), http::message_of(e), false, {});
  shard_.stats().record(shard_.routes().routes().size(), status, std::chrono::nanoseconds(0));
}

}  // namespace tollgate::engine
