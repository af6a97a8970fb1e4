// http_client/answer.cc — answer_parser: status line, framing headers, body.
#include <boost/url/grammar/ci_string.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include "http_client/internal.h"

namespace tollgate::http_client {
namespace {

using boost::urls::grammar::ci_is_equal;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// parse_size reads all of `text` as a number in `base`; an overflow is a size that
// is too large by any limit.
errc parse_size(std::string_view text, int base, std::size_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  if (ec == std::errc::result_out_of_range) return errc::response_too_large;
  return ec == std::errc() && end == text.data() + text.size() ? errc::ok : errc::bad_response;
}

}  // namespace

std::expected<bool, errc> answer_parser::feed(std::string_view data) {
  pending_.append(data);
  // end_of finds the end of `delim` in what is pending (npos while it has not come).
  // What it ends must fit in `limit` bytes, checked the same whether or not it has
  // come yet, so the outcome never depends on how the bytes were split into reads.
  const auto end_of = [&](std::string_view delim, std::size_t limit) -> std::expected<std::size_t, errc> {
    const std::size_t at = pending_.find(delim);
    const std::size_t end = at == std::string::npos ? at : at + delim.size();
    if ((end == std::string::npos ? pending_.size() : end) > limit) return std::unexpected(errc::bad_response);
    return end;
  };
  for (;;) {
    switch (stage_) {
      case stage::head: {
        const auto end = end_of("\r\n\r\n", max_head_bytes);
        if (!end) return std::unexpected(end.error());
        if (*end == std::string::npos) return false;
        if (errc e = read_head(std::string_view(pending_).substr(0, *end - 2)); e != errc::ok) return std::unexpected(e);
        pending_.erase(0, *end);
        break;
      }
      case stage::chunk_size: {
        const auto end = end_of("\r\n", max_chunk_line_bytes);
        if (!end) return std::unexpected(end.error());
        if (*end == std::string::npos) return false;
        if (errc e = read_chunk_size(std::string_view(pending_).substr(0, *end - 2)); e != errc::ok)
          return std::unexpected(e);
        pending_.erase(0, *end);
        break;
      }
      case stage::chunk_data:
      case stage::sized: {
        const std::size_t take = std::min(remaining_, pending_.size());
        response_.body.append(pending_, 0, take);
        pending_.erase(0, take);
        remaining_ -= take;
        if (remaining_ > 0) return false;
        stage_ = stage_ == stage::chunk_data ? stage::chunk_end : stage::done;
        break;
      }
      case stage::chunk_end:
        if (pending_.size() < 2) return false;
        if (pending_.compare(0, 2, "\r\n") != 0) return std::unexpected(errc::bad_response);
        pending_.erase(0, 2);
        stage_ = stage::chunk_size;
        break;
      case stage::until_close:
        if (pending_.size() > max_body_ - response_.body.size()) return std::unexpected(errc::response_too_large);
        response_.body += pending_;
        pending_.clear();
        return false;
      case stage::done:
        return true;
    }
  }
}

std::expected<response, errc> answer_parser::close() {
  if (stage_ != stage::until_close && stage_ != stage::done) return std::unexpected(errc::bad_response);
  return take();
}

// read_head checks the status line and picks how the body is framed. `head` ends with
// the last header's CRLF.
errc answer_parser::read_head(std::string_view head) {
  // "HTTP/1.x NNN", then a space (and a reason) or the line's end. The first digit
  // is the class, 1 to 5 (RFC 9110 15).
  const auto digit = [&](std::size_t i, char lo, char hi) { return head[i] >= lo && head[i] <= hi; };
  if (head.size() < 14 || head.compare(0, 7, "HTTP/1.") != 0 || !digit(7, '0', '9') || head[8] != ' ' ||
      !digit(9, '1', '5') || !digit(10, '0', '9') || !digit(11, '0', '9') || (head[12] != ' ' && head[12] != '\r'))
    return errc::bad_response;
  const int status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
  if (status >= 100 && status < 200) return errc::ok;  // interim: the final answer follows
  response_.status = status;
  bool chunked = false;
  std::optional<std::size_t> length;
  for (std::size_t i = head.find("\r\n") + 2; i < head.size();) {
    const std::size_t eol = head.find("\r\n", i);
    const std::string_view line = head.substr(i, eol - i);
    i = eol + 2;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return errc::bad_response;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (ci_is_equal(name, "transfer-encoding")) {
      // Only chunked: no other coding was asked for (no Accept-Encoding is sent).
      if (!ci_is_equal(value, "chunked")) return errc::bad_response;
      chunked = true;
    } else if (ci_is_equal(name, "content-length")) {
      std::size_t n = 0;
      if (errc e = parse_size(value, 10, n); e != errc::ok) return e;
      if (length && *length != n) return errc::bad_response;  // RFC 9112 6.3: differing lengths
      length = n;
    }
  }
  if (status == 204 || status == 304) {
    stage_ = stage::done;
  } else if (chunked) {
    stage_ = stage::chunk_size;  // Transfer-Encoding overrides Content-Length (RFC 9112 6.3)
  } else if (length) {
    if (*length > max_body_) return errc::response_too_large;
    remaining_ = *length;
    stage_ = *length == 0 ? stage::done : stage::sized;
  } else {
    stage_ = stage::until_close;
  }
  return errc::ok;
}

// read_chunk_size reads "HEX[;extensions]" (the extensions mean nothing here).
errc answer_parser::read_chunk_size(std::string_view line) {
  std::size_t size = 0;
  if (errc e = parse_size(line.substr(0, line.find(';')), 16, size); e != errc::ok) return e;
  if (size > max_body_ - response_.body.size()) return errc::response_too_large;
  remaining_ = size;
  stage_ = size == 0 ? stage::done : stage::chunk_data;
  return errc::ok;
}

}  // namespace tollgate::http_client
