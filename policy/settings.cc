// policy/settings.cc — one table per section drives patching, validation and
// serialisation, so a field's name, type and bounds are written down once.
#include "policy/settings.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <variant>

namespace tollgate::policy {
namespace {

namespace json = boost::json;

template <class T>
struct field {
  std::string_view name;
  std::variant<int T::*, bool T::*, std::vector<std::string> T::*> member;
  int lo = 0, hi = 0;          // ints: inclusive value range; lists: item count range
  std::string_view only = {};  // lists: the one value accepted; empty: any role id
};

template <class T>
struct section {
  std::string_view name;
  T security_settings::*member;
  std::span<const field<T>> fields;
};

constexpr int week_minutes = 7 * 24 * 60;
constexpr std::size_t max_role_id_bytes = 64;

constexpr std::array<field<password_policy>, 7> password_fields{{
    {"min_length", &password_policy::min_length, 8, 128},
    {"require_uppercase", &password_policy::require_uppercase},
    {"require_lowercase", &password_policy::require_lowercase},
    {"require_numbers", &password_policy::require_numbers},
    {"require_special", &password_policy::require_special},
    {"expiry_days", &password_policy::expiry_days, 0, 3650},
    {"history_count", &password_policy::history_count, 0, 24},
}};
constexpr std::array<field<session_policy>, 3> session_fields{{
    {"timeout_minutes", &session_policy::timeout_minutes, 1, week_minutes},
    {"max_sessions", &session_policy::max_sessions, 1, 100},
    {"remember_me_days", &session_policy::remember_me_days, 1, 365},
}};
constexpr std::array<field<two_factor_policy>, 3> two_factor_fields{{
    {"enabled", &two_factor_policy::enabled},
    {"required_for_roles", &two_factor_policy::required_for_roles, 0, 64},
    // Only TOTP until a notifier can deliver SMS or e-mail codes (DESIGN.md).
    {"methods", &two_factor_policy::methods, 1, 4, "totp"},
}};
constexpr std::array<field<lockout_policy>, 3> lockout_fields{{
    {"max_attempts", &lockout_policy::max_attempts, 1, 100},
    {"lockout_duration_minutes", &lockout_policy::lockout_duration_minutes, 1, week_minutes},
    {"reset_window_minutes", &lockout_policy::reset_window_minutes, 1, week_minutes},
}};

template <class F>
void for_each_section(F&& f) {
  f(section<password_policy>{"password_policy", &security_settings::password, password_fields});
  f(section<session_policy>{"session_policy", &security_settings::session, session_fields});
  f(section<two_factor_policy>{"two_factor", &security_settings::two_factor, two_factor_fields});
  f(section<lockout_policy>{"lockout_policy", &security_settings::lockout, lockout_fields});
}

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

std::string join(std::string_view a, std::string_view b) {
  std::string s{a};
  s += '.';
  s += b;
  return s;
}

std::string range_message(std::string_view what, int lo, int hi) {
  return std::string(what) + " between " + std::to_string(lo) + " and " + std::to_string(hi);
}

bool valid_role_id(std::string_view id) {
  if (id.empty() || id.size() > max_role_id_bytes) return false;
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

template <class T>
std::optional<field_error> check_int(const std::string& path, const field<T>& f, std::int64_t v) {
  if (v < f.lo || v > f.hi) return field_error{path, range_message("must be an integer", f.lo, f.hi)};
  return std::nullopt;
}

template <class T>
std::optional<field_error> check_list(const std::string& path, const field<T>& f,
                                      const std::vector<std::string>& items) {
  const auto n = static_cast<std::int64_t>(items.size());
  if (n < f.lo || n > f.hi) {
    return field_error{path, range_message("must be an array of", f.lo, f.hi) + " items"};
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    if (!f.only.empty()) {
      if (items[i] != f.only) {
        return field_error{item_path, "unsupported value: only \"" + std::string(f.only) +
                                          "\" is available"};
      }
    } else if (!valid_role_id(items[i])) {
      return field_error{item_path, "must be a role id of 1 to 64 characters"};
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (items[j] == items[i]) return field_error{item_path, "duplicate value"};
    }
  }
  return std::nullopt;
}

// read_field type-checks one JSON value and stores it in `out` when it is valid.
template <class T>
std::optional<field_error> read_field(const std::string& path, const field<T>& f,
                                      const json::value& v, T& out) {
  return std::visit(
      overloaded{
          [&](int T::*m) -> std::optional<field_error> {
            std::int64_t n;
            if (const auto* i = v.if_int64()) {
              n = *i;
            } else if (v.is_uint64()) {
              // Only values above INT64_MAX parse as uint64: out of every range.
              n = std::numeric_limits<std::int64_t>::max();
            } else {
              return field_error{path, "must be an integer"};
            }
            if (auto e = check_int(path, f, n)) return e;
            out.*m = static_cast<int>(n);
            return std::nullopt;
          },
          [&](bool T::*m) -> std::optional<field_error> {
            const bool* b = v.if_bool();
            if (b == nullptr) return field_error{path, "must be a boolean"};
            out.*m = *b;
            return std::nullopt;
          },
          [&](std::vector<std::string> T::*m) -> std::optional<field_error> {
            const json::array* a = v.if_array();
            if (a == nullptr) return field_error{path, "must be an array of strings"};
            std::vector<std::string> items;
            items.reserve(a->size());
            for (std::size_t i = 0; i < a->size(); ++i) {
              const json::string* s = (*a)[i].if_string();
              if (s == nullptr) {
                return field_error{path + "[" + std::to_string(i) + "]", "must be a string"};
              }
              items.emplace_back(*s);
            }
            if (auto e = check_list(path, f, items)) return e;
            out.*m = std::move(items);
            return std::nullopt;
          },
      },
      f.member);
}

template <class T>
std::optional<field_error> patch_section(const section<T>& sec, const json::value& v, T& out) {
  const json::object* obj = v.if_object();
  if (obj == nullptr) return field_error{std::string(sec.name), "must be an object"};
  for (const auto& [key, value] : *obj) {
    const std::string path = join(sec.name, key);
    const field<T>* f = nullptr;
    for (const auto& candidate : sec.fields) {
      if (candidate.name == key) f = &candidate;
    }
    if (f == nullptr) return field_error{path, "unknown field"};
    if (auto e = read_field(path, *f, value, out)) return e;
  }
  return std::nullopt;
}

}  // namespace

std::string field_error::to_string() const {
  return field.empty() ? message : field + ": " + message;
}

std::optional<field_error> validate(const security_settings& s) {
  std::optional<field_error> err;
  for_each_section([&](const auto& sec) {
    for (const auto& f : sec.fields) {
      if (err) return;
      const std::string path = join(sec.name, f.name);
      const auto& values = s.*sec.member;
      using T = std::remove_cvref_t<decltype(values)>;
      std::visit(overloaded{
                     [&](int T::*m) { err = check_int(path, f, values.*m); },
                     [](bool T::*) {},
                     [&](std::vector<std::string> T::*m) { err = check_list(path, f, values.*m); },
                 },
                 f.member);
    }
  });
  return err;
}

std::expected<void, field_error> apply_patch(security_settings& doc, const json::value& patch) {
  const json::object* obj = patch.if_object();
  if (obj == nullptr) return std::unexpected(field_error{"", "request body must be a JSON object"});
  security_settings next = doc;
  for (const auto& [key, value] : *obj) {
    std::optional<field_error> err;
    bool known = false;
    for_each_section([&](const auto& sec) {
      if (sec.name != key) return;
      known = true;
      err = patch_section(sec, value, next.*sec.member);
    });
    if (!known) return std::unexpected(field_error{std::string(key), "unknown field"});
    if (err) return std::unexpected(std::move(*err));
  }
  doc = std::move(next);
  return {};
}

std::expected<void, field_error> apply_patch_text(security_settings& doc, std::string_view patch_json) {
  boost::system::error_code ec;
  const json::value v = json::parse(patch_json, ec);
  if (ec) return std::unexpected(field_error{"", "malformed JSON: " + ec.message()});
  return apply_patch(doc, v);
}

json::object to_json(const security_settings& s) {
  json::object doc;
  for_each_section([&](const auto& sec) {
    json::object obj;
    const auto& values = s.*sec.member;
    using T = std::remove_cvref_t<decltype(values)>;
    for (const auto& f : sec.fields) {
      std::visit(overloaded{
                     [&](int T::*m) { obj[f.name] = static_cast<std::int64_t>(values.*m); },
                     [&](bool T::*m) { obj[f.name] = values.*m; },
                     [&](std::vector<std::string> T::*m) {
                       json::array a;
                       for (const auto& item : values.*m) a.emplace_back(item);
                       obj[f.name] = std::move(a);
                     },
                 },
                 f.member);
    }
    doc[sec.name] = std::move(obj);
  });
  return doc;
}

std::string serialize(const security_settings& s) { return json::serialize(to_json(s)); }

std::expected<security_settings, field_error> parse(std::string_view json_text) {
  security_settings s;
  if (auto r = apply_patch_text(s, json_text); !r) return std::unexpected(std::move(r.error()));
  return s;
}

}  // namespace tollgate::policy
