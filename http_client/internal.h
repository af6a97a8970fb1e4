// http_client/internal.h — private to http_client/ (tests/ and fuzz/ include it to
// reach the parser): the parser of a server's answer.
//
// Threading: an answer_parser belongs to the one call reading that answer. Never
// blocks, no syscalls.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include "http_client/http_client.h"

namespace tollgate::http_client {

// answer_parser turns the bytes of an HTTP/1.x answer into a response as they arrive,
// holding at most one read plus a partial line beyond the body it builds. Interim
// (1xx) answers are skipped. The body ends at Content-Length, at the last chunk
// (trailers are not read: the connection closes anyway), at once for 204 and 304, or,
// with no framing, at close(). Only the chunked coding is understood.
class answer_parser {
 public:
  // A head (status line, headers and the empty line) longer than this is bad_response.
  static constexpr std::size_t max_head_bytes = 16 * 1024;
  // A chunk-size line (hex digits, perhaps extensions, CRLF) longer than this is bad_response.
  static constexpr std::size_t max_chunk_line_bytes = 1024;

  explicit answer_parser(std::size_t max_body) : max_body_(max_body) {}

  // feed consumes `data`: true once the answer is complete (later bytes are ignored),
  // false for more; bad_response or response_too_large (a body over max_body, said
  // as soon as a length or chunk size shows it) otherwise.
  std::expected<bool, errc> feed(std::string_view data);

  // close ends the answer at the peer's (clean) close: the response when the answer
  // had no framing of its own or was already complete, else bad_response (truncated).
  std::expected<response, errc> close();

  // take hands over the response once feed() has returned true.
  response take() { return std::move(response_); }

 private:
  enum class stage { head, chunk_size, chunk_data, chunk_end, sized, until_close, done };

  errc read_head(std::string_view head);
  errc read_chunk_size(std::string_view line);

  std::size_t max_body_;
  stage stage_ = stage::head;
  std::string pending_;        // received, not yet consumed
  std::size_t remaining_ = 0;  // of the current chunk or of the Content-Length body
  response response_;
};

}  // namespace tollgate::http_client
