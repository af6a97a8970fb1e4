#include "authz/permissions.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tollgate::authz {
namespace {

permission_set compile_or_die(std::vector<grant> grants) {
  auto set = permission_set::compile(grants);
  EXPECT_TRUE(set.has_value());
  return set ? std::move(*set) : permission_set{};
}

// --- validation ----------------------------------------------------------------

struct validate_case {
  std::string name;
  std::expected<name_kind, permission_errc> want;
};

class ValidatePermission : public testing::TestWithParam<validate_case> {};

TEST_P(ValidatePermission, Table) {
  const auto& c = GetParam();
  EXPECT_EQ(validate_permission(c.name), c.want) << c.name;
}

using enum name_kind;
using enum permission_errc;
const auto bad = [](permission_errc e) { return std::unexpected(e); };

INSTANTIATE_TEST_SUITE_P(
    Grammar, ValidatePermission,
    testing::Values(validate_case{"bots.use", concrete},
                    validate_case{"machines:read:assigned", concrete},
                    validate_case{"a", concrete}, validate_case{"A-b_9.x:Y", concrete},
                    validate_case{"*", pattern}, validate_case{"bots.*", pattern},
                    validate_case{"machines:*:assigned", pattern},
                    validate_case{"*.*", pattern}, validate_case{"", bad(empty)},
                    validate_case{std::string(256, 'a'), concrete},
                    validate_case{std::string(257, 'a'), bad(too_long)},
                    validate_case{".a", bad(empty_segment)},
                    validate_case{"a.", bad(empty_segment)},
                    validate_case{"a..b", bad(empty_segment)},
                    validate_case{"a.:b", bad(empty_segment)},
                    validate_case{":", bad(empty_segment)},
                    validate_case{"a b", bad(bad_char)},
                    validate_case{"a/b", bad(bad_char)},
                    validate_case{"caf\xc3\xa9", bad(bad_char)},
                    validate_case{std::string("a\0b", 3), bad(bad_char)},
                    validate_case{"bo*", bad(bad_wildcard)},
                    validate_case{"*o", bad(bad_wildcard)},
                    validate_case{"a.**", bad(bad_wildcard)},
                    validate_case{"a.b*.c", bad(bad_wildcard)}));

TEST(PermissionErrc, EveryCodeHasAMessage) {
  for (auto e : {ok, empty, too_long, empty_segment, bad_char, bad_wildcard})
    EXPECT_FALSE(message_of(e).empty());
}

// --- check ---------------------------------------------------------------------

struct check_case {
  std::string granted;
  std::string requested;
  bool want;
};

class CheckOneGrant : public testing::TestWithParam<check_case> {};

TEST_P(CheckOneGrant, Table) {
  const auto& c = GetParam();
  auto set = compile_or_die({{c.granted, "role:r"}});
  const auto r = set.check(c.requested);
  EXPECT_EQ(r.granted, c.want) << c.granted << " vs " << c.requested;
  EXPECT_EQ(r.source, c.want ? "role:r" : "");
}

INSTANTIATE_TEST_SUITE_P(
    Design, CheckOneGrant,
    testing::Values(
        // exact names
        check_case{"bots.use", "bots.use", true}, check_case{"bots.use", "bots.manage", false},
        check_case{"bots.use", "bots", false}, check_case{"bots.use", "bots.use.x", false},
        check_case{"bots.use", "Bots.use", false},
        // separators are not interchangeable
        check_case{"a.b", "a:b", false}, check_case{"a:b", "a.b", false},
        check_case{"a.*", "a:b", false}, check_case{"a:*", "a:b.c", true},
        // trailing '*' is one or more segments
        check_case{"bots.*", "bots.use", true}, check_case{"bots.*", "bots.x.y", true},
        check_case{"bots.*", "bots.x:y", true}, check_case{"bots.*", "bots", false},
        check_case{"bots.*", "botsx.use", false}, check_case{"bots.*", "bot.use", false},
        check_case{"machines:*", "machines:read:all", true},
        // middle '*' is exactly one segment (DESIGN.md example)
        check_case{"machines:*:assigned", "machines:read:assigned", true},
        check_case{"machines:*:assigned", "machines:operate:assigned", true},
        check_case{"machines:*:assigned", "machines:read:all", false},
        check_case{"machines:*:assigned", "machines:a:b:assigned", false},
        check_case{"machines:*:assigned", "machines:assigned", false},
        check_case{"machines:*:assigned", "machines:read.assigned", false},
        check_case{"machines:*:assigned", "components:read:assigned", false},
        check_case{"*.b", "a.b", true}, check_case{"*.b", "a.c", false},
        check_case{"*.*", "a.b", true}, check_case{"*.*", "a", false},
        check_case{"*.*", "a.b.c", true},
        // bare '*'
        check_case{"*", "bots.use", true}, check_case{"*", "x", true},
        check_case{"*", "machines:read:assigned", true},
        // requested names must be concrete and valid
        check_case{"*", "", false}, check_case{"*", "bots.*", false},
        check_case{"*", "*", false}, check_case{"bots.*", "bots.", false},
        check_case{"bots.*", "bots..x", false}, check_case{"*", "a b", false},
        check_case{"*", std::string(257, 'a'), false}));

TEST(PermissionSet, EmptyGrantsNothing) {
  permission_set set;
  EXPECT_FALSE(set.check("bots.use"));
  EXPECT_TRUE(set.empty());
  auto compiled = compile_or_die({});
  EXPECT_FALSE(compiled.check("bots.use"));
}

TEST(PermissionSet, ReportsTheSourceOfTheMatchingGrant) {
  auto set = compile_or_die({{"users.manage", "role:admin"},
                             {"bots.*", "group:support_team"},
                             {"machines:*:assigned", "group:operators"},
                             {"bots.use", "api_key:key_1"},
                             {"*", "role:root"}});
  EXPECT_EQ(set.size(), 5u);
  EXPECT_EQ(set.check("users.manage").source, "role:admin");
  // An exact grant wins over an earlier pattern.
  EXPECT_EQ(set.check("bots.use").source, "api_key:key_1");
  EXPECT_EQ(set.check("bots.manage").source, "group:support_team");
  EXPECT_EQ(set.check("machines:read:assigned").source, "group:operators");
  EXPECT_EQ(set.check("system.configure").source, "role:root");
}

TEST(PermissionSet, FirstDuplicateKeepsItsSource) {
  auto set = compile_or_die({{"a.b", "role:user"}, {"a.b", "group:g"}, {"a.*", "group:x"},
                             {"a.*", "group:y"}});
  EXPECT_EQ(set.check("a.b").source, "role:user");
  EXPECT_EQ(set.check("a.c").source, "group:x");
}

TEST(PermissionSet, CompileRejectsTheFirstBadGrant) {
  std::vector<grant> g = {{"ok.one", "role:r"}, {"bad..one", "role:r"}, {"", "role:r"}};
  auto set = permission_set::compile(g);
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().index, 1u);
  EXPECT_EQ(set.error().code, empty_segment);
}

