// engine/request.cc — request accessors and ip_address formatting.
#include <arpa/inet.h>

#include "engine/engine.h"

namespace tollgate::engine {

std::string ip_address::to_string() const {
  char text[INET6_ADDRSTRLEN];
  const char* r = is_v4 ? inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text)
                        : inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  return r ? std::string(r) : std::string();
}

std::string_view request::header_value(std::string_view name) const {
  for (const header& h : headers) {
    if (http::iequals(h.name, name)) return h.value;
  }
  return {};
}

bool request::has_header(std::string_view name) const {
  for (const header& h : headers) {
    if (http::iequals(h.name, name)) return true;
  }
  return false;
}

std::string_view message_of(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::bad_address: return "listen host is not a numeric IPv4 or IPv6 address";
    case errc::bind_failed: return "cannot bind the listen address (in use or not permitted)";
    case errc::uring_unavailable: return "io_uring is required but cannot be set up";
    case errc::thread_failed: return "cannot start a shard thread";
  }
  return "unknown engine error";
}

}  // namespace tollgate::engine
