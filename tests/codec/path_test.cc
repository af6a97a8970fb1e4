#include "codec/path.h"

#include <string>

#include <gtest/gtest.h>

namespace tollgate::codec {
namespace {

std::expected<std::string, path_errc> norm(std::string_view in) {
  std::string out(in.size(), '\0');
  const auto r = normalise_path(in, out);
  if (!r) return std::unexpected(r.error());
  return std::string(*r);
}

struct path_case {
  std::string input;
  std::expected<std::string, path_errc> want;
};
class NormalisePath : public testing::TestWithParam<path_case> {};
TEST_P(NormalisePath, Table) {
  const auto& c = GetParam();
  const auto got = norm(c.input);
  EXPECT_EQ(got, c.want) << c.input;
  if (got) {
    EXPECT_EQ(norm(*got), got) << "not idempotent: " << c.input;
  }
}
const auto err = [](path_errc e) { return std::unexpected(e); };
INSTANTIATE_TEST_SUITE_P(
    Design, NormalisePath,
    testing::Values(
        path_case{"/", "/"}, path_case{"/bots/x", "/bots/x"},
        path_case{"/bots/x?permission=a&b=../..", "/bots/x"},
        path_case{"/bots/x#frag", "/bots/x"}, path_case{"/bots/", "/bots/"},
        // RFC 3986 5.2.4
        path_case{"/a/b/c/./../../g", "/a/g"}, path_case{"/mid/content=5/../6", "/mid/6"},
        path_case{"/a/b/..", "/a/"}, path_case{"/a/b/.", "/a/b/"},
        path_case{"/..", "/"}, path_case{"/../../a", "/a"}, path_case{"/.", "/"},
        path_case{"/a/.../b", "/a/.../b"}, path_case{"/a/..b/c", "/a/..b/c"},
        // encoded dots are dots
        path_case{"/admin/%2e%2e/bots/x", "/bots/x"}, path_case{"/bots/%2E%2e/admin", "/admin"},
        path_case{"/%2e/a", "/a"}, path_case{"/a/%2e%2E", "/"},
        // other unreserved characters are decoded, the rest kept upper-cased
        path_case{"/%62ots/%7Euser", "/bots/~user"}, path_case{"/a%3ab", "/a%3Ab"},
        path_case{"/a%20b", "/a%20b"}, path_case{"/%252e%252e/x", "/%252e%252e/x"},
        // collapse '//'
        path_case{"//bots///x//", "/bots/x/"}, path_case{"//", "/"},
        path_case{"/a//../b", "/b"},
        // refusals
        path_case{"", err(path_errc::empty)},
        path_case{"bots/x", err(path_errc::not_origin_form)},
        path_case{"http://h/bots", err(path_errc::not_origin_form)},
        path_case{"?a=b", err(path_errc::not_origin_form)},
        path_case{"/a%2fb", err(path_errc::encoded_slash)},
        path_case{"/a%2Fb", err(path_errc::encoded_slash)},
        path_case{"/a%5cb", err(path_errc::encoded_slash)},
        path_case{"/a\\b", err(path_errc::bad_char)}, path_case{"/a b", err(path_errc::bad_char)},
        path_case{"/a\tb", err(path_errc::bad_char)},
        path_case{std::string("/a\0b", 4), err(path_errc::bad_char)},
        path_case{"/a%", err(path_errc::bad_percent)}, path_case{"/a%2", err(path_errc::bad_percent)},
        path_case{"/a%zz", err(path_errc::bad_percent)},
        // raw non-ASCII is passed through (it cannot spell '/' or '.')
        path_case{"/caf\xc3\xa9", "/caf\xc3\xa9"}));

TEST(NormalisePath, RefusesAShortBuffer) {
  char out[4];
  EXPECT_EQ(normalise_path("/abcdef", out).error(), path_errc::buffer_too_small);
}

TEST(PathErrc, EveryCodeHasAMessage) {
  for (auto e : {path_errc::ok, path_errc::empty, path_errc::not_origin_form,
                 path_errc::bad_percent, path_errc::encoded_slash, path_errc::bad_char,
                 path_errc::buffer_too_small})
    EXPECT_FALSE(message_of(e).empty());
}

}  // namespace
}  // namespace tollgate::codec
