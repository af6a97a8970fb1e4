// engine/timer.cc — the cached Date header.
#include "engine/timer.h"

#include <cstdio>
#include <ctime>

namespace tollgate::engine {

std::string_view date_cache::line(unix_time now) {
  const auto second = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  if (second != second_) {
    second_ = second;
    const std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&t, &tm);
    // strftime's %a/%b follow the locale; RFC 9110 wants the English names.
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const int n = std::snprintf(text_.data(), text_.size(),
                                "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", days[tm.tm_wday],
                                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                                tm.tm_min, tm.tm_sec);
    size_ = n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  return {text_.data(), size_};
}

}  // namespace tollgate::engine
