#include "authz/forward_rules.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tollgate::authz {
namespace {

forward_rules rules_or_die(std::vector<forward_rule> r) {
  auto c = forward_rules::compile(r);
  EXPECT_TRUE(c.has_value());
  return c ? std::move(*c) : forward_rules{};
}

struct match_case {
  std::string pattern;
  std::string path;
  bool want;
};
class RulePath : public testing::TestWithParam<match_case> {};
TEST_P(RulePath, Table) {
  const auto& c = GetParam();
  auto rules = rules_or_die({{"*", c.pattern, "p.x"}});
  EXPECT_EQ(rules.match("GET", c.path) != nullptr, c.want) << c.pattern << " vs " << c.path;
}
INSTANTIATE_TEST_SUITE_P(
    Globs, RulePath,
    testing::Values(
        match_case{"/bots/*", "/bots/x", true}, match_case{"/bots/*", "/bots", false},
        match_case{"/bots/*", "/bots/", false}, match_case{"/bots/*", "/bots/x/y", false},
        match_case{"/bots/*", "/botsx/y", false},
        match_case{"/bots/*/logs", "/bots/7/logs", true},
        match_case{"/bots/*/logs", "/bots/7/8/logs", false},
        match_case{"/bots/**", "/bots", true}, match_case{"/bots/**", "/bots/", true},
        match_case{"/bots/**", "/bots/a/b/c", true}, match_case{"/bots/**", "/botsa", false},
        match_case{"/**", "/", true}, match_case{"/**", "/anything/at/all", true},
        match_case{"/**/logs", "/logs", true}, match_case{"/**/logs", "/a/b/logs", true},
        match_case{"/**/logs", "/a/logs/b", false},
        match_case{"/a/**/b/**/c", "/a/x/b/y/z/c", true},
        match_case{"/a/**/b/**/c", "/a/b/c", true},
        match_case{"/a/**/b/**/c", "/a/c/b", false},
        match_case{"/a/**/*", "/a", false}, match_case{"/a/**/*", "/a/x", true},
        match_case{"/", "/", true}, match_case{"/", "/a", false},
        match_case{"/bots", "/bots/", false}, match_case{"/bots/", "/bots/", true},
        match_case{"/a%3Ab", "/a%3Ab", true}));

TEST(ForwardRules, FirstMatchWinsAndGetCoversHead) {
  auto rules = rules_or_die({{"GET", "/bots/*", "bots.use"},
                             {"POST", "/bots/**", "bots.manage"},
                             {"*", "/admin/**", "system.configure"},
                             {"*", "/public/health", ""},
                             {"*", "/**", "users.manage"}});
  auto perm = [&](std::string_view m, std::string_view p) {
    const auto* r = rules.match(m, p);
    return r ? std::string(r->permission) : std::string("<none>");
  };
  EXPECT_EQ(perm("GET", "/bots/x"), "bots.use");
  EXPECT_EQ(perm("HEAD", "/bots/x"), "bots.use");
  EXPECT_EQ(perm("POST", "/bots/x"), "bots.manage");
  EXPECT_EQ(perm("DELETE", "/bots/x"), "users.manage");
  EXPECT_EQ(perm("get", "/bots/x"), "users.manage");  // methods are case-sensitive
  EXPECT_EQ(perm("PUT", "/admin"), "system.configure");
  EXPECT_EQ(perm("GET", "/public/health"), "");
  EXPECT_EQ(rules.match("GET", "/public/health")->index, 3u);
  EXPECT_EQ(rules.size(), 5u);
}

TEST(ForwardRules, HeadRuleDoesNotCoverGet) {
  auto rules = rules_or_die({{"HEAD", "/x", "a.b"}});
  EXPECT_EQ(rules.match("GET", "/x"), nullptr);
  EXPECT_NE(rules.match("HEAD", "/x"), nullptr);
}

TEST(ForwardRules, NoRulesMatchNothing) {
  forward_rules none;
  EXPECT_EQ(none.match("GET", "/"), nullptr);
}

struct bad_rule_case {
  forward_rule rule;
  rule_errc want;
};
class BadRule : public testing::TestWithParam<bad_rule_case> {};
TEST_P(BadRule, IsRefusedWithItsIndex) {
  const auto& c = GetParam();
  std::vector<forward_rule> r = {{"GET", "/ok", "a.b"}, c.rule};
  const auto got = forward_rules::compile(r);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, c.want);
  EXPECT_EQ(got.error().index, 1u);
}
INSTANTIATE_TEST_SUITE_P(
    Config, BadRule,
    testing::Values(bad_rule_case{{"", "/x", "a.b"}, rule_errc::bad_method},
                    bad_rule_case{{"G T", "/x", "a.b"}, rule_errc::bad_method},
                    bad_rule_case{{"GET", "x", "a.b"}, rule_errc::bad_path},
                    bad_rule_case{{"GET", "", "a.b"}, rule_errc::bad_path},
                    bad_rule_case{{"GET", "/a//b", "a.b"}, rule_errc::bad_path},
                    bad_rule_case{{"GET", "/a/../b", "a.b"}, rule_errc::bad_path},
                    bad_rule_case{{"GET", "/a?x", "a.b"}, rule_errc::bad_path},
                    bad_rule_case{{"GET", "/a/*.json", "a.b"}, rule_errc::bad_path},
                    bad_rule_case{{"GET", "/a/***", "a.b"}, rule_errc::bad_path},
                    bad_rule_case{{"GET", "/a%2e", "a.b"}, rule_errc::bad_path},
                    bad_rule_case{{"GET", "/a", "bots.*"}, rule_errc::bad_permission},
                    bad_rule_case{{"GET", "/a", "bad perm"}, rule_errc::bad_permission}));

TEST(RuleErrc, EveryCodeHasAMessage) {
  for (auto e : {rule_errc::ok, rule_errc::bad_method, rule_errc::bad_path,
                 rule_errc::bad_permission})
    EXPECT_FALSE(message_of(e).empty());
}

}  // namespace
}  // namespace tollgate::authz
