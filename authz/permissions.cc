#include "authz/permissions.h"

#include <array>
#include <bit>

#include <xxhash.h>

namespace tollgate::authz {
namespace {

enum : std::uint8_t { c_bad = 0, c_name = 1, c_sep = 2, c_star = 3 };

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = c_name;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = c_name;
  for (int c = '0'; c <= '9'; ++c) t[c] = c_name;
  t['_'] = c_name;
  t['-'] = c_name;
  t['.'] = c_sep;
  t[':'] = c_sep;
  t['*'] = c_star;
  return t;
}
constexpr auto classes = make_classes();

bool is_sep(char c) { return c == '.' || c == ':'; }

// XXH3 never reserves a value; 0 marks an empty slot, so it is folded onto 1.
std::uint64_t name_hash(std::string_view s) {
  const std::uint64_t h = XXH3_64bits(s.data(), s.size());
  return h == 0 ? 1 : h;
}

// segment_cursor walks a name already known to be valid, one segment at a time.
struct segment_cursor {
  std::string_view text;
  std::size_t pos = 0;  // start of the current segment

  std::string_view segment() const {
    std::size_t end = pos;
    while (end < text.size() && !is_sep(text[end])) ++end;
    return text.substr(pos, end - pos);
  }
  // is_last says whether the current segment ends the name.
  bool is_last() const { return pos + segment().size() == text.size(); }
  // separator is the byte after the current segment; only when !is_last().
  char separator() const { return text[pos + segment().size()]; }
  void next() { pos += segment().size() + 1; }
};

std::size_t segment_count(std::string_view s) {
  std::size_t n = 1;
  for (char c : s) n += is_sep(c) ? 1 : 0;
  return n;
}

bool ends_with_star(std::string_view s) {
  return s == "*" || (s.size() >= 2 && s.back() == '*' && is_sep(s[s.size() - 2]));
}

// grant_covers answers whether every concrete name matched by `p` (valid, maybe a
// pattern) is matched by `g` (valid, maybe a pattern). A trailing '*' stands for one
// or more segments, any other '*' for exactly one, so:
//  - g of fixed length m covers p only if p has fixed length m too;
//  - g ending in '*' (m segments) covers p only if p has at least m segments;
// and in both cases each of g's leading segments must cover p's at the same place
// (g's '*' covers anything, a literal only the same literal) with equal separators.
bool grant_covers(std::string_view g, std::string_view p) {
  const std::size_t m = segment_count(g), n = segment_count(p);
  const bool g_trail = ends_with_star(g), p_trail = ends_with_star(p);
  if (g_trail ? n < m : (p_trail || n != m)) return false;
  const std::size_t fixed = g_trail ? m - 1 : m;  // segments compared one to one
  segment_cursor gc{g}, pc{p};
  for (std::size_t i = 0; i < fixed; ++i) {
    const std::string_view gs = gc.segment(), ps = pc.segment();
    if (gs != "*" && gs != ps) return false;  // ps == "*" differs from any literal
    if (i + 1 < m) {
      if (gc.separator() != pc.separator()) return false;
      gc.next();
      pc.next();
    }
  }
  return true;
}

}  // namespace

std::string_view message_of(permission_errc e) {
  switch (e) {
    case permission_errc::ok: return "ok";
    case permission_errc::empty: return "permission is empty";
    case permission_errc::too_long: return "permission is longer than 256 bytes";
    case permission_errc::empty_segment: return "permission has an empty segment";
    case permission_errc::bad_char:
      return "permission may contain only letters, digits, '_', '-', '.', ':' and '*'";
    case permission_errc::bad_wildcard: return "'*' must be a whole segment";
  }
  return "unknown permission error";
}

std::expected<name_kind, permission_errc> validate_permission(std::string_view name) {
  if (name.empty()) return std::unexpected(permission_errc::empty);
  if (name.size() > max_permission_bytes) return std::unexpected(permission_errc::too_long);
  bool pattern = false;
  std::size_t seg_len = 0;
  bool seg_star = false;
  for (char ch : name) {
    switch (classes[static_cast<unsigned char>(ch)]) {
      case c_name:
        if (seg_star) return std::unexpected(permission_errc::bad_wildcard);
        ++seg_len;
        break;
      case c_star:
        if (seg_len != 0) return std::unexpected(permission_errc::bad_wildcard);
        seg_star = pattern = true;
        ++seg_len;
        break;
      case c_sep:
        if (seg_len == 0) return std::unexpected(permission_errc::empty_segment);
        seg_len = 0;
        seg_star = false;
        break;
      default: return std::unexpected(permission_errc::bad_char);
    }
  }
  if (seg_len == 0) return std::unexpected(permission_errc::empty_segment);
  return pattern ? name_kind::pattern : name_kind::concrete;
}