TEST(PermissionSet, ManyExactNamesAllFound) {
  std::vector<std::string> names;
  for (int i = 0; i < 500; ++i) names.push_back("perm" + std::to_string(i) + ".x:" + std::to_string(i * 7));
  std::vector<grant> g;
  for (const auto& n : names) g.push_back({n, "role:big"});
  auto set = compile_or_die(g);
  for (const auto& n : names) EXPECT_TRUE(set.check(n)) << n;
  EXPECT_FALSE(set.check("perm1.x:8"));
  EXPECT_FALSE(set.check("perm500.x:3500"));
}

TEST(PermissionSet, SurvivesMoveAndCopy) {
  auto a = compile_or_die({{"a.b", "role:one"}, {"c.*", "role:two"}});
  permission_set b = a;
  permission_set c = std::move(a);
  EXPECT_EQ(b.check("a.b").source, "role:one");
  EXPECT_EQ(c.check("c.d").source, "role:two");
}

// --- covers / API-key subsets ----------------------------------------------------

struct covers_case {
  std::string granted;
  std::string key_permission;
  bool want;
};

class CoversOneGrant : public testing::TestWithParam<covers_case> {};

TEST_P(CoversOneGrant, Table) {
  const auto& c = GetParam();
  auto set = compile_or_die({{c.granted, "role:owner"}});
  EXPECT_EQ(set.covers(c.key_permission).granted, c.want)
      << c.granted << " covers " << c.key_permission;
}

