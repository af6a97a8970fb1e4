// tests/policy/settings_test.cc — defaults, strict PATCH validation, deep merge.
#include "policy/settings.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace tollgate::policy {
namespace {

namespace json = boost::json;

TEST(Settings, DefaultsAreTheReferenceDocument) {
  // reference/security-api.md, GET /settings/security, with methods ["totp"]
  // (DESIGN.md: other methods answer 400 until a notifier supports them).
  const json::value expected = json::parse(R"({
    "password_policy": {"min_length": 12, "require_uppercase": true,
      "require_lowercase": true, "require_numbers": true, "require_special": true,
      "expiry_days": 90, "history_count": 5},
    "session_policy": {"timeout_minutes": 30, "max_sessions": 5, "remember_me_days": 30},
    "two_factor": {"enabled": false, "required_for_roles": ["admin"], "methods": ["totp"]},
    "lockout_policy": {"max_attempts": 5, "lockout_duration_minutes": 30,
      "reset_window_minutes": 15}})");
  EXPECT_EQ(json::value(to_json(security_settings{})), expected);
  EXPECT_FALSE(validate(security_settings{}).has_value());
}

TEST(Settings, ReferencePatchDeepMerges) {
  security_settings s;
  ASSERT_TRUE(apply_patch_text(s, R"({"password_policy": {"min_length": 14, "expiry_days": 60},
                                 "two_factor": {"enabled": true}})").has_value());
  security_settings expected;
  expected.password.min_length = 14;
  expected.password.expiry_days = 60;
  expected.two_factor.enabled = true;
  EXPECT_EQ(s, expected);
}

TEST(Settings, ArraysReplace) {
  security_settings s;
  ASSERT_TRUE(apply_patch_text(s, R"({"two_factor": {"required_for_roles": ["ops", "auditor"]}})"));
  EXPECT_EQ(s.two_factor.required_for_roles, (std::vector<std::string>{"ops", "auditor"}));
  ASSERT_TRUE(apply_patch_text(s, R"({"two_factor": {"required_for_roles": []}})"));
  EXPECT_TRUE(s.two_factor.required_for_roles.empty());
}

TEST(Settings, EmptyPatchChangesNothing) {
  security_settings s;
  s.lockout.max_attempts = 9;
  const security_settings before = s;
  ASSERT_TRUE(apply_patch_text(s, "{}"));
  ASSERT_TRUE(apply_patch_text(s, R"({"session_policy": {}})"));
  EXPECT_EQ(s, before);
}