std::expected<permission_set, compile_error> permission_set::compile(
    std::span<const grant> grants) {
  permission_set set;
  std::size_t concrete = 0;
  for (std::size_t i = 0; i < grants.size(); ++i) {
    const auto kind = validate_permission(grants[i].permission);
    if (!kind) return std::unexpected(compile_error{kind.error(), i});
    concrete += *kind == name_kind::concrete ? 1 : 0;
  }
  auto append = [&set](std::string_view s) {
    const span_ref r{static_cast<std::uint32_t>(set.text_.size()),
                     static_cast<std::uint32_t>(s.size())};
    set.text_.append(s);
    return r;
  };
  auto source_index = [&](std::string_view src) {
    for (std::size_t i = 0; i < set.sources_.size(); ++i)
      if (set.view(set.sources_[i]) == src) return static_cast<std::uint32_t>(i);
    set.sources_.push_back(append(src));
    return static_cast<std::uint32_t>(set.sources_.size() - 1);
  };
  // Load factor at most 1/2 keeps the probe sequence of a miss short.
  if (concrete != 0) set.exact_.resize(std::bit_ceil(concrete * 2));
  const std::size_t mask = set.exact_.size() - 1;
  for (const grant& g : grants) {
    const std::uint32_t src = source_index(g.source);
    if (g.permission.find('*') != std::string_view::npos) {
      pattern_entry p{append(g.permission), src,
                      static_cast<std::uint32_t>(set.segments_.size()), 0};
      for (segment_cursor c{set.view(p.text)};; c.next()) {
        const std::string_view seg = c.segment();
        pattern_segment ps;
        ps.star = seg == "*";
        if (!ps.star)
          ps.literal = {static_cast<std::uint32_t>(p.text.offset + c.pos),
                        static_cast<std::uint32_t>(seg.size())};
        ps.separator = c.is_last() ? '\0' : c.separator();
        set.segments_.push_back(ps);
        ++p.segment_count;
        if (c.is_last()) break;
      }
      set.patterns_.push_back(p);
      continue;
    }
    const std::uint64_t h = name_hash(g.permission);
    std::size_t i = h & mask;
    bool duplicate = false;
    while (set.exact_[i].hash != 0) {
      if (set.exact_[i].hash == h && set.view(set.exact_[i].name) == g.permission) {
        duplicate = true;
        break;
      }
      i = (i + 1) & mask;
    }
    if (!duplicate) set.exact_[i] = {h, append(g.permission), src};
  }
  set.grant_count_ = grants.size();
  return set;
}

check_result permission_set::check(std::string_view requested) const noexcept {
  if (requested.empty() || requested.size() > max_permission_bytes) return {};
  if (!exact_.empty()) {
    const std::uint64_t h = name_hash(requested);
    const std::size_t mask = exact_.size() - 1;
    for (std::size_t i = h & mask; exact_[i].hash != 0; i = (i + 1) & mask) {
      if (exact_[i].hash == h && view(exact_[i].name) == requested)
        return {true, view(sources_[exact_[i].source])};
    }
  }
  for (const pattern_entry& p : patterns_)
    if (matches(p, requested)) return {true, view(sources_[p.source])};
  return {};
}

// matches answers whether the pattern `p` matches `r`, which has not been validated:
// an exact hit needs no validation (it equals a valid grant), and here only the bytes
// a wildcard consumes are checked, since literal segments compare equal to valid
// text. So an invalid name is never granted, and a literal mismatch costs one memcmp.
bool permission_set::matches(const pattern_entry& p, std::string_view r) const noexcept {
  std::size_t pos = 0;
  const pattern_segment* seg = segments_.data() + p.first_segment;
  for (std::uint32_t k = 0; k < p.segment_count; ++k, ++seg) {
    const bool last = k + 1 == p.segment_count;
    std::size_t end;
    if (!seg->star) {
      const std::string_view lit = view(seg->literal);
      if (r.size() - pos < lit.size() || r.compare(pos, lit.size(), lit) != 0) return false;
      end = pos + lit.size();
    } else if (last) {
      // A trailing '*' takes one or more whole, valid, concrete segments.
      const auto kind = validate_permission(r.substr(pos));
      return kind && *kind == name_kind::concrete;
    } else {
      end = pos;
      while (end < r.size() && classes[static_cast<unsigned char>(r[end])] == c_name) ++end;
      if (end == pos) return false;
    }
    if (last) return end == r.size();
    if (end == r.size() || r[end] != seg->separator) return false;
    pos = end + 1;
  }
  return false;  // unreachable: the last segment returns above
}

check_result permission_set::covers(std::string_view permission) const noexcept {
  const auto kind = validate_permission(permission);
  if (!kind) return {};
  if (*kind == name_kind::concrete) return check(permission);
  for (const pattern_entry& p : patterns_)
    if (grant_covers(view(p.text), permission)) return {true, view(sources_[p.source])};
  return {};
}

namespace {
template <typename String>
std::optional<std::size_t> first_uncovered(const permission_set& owner,
                                           std::span<const String> requested) {
  for (std::size_t i = 0; i < requested.size(); ++i)
    if (!owner.covers(requested[i])) return i;
  return std::nullopt;
}
}  // namespace

std::optional<std::size_t> find_uncovered(const permission_set& owner,
                                          std::span<const std::string_view> requested) {
  return first_uncovered(owner, requested);
}
std::optional<std::size_t> find_uncovered(const permission_set& owner,
                                          std::span<const std::string> requested) {
  return first_uncovered(owner, requested);
}

}  // namespace tollgate::authz
