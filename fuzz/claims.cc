// Invariants: claims parsing is deterministic, and its duplicate detection agrees with
// a reference: Boost.JSON's SAX parser (basic_parser) with a std::set of member names
// per object. The hand-written scanner may be stricter (types, limits) but must never
// accept a document the reference finds malformed or with duplicate names, and must
// never report a duplicate the reference does not see. The NumericDates it accepts
// (exp, nbf, iat) equal the reference's int64 for them.
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crypto/claims.h"

using namespace tollgate::crypto;

namespace {

struct ref_handler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  std::vector<std::set<std::string>> objects;
  std::string key;
  bool duplicate = false;
  // Containers open (true = object) and the last member name of the top-level object,
  // to catch the int64 values of its exp, nbf and iat.
  std::vector<bool> open;
  std::string top_key;
  std::map<std::string, std::int64_t> dates;
  using ec_t = boost::system::error_code;
  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t&) { objects.emplace_back(); open.push_back(true); return true; }
  bool on_object_end(std::size_t, ec_t&) { objects.pop_back(); open.pop_back(); return true; }
  bool on_array_begin(ec_t&) { open.push_back(false); return true; }
  bool on_array_end(std::size_t, ec_t&) { open.pop_back(); return true; }
  bool on_key_part(boost::json::string_view s, std::size_t, ec_t&) { key.append(s.data(), s.size()); return true; }
  bool on_key(boost::json::string_view s, std::size_t, ec_t&) {
    key.append(s.data(), s.size());
    if (!objects.back().insert(key).second) duplicate = true;
    if (open.size() == 1) top_key = key;
    key.clear();
    return true;
  }
  bool on_string_part(boost::json::string_view, std::size_t, ec_t&) { return true; }
  bool on_string(boost::json::string_view, std::size_t, ec_t&) { return true; }
  bool on_number_part(boost::json::string_view, ec_t&) { return true; }
  bool on_int64(std::int64_t v, boost::json::string_view, ec_t&) {
    if (open.size() == 1 && open.back() && (top_key == "exp" || top_key == "nbf" || top_key == "iat"))
      dates[top_key] = v;
    return true;
  }
  bool on_uint64(std::uint64_t, boost::json::string_view, ec_t&) { return true; }
  bool on_double(double, boost::json::string_view, ec_t&) { return true; }
  bool on_bool(bool, ec_t&) { return true; }
  bool on_null(ec_t&) { return true; }
  bool on_comment_part(boost::json::string_view, ec_t&) { return true; }
  bool on_comment(boost::json::string_view, ec_t&) { return true; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string a(reinterpret_cast<const char*>(data), size), b = a;
  token_claims ca, cb;
  claim_arrays aa, ab;
  errc ea = detail::parse_claims(a.data(), a.size(), ca, aa);
  errc eb = detail::parse_claims(b.data(), b.size(), cb, ab);
  if (ea != eb) std::abort();
  if (ea == errc::ok && (ca.sub != cb.sub || ca.exp != cb.exp || ca.aud.size() != cb.aud.size() ||
                         ca.permissions.size() != cb.permissions.size()))
    std::abort();

  boost::json::parse_options opt;
  opt.max_depth = 64;
  boost::json::basic_parser<ref_handler> ref(opt);
  boost::system::error_code ec;
  ref.write_some(false, reinterpret_cast<const char*>(data), size, ec);
  bool ref_ok = !ec;
  bool ref_dup = ref.handler().duplicate;
  // Boost.JSON refuses numbers whose exponent overflows a double; JSON allows them,
  // and so does the scanner (which never converts non-date numbers).
  bool ref_range_only = ec == boost::json::error::exponent_overflow;
  if (ea == errc::ok && ((!ref_ok && !ref_range_only) || ref_dup)) std::abort();
  if (ea == errc::duplicate_claim && !ref_dup && ref_ok) std::abort();
  if (ea == errc::ok && ref_ok) {
    const auto& dates = ref.handler().dates;
    auto same = [&](const char* name, bool has, std::int64_t v) {
      auto it = dates.find(name);
      return it == dates.end() ? true : has && it->second == v;
    };
    if (!same("exp", ca.has_exp, ca.exp) || !same("nbf", ca.has_nbf, ca.nbf) || !same("iat", ca.has_iat, ca.iat))
      std::abort();
  }
  return 0;
}
