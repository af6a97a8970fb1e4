#include "crypto/claims.h"

#include <emmintrin.h>

#include <cstring>
#include <type_traits>
#include <utility>

#include "crypto/json_scan.h"

namespace tollgate::crypto::detail {
namespace {

errc string_array(json_scanner& js, std::array<std::string_view, kMaxArrayEntries>& store,
                  std::span<const std::string_view>& out) noexcept {
  if (char c = js.peek(); c != '[') {
    if (c == '\0') return errc::bad_json;
    errc e = js.skip_value();
    return e == errc::ok ? errc::wrong_claim_type : e;
  }
  if (errc e = js.begin_array(); e != errc::ok) return e;
  std::size_t n = 0;
  for (;;) {
    bool more;
    if (errc e = js.next_element(more); e != errc::ok) return e;
    if (!more) break;
    if (n == kMaxArrayEntries) return errc::too_many_entries;
    if (errc e = js.string(store[n]); e != errc::ok) return e;
    ++n;
  }
  out = std::span<const std::string_view>(store.data(), n);
  return errc::ok;
}

errc split_scope(std::string_view scope, claim_arrays& arrays, std::span<const std::string_view>& out) noexcept {
  std::size_t n = 0;
  std::size_t i = 0;
  while (i < scope.size()) {
    while (i < scope.size() && scope[i] == ' ') ++i;
    std::size_t start = i;
    while (i < scope.size() && scope[i] != ' ') ++i;
    if (i > start) {
      if (n == kMaxArrayEntries) return errc::too_many_entries;
      arrays.scopes[n++] = scope.substr(start, i - start);
    }
  }
  out = std::span<const std::string_view>(arrays.scopes.data(), n);
  return errc::ok;
}

// other checks a name parse_claims does not know against the other such names of the
// object, then validates and skips its value.
inline errc other(json_scanner& js, std::string_view name) noexcept {
  if (errc e = js.remember(name); e != errc::ok) return e;
  return js.skip_value();
}

constexpr errc kDup = errc::duplicate_claim;

// clear sets |c| to token_claims{} (all its members are views, integers and flags,
// empty and zero as all-zero bytes) with one 16-byte store per 16 bytes. Why not
// `c = token_claims{}` or memset: GCC 12 expands a fixed-size clear of more than 32
// bytes into `rep stosq`, which made parse_claims of the bench token 82 ns instead
// of 67 on the AMD build machine; it leaves explicit stores alone.
template <std::size_t... I>
inline void store_zero16(char* p, std::index_sequence<I...>) noexcept {
  (_mm_storeu_si128(reinterpret_cast<__m128i*>(p + 16 * I), _mm_setzero_si128()), ...);
}
inline void clear(token_claims& c) noexcept {
  static_assert(std::is_trivially_copyable_v<token_claims>);
  auto* p = reinterpret_cast<char*>(&c);
  store_zero16(p, std::make_index_sequence<sizeof c / 16>{});
  std::memset(p + sizeof c / 16 * 16, 0, sizeof c % 16);
}

}  // namespace

errc parse_claims(char* buf, std::size_t len, token_claims& out, claim_arrays& arrays) noexcept {
  clear(out);
  json_scanner js(buf, buf + len);
  if (errc e = js.begin_object(); e != errc::ok) return e;
  for (;;) {
    std::string_view name;
    bool more;
    if (errc e = js.next_member_unchecked(name, more); e != errc::ok) return e;
    if (!more) break;
    errc e = errc::ok;
    // Dispatch on length first: the registered names are short and distinct.
    switch (name.size()) {
      case 3:
        switch (key3_of(name)) {
          case key3("iss"): e = first(out.has_iss) ? js.string(out.iss) : kDup; break;
          case key3("sub"): e = first(out.has_sub) ? js.string(out.sub) : kDup; break;
          case key3("exp"): e = first(out.has_exp) ? js.integer(out.exp) : kDup; break;
          case key3("nbf"): e = first(out.has_nbf) ? js.integer(out.nbf) : kDup; break;
          case key3("iat"): e = first(out.has_iat) ? js.integer(out.iat) : kDup; break;
          case key3("jti"): e = first(out.has_jti) ? js.string(out.jti) : kDup; break;
          case key3("sid"): e = first(out.has_sid) ? js.string(out.sid) : kDup; break;
          case key3("aud"):
            if (!first(out.has_aud)) {
              e = kDup;
            } else if (js.peek() == '"') {
              e = js.string(arrays.aud[0]);
              out.aud = std::span<const std::string_view>(arrays.aud.data(), 1);
            } else {
              e = string_array(js, arrays.aud, out.aud);
            }
            break;
          default: e = other(js, name); break;
        }
        break;
      case 5:
        if (name == "scope") e = first(out.has_scope) ? js.string(out.scope) : kDup;
        else if (name == "roles") e = first(out.has_roles) ? string_array(js, arrays.roles, out.roles) : kDup;
        else e = other(js, name);
        break;
      case 6:
        if (name == "groups") e = first(out.has_groups) ? string_array(js, arrays.groups, out.groups) : kDup;
        else e = other(js, name);
        break;
      case 8:
        if (name == "username") e = first(out.has_username) ? js.string(out.username) : kDup;
        else e = other(js, name);
        break;
      case 11:
        if (name == "permissions")
          e = first(out.has_permissions) ? string_array(js, arrays.permissions, out.permissions) : kDup;
        else e = other(js, name);
        break;
      default:
        e = other(js, name);
        break;
    }
    if (e != errc::ok) return e;
  }
  if (errc e = js.finish(); e != errc::ok) return e;
  if (out.has_scope) return split_scope(out.scope, arrays, out.scopes);
  return errc::ok;
}

}  // namespace tollgate::crypto::detail