struct bad_patch {
  std::string body;
  std::string error;  // field_error::to_string()
};
class SettingsRejects : public testing::TestWithParam<bad_patch> {};
TEST_P(SettingsRejects, NamesTheFieldAndLeavesTheDocument) {
  security_settings s;
  s.password.min_length = 20;
  const security_settings before = s;
  auto r = apply_patch_text(s, GetParam().body);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().to_string(), GetParam().error);
  EXPECT_EQ(s, before);
}
INSTANTIATE_TEST_SUITE_P(
    Patches, SettingsRejects,
    testing::Values(
        bad_patch{R"({"password_policy": {"min_lenght": 14}})",
                  "password_policy.min_lenght: unknown field"},
        bad_patch{R"({"passwords": {}})", "passwords: unknown field"},
        bad_patch{R"([])", "request body must be a JSON object"},
        bad_patch{R"(null)", "request body must be a JSON object"},
        bad_patch{R"({"password_policy": 5})", "password_policy: must be an object"},
        bad_patch{R"({"password_policy": null})", "password_policy: must be an object"},
        bad_patch{R"({"password_policy": {"min_length": "14"}})",
                  "password_policy.min_length: must be an integer"},
        bad_patch{R"({"password_policy": {"min_length": 14.0}})",
                  "password_policy.min_length: must be an integer"},
        bad_patch{R"({"password_policy": {"min_length": null}})",
                  "password_policy.min_length: must be an integer"},
        bad_patch{R"({"password_policy": {"min_length": 7}})",
                  "password_policy.min_length: must be an integer between 8 and 128"},
        bad_patch{R"({"password_policy": {"min_length": 129}})",
                  "password_policy.min_length: must be an integer between 8 and 128"},
        bad_patch{R"({"password_policy": {"min_length": 18446744073709551615}})",
                  "password_policy.min_length: must be an integer between 8 and 128"},
        bad_patch{R"({"password_policy": {"min_length": -9223372036854775808}})",
                  "password_policy.min_length: must be an integer between 8 and 128"},
        bad_patch{R"({"password_policy": {"require_special": 1}})",
                  "password_policy.require_special: must be a boolean"},
        bad_patch{R"({"password_policy": {"expiry_days": -1}})",
                  "password_policy.expiry_days: must be an integer between 0 and 3650"},
        bad_patch{R"({"password_policy": {"history_count": 25}})",
                  "password_policy.history_count: must be an integer between 0 and 24"},
        bad_patch{R"({"session_policy": {"timeout_minutes": 0}})",
                  "session_policy.timeout_minutes: must be an integer between 1 and 10080"},
        bad_patch{R"({"session_policy": {"max_sessions": 101}})",
                  "session_policy.max_sessions: must be an integer between 1 and 100"},
        bad_patch{R"({"session_policy": {"remember_me_days": 0}})",
                  "session_policy.remember_me_days: must be an integer between 1 and 365"},
        bad_patch{R"({"lockout_policy": {"max_attempts": 0}})",
                  "lockout_policy.max_attempts: must be an integer between 1 and 100"},
        bad_patch{R"({"lockout_policy": {"max_attempts": 101}})",
                  "lockout_policy.max_attempts: must be an integer between 1 and 100"},
        bad_patch{R"({"lockout_policy": {"lockout_duration_minutes": 10081}})",
                  "lockout_policy.lockout_duration_minutes: must be an integer between 1 and 10080"},
        bad_patch{R"({"lockout_policy": {"reset_window_minutes": 0}})",
                  "lockout_policy.reset_window_minutes: must be an integer between 1 and 10080"},
        bad_patch{R"({"two_factor": {"enabled": "yes"}})", "two_factor.enabled: must be a boolean"},
        bad_patch{R"({"two_factor": {"methods": ["totp", "sms"]}})",
                  "two_factor.methods[1]: unsupported value: only \"totp\" is available"},
        bad_patch{R"({"two_factor": {"methods": []}})",
                  "two_factor.methods: must be an array of between 1 and 4 items"},
        bad_patch{R"({"two_factor": {"methods": "totp"}})",
                  "two_factor.methods: must be an array of strings"},
        bad_patch{R"({"two_factor": {"methods": ["totp", "totp"]}})",
                  "two_factor.methods[1]: duplicate value"},
        bad_patch{R"({"two_factor": {"required_for_roles": ["admin", 3]}})",
                  "two_factor.required_for_roles[1]: must be a string"},
        bad_patch{R"({"two_factor": {"required_for_roles": [""]}})",
                  "two_factor.required_for_roles[0]: must be a role id of 1 to 64 characters"},
        bad_patch{R"({"two_factor": {"required_for_roles": ["a\u0000b"]}})",
                  "two_factor.required_for_roles[0]: must be a role id of 1 to 64 characters"},
        bad_patch{R"({"two_factor": {"required_for_roles": ["ops", "ops"]}})",
                  "two_factor.required_for_roles[1]: duplicate value"},
        // A valid field before the bad one must not be half-applied.
        bad_patch{R"({"password_policy": {"min_length": 30}, "lockout_policy": {"max_attempts": 0}})",
                  "lockout_policy.max_attempts: must be an integer between 1 and 100"}));

TEST(Settings, MalformedJsonIsAFieldlessError) {
  security_settings s;
  auto r = apply_patch_text(s, R"({"password_policy": )");
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().field.empty());
  EXPECT_EQ(r.error().message.rfind("malformed JSON", 0), 0u);
  EXPECT_FALSE(apply_patch_text(s, std::string(100, '[')).has_value());  // past the depth limit
}

TEST(Settings, BoundariesAccepted) {
  security_settings s;
  ASSERT_TRUE(apply_patch_text(s, R"({"password_policy": {"min_length": 8, "expiry_days": 0,
      "history_count": 0}, "lockout_policy": {"max_attempts": 1,
      "lockout_duration_minutes": 10080, "reset_window_minutes": 1}})"));
  EXPECT_EQ(s.password.min_length, 8);
  EXPECT_EQ(s.lockout.lockout_duration_minutes, 10080);
  ASSERT_TRUE(apply_patch_text(s, R"({"password_policy": {"min_length": 128}})"));
  EXPECT_EQ(s.password.min_length, 128);
}

TEST(Settings, ValidateCatchesWhatAPatchWouldReject) {
  security_settings s;
  s.lockout.max_attempts = 0;
  EXPECT_EQ(validate(s)->to_string(),
            "lockout_policy.max_attempts: must be an integer between 1 and 100");
  s = {};
  s.two_factor.methods = {"totp", "sms"};
  EXPECT_EQ(validate(s)->field, "two_factor.methods[1]");
}

TEST(Settings, SerializeParseRoundTrip) {
  security_settings s;
  ASSERT_TRUE(apply_patch_text(s, R"({"session_policy": {"max_sessions": 2},
      "two_factor": {"enabled": true, "required_for_roles": ["admin", "ops"]}})"));
  auto back = parse(serialize(s));
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_EQ(*back, s);
}

TEST(Settings, ParseFillsMissingFieldsWithDefaults) {
  auto s = parse(R"({"lockout_policy": {"max_attempts": 3}})");
  ASSERT_TRUE(s.has_value());
  security_settings expected;
  expected.lockout.max_attempts = 3;
  EXPECT_EQ(*s, expected);
  EXPECT_EQ(parse(R"({"lockout_policy": {"max_attempts": 300}})").error().field,
            "lockout_policy.max_attempts");
}

}  // namespace
}  // namespace tollgate::policy
