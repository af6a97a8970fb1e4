// engine/timer.h — the shard's coarse timers and the cached Date header. Private to
// engine/.
//
// Threading: owned by one shard; never shared.
//
// Every deadline in a list is "now + the same duration", and the shard's clock only
// moves forward between iterations, so appending keeps each list sorted by deadline:
// arming, re-arming and cancelling are O(1) and expiry pops from the front. The
// shard keeps one list per duration (header timeout, idle timeout).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "engine/engine.h"

namespace tollgate::engine {

class connection;

struct deadline_hook {
  deadline_hook* prev = nullptr;
  deadline_hook* next = nullptr;
  unix_time at{};
  connection* owner = nullptr;
  bool linked() const { return prev != nullptr; }
  void unlink() {
    if (!linked()) return;
    prev->next = next;
    next->prev = prev;
    prev = next = nullptr;
  }
};

class deadline_list {
 public:
  deadline_list() { head_.prev = head_.next = &head_; }
  deadline_list(const deadline_list&) = delete;
  deadline_list& operator=(const deadline_list&) = delete;

  // push_back (re)arms `h` for `at`, moving it from whatever list held it.
  void push_back(deadline_hook& h, unix_time at) {
    h.unlink();
    h.at = at;
    h.prev = head_.prev;
    h.next = &head_;
    head_.prev->next = &h;
    head_.prev = &h;
  }
  // front is the earliest deadline, or null when the list is empty.
  deadline_hook* front() const { return head_.next == &head_ ? nullptr : head_.next; }

 private:
  deadline_hook head_;
};

// date_cache formats "Date: <IMF-fixdate>\r\n" once per second of the shard's clock.
class date_cache {
 public:
  std::string_view line(unix_time now);

 private:
  std::int64_t second_ = INT64_MIN;
  std::array<char, 48> text_{};
  std::size_t size_ = 0;
};

}  // namespace tollgate::engine
