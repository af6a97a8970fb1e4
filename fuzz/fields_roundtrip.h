// fuzz/fields_roundtrip.h — the invariants shared by fuzz/form.cc and fuzz/query.cc.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "codec/form.h"

namespace fuzz {

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    __builtin_trap();
  }
}

// fields_roundtrip: decode(encode(x)) == x for the raw input; and when the input
// parses as fields, encoding them again and re-parsing gives the same fields.
inline void fields_roundtrip(const std::uint8_t* data, std::size_t size, tollgate::codec::flavour f) {
  using namespace tollgate::codec;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const std::string enc = encode(in, f);
  std::vector<char> dec(enc.size() + 1);
  const auto back = percent_decode(enc, f, dec);
  check(back.has_value() && *back == in, "percent_decode(encode(x)) == x");

  std::vector<char> buffer(size);
  field slots[32];
  const auto fields = parse_fields(in, f, buffer, slots);
  if (!fields) return;
  std::string again;
  for (const field& fl : *fields) {
    check(!fl.name.empty(), "names are never empty");
    if (!again.empty()) again += '&';
    again += encode(fl.name, f);
    again += '=';
    again += encode(fl.value, f);
  }
  std::vector<char> buffer2(again.size());
  field slots2[32];
  const auto fields2 = parse_fields(again, f, buffer2, slots2);
  check(fields2.has_value(), "re-encoded fields parse");
  check(fields2->size() == fields->size(), "same number of fields");
  for (std::size_t i = 0; i < fields->size(); ++i) {
    check((*fields2)[i].name == (*fields)[i].name, "same name");
    check((*fields2)[i].value == (*fields)[i].value, "same value");
    check(find_field(*fields, (*fields)[i].name) == &(*fields)[i], "names are unique");
  }
}

}  // namespace fuzz
