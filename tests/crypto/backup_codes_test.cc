// tests/crypto/backup_codes_test.cc — generation, one-time consumption, storage form.
#include "crypto/backup_codes.h"

#include <gtest/gtest.h>

#include <set>

namespace tollgate::crypto::backup_codes {
namespace {

TEST(BackupCodes, GeneratesTenDistinctFormattedCodes) {
  const generated g = generate();
  ASSERT_EQ(g.codes.size(), count);
  ASSERT_EQ(g.record.hashes_hex.size(), count);
  std::set<std::string> distinct(g.codes.begin(), g.codes.end());
  EXPECT_EQ(distinct.size(), count);
  for (const auto& c : g.codes) {
    ASSERT_EQ(c.size(), 11u);
    EXPECT_EQ(c[5], '-');
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (i != 5) {
        EXPECT_NE(alphabet.find(c[i]), std::string_view::npos) << c;
      }
    }
    // The record holds hashes, never the code itself.
    EXPECT_EQ(encode(g.record).find(c.substr(0, 5)), std::string::npos);
  }
  EXPECT_NE(generate().record.salt_hex, g.record.salt_hex);
}

TEST(BackupCodes, EachCodeWorksExactlyOnce) {
  generated g = generate();
  stored record = g.record;
  for (std::size_t i = 0; i < count; ++i) {
    auto left = consume(record, g.codes[i]);
    ASSERT_TRUE(left.has_value()) << message(left.error());
    EXPECT_EQ(*left, count - 1 - i);
    EXPECT_EQ(consume(record, g.codes[i]).error(), errc::no_match);
  }
  EXPECT_TRUE(record.hashes_hex.empty());
}

TEST(BackupCodes, InputIsNormalised) {
  generated g = generate();
  std::string messy = g.codes[3];
  for (char& ch : messy) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  messy = messy.substr(0, 2) + " " + messy.substr(2, 3) + messy.substr(6);
  EXPECT_EQ(consume(g.record, messy).value(), count - 1);
}

TEST(BackupCodes, WrongCodeConsumesNothing) {
  generated g = generate();
  const stored before = g.record;
  // Another enrolment's code: well-formed, different salt.
  EXPECT_EQ(consume(g.record, generate().codes[0]).error(), errc::no_match);
  EXPECT_EQ(g.record, before);
}

class Malformed : public testing::TestWithParam<std::string> {};
TEST_P(Malformed, Rejected) {
  EXPECT_EQ(normalize(GetParam()).error(), errc::malformed);
  stored r = generate().record;
  EXPECT_EQ(consume(r, GetParam()).error(), errc::malformed);
}
INSTANTIATE_TEST_SUITE_P(Inputs, Malformed,
                         testing::Values("", "ABCDE", "ABCDE-FGHJKM", "ABCDE-FGHJ0",
                                         "ABCDE-FGHJI", "ABCDE_FGHJK", "12345678",
                                         std::string("ABCDE\0FGHJK", 11)));

TEST(BackupCodes, EncodeDecodeRoundTrip) {
  stored r = generate().record;
  EXPECT_EQ(decode(encode(r)).value(), r);
  r.hashes_hex.clear();
  EXPECT_EQ(decode(encode(r)).value(), r);
}

TEST(BackupCodes, DecodeRejectsCorruptRecords) {
  const std::string good = encode(generate().record);
  EXPECT_EQ(decode("").error(), errc::bad_record);
  EXPECT_EQ(decode("sha1$" + good.substr(12)).error(), errc::bad_record);
  EXPECT_EQ(decode(good + ",").error(), errc::bad_record);
  EXPECT_EQ(decode(good + ",abcd").error(), errc::bad_record);
  EXPECT_EQ(decode(good.substr(0, good.size() - 1)).error(), errc::bad_record);
  EXPECT_EQ(decode("hmac-sha256$00$").error(), errc::bad_record);
  std::string upper = good;
  upper[15] = 'G';
  EXPECT_EQ(decode(upper).error(), errc::bad_record);
  // Never more than `count` hashes.
  stored r = generate().record;
  r.hashes_hex.push_back(r.hashes_hex[0]);
  EXPECT_EQ(decode(encode(r)).error(), errc::bad_record);
}

}  // namespace
}  // namespace tollgate::crypto::backup_codes