INSTANTIATE_TEST_SUITE_P(
    Subsets, CoversOneGrant,
    testing::Values(
        // concrete key permissions: same as check()
        covers_case{"bots.*", "bots.use", true}, covers_case{"bots.use", "bots.use", true},
        covers_case{"bots.use", "bots.manage", false},
        // a pattern is covered by itself and by anything broader
        covers_case{"bots.*", "bots.*", true}, covers_case{"*", "bots.*", true},
        covers_case{"*", "*", true}, covers_case{"bots.*", "bots.x.*", true},
        covers_case{"bots.*", "bots.*.y", true}, covers_case{"bots.*", "bots.*:*", true},
        covers_case{"machines:*", "machines:*:assigned", true},
        covers_case{"machines:*:assigned", "machines:*:assigned", true},
        covers_case{"*:*:assigned", "machines:*:assigned", true},
        covers_case{"*.*", "a.*", true},  // a.* has two or more segments, *.* too
        // never wider than the owner
        covers_case{"bots.use", "bots.*", false},     // a concrete grant covers no pattern
        covers_case{"bots.*", "*", false},
        covers_case{"bots.*", "*.use", false},        // *.use includes x.use
        covers_case{"bots.x.*", "bots.*", false},     // bots.y is outside
        covers_case{"machines:*:assigned", "machines:*", false},
        covers_case{"machines:*:assigned", "machines:*:*", false},
        covers_case{"machines:read:*", "machines:*:assigned", false},
        covers_case{"a.*.c", "a.*", false},           // a.b is outside
        covers_case{"a.*.*", "a.*", false},           // a.b is outside (needs 3+)
        covers_case{"*.b", "*.*", false},
        covers_case{"*.*", "*", false},               // "x" is outside
        // separators are not interchangeable
        covers_case{"bots.*", "bots:*", false}, covers_case{"a:*:c", "a.*:c", false},
        covers_case{"a.*", "a.b:*", true},
        // invalid key permissions are never covered
        covers_case{"*", "", false}, covers_case{"*", "bo*", false},
        covers_case{"*", "a..b", false}));

TEST(FindUncovered, ReportsTheFirstPermissionOutsideTheOwner) {
  auto owner = compile_or_die({{"bots.use", "role:user"},
                               {"profile.edit", "role:user"},
                               {"machines:*:assigned", "group:ops"}});
  std::vector<std::string_view> ok = {"bots.use", "machines:read:assigned",
                                      "machines:*:assigned"};
  EXPECT_EQ(find_uncovered(owner, std::span<const std::string_view>(ok)), std::nullopt);
  std::vector<std::string> too_wide = {"bots.use", "bots.*", "users.manage"};
  EXPECT_EQ(find_uncovered(owner, std::span<const std::string>(too_wide)), 1u);
  std::vector<std::string> none;
  EXPECT_EQ(find_uncovered(owner, std::span<const std::string>(none)), std::nullopt);
}

// A brute-force cross-check: for patterns over a tiny alphabet, covers(p) must imply
// that every concrete name p matches (enumerated up to 4 segments) is granted.
TEST(CoversSoundness, NeverCoversANameTheOwnerLacks) {
  const std::vector<std::string> segs = {"a", "b", "*"};
  const std::string seps = ".:";
  std::vector<std::string> names;  // all names of 1..3 segments over segs
  std::vector<std::string> frontier = {""};
  for (int len = 1; len <= 3; ++len) {
    std::vector<std::string> next;
    for (const auto& f : frontier)
      for (const auto& s : segs)
        for (char sep : seps) {
          if (f.empty()) { next.push_back(s); break; }
          next.push_back(f + sep + s);
        }
    names.insert(names.end(), next.begin(), next.end());
    frontier = next;
  }
  // concrete probes up to 4 segments over {a, b, c}; "c" stands for any other literal.
  std::vector<std::string> probes;
  frontier = {""};
  for (int len = 1; len <= 4; ++len) {
    std::vector<std::string> next;
    for (const auto& f : frontier)
      for (const char* s : {"a", "b", "c"})
        for (char sep : seps) {
          if (f.empty()) { next.push_back(s); break; }
          next.push_back(f + sep + s);
        }
    probes.insert(probes.end(), next.begin(), next.end());
    frontier = next;
  }
  int covered_pairs = 0;
  for (const auto& g : names) {
    auto owner = compile_or_die({{g, "role:o"}});
    for (const auto& p : names) {
      auto key = compile_or_die({{p, "api_key:k"}});
      const bool covered = owner.covers(p).granted;
      bool subset = true;
      for (const auto& probe : probes)
        if (key.check(probe) && !owner.check(probe)) { subset = false; break; }
      // covers() must be sound; and within this bounded universe, exact (a longer
      // probe would only matter for trailing wildcards, which 4 segments exercise).
      EXPECT_EQ(covered, subset) << g << " covers " << p;
      covered_pairs += covered;
    }
  }
  EXPECT_GT(covered_pairs, 100);
}

}  // namespace
}  // namespace tollgate::authz
