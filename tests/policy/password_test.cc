// tests/policy/password_test.cc — each rule, its boundary and its message.
#include "policy/password.h"

#include <gtest/gtest.h>

namespace tollgate::policy::password {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

struct rule_case {
  std::string candidate;
  std::optional<errc> error;  // nullopt: accepted under the default policy
};
class PasswordRules : public testing::TestWithParam<rule_case> {};
TEST_P(PasswordRules, DefaultPolicy) {
  const password_policy p;  // min 12, all four classes
  auto r = check(GetParam().candidate, p);
  if (GetParam().error) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), *GetParam().error) << message(r.error(), p);
  } else {
    EXPECT_TRUE(r.has_value()) << message(r.error(), p);
  }
}
INSTANTIATE_TEST_SUITE_P(
    Cases, PasswordRules,
    testing::Values(rule_case{"Abcdefgh1!xy", std::nullopt},        // exactly 12
                    rule_case{"Abcdefgh1!x", errc::too_short},      // 11
                    rule_case{"abcdefgh1!xy", errc::missing_uppercase},
                    rule_case{"ABCDEFGH1!XY", errc::missing_lowercase},
                    rule_case{"Abcdefghi!xy", errc::missing_digit},
                    rule_case{"Abcdefgh12xy", errc::missing_special},
                    rule_case{"Abcdefgh1 xy", std::nullopt},        // space is special
                    rule_case{"Abcdefgh1\xC3\xA9xy", std::nullopt}, // é is special, 12 chars
                    // 11 code points in 13 bytes: length counts characters, not bytes.
                    rule_case{"Abcdefg1\xC3\xA9\xC3\xA9x", errc::too_short},
                    rule_case{"Abcdefgh1!x\t", errc::control_character},
                    rule_case{std::string("Abcdefgh1!x\0y", 13), errc::control_character},
                    rule_case{"Abcdefgh1!x\x7f", errc::control_character},
                    rule_case{"Abcdefgh1!x\xC3", errc::invalid_utf8},       // truncated
                    rule_case{"Abcdefgh1!x\x80", errc::invalid_utf8},       // stray
                    rule_case{"Abcdefgh1!x\xC0\xAF", errc::invalid_utf8},   // overlong
                    rule_case{"Abcdefgh1!x\xED\xA0\x80", errc::invalid_utf8},  // surrogate
                    rule_case{"Abcdefgh1!x\xF4\x90\x80\x80", errc::invalid_utf8},  // > U+10FFFF
                    rule_case{"Abcdefgh1!x\xF0\x9F\x94\x92", std::nullopt},  // emoji
                    rule_case{std::string(max_bytes - 3, 'a') + "A1!", std::nullopt},
                    rule_case{std::string(max_bytes - 2, 'a') + "A1!", errc::too_long}));

TEST(PasswordRules, DisabledClassesAreNotRequired) {
  password_policy p;
  p.min_length = 8;
  p.require_uppercase = p.require_lowercase = p.require_numbers = p.require_special = false;
  EXPECT_TRUE(check("aaaaaaaa", p).has_value());
  EXPECT_EQ(check("aaaaaaa", p).error(), errc::too_short);
  p.require_numbers = true;
  EXPECT_EQ(check("aaaaaaaa", p).error(), errc::missing_digit);
}

TEST(PasswordRules, MessagesNameTheRule) {
  password_policy p;
  p.min_length = 14;
  p.history_count = 3;
  EXPECT_EQ(message(errc::missing_digit, p), "password must contain a digit");
  EXPECT_EQ(message(errc::missing_uppercase, p), "password must contain an uppercase letter");
  EXPECT_EQ(message(errc::missing_lowercase, p), "password must contain a lowercase letter");
  EXPECT_EQ(message(errc::missing_special, p), "password must contain a special character");
  EXPECT_EQ(message(errc::too_short, p), "password must be at least 14 characters");
  EXPECT_EQ(message(errc::reused, p), "password must differ from the last 3 passwords");
}

