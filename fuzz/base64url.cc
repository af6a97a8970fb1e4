// Invariants: decode accepts exactly the canonical encodings (decode → encode gives
// the input back, and decoding that again gives the same bytes); any bytes encode to
// something decode accepts and maps back to them.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "crypto/base64url.h"

using namespace tollgate::crypto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::uint8_t> out(size);
  auto n = base64url::decode(text, out);
  if (base64url::is_canonical(text) != n.has_value()) std::abort();
  if (n) {
    std::string again(base64url::encoded_size(*n), '\0');
    base64url::encode(std::span(out.data(), *n), again);
    if (again != text) std::abort();
    std::vector<std::uint8_t> out2(size);
    auto n2 = base64url::decode(again, out2);
    if (!n2 || *n2 != *n || (*n > 0 && std::memcmp(out.data(), out2.data(), *n) != 0)) std::abort();
  }
  std::string enc(base64url::encoded_size(size), '\0');
  base64url::encode(std::span(data, size), enc);
  std::vector<std::uint8_t> back(size);
  auto m = base64url::decode(enc, back);
  if (!m || *m != size || (size && std::memcmp(back.data(), data, size) != 0)) std::abort();
  return 0;
}
