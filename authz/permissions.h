// authz/permissions.h — permission names, compiled permission sets, API-key subsets.
//
// Threading: permission_set is immutable after compile(); every const member may be
// called from any number of threads at once (shards share one set through a snapshot
// or each hold a copy). check() never blocks, allocates, locks or throws. compile()
// and the subset functions allocate and are for setup and the management API only.
//
// Grammar (DESIGN.md "Identity and permissions"): a name is segments separated by '.'
// or ':'; the two separators are not interchangeable (a.b != a:b). A segment is one or
// more of [A-Za-z0-9_-], or, in a grant, exactly "*". A granted '*' segment matches
// exactly one segment; a granted '*' as the LAST segment matches one or more segments
// (so `bots.*` matches bots.use and bots.x:y, not bots); a bare `*` grants everything.
// Requested names (check) are concrete: a requested name containing '*' is never
// granted by check(); use covers() to ask about patterns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::authz {

// max_permission_bytes bounds one permission name, granted or requested.
inline constexpr std::size_t max_permission_bytes = 256;

enum class permission_errc : std::uint8_t {
  ok = 0,
  empty,          // "" is not a permission
  too_long,       // longer than max_permission_bytes
  empty_segment,  // "a..b", ".a", "a:" — every segment needs at least one character
  bad_char,       // a byte outside [A-Za-z0-9_-.:*]
  bad_wildcard,   // '*' mixed with other characters in a segment ("bo*")
};

// message_of returns a short English description of `e`, for API error messages.
std::string_view message_of(permission_errc e);

enum class name_kind : std::uint8_t {
  concrete,  // no wildcard: may be requested and granted
  pattern,   // has a '*' segment: may only be granted
};

// validate_permission checks `name` against the grammar above. On success it says
// whether the name is concrete or a pattern. Never allocates.
std::expected<name_kind, permission_errc> validate_permission(std::string_view name);

// grant is one granted permission string and where it comes from, e.g.
// {"bots.*", "group:support_team"}. compile() copies both.
struct grant {
  std::string_view permission;
  std::string_view source;  // "role:admin", "group:support_team", "api_key:key_1"
};

// check_result answers a check. `source` views the set's own copy of the source tag
// and lives as long as the permission_set; it is empty when not granted.
struct check_result {
  bool granted = false;
  std::string_view source;
  explicit operator bool() const { return granted; }
};

// compile_error says which grant of the input was refused and why.
struct compile_error {
  permission_errc code = permission_errc::ok;
  std::size_t index = 0;  // into the grants given to compile()
};

class permission_set {
 public:
  // An empty set grants nothing.
  permission_set() = default;

  // compile validates every grant and builds the lookup structures: a hash table of
  // the concrete names (one XXH3 hash and a compare per check) and a short list of
  // patterns. Duplicates are allowed; the first one listed keeps its source.
  // Fails on the first invalid grant. Allocates; not for the hot path.
  [[gnu::cold]] static std::expected<permission_set, compile_error> compile(
      std::span<const grant> grants);

  // check answers whether the concrete name `requested` is granted, and by which
  // source. An exact grant is reported in preference to a pattern; among patterns,
  // the first listed wins. Invalid or wildcard names are never granted. Never
  // allocates, locks, throws or blocks.
  check_result check(std::string_view requested) const noexcept;

  // covers answers whether every concrete name that `permission` (concrete or
  // pattern) can match is granted by one single grant of this set — the rule for the
  // permissions an API key may ask for. A pattern covered only by the union of
  // several grants is refused: the rule errs on the side of refusing. Invalid names
  // are never covered. Never allocates.
  check_result covers(std::string_view permission) const noexcept;

  // size is the number of grants compiled in (after validation, duplicates included).
  std::size_t size() const { return grant_count_; }
  bool empty() const { return grant_count_ == 0; }

 private:
  struct span_ref {  // a byte range of text_
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
  };
  struct exact_entry {
    std::uint64_t hash = 0;
    span_ref name;
    std::uint32_t source = 0;  // index into sources_
  };
  struct pattern_entry {
    span_ref text;
    std::uint32_t source = 0;
    std::uint32_t first_segment = 0;  // into segments_
    std::uint32_t segment_count = 0;
  };
  struct pattern_segment {
    span_ref literal;      // empty for '*'
    bool star = false;
    char separator = 0;    // the separator after this segment; 0 for the last one
  };
  bool matches(const pattern_entry& p, std::string_view requested) const noexcept;

  std::string_view view(span_ref r) const { return {text_.data() + r.offset, r.length}; }

  std::string text_;                   // every name and source, back to back
  std::vector<span_ref> sources_;      // distinct source tags
  std::vector<exact_entry> exact_;     // open addressing, power-of-two size, hash 0 = empty
  std::vector<pattern_entry> patterns_;
  std::vector<pattern_segment> segments_;  // every pattern's segments, back to back
  std::size_t grant_count_ = 0;
};

// find_uncovered returns the index of the first permission in `requested` that
// `owner` does not cover (see permission_set::covers), or nullopt when all are
// covered — the check made when an API key is created with explicit permissions.
// An empty `requested` is trivially covered.
std::optional<std::size_t> find_uncovered(const permission_set& owner,
                                          std::span<const std::string_view> requested);
std::optional<std::size_t> find_uncovered(const permission_set& owner,
                                          std::span<const std::string> requested);

}  // namespace tollgate::authz
