// tests/engine/http_test.cc — engine/http.cc: request-head parser, chunked decoder.
#include "engine/http.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace tollgate::engine::http {
namespace {

using namespace std::string_literals;

constexpr std::size_t slot_count = 32;

struct parsed {
  parse_result r;
  request_head head;
  std::array<header, slot_count> slots;
};

parse_result parse(std::string_view in, const limits& lim, request_head& head, std::span<header> slots) {
  return parse_request_head(in, lim, slots, head);
}

// feed_bytewise parses every prefix of `in` and returns the first result that is not
// partial (or the last partial one). It also checks that a complete parse happens
// exactly when the head's last byte arrives.
parse_result feed_bytewise(std::string_view in, const limits& lim) {
  std::array<header, slot_count> slots;
  request_head head;
  parse_result r;
  for (std::size_t n = 0; n <= in.size(); ++n) {
    r = parse(in.substr(0, n), lim, head, slots);
    if (r.status == parse_status::complete) {
      EXPECT_EQ(r.consumed, n) << "complete before the head's end";
      return r;
    }
    if (r.status == parse_status::error) return r;
  }
  return r;
}

struct head_case {
  const char* name;
  std::string input;
  errc want;  // ok: complete
  std::size_t max_header_bytes = 8192;
  std::size_t max_body_bytes = 1048576;
};

void PrintTo(const head_case& c, std::ostream* os) { *os << c.name; }

class HeadTest : public ::testing::TestWithParam<head_case> {};

TEST_P(HeadTest, OneShotAndBytewiseAgree) {
  const head_case& c = GetParam();
  limits lim{c.max_header_bytes, c.max_body_bytes};
  std::array<header, slot_count> slots;
  request_head head;
  const parse_result whole = parse(c.input, lim, head, slots);
  if (c.want == errc::ok) {
    ASSERT_EQ(whole.status, parse_status::complete) << message_of(whole.error);
    EXPECT_EQ(whole.consumed, c.input.size());
  } else {
    ASSERT_EQ(whole.status, parse_status::error);
    EXPECT_EQ(whole.error, c.want) << message_of(whole.error);
  }
  const parse_result bytewise = feed_bytewise(c.input, lim);
  EXPECT_EQ(bytewise.status, whole.status);
  EXPECT_EQ(bytewise.error, whole.error);
  EXPECT_EQ(bytewise.consumed, whole.consumed);
}

const std::string H = "Host: a\r\n";

INSTANTIATE_TEST_SUITE_P(
    Http, HeadTest,
    ::testing::Values(
        head_case{"simple_get", "GET / HTTP/1.1\r\n" + H + "\r\n", errc::ok},
        head_case{"http10_no_host", "GET / HTTP/1.0\r\n\r\n", errc::ok},
        head_case{"query", "GET /a/b?x=1&y=%20 HTTP/1.1\r\n" + H + "\r\n", errc::ok},
        head_case{"absolute_form", "GET http://example.com/x?q HTTP/1.1\r\n" + H + "\r\n", errc::ok},
        head_case{"absolute_form_empty_path", "GET https://example.com HTTP/1.1\r\n" + H + "\r\n", errc::ok},
        head_case{"absolute_form_bad_scheme", "GET ftp://example.com/ HTTP/1.1\r\n" + H + "\r\n",
                  errc::bad_request_line},
        head_case{"absolute_form_no_authority", "GET http:///x HTTP/1.1\r\n" + H + "\r\n",
                  errc::bad_request_line},
        head_case{"authority_form", "CONNECT example.com:443 HTTP/1.1\r\n" + H + "\r\n",
                  errc::bad_request_line},
        head_case{"asterisk_options", "OPTIONS * HTTP/1.1\r\n" + H + "\r\n", errc::ok},
        head_case{"asterisk_get", "GET * HTTP/1.1\r\n" + H + "\r\n", errc::bad_request_line},
        head_case{"unknown_method_token", "PROPFIND / HTTP/1.1\r\n" + H + "\r\n", errc::ok},
        head_case{"method_bad_char", "GE(T / HTTP/1.1\r\n" + H + "\r\n", errc::bad_request_line},
        head_case{"empty_method", " / HTTP/1.1\r\n" + H + "\r\n", errc::bad_request_line},
        head_case{"two_spaces", "GET  / HTTP/1.1\r\n" + H + "\r\n", errc::bad_request_line},
        head_case{"space_in_target", "GET /a b HTTP/1.1\r\n" + H + "\r\n", errc::bad_request_line},
        head_case{"ctl_in_target", "GET /a\x01 HTTP/1.1\r\n" + H + "\r\n", errc::bad_request_line},
        head_case{"fragment_in_target", "GET /a#f HTTP/1.1\r\n" + H + "\r\n", errc::bad_request_line},
        head_case{"obs_text_in_target", "GET /\xc3\xa9 HTTP/1.1\r\n" + H + "\r\n", errc::bad_request_line},
        head_case{"http09", "GET /\r\n\r\n", errc::bad_request_line},
        head_case{"lowercase_version", "GET / http/1.1\r\n" + H + "\r\n", errc::bad_request_line},
        head_case{"http20", "GET / HTTP/2.0\r\n" + H + "\r\n", errc::bad_version},
        head_case{"http12", "GET / HTTP/1.2\r\n" + H + "\r\n", errc::bad_version},
        head_case{"http09_version", "GET / HTTP/0.9\r\n" + H + "\r\n", errc::bad_version},
        head_case{"version_trailing_space", "GET / HTTP/1.1 \r\n" + H + "\r\n", errc::bad_request_line},
        head_case{"request_line_bare_lf", "GET / HTTP/1.1\n" + H + "\r\n", errc::bad_request_line},
        head_case{"header_bare_lf", "GET / HTTP/1.1\r\nHost: a\n\r\n", errc::bad_header},
        head_case{"final_bare_lf", "GET / HTTP/1.1\r\n" + H + "\n", errc::bad_header},
        head_case{"cr_without_lf", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", errc::bad_header},
        head_case{"space_before_colon", "GET / HTTP/1.1\r\n" + H + "X-A : b\r\n\r\n", errc::bad_header},
        head_case{"obs_fold", "GET / HTTP/1.1\r\n" + H + "X-A: b\r\n c\r\n\r\n", errc::bad_header},
        head_case{"leading_ws_first_header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", errc::bad_header},
        head_case{"empty_name", "GET / HTTP/1.1\r\n" + H + ": b\r\n\r\n", errc::bad_header},
        head_case{"no_colon", "GET / HTTP/1.1\r\n" + H + "X-A\r\n\r\n", errc::bad_header},
        head_case{"bad_name_char", "GET / HTTP/1.1\r\n" + H + "X(A: b\r\n\r\n", errc::bad_header},
        head_case{"nul_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"s,
                  errc::bad_header},
        head_case{"del_in_value", "GET / HTTP/1.1\r\n" + H + "X: a\x7f" "b\r\n\r\n", errc::bad_header},
        head_case{"ctl_in_long_value", "GET / HTTP/1.1\r\n" + H + "X: aaaaaaaaaaaaaaa\x01zzzzzzzzz\r\n\r\n",
                  errc::bad_header},
        head_case{"htab_and_obs_text_in_value", "GET / HTTP/1.1\r\n" + H + "X: a\tb\xff c\r\n\r\n", errc::ok},
        head_case{"empty_value", "GET / HTTP/1.1\r\n" + H + "X:\r\n\r\n", errc::ok},
        head_case{"http11_missing_host", "GET / HTTP/1.1\r\n\r\n", errc::bad_host},
        head_case{"two_hosts", "GET / HTTP/1.1\r\n" + H + H + "\r\n", errc::bad_host},
        head_case{"cl_ok", "POST / HTTP/1.1\r\n" + H + "Content-Length: 12\r\n\r\n", errc::ok},
        head_case{"cl_same_twice", "POST / HTTP/1.1\r\n" + H + "Content-Length: 3\r\ncontent-length: 3\r\n\r\n",
                  errc::ok},
        head_case{"cl_conflict", "POST / HTTP/1.1\r\n" + H + "Content-Length: 3\r\nContent-Length: 4\r\n\r\n",
                  errc::bad_content_length},
        head_case{"cl_list", "POST / HTTP/1.1\r\n" + H + "Content-Length: 3, 3\r\n\r\n", errc::bad_content_length},
        head_case{"cl_sign", "POST / HTTP/1.1\r\n" + H + "Content-Length: +3\r\n\r\n", errc::bad_content_length},
        head_case{"cl_hex", "POST / HTTP/1.1\r\n" + H + "Content-Length: 0x3\r\n\r\n", errc::bad_content_length},
        head_case{"cl_empty", "POST / HTTP/1.1\r\n" + H + "Content-Length:\r\n\r\n", errc::bad_content_length},
        head_case{"cl_overflow", "POST / HTTP/1.1\r\n" + H + "Content-Length: 18446744073709551616\r\n\r\n",
                  errc::bad_content_length},
        head_case{"cl_max_u64_too_large", "POST / HTTP/1.1\r\n" + H + "Content-Length: 18446744073709551615\r\n\r\n",
                  errc::body_too_large},
        head_case{"cl_over_body_limit", "POST / HTTP/1.1\r\n" + H + "Content-Length: 101\r\n\r\n",
                  errc::body_too_large, 8192, 100},
        head_case{"cl_at_body_limit", "POST / HTTP/1.1\r\n" + H + "Content-Length: 100\r\n\r\n", errc::ok, 8192, 100},
        head_case{"te_chunked", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n", errc::ok},
        head_case{"te_chunked_case", "POST / HTTP/1.1\r\n" + H + "transfer-encoding: ChUnKeD\r\n\r\n", errc::ok},
        head_case{"te_gzip", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n\r\n",
                  errc::bad_transfer_encoding},
        head_case{"te_identity", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: identity\r\n\r\n",
                  errc::bad_transfer_encoding},
        head_case{"te_chunked_twice", "POST / HTTP/1.1\r\n" + H +
                  "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", errc::bad_framing},
        head_case{"te_and_cl", "POST / HTTP/1.1\r\n" + H + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                  errc::bad_framing},
        head_case{"te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", errc::bad_framing},
        head_case{"te_empty", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: ,\r\n\r\n", errc::bad_header},
        // Limits: the head (request line + headers + final CRLF) is exactly 32 bytes.
        head_case{"head_at_limit", "GET /aaaaa HTTP/1.1\r\nHost: a\r\n\r\n", errc::ok, 32},
        head_case{"head_one_over_limit", "GET /aaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", errc::headers_too_large, 32},
        head_case{"request_line_over_limit", "GET /" + std::string(40, 'a') + " HTTP/1.1\r\n" + H + "\r\n",
                  errc::uri_too_long, 32},
        head_case{"headers_over_limit", "GET / HTTP/1.1\r\n" + H + "X: " + std::string(100, 'v') + "\r\n\r\n",
                  errc::headers_too_large, 64},
        head_case{"too_many_headers", [] {
                    std::string s = "GET / HTTP/1.1\r\n" + H;
                    for (std::size_t i = 0; i < slot_count; ++i) s += "X: y\r\n";
                    return s + "\r\n";
                  }(), errc::headers_too_large},
        head_case{"exactly_slot_count_headers", [] {
                    std::string s = "GET / HTTP/1.1\r\n" + H;
                    for (std::size_t i = 1; i < slot_count; ++i) s += "X: y\r\n";
                    return s + "\r\n";
                  }(), errc::ok}),
    [](const ::testing::TestParamInfo<head_case>& i) { return std::string(i.param.name); });

// Fields of a complete parse.
TEST(Http, FieldsOfTypicalRequest) {
  const std::string in =
      "GET /auth/verify?permission=bots.use HTTP/1.1\r\n"
      "Host: tollgate:8080\r\n"
      "Authorization:   Bearer abc.def.ghi  \t\r\n"
      "X-Empty:\r\n"
      "\r\n"
      "BODY";
  std::array<header, 8> slots;
  request_head h;
  const parse_result r = parse_request_head(in, limits{}, slots, h);
  ASSERT_EQ(r.status, parse_status::complete);
  EXPECT_EQ(in.substr(r.consumed), "BODY");
  EXPECT_EQ(h.verb, method::get);
  EXPECT_EQ(h.method_text, "GET");
  EXPECT_EQ(h.target, "/auth/verify?permission=bots.use");
  EXPECT_EQ(h.path, "/auth/verify");
  EXPECT_EQ(h.query, "permission=bots.use");
  EXPECT_EQ(h.minor_version, 1);
  ASSERT_EQ(h.headers.size(), 3u);
  EXPECT_EQ(h.headers[1].name, "Authorization");
  EXPECT_EQ(h.headers[1].value, "Bearer abc.def.ghi");
  EXPECT_EQ(h.headers[2].value, "");
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.chunked);
  EXPECT_EQ(h.content_length, 0u);
  // Views point into the input: nothing was copied.
  EXPECT_GE(h.headers[1].value.data(), in.data());
  EXPECT_LT(h.headers[1].value.data(), in.data() + in.size());
}

TEST(Http, AbsoluteFormPath) {
  std::array<header, 4> slots;
  request_head h;
  std::string in = "GET http://example.com:8080/a/b?c HTTP/1.1\r\nHost: example.com\r\n\r\n";
  ASSERT_EQ(parse_request_head(in, limits{}, slots, h).status, parse_status::complete);
  EXPECT_EQ(h.path, "/a/b");
  EXPECT_EQ(h.query, "c");
  in = "GET http://example.com?c HTTP/1.1\r\nHost: example.com\r\n\r\n";
  ASSERT_EQ(parse_request_head(in, limits{}, slots, h).status, parse_status::complete);
  EXPECT_EQ(h.path, "/");
  EXPECT_EQ(h.query, "c");
}

struct conn_case {
  const char* name;
  std::string head;
  bool keep_alive;
  bool expect_continue;
};
void PrintTo(const conn_case& c, std::ostream* os) { *os << c.name; }
class ConnectionTest : public ::testing::TestWithParam<conn_case> {};

TEST_P(ConnectionTest, Derived) {
  const conn_case& c = GetParam();
  std::array<header, 8> slots;
  request_head h;
  ASSERT_EQ(parse_request_head(c.head, limits{}, slots, h).status, parse_status::complete);
  EXPECT_EQ(h.keep_alive, c.keep_alive);
  EXPECT_EQ(h.expect_continue, c.expect_continue);
}

INSTANTIATE_TEST_SUITE_P(
    Http, ConnectionTest,
    ::testing::Values(
        conn_case{"v11_default", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true, false},
        conn_case{"v11_close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false, false},
        conn_case{"v11_close_in_list", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n", false,
                  false},
        conn_case{"v10_default", "GET / HTTP/1.0\r\n\r\n", false, false},
        conn_case{"v10_keep_alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true, false},
        conn_case{"v10_keep_alive_and_close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false,
                  false},
        conn_case{"expect", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", true,
                  true},
        conn_case{"expect_other", "POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", true, false},
        conn_case{"expect_http10_ignored", "POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", false, false}),
    [](const ::testing::TestParamInfo<conn_case>& i) { return std::string(i.param.name); });

TEST(Http, PipelinedRequests) {
  const std::string in =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
      "GET /d HT";
  std::array<header, 8> slots;
  request_head h;
  std::string_view rest = in;
  std::vector<std::string> paths;
  for (;;) {
    const parse_result r = parse_request_head(rest, limits{}, slots, h);
    if (r.status != parse_status::complete) {
      EXPECT_EQ(r.status, parse_status::partial);
      break;
    }
    paths.emplace_back(h.path);
    rest.remove_prefix(r.consumed + h.content_length);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"/a", "/b", "/c"}));
  EXPECT_EQ(rest, "GET /d HT");
}

// A client that never ends its head cannot make the caller buffer more than the
// limit: at max_header_bytes the parser answers, before the head is complete.
TEST(Http, PartialOverLimitIsAnErrorNotPartial) {
  limits lim{64, 100};
  std::array<header, 8> slots;
  request_head h;
  std::string in = "GET / HTTP/1.1\r\nX: " + std::string(200, 'a');
  EXPECT_EQ(parse_request_head(std::string_view(in).substr(0, 63), lim, slots, h).status, parse_status::partial);
  const parse_result r = parse_request_head(std::string_view(in).substr(0, 64), lim, slots, h);
  EXPECT_EQ(r.status, parse_status::error);
  EXPECT_EQ(r.error, errc::headers_too_large);
  const std::string line = "GET /" + std::string(200, 'a');
  const parse_result r2 = parse_request_head(std::string_view(line).substr(0, 64), lim, slots, h);
  EXPECT_EQ(r2.error, errc::uri_too_long);
}

TEST(Http, StatusAndMessageForEveryError) {
  const std::pair<errc, int> want[] = {
      {errc::bad_request_line, 400}, {errc::bad_version, 505},       {errc::bad_header, 400},
      {errc::bad_content_length, 400}, {errc::bad_transfer_encoding, 501}, {errc::uri_too_long, 414},
      {errc::headers_too_large, 431}, {errc::body_too_large, 413},   {errc::bad_chunk, 400},
      {errc::bad_framing, 400},      {errc::bad_host, 400}};
  for (auto [e, status] : want) {
    EXPECT_EQ(status_of(e), status);
    EXPECT_FALSE(message_of(e).empty());
  }
}

TEST(Http, MethodOfIsCaseSensitive) {
  EXPECT_EQ(method_of("GET"), method::get);
  EXPECT_EQ(method_of("DELETE"), method::delete_);
  EXPECT_EQ(method_of("OPTIONS"), method::options);
  EXPECT_EQ(method_of("PATCH"), method::patch);
  EXPECT_EQ(method_of("get"), method::other);
  EXPECT_EQ(method_of("GETS"), method::other);
}

TEST(Http, Iequals) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_FALSE(iequals("Content-Length", "content-lengtx"));
  EXPECT_FALSE(iequals("a", "ab"));
  EXPECT_FALSE(iequals("[", "{"));  // '[' + 32 is '{': only letters fold
}

// ---- chunked decoder ----

struct chunk_case {
  const char* name;
  std::string input;   // body bytes after the head, possibly followed by more
  errc want;           // ok: complete
  std::string decoded = {};  // when ok
  std::size_t consumed = 0;  // when ok; 0 means input.size()
  std::size_t max_body = 1048576;
};
void PrintTo(const chunk_case& c, std::ostream* os) { *os << c.name; }
class ChunkedTest : public ::testing::TestWithParam<chunk_case> {};

struct chunk_outcome {
  chunked_decoder::result r;
  std::string decoded;
};

// decode_in_steps feeds `in` to a fresh decoder growing the buffer by `step` bytes.
chunk_outcome decode_in_steps(const std::string& in, std::size_t step, std::size_t max_body) {
  std::string buf = in;  // decoded in place; the test copy keeps `in` intact
  chunked_decoder d(max_body);
  chunked_decoder::result r;
  for (std::size_t n = std::min(step, buf.size());; n = std::min(n + step, buf.size())) {
    r = d.decode(buf.data(), n);
    if (r.status != parse_status::partial || n == buf.size()) break;
  }
  return {r, buf.substr(0, d.decoded_total())};
}

TEST_P(ChunkedTest, OneShotAndBytewiseAgree) {
  const chunk_case& c = GetParam();
  for (std::size_t step : {c.input.size() + 1, std::size_t{1}, std::size_t{3}}) {
    SCOPED_TRACE(step);
    const chunk_outcome o = decode_in_steps(c.input, step, c.max_body);
    if (c.want == errc::ok) {
      ASSERT_EQ(o.r.status, parse_status::complete) << message_of(o.r.error);
      EXPECT_EQ(o.decoded, c.decoded);
      EXPECT_EQ(o.r.consumed, c.consumed ? c.consumed : c.input.size());
    } else {
      ASSERT_EQ(o.r.status, parse_status::error);
      EXPECT_EQ(o.r.error, c.want) << message_of(o.r.error);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Http, ChunkedTest,
    ::testing::Values(
        // RFC 9112 7.1 style examples
        chunk_case{"two_chunks", "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n", errc::ok, "Wikipedia"},
        chunk_case{"hex_upper_lower", "a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", errc::ok,
                   "0123456789abcdefghij"},
        chunk_case{"empty_body", "0\r\n\r\n", errc::ok, ""},
        chunk_case{"leading_zeros", "0004\r\nabcd\r\n000\r\n\r\n", errc::ok, "abcd"},
        chunk_case{"extension", "4;name=value;x\r\nabcd\r\n0;last\r\n\r\n", errc::ok, "abcd"},
        chunk_case{"extension_bws", "4 ;a=\"q s\"\r\nabcd\r\n0\r\n\r\n", errc::ok, "abcd"},
        chunk_case{"trailers", "4\r\nabcd\r\n0\r\nX-Sum: 1\r\nX-Other: two words\r\n\r\n", errc::ok, "abcd"},
        chunk_case{"pipelined_after", "1\r\nz\r\n0\r\n\r\nGET / HTTP/1.1\r\n", errc::ok, "z", 11},
        chunk_case{"data_with_crlf_inside", "4\r\n\r\n\r\n\r\n0\r\n\r\n", errc::ok, "\r\n\r\n"},
        chunk_case{"at_body_limit", "5\r\nhello\r\n0\r\n\r\n", errc::ok, "hello", 0, 5},
        chunk_case{"over_body_limit", "5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n", errc::body_too_large, "", 0, 5},
        chunk_case{"huge_size_over_limit", "ffffffffff\r\n", errc::body_too_large},
        chunk_case{"size_overflow", "10000000000000000\r\n", errc::bad_chunk},
        chunk_case{"no_digits", "\r\n", errc::bad_chunk},
        chunk_case{"bad_digit", "4g\r\nabcd\r\n0\r\n\r\n", errc::bad_chunk},
        chunk_case{"negative", "-4\r\nabcd\r\n0\r\n\r\n", errc::bad_chunk},
        chunk_case{"trailing_ws_no_ext", "4 \r\nabcd\r\n0\r\n\r\n", errc::bad_chunk},
        chunk_case{"bare_lf_size", "4\nabcd\r\n0\r\n\r\n", errc::bad_chunk},
        chunk_case{"bare_lf_after_data", "4\r\nabcd\n0\r\n\r\n", errc::bad_chunk},
        chunk_case{"data_too_long", "4\r\nabcde\r\n0\r\n\r\n", errc::bad_chunk},
        chunk_case{"ctl_in_extension", "4;a\x01\r\nabcd\r\n0\r\n\r\n", errc::bad_chunk},
        chunk_case{"long_extension", "4;" + std::string(2000, 'x') + "\r\nabcd\r\n0\r\n\r\n", errc::bad_chunk},
        chunk_case{"long_leading_zeros", std::string(2000, '0') + "4\r\nabcd\r\n0\r\n\r\n", errc::bad_chunk},
        chunk_case{"trailer_obs_fold", "0\r\nX: a\r\n b\r\n\r\n", errc::bad_chunk},
        chunk_case{"trailer_no_colon", "0\r\nX\r\n\r\n", errc::bad_chunk},
        chunk_case{"trailer_bare_lf", "0\r\nX: a\n\r\n", errc::bad_chunk},
        chunk_case{"trailer_too_long", "0\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", errc::bad_chunk},
        chunk_case{"end_without_crlf", "0\r\n\rX", errc::bad_chunk}),
    [](const ::testing::TestParamInfo<chunk_case>& i) { return std::string(i.param.name); });

TEST(Chunked, PartialUntilTheEnd) {
  const std::string in = "4\r\nabcd\r\n0\r\n\r\n";
  std::string buf = in;
  chunked_decoder d(100);
  for (std::size_t n = 0; n < in.size(); ++n) {
    EXPECT_EQ(d.decode(buf.data(), n).status, parse_status::partial) << n;
  }
  const auto r = d.decode(buf.data(), buf.size());
  EXPECT_EQ(r.status, parse_status::complete);
  // Calling again after complete reads nothing more.
  EXPECT_EQ(d.decode(buf.data(), buf.size()).consumed, r.consumed);
  EXPECT_EQ(buf.substr(0, d.decoded_total()), "abcd");
}

}  // namespace
}  // namespace tollgate::engine::http