// A stand-in for Argon2id: "hash:<password>". Records every call.
struct fake_verifier {
  std::vector<std::string>* calls;
  bool operator()(std::string_view hash, std::string_view candidate) const {
    calls->emplace_back(hash);
    return hash == "hash:" + std::string(candidate);
  }
};

TEST(PasswordHistory, RejectsReuseWithinHistoryCount) {
  password_policy p;
  p.history_count = 3;
  const std::vector<std::string> history{"hash:c", "hash:b", "hash:a", "hash:old"};
  std::vector<std::string> calls;
  const verifier v = fake_verifier{&calls};
  EXPECT_EQ(check_history("c", history, p, v).error(), errc::reused);  // current one
  EXPECT_EQ(check_history("a", history, p, v).error(), errc::reused);  // 3rd newest
  calls.clear();
  EXPECT_TRUE(check_history("old", history, p, v).has_value());        // 4th: forgotten
  EXPECT_EQ(calls, (std::vector<std::string>{"hash:c", "hash:b", "hash:a"}));
  EXPECT_TRUE(check_history("new", history, p, v).has_value());
}

TEST(PasswordHistory, ZeroChecksNothing) {
  password_policy p;
  p.history_count = 0;
  std::vector<std::string> calls;
  const std::vector<std::string> history{"hash:c"};
  EXPECT_TRUE(check_history("c", history, p, fake_verifier{&calls}).has_value());
  EXPECT_TRUE(calls.empty());
}

TEST(PasswordHistory, ShortHistoryIsFine) {
  password_policy p;  // history_count 5
  std::vector<std::string> calls;
  EXPECT_TRUE(check_history("x", std::vector<std::string>{}, p, fake_verifier{&calls}));
  EXPECT_EQ(check_history("x", std::vector<std::string>{"hash:x"}, p, fake_verifier{&calls})
                .error(),
            errc::reused);
}

TEST(PasswordHistory, NextHistoryPrependsAndCuts) {
  password_policy p;
  p.history_count = 3;
  const std::vector<std::string> h{"h3", "h2", "h1"};
  EXPECT_EQ(next_history(h, "h4", p), (std::vector<std::string>{"h4", "h3", "h2"}));
  EXPECT_EQ(next_history({}, "h1", p), (std::vector<std::string>{"h1"}));
  p.history_count = 0;
  EXPECT_TRUE(next_history(h, "h4", p).empty());
  p.history_count = 5;  // raised: keeps what it has
  EXPECT_EQ(next_history(h, "h4", p), (std::vector<std::string>{"h4", "h3", "h2", "h1"}));
}

TEST(PasswordExpiry, EdgeOfTheLastDay) {
  password_policy p;
  p.expiry_days = 1;
  const sys_seconds changed{seconds{1'700'000'000}};
  EXPECT_EQ(expires_at(changed, p), changed + seconds{86400});
  EXPECT_FALSE(expired(changed, changed, p));
  EXPECT_FALSE(expired(changed, changed + seconds{86399}, p));
  EXPECT_TRUE(expired(changed, changed + seconds{86400}, p));
  EXPECT_TRUE(expired(changed, changed + seconds{86401}, p));
}

TEST(PasswordExpiry, DefaultNinetyDays) {
  const password_policy p;
  const sys_seconds changed{seconds{1'700'000'000}};
  EXPECT_FALSE(expired(changed, changed + std::chrono::days{90} - seconds{1}, p));
  EXPECT_TRUE(expired(changed, changed + std::chrono::days{90}, p));
}

TEST(PasswordExpiry, ZeroNeverExpires) {
  password_policy p;
  p.expiry_days = 0;
  const sys_seconds changed{seconds{0}};
  EXPECT_EQ(expires_at(changed, p), std::nullopt);
  EXPECT_FALSE(expired(changed, changed + std::chrono::days{100000}, p));
}

}  // namespace
}  // namespace tollgate::policy::password
