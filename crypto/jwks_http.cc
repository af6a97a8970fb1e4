// crypto/jwks_http.cc — url_fetch: JWKS documents over http_client (cold path,
// offload pool only), its errors folded into crypto's errc.
#include "crypto/jwks_source.h"
#include "http_client/http_client.h"

namespace tollgate::crypto {

jwks_fetch url_fetch(std::string url, int timeout_ms, std::size_t max_bytes, std::string ca_file) {
  // Made once, so the CA file is read once per source rather than on every refresh.
  auto client = http_client::client::create(
      url, {.timeout = std::chrono::milliseconds(timeout_ms), .max_body_bytes = max_bytes, .ca_file = std::move(ca_file)});
  return [client = std::move(client)]() -> std::expected<std::string, errc> {
    if (!client) return std::unexpected(errc::io_error);
    auto r = client->get();
    if (!r) {
      return std::unexpected(r.error() == http_client::errc::response_too_large ? errc::token_too_large
                                                                                : errc::io_error);
    }
    if (r->status != 200) return std::unexpected(errc::io_error);
    return std::move(r->body);
  };
}

}  // namespace tollgate::crypto
