// fuzz/query.cc — codec/form.h in flavour::query ('+' is literal). See fields_roundtrip.h.
#include "fields_roundtrip.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::fields_roundtrip(data, size, tollgate::codec::flavour::query);
  return 0;
}
