// tests/crypto/totp_test.cc — RFC 6238 vectors, base32, step edges and replay.
#include "crypto/totp.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace tollgate::crypto::totp {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

const std::string rfc_key_ascii = "12345678901234567890";
std::span<const std::uint8_t> rfc_key() {
  return {reinterpret_cast<const std::uint8_t*>(rfc_key_ascii.data()), rfc_key_ascii.size()};
}
const std::string rfc_secret = base32_encode(rfc_key());

sys_seconds at(std::int64_t t) { return sys_seconds{seconds{t}}; }

struct vector_row {
  std::int64_t time;
  std::int64_t step;
  std::string code8;
};

std::vector<vector_row> load_vectors() {
  const char* path = std::getenv("RFC6238_VECTORS");
  std::vector<vector_row> rows;
  if (path == nullptr) return rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    vector_row r;
    std::string step_hex;
    fields >> r.time >> step_hex >> r.code8;
    r.step = std::stoll(step_hex, nullptr, 16);
    rows.push_back(r);
  }
  return rows;
}

TEST(Totp, Rfc6238AppendixBSha1) {
  const auto rows = load_vectors();
  ASSERT_EQ(rows.size(), 6u) << "RFC6238_VECTORS must name tests/crypto/rfc6238_sha1.txt";
  for (const auto& r : rows) {
    SCOPED_TRACE(r.time);
    EXPECT_EQ(step_at(at(r.time)), r.step);
    EXPECT_EQ(code_at(rfc_key(), at(r.time), 8), r.code8);
    // The 6-digit product code is the same truncation reduced mod 10^6.
    EXPECT_EQ(code_at(rfc_key(), at(r.time)), r.code8.substr(2));
    EXPECT_EQ(code_for(rfc_secret, at(r.time)).value(), r.code8.substr(2));
    EXPECT_EQ(verify(rfc_secret, r.code8.substr(2), at(r.time), std::nullopt).value(), r.step);
  }
}

TEST(Totp, Rfc4226AppendixDHotp) {
  // The first three HOTP values of RFC 4226 appendix D, same key.
  EXPECT_EQ(hotp(rfc_key(), 0, 6), 755224u);
  EXPECT_EQ(hotp(rfc_key(), 1, 6), 287082u);
  EXPECT_EQ(hotp(rfc_key(), 2, 6), 359152u);
}

struct base32_case {
  std::string plain, encoded;
};
class Base32 : public testing::TestWithParam<base32_case> {};
TEST_P(Base32, Rfc4648Vectors) {
  const auto& c = GetParam();
  const std::span<const std::uint8_t> bytes(
      reinterpret_cast<const std::uint8_t*>(c.plain.data()), c.plain.size());
  EXPECT_EQ(base32_encode(bytes), c.encoded);
  auto back = base32_decode(c.encoded);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::string(back->begin(), back->end()), c.plain);
}
INSTANTIATE_TEST_SUITE_P(Rfc4648, Base32,
                         testing::Values(base32_case{"", ""}, base32_case{"f", "MY"},
                                         base32_case{"fo", "MZXQ"},
                                         base32_case{"foo", "MZXW6"},
                                         base32_case{"foob", "MZXW6YQ"},
                                         base32_case{"fooba", "MZXW6YTB"},
                                         base32_case{"foobar", "MZXW6YTBOI"}));

TEST(Base32, AcceptsPaddingAndLowerCase) {
  EXPECT_EQ(base32_decode("MZXW6YQ=").value(), base32_decode("mzxw6yq").value());
}

class Base32Bad : public testing::TestWithParam<std::string> {};
TEST_P(Base32Bad, Rejected) {
  EXPECT_EQ(base32_decode(GetParam()).error(), errc::bad_secret);
}
INSTANTIATE_TEST_SUITE_P(Invalid, Base32Bad,
                         testing::Values("M", "MZX", "MZXW6Y", "MZ1W", "MZXW6YQ!",
                                         "MZ XW", "MZ",  // "MZ" leaves non-zero bits
                                         std::string("MY\0", 3)));

TEST(Totp, GeneratedSecretsAre160BitsAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const std::string s = generate_secret();
    EXPECT_EQ(s.size(), 32u);
    EXPECT_EQ(base32_decode(s).value().size(), secret_bytes);
    EXPECT_EQ(s.find('='), std::string::npos);
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 20u);
}

// Step boundaries: t = 29 is step 0, t = 30 and 31 are step 1.
TEST(TotpEdges, StepBoundaries) {
  EXPECT_EQ(step_at(at(0)), 0);
  EXPECT_EQ(step_at(at(29)), 0);
  EXPECT_EQ(step_at(at(30)), 1);
  EXPECT_EQ(step_at(at(31)), 1);
  EXPECT_EQ(step_at(at(-1)), -1);
  EXPECT_EQ(step_at(at(-30)), -1);
  EXPECT_EQ(step_at(at(-31)), -2);
}

std::string code_of_step(std::int64_t s) { return code_for(rfc_secret, at(s * 30)).value(); }

