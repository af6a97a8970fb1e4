// fuzz/settings_patch.cc — PATCH /settings/security bodies against two documents.
// Invariants: an accepted patch yields a document that validates, that survives
// serialise → parse unchanged, and that the same patch applied again leaves as it is
// (idempotence: objects merge, everything else replaces); a rejected patch leaves the
// document untouched and names a reason.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy/settings.h"

using tollgate::policy::security_settings;

namespace {

security_settings changed() {
  security_settings s;
  s.password.min_length = 40;
  s.password.require_special = false;
  s.session.max_sessions = 1;
  s.two_factor.enabled = true;
  s.two_factor.required_for_roles = {"ops", "admin", "auditor"};
  s.lockout.reset_window_minutes = 10080;
  return s;
}

void check(const security_settings& base, std::string_view text) {
  security_settings doc = base;
  auto r = tollgate::policy::apply_patch_text(doc, text);
  if (!r) {
    if (!(doc == base) || r.error().message.empty()) std::abort();
    return;
  }
  if (tollgate::policy::validate(doc)) std::abort();
  security_settings twice = doc;
  if (!tollgate::policy::apply_patch_text(twice, text) || !(twice == doc)) std::abort();
  auto back = tollgate::policy::parse(tollgate::policy::serialize(doc));
  if (!back || !(*back == doc)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const security_settings bases[] = {security_settings{}, changed()};
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& base : bases) check(base, text);
  return 0;
}
