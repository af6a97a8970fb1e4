#include "codec/form.h"

#include "codec/internal.h"

namespace tollgate::codec {

std::string_view message_of(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::bad_percent: return "'%' must be followed by two hexadecimal digits";
    case errc::bad_char: return "control, space and non-ASCII bytes must be percent-encoded";
    case errc::empty_name: return "a field has an empty name";
    case errc::duplicate_name: return "a field name appears more than once";
    case errc::too_many_fields: return "too many fields";
    case errc::buffer_too_small: return "decoded text does not fit the buffer";
  }
  return "unknown form error";
}

std::expected<std::string_view, errc> percent_decode(std::string_view in, flavour f,
                                                     std::span<char> out) noexcept {
  std::size_t w = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (w == out.size()) return std::unexpected(errc::buffer_too_small);
    if (c == '%') {
      const int v = detail::hex_pair(in, i + 1);
      if (v < 0) return std::unexpected(errc::bad_percent);
      out[w++] = static_cast<char>(v);
      i += 2;
    } else if (c == '+' && f == flavour::form) {
      out[w++] = ' ';
    } else if (c <= 0x20 || c >= 0x7f) {
      return std::unexpected(errc::bad_char);
    } else {
      out[w++] = static_cast<char>(c);
    }
  }
  return std::string_view(out.data(), w);
}

std::expected<std::span<const field>, errc> parse_fields(std::string_view in, flavour f,
                                                         std::span<char> buffer,
                                                         std::span<field> slots) noexcept {
  std::size_t used = 0, count = 0;
  while (!in.empty()) {
    const auto amp = in.find('&');
    const std::string_view part = in.substr(0, amp);
    in = amp == std::string_view::npos ? std::string_view() : in.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const std::string_view raw_name = part.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    if (raw_name.empty()) return std::unexpected(errc::empty_name);
    const auto name = percent_decode(raw_name, f, buffer.subspan(used));
    if (!name) return std::unexpected(name.error());
    used += name->size();
    const auto value = percent_decode(raw_value, f, buffer.subspan(used));
    if (!value) return std::unexpected(value.error());
    used += value->size();
    // Rare, but possible after decoding: "%00" is a name of one NUL byte, never empty.
    if (find_field(slots.first(count), *name)) return std::unexpected(errc::duplicate_name);
    if (count == slots.size()) return std::unexpected(errc::too_many_fields);
    slots[count++] = {*name, *value};
  }
  return std::span<const field>(slots.first(count));
}

const field* find_field(std::span<const field> fields, std::string_view name) noexcept {
  for (const field& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

std::string encode(std::string_view in, flavour f) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (detail::is_unreserved(c)) {
      out += ch;
    } else if (c == ' ' && f == flavour::form) {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace tollgate::codec
