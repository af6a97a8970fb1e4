// crypto/qr.cc — libqrencode for the symbol, libpng's simplified write API for the
// image (it reports errors by return value, so no setjmp crosses C++ frames).
#include "crypto/qr.h"

#include <openssl/base64.h>
#include <png.h>
#include <qrencode.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

namespace tollgate::crypto::qr {
namespace {

struct qrcode_free {
  void operator()(QRcode* q) const { QRcode_free(q); }
};

}  // namespace

std::string_view message(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::too_long: return "text too long for a QR code";
    case errc::bad_options: return "QR scale or margin out of range";
    case errc::encode_failed: return "QR encoding failed";
    case errc::png_failed: return "PNG encoding failed";
  }
  std::abort();
}

std::expected<image, errc> encode(std::string_view text, options opt) {
  if (text.size() > max_text_bytes) return std::unexpected(errc::too_long);
  if (opt.scale == 0 || opt.scale > max_scale || opt.margin > max_margin) {
    return std::unexpected(errc::bad_options);
  }
  // QRcode_encodeData takes a length, so embedded NULs cannot truncate the text.
  std::unique_ptr<QRcode, qrcode_free> q(QRcode_encodeData(
      static_cast<int>(text.size()), reinterpret_cast<const unsigned char*>(text.data()),
      0, QR_ECLEVEL_M));
  if (!q || q->width <= 0) return std::unexpected(errc::encode_failed);

  const unsigned modules = static_cast<unsigned>(q->width);
  const unsigned side = (modules + 2 * opt.margin) * opt.scale;
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(side) * side, 0xff);
  for (unsigned y = 0; y < modules; ++y) {
    for (unsigned x = 0; x < modules; ++x) {
      if ((q->data[y * modules + x] & 1) == 0) continue;  // bit 0: dark module
      const unsigned px = (x + opt.margin) * opt.scale, py = (y + opt.margin) * opt.scale;
      for (unsigned dy = 0; dy < opt.scale; ++dy) {
        std::uint8_t* row = pixels.data() + static_cast<std::size_t>(py + dy) * side + px;
        std::fill(row, row + opt.scale, std::uint8_t{0});
      }
    }
  }

  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = side;
  img.height = side;
  img.format = PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  // First call measures, second writes.
  if (!png_image_write_to_memory(&img, nullptr, &size, 0, pixels.data(), 0, nullptr)) {
    png_image_free(&img);
    return std::unexpected(errc::png_failed);
  }
  image out;
  out.png.resize(size);
  if (!png_image_write_to_memory(&img, out.png.data(), &size, 0, pixels.data(), 0, nullptr)) {
    png_image_free(&img);
    return std::unexpected(errc::png_failed);
  }
  out.png.resize(size);
  out.modules = modules;
  out.side_px = side;
  return out;
}

std::expected<std::string, errc> png_data_uri(std::string_view text, options opt) {
  auto img = encode(text, opt);
  if (!img) return std::unexpected(img.error());
  constexpr std::string_view prefix = "data:image/png;base64,";
  size_t b64_len = 0;
  if (!EVP_EncodedLength(&b64_len, img->png.size())) return std::unexpected(errc::png_failed);
  std::string uri(prefix.size() + b64_len, '\0');
  uri.replace(0, prefix.size(), prefix);
  const size_t written = EVP_EncodeBlock(reinterpret_cast<std::uint8_t*>(uri.data() + prefix.size()),
                                         reinterpret_cast<const std::uint8_t*>(img->png.data()),
                                         img->png.size());
  uri.resize(prefix.size() + written);  // drop the NUL EVP_EncodeBlock appends
  return uri;
}

}  // namespace tollgate::crypto::qr
