// fuzz/http_answer.cc — http_client's answer parser (http_client/internal.h) under
// libFuzzer: the bytes a JWKS server or webhook receiver may send back.
//
// Invariants checked (a crash means one was broken):
//  1. Splitting: the result (status and body, or the error) is the same whether the
//     answer arrives in one read, byte by byte, or in 7-byte reads, each ending with
//     the peer's close when the parser still wants more.
//  2. Bounds: a body is never larger than the limit, and the status is that of a
//     final answer, 200..599 (interim 1xx answers are skipped, never returned).
#include <cstdint>
#include <cstdlib>
#include <expected>
#include <string_view>

#include "http_client/internal.h"

namespace {

namespace hc = tollgate::http_client;
constexpr std::size_t max_body = 512;

std::expected<hc::response, hc::errc> parse_in_reads(std::string_view in, std::size_t read_size) {
  hc::answer_parser parser(max_body);
  for (std::size_t i = 0; i < in.size(); i += read_size) {
    auto done = parser.feed(in.substr(i, read_size));
    if (!done) return std::unexpected(done.error());
    if (*done) return parser.take();
  }
  return parser.close();
}

bool same(const std::expected<hc::response, hc::errc>& a, const std::expected<hc::response, hc::errc>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return a.error() == b.error();
  return a->status == b->status && a->body == b->body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto whole = parse_in_reads(in, size == 0 ? 1 : size);
  if (!same(whole, parse_in_reads(in, 1)) || !same(whole, parse_in_reads(in, 7))) std::abort();
  if (whole && (whole->body.size() > max_body || whole->status < 200 || whole->status > 599)) std::abort();
  return 0;
}
