// engine/response.cc — response building.
#include <utility>

#include "engine/engine.h"

namespace tollgate::engine {
namespace {

// A header name must be an RFC 9110 token; anything else could split the head.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                        std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool is_field_value(std::string_view s) {
  for (unsigned char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

}  // namespace

void response::add_header(std::string_view name, std::string_view value) {
  if (!is_token(name) || !is_field_value(value)) return;
  headers_.append(name);
  headers_.append(": ");
  headers_.append(value);
  headers_.append("\r\n");
}

void response::set_body(std::string_view content_type, std::string_view body) {
  content_type_.assign(content_type);
  body_.assign(body);
}

void response::stream(std::string_view content_type, chunk_source next) {
  content_type_.assign(content_type);
  body_.clear();
  stream_ = std::move(next);
}

void response::reset() {
  status_ = 200;
  close_ = false;
  headers_.clear();
  content_type_.clear();
  body_.clear();
  stream_ = nullptr;
}

}  // namespace tollgate::engine