struct window_case {
  std::int64_t code_step;
  std::int64_t now;
  std::optional<std::int64_t> accepted;  // nullopt: mismatch
};
class TotpWindow : public testing::TestWithParam<window_case> {};
TEST_P(TotpWindow, PlusMinusOneStep) {
  const auto& c = GetParam();
  auto r = verify(rfc_secret, code_of_step(c.code_step), at(c.now), std::nullopt);
  if (c.accepted) {
    ASSERT_TRUE(r.has_value()) << message(r.error());
    EXPECT_EQ(*r, *c.accepted);
  } else {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::mismatch);
  }
}
INSTANTIATE_TEST_SUITE_P(
    Edges, TotpWindow,
    testing::Values(window_case{10, 299, 10},           // step 9: code of 10 is +1
                    window_case{10, 300, 10},           // step 10 itself
                    window_case{10, 329, 10},
                    window_case{10, 330, 10},           // step 11: code of 10 is -1
                    window_case{10, 359, 10},
                    window_case{10, 360, std::nullopt},  // step 12: too old
                    window_case{10, 269, std::nullopt},  // step 8: too early
                    window_case{10, 270, 10},            // step 9 begins
                    window_case{1, 29, 1},               // t = 29: step 0, +1 accepted
                    window_case{0, 30, 0},               // t = 30: step 1, -1 accepted
                    window_case{0, 31, 0}, window_case{2, 31, 2},
                    window_case{2, 29, std::nullopt}, window_case{0, 60, std::nullopt}));

TEST(TotpReplay, SameCodeNeverAcceptedTwice) {
  const std::string code = code_of_step(1);
  auto first = verify(rfc_secret, code, at(31), std::nullopt);
  ASSERT_EQ(first.value(), 1);
  EXPECT_EQ(verify(rfc_secret, code, at(31), *first).error(), errc::replayed);
  EXPECT_EQ(verify(rfc_secret, code, at(59), *first).error(), errc::replayed);
  EXPECT_EQ(verify(rfc_secret, code, at(60), *first).error(), errc::replayed);  // still in window
}

TEST(TotpReplay, OlderStepsBurnedByANewerOne) {
  // A user who logged in with step 2's code cannot then use step 1's, though both
  // are in the window at t = 45 (step 1).
  auto r = verify(rfc_secret, code_of_step(2), at(45), std::nullopt);
  ASSERT_EQ(r.value(), 2);
  EXPECT_EQ(verify(rfc_secret, code_of_step(1), at(45), 2).error(), errc::replayed);
  EXPECT_EQ(verify(rfc_secret, code_of_step(0), at(45), 2).error(), errc::replayed);
  EXPECT_EQ(verify(rfc_secret, code_of_step(3), at(75), 2).value(), 3);
}

TEST(TotpReplay, LastUsedBelowWindowDoesNotInterfere) {
  EXPECT_EQ(verify(rfc_secret, code_of_step(10), at(300), 5).value(), 10);
  EXPECT_EQ(verify(rfc_secret, code_of_step(10), at(300), 9).value(), 10);
  EXPECT_EQ(verify(rfc_secret, code_of_step(10), at(300), 10).error(), errc::replayed);
}

TEST(TotpVerify, WrongCodeIsMismatch) {
  std::string code = code_of_step(10);
  code[0] = code[0] == '9' ? '0' : static_cast<char>(code[0] + 1);
  EXPECT_EQ(verify(rfc_secret, code, at(300), std::nullopt).error(), errc::mismatch);
}

class TotpMalformed : public testing::TestWithParam<std::string> {};
TEST_P(TotpMalformed, Rejected) {
  EXPECT_EQ(verify(rfc_secret, GetParam(), at(300), std::nullopt).error(),
            errc::malformed_code);
}
INSTANTIATE_TEST_SUITE_P(Codes, TotpMalformed,
                         testing::Values("", "12345", "1234567", "12a456", " 12345",
                                         "12345\n", "-12345", std::string("12\0" "456", 6)));

TEST(TotpVerify, BadSecrets) {
  EXPECT_EQ(verify("", "123456", at(0), std::nullopt).error(), errc::bad_secret);
  EXPECT_EQ(verify("MZXW6YTBOI", "123456", at(0), std::nullopt).error(), errc::bad_secret);
  EXPECT_EQ(verify("not base32!", "123456", at(0), std::nullopt).error(), errc::bad_secret);
  EXPECT_EQ(code_for("MZXW6YTBOI", at(0)).error(), errc::bad_secret);
}

TEST(TotpVerify, BeforeEpochNothingMatches) {
  EXPECT_EQ(code_at(rfc_key(), at(-1)), "");
  // At t = -1 (step -1) only step 0 is in the window.
  EXPECT_EQ(verify(rfc_secret, code_of_step(0), at(-1), std::nullopt).value(), 0);
}

TEST(OtpauthUri, PercentEncodesIssuerAndAccount) {
  auto uri = otpauth_uri("Acme Co", "john+2fa@example.com", rfc_secret);
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(*uri, "otpauth://totp/Acme%20Co:john%2B2fa%40example.com?secret=" + rfc_secret +
                      "&issuer=Acme%20Co&algorithm=SHA1&digits=6&period=30");
  auto utf8 = otpauth_uri("tollgate", "j\xC3\xB6rg", rfc_secret);
  EXPECT_EQ(utf8.value().substr(0, 32), "otpauth://totp/tollgate:j%C3%B6r");
}

TEST(OtpauthUri, CanonicalSecretSpelling) {
  std::string lower = rfc_secret;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(otpauth_uri("a", "b", lower).value().find("secret=" + rfc_secret + "&"),
            std::string::npos);
}

TEST(OtpauthUri, RejectsColonsAndEmptyLabels) {
  EXPECT_EQ(otpauth_uri("a:b", "c", rfc_secret).error(), errc::bad_label);
  EXPECT_EQ(otpauth_uri("a", "c:d", rfc_secret).error(), errc::bad_label);
  EXPECT_EQ(otpauth_uri("", "c", rfc_secret).error(), errc::bad_label);
  EXPECT_EQ(otpauth_uri("a", "", rfc_secret).error(), errc::bad_label);
  EXPECT_EQ(otpauth_uri("a", "c", "MY").error(), errc::bad_secret);
}

}  // namespace
}  // namespace tollgate::crypto::totp
