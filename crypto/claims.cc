#include "crypto/claims.h"

#include <cstring>

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

inline bool is(std::string_view a, const char (&lit)[4]) noexcept {
  return a.size() == 3 && std::memcmp(a.data(), lit, 3) == 0;
}

}  // namespace

errc parse_claims(char* buf, std::size_t len, token_claims& out, claim_arrays& arrays) noexcept {
  out = token_claims{};
  json_scanner js(buf, buf + len);
  if (errc e = js.begin_object(); e != errc::ok) return e;
  for (;;) {
    std::string_view name;
    bool more;
    if (errc e = js.next_member(name, more); e != errc::ok) return e;
    if (!more) break;
    errc e = errc::ok;
    // Dispatch on length first: the registered names are short and distinct.
    switch (name.size()) {
      case 3:
        if (is(name, "iss")) { e = js.string(out.iss); out.has_iss = true; }
        else if (is(name, "sub")) { e = js.string(out.sub); out.has_sub = true; }
        else if (is(name, "exp")) { e = js.integer(out.exp); out.has_exp = true; }
        else if (is(name, "nbf")) { e = js.integer(out.nbf); out.has_nbf = true; }
        else if (is(name, "iat")) { e = js.integer(out.iat); out.has_iat = true; }
        else if (is(name, "jti")) { e = js.string(out.jti); out.has_jti = true; }
        else if (is(name, "sid")) { e = js.string(out.sid); out.has_sid = true; }
        else if (is(name, "aud")) {
          out.has_aud = true;
          if (js.peek() == '"') {
            e = js.string(arrays.aud[0]);
            out.aud = std::span<const std::string_view>(arrays.aud.data(), 1);
          } else {
            e = string_array(js, arrays.aud, out.aud);
          }
        } else {
          e = js.skip_value();
        }
        break;
      case 5:
        if (name == "scope") { e = js.string(out.scope); out.has_scope = true; }
        else if (name == "roles") { e = string_array(js, arrays.roles, out.roles); out.has_roles = true; }
        else e = js.skip_value();
        break;
      case 6:
        if (name == "groups") { e = string_array(js, arrays.groups, out.groups); out.has_groups = true; }
        else e = js.skip_value();
        break;
      case 8:
        if (name == "username") { e = js.string(out.username); out.has_username = true; }
        else e = js.skip_value();
        break;
      case 11:
        if (name == "permissions") {
          e = string_array(js, arrays.permissions, out.permissions);
          out.has_permissions = true;
        } else {
          e = js.skip_value();
        }
        break;
      default:
        e = js.skip_value();
        break;
    }
    if (e != errc::ok) return e;
  }
  if (errc e = js.finish(); e != errc::ok) return e;
  if (out.has_scope) return split_scope(out.scope, arrays, out.scopes);
  return errc::ok;
}

}  // namespace tollgate::crypto::detail
