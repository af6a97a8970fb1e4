// fuzz/http_parser.cc — engine/http.cc under libFuzzer.
//
// Invariants checked (a crash means one was broken):
//  1. Resumption: parsing every prefix of the input gives `partial` until the first
//     non-partial result, which equals the result of parsing the whole input (same
//     status, error and consumed). Complete happens exactly at the head's last byte.
//  2. Round trip: a complete head re-serialised from its views ("M T HTTP/1.x",
//     "name: value" lines) parses to the same head.
//  3. Chunked: the bytes after the head (or the whole input if there is no head) give
//     the same result and decoded body whether fed at once, byte by byte or in steps;
//     a complete body re-encoded as one chunk decodes to itself.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/http.h"

namespace http = tollgate::engine::http;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

constexpr std::size_t slot_count = 24;

struct head_copy {
  std::string method, target, path, query;
  int minor = 0;
  std::string headers;  // name '\0' value '\0' ...
  bool keep_alive = false, chunked = false, expect = false;
  std::uint64_t content_length = 0;
  bool operator==(const head_copy&) const = default;
};

head_copy copy_of(const http::request_head& h) {
  head_copy c{std::string(h.method_text), std::string(h.target), std::string(h.path), std::string(h.query),
              h.minor_version, {}, h.keep_alive, h.chunked, h.expect_continue, h.content_length};
  for (const http::header& x : h.headers) {
    c.headers.append(x.name).push_back('\0');
    c.headers.append(x.value).push_back('\0');
  }
  return c;
}

bool same(const http::parse_result& a, const http::parse_result& b) {
  return a.status == b.status && a.error == b.error && a.consumed == b.consumed;
}

struct decoded {
  http::chunked_decoder::result r;
  std::string body;
};

decoded decode(std::string_view in, std::size_t step, std::size_t max_body) {
  std::string buf(in);
  http::chunked_decoder d(max_body);
  http::chunked_decoder::result r;
  for (std::size_t n = std::min(step, buf.size());; n = std::min(n + step, buf.size())) {
    r = d.decode(buf.data(), n);
    if (r.status != http::parse_status::partial || n == buf.size()) break;
  }
  return {r, buf.substr(0, d.decoded_total())};
}

void check_chunked(std::string_view in, std::size_t max_body) {
  const decoded whole = decode(in, in.size() + 1, max_body);
  for (std::size_t step : {std::size_t{1}, 1 + in.size() % 7}) {
    const decoded part = decode(in, step, max_body);
    check(part.r.status == whole.r.status && part.r.error == whole.r.error &&
              part.r.consumed == whole.r.consumed,
          "chunked: split result differs");
    if (whole.r.status == http::parse_status::complete) check(part.body == whole.body, "chunked: body differs");
  }
  if (whole.r.status == http::parse_status::complete) {
    check(whole.body.size() <= max_body, "chunked: body over limit");
    char size_line[32];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", whole.body.size());
    std::string again = std::string(size_line, static_cast<std::size_t>(n)) + whole.body +
                        (whole.body.empty() ? "" : "\r\n0\r\n") + "\r\n";
    const decoded re = decode(again, again.size() + 1, max_body);
    check(re.r.status == http::parse_status::complete && re.body == whole.body, "chunked: re-encode differs");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // The limits vary with the input length so their edges are reached too.
  const http::limits lim{std::size_t{64} << (size % 5), 4096};
  std::array<http::header, slot_count> slots;
  http::request_head head;
  const http::parse_result whole = http::parse_request_head(in, lim, slots, head);
  check(whole.status != http::parse_status::complete || whole.consumed <= lim.max_header_bytes,
        "complete head over the limit");
  check(whole.status != http::parse_status::partial || size < lim.max_header_bytes,
        "partial while the buffer holds max_header_bytes");

  // 1. Resumption at every split point (prefixes past the limit behave like the whole).
  {
    std::array<http::header, slot_count> s2;
    http::request_head h2;
    http::parse_result first{};
    const std::size_t last = std::min(size, lim.max_header_bytes);
    for (std::size_t n = 0; n <= last; ++n) {
      first = http::parse_request_head(in.substr(0, n), lim, s2, h2);
      if (first.status != http::parse_status::partial) break;
    }
    check(same(first, whole), "prefix parse differs from whole parse");
    if (whole.status == http::parse_status::complete) check(copy_of(h2) == copy_of(head), "prefix head differs");
  }

  if (whole.status == http::parse_status::complete) {
    // 2. Re-serialise from the views and parse again.
    std::string re;
    re.append(head.method_text).append(" ").append(head.target).append(" HTTP/1.");
    re.push_back(static_cast<char>('0' + head.minor_version));
    re.append("\r\n");
    for (const http::header& h : head.headers) re.append(h.name).append(": ").append(h.value).append("\r\n");
    re.append("\r\n");
    std::array<http::header, slot_count> s3;
    http::request_head h3;
    const http::limits roomy{re.size(), lim.max_body_bytes};
    const http::parse_result r3 = http::parse_request_head(re, roomy, s3, h3);
    check(r3.status == http::parse_status::complete && r3.consumed == re.size(), "re-serialised head not complete");
    check(copy_of(h3) == copy_of(head), "re-serialised head differs");
  }

  // 3. The chunked decoder over the body bytes.
  check_chunked(whole.status == http::parse_status::complete ? in.substr(whole.consumed) : in, lim.max_body_bytes);
  return 0;
}
