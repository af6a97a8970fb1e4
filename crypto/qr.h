// crypto/qr.h — QR codes for the otpauth:// URI of TOTP enrolment, as PNG images and
// as the data: URIs that the 2FA enable endpoints return in `qr_code`.
//
// Threading: pure functions, callable from any thread (libqrencode is built
// thread-safe on Debian; libpng's simplified API keeps its state in the call).
// Encoding allocates and takes tens of microseconds: offload pool only.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace tollgate::crypto::qr {

enum class errc {
  ok = 0,
  too_long,      // text over max_text_bytes
  bad_options,   // scale 0 or over max_scale, margin over max_margin
  encode_failed, // libqrencode refused the text
  png_failed,    // libpng could not write the image
};

// message describes an errc in a few words.
std::string_view message(errc e);

inline constexpr std::size_t max_text_bytes = 1024;
inline constexpr unsigned max_scale = 16;
inline constexpr unsigned max_margin = 16;

struct options {
  unsigned scale = 4;   // pixels per module
  unsigned margin = 4;  // quiet zone in modules on every side (ISO 18004 asks for 4)
};

// image is an encoded QR code: `png` holds the PNG file bytes, 8-bit greyscale,
// square with side (modules + 2 * margin) * scale pixels.
struct image {
  std::string png;
  unsigned modules = 0;  // QR symbol width in modules, 21 for version 1 up to 177
  unsigned side_px = 0;
};

// encode renders `text` (byte mode, error correction level M) as a PNG.
std::expected<image, errc> encode(std::string_view text, options opt = {});

// png_data_uri is encode() returned as "data:image/png;base64,<standard base64>".
std::expected<std::string, errc> png_data_uri(std::string_view text, options opt = {});

}  // namespace tollgate::crypto::qr
