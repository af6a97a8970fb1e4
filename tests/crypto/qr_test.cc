// tests/crypto/qr_test.cc — the PNG decodes back to the QR symbol libqrencode made,
// at the promised size, and the data URI is valid base64 of that PNG.
#include "crypto/qr.h"

#include <gtest/gtest.h>
#include <openssl/base64.h>
#include <png.h>
#include <qrencode.h>

#include <cstdint>
#include <vector>

namespace tollgate::crypto::qr {
namespace {

const std::string uri =
    "otpauth://totp/tollgate:john%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    "&issuer=tollgate&algorithm=SHA1&digits=6&period=30";

std::uint32_t be32(const std::string& s, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

class QrSizes : public testing::TestWithParam<options> {};

TEST_P(QrSizes, IhdrMatchesModulesTimesScalePlusQuietZone) {
  const options opt = GetParam();
  auto img = encode(uri, opt);
  ASSERT_TRUE(img.has_value()) << message(img.error());

  // Module count from libqrencode directly, not from our own result.
  QRcode* q = QRcode_encodeData(static_cast<int>(uri.size()),
                                reinterpret_cast<const unsigned char*>(uri.data()), 0,
                                QR_ECLEVEL_M);
  ASSERT_NE(q, nullptr);
  const unsigned modules = static_cast<unsigned>(q->width);
  EXPECT_EQ(modules, 17u + 4u * static_cast<unsigned>(q->version));
  EXPECT_EQ(img->modules, modules);
  const unsigned side = (modules + 2 * opt.margin) * opt.scale;
  EXPECT_EQ(img->side_px, side);

  // PNG signature, then IHDR: length 13, type, width, height, depth 8, colour type 0.
  const std::string& png = img->png;
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(be32(png, 8), 13u);
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(png, 16), side);
  EXPECT_EQ(be32(png, 20), side);
  EXPECT_EQ(png[24], 8);
  EXPECT_EQ(png[25], 0);

  // Decode every pixel and compare with the symbol: dark module = black square.
  png_image in{};
  in.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_memory(&in, png.data(), png.size()));
  in.format = PNG_FORMAT_GRAY;
  std::vector<std::uint8_t> px(PNG_IMAGE_SIZE(in));
  ASSERT_TRUE(png_image_finish_read(&in, nullptr, px.data(), 0, nullptr));
  ASSERT_EQ(in.width, side);
  unsigned wrong = 0;
  for (unsigned y = 0; y < side; ++y) {
    for (unsigned x = 0; x < side; ++x) {
      const unsigned mx = x / opt.scale, my = y / opt.scale;
      bool dark = false;
      if (mx >= opt.margin && my >= opt.margin && mx < modules + opt.margin &&
          my < modules + opt.margin) {
        dark = q->data[(my - opt.margin) * modules + (mx - opt.margin)] & 1;
      }
      wrong += px[y * side + x] != (dark ? 0 : 255);
    }
  }
  EXPECT_EQ(wrong, 0u);
  QRcode_free(q);
}
INSTANTIATE_TEST_SUITE_P(Options, QrSizes,
                         testing::Values(options{}, options{1, 0}, options{3, 2},
                                         options{max_scale, max_margin}));

TEST(QrDataUri, IsValidBase64OfThePng) {
  auto data_uri = png_data_uri(uri);
  ASSERT_TRUE(data_uri.has_value());
  const std::string prefix = "data:image/png;base64,";
  ASSERT_EQ(data_uri->substr(0, prefix.size()), prefix);
  const std::string b64 = data_uri->substr(prefix.size());
  EXPECT_EQ(b64.size() % 4, 0u);
  EXPECT_EQ(b64.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
            std::string::npos);
  std::size_t max_len = 0;
  ASSERT_TRUE(EVP_DecodedLength(&max_len, b64.size()));
  std::string decoded(max_len, '\0');
  std::size_t len = 0;
  ASSERT_TRUE(EVP_DecodeBase64(reinterpret_cast<std::uint8_t*>(decoded.data()), &len, max_len,
                               reinterpret_cast<const std::uint8_t*>(b64.data()), b64.size()));
  decoded.resize(len);
  EXPECT_EQ(decoded, encode(uri).value().png);
}

TEST(QrErrors, BoundsAreEnforced) {
  EXPECT_EQ(encode(std::string(max_text_bytes + 1, 'a')).error(), errc::too_long);
  EXPECT_EQ(encode(uri, options{0, 4}).error(), errc::bad_options);
  EXPECT_EQ(encode(uri, options{max_scale + 1, 4}).error(), errc::bad_options);
  EXPECT_EQ(encode(uri, options{4, max_margin + 1}).error(), errc::bad_options);
  EXPECT_TRUE(encode(std::string(max_text_bytes, 'a')).has_value());
  EXPECT_TRUE(encode(std::string("a\0b", 3)).has_value());
}

}  // namespace
}  // namespace tollgate::crypto::qr
