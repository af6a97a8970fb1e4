// engine/http.h — the HTTP/1.1 request parser and the chunked body decoder.
//
// Threading: pure functions over caller-owned buffers; no global state, no
// allocation, no exceptions, no syscalls. Safe on any thread. fuzz/ and bench/
// call them directly.
//
// The parser copies nothing: every string_view it produces points into the
// caller's input buffer and lives as long as that buffer is unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace tollgate::engine::http {

enum class method : std::uint8_t { get, head, post, put, patch, delete_, options, other };

struct header {
  std::string_view name;
  std::string_view value;  // leading and trailing whitespace removed
};

enum class errc : std::uint8_t {
  ok = 0,
  bad_request_line,       // 400
  bad_version,            // 505
  bad_header,             // 400
  bad_content_length,     // 400 (non-digits, overflow, or conflicting duplicates)
  bad_transfer_encoding,  // 501 for codings other than chunked; 400 for CL + TE
  uri_too_long,           // 414: request line longer than max_header_bytes
  headers_too_large,      // 431: head longer than max_header_bytes or too many headers
  body_too_large,         // 413: Content-Length or decoded chunks over max_body_bytes
  bad_chunk,              // 400: malformed chunk size, extension or trailer
  bad_framing,            // 400: Content-Length with Transfer-Encoding, chunked twice,
                          //      or Transfer-Encoding from an HTTP/1.0 client
  bad_host,               // 400: HTTP/1.1 without Host, or more than one Host
};

// status_of returns the HTTP status a parse error is answered with.
int status_of(errc e);
// message_of returns a short human-readable description of a parse error.
std::string_view message_of(errc e);

enum class parse_status : std::uint8_t { complete, partial, error };

struct limits {
  std::size_t max_header_bytes = 8192;  // request line + headers + final CRLF
  std::size_t max_body_bytes = 1048576;
};

struct request_head {
  method verb = method::other;
  std::string_view method_text;
  std::string_view target;  // as sent: path plus optional "?query"
  std::string_view path;    // target before '?'
  std::string_view query;   // after '?', without it; empty if none
  int minor_version = 1;    // HTTP/1.<minor_version>
  std::span<const header> headers;  // a prefix of the caller's slots
  // Derived from the headers:
  bool keep_alive = true;       // HTTP/1.1 default, or "Connection: keep-alive" on 1.0
  bool chunked = false;         // Transfer-Encoding: chunked
  bool expect_continue = false;  // Expect: 100-continue
  std::uint64_t content_length = 0;  // 0 when absent or chunked
};

struct parse_result {
  parse_status status = parse_status::partial;
  errc error = errc::ok;
  std::size_t consumed = 0;  // bytes of the head, valid when status == complete
};

// parse_request_head parses the request line and headers at the start of `input`.
// On complete, `out` describes the request and `consumed` is the length of the head
// (the body, if any, starts at input[consumed]). On partial, call again with more
// bytes (the parse restarts from the beginning; heads are small). On error, `error`
// says why and the connection should be answered with status_of(error) and closed.
// `slots` bounds the number of headers; more than slots.size() is headers_too_large.
// Only the first lim.max_header_bytes of `input` are read: once the buffer holds that
// many bytes without a complete head the result is an error (uri_too_long while still
// in the request line, else headers_too_large), never partial, so the caller's buffer
// never has to grow past the limit. HTTP/1.1 requires exactly one Host (bad_host).
// `path` is a view into `input`, except for an absolute-form target with an empty
// path ("GET http://h HTTP/1.1"), where it is the static string "/".
// WARNING: each call rescans from the start; call again only when new bytes contain
// a '\n', or a client sending one byte at a time costs O(n^2) in the head's length.
parse_result parse_request_head(std::string_view input, const limits& lim,
                                std::span<header> slots, request_head& out);

// chunked_decoder decodes a chunked request body in place, resumably: feed it the
// bytes after the head as they arrive. Decoded bytes are moved to the front of the
// buffer passed in, so after a complete result the body is buf[0, decoded_total()).
//
// WARNING: every call must pass the same buffer start, grown at its end only.
class chunked_decoder {
 public:
  explicit chunked_decoder(std::size_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}

  struct result {
    parse_status status = parse_status::partial;
    errc error = errc::ok;
    std::size_t consumed = 0;  // bytes of `size` belonging to the body (incl. trailer)
  };

  // decode continues over buf[0, size). Bytes already decoded stay in place. After
  // complete, further calls return complete again without reading more bytes.
  result decode(char* buf, std::size_t size);
  std::size_t decoded_total() const { return decoded_; }

  // A chunk-size line (digits and extensions) longer than this is bad_chunk.
  static constexpr std::size_t max_size_line_bytes = 1024;
  // A trailer section longer than this is bad_chunk (trailers are read and dropped).
  static constexpr std::size_t max_trailer_bytes = 8192;

 private:
  enum class state : std::uint8_t {
    size, size_ws, size_ext, size_lf, data, data_cr, data_lf,
    trailer_start, trailer_name, trailer_value, trailer_lf, end_lf, done
  };
  std::size_t max_body_bytes_;
  std::size_t decoded_ = 0;     // decoded bytes at buf[0, decoded_)
  std::size_t read_pos_ = 0;    // next undecoded input byte
  std::uint64_t chunk_left_ = 0;
  std::size_t line_bytes_ = 0;  // framing bytes of the current size line or trailer
  state state_ = state::size;
  bool size_digits_ = false;
};

// method_of maps a method token to the enum (other for unknown tokens).
method method_of(std::string_view token);

// iequals compares ASCII case-insensitively, for header names.
bool iequals(std::string_view a, std::string_view b);

}  // namespace tollgate::engine::http
