// cli/options.cc — flag splitting and the bridge from flags to config overrides.
#include <unistd.h>

#include <cstdio>

#include "cli/cli.h"

extern char** environ;

namespace tollgate::cli {

int fail(int status, std::string_view what) {
  std::fprintf(stderr, "tollgate: %.*s\n", static_cast<int>(what.size()), what.data());
  return status;
}

std::expected<std::vector<option>, std::string> parse_options(std::span<char* const> args,
                                                              bool (*known)(std::string_view), bool* help) {
  std::vector<option> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      *help = true;
      continue;
    }
    if (!a.starts_with("--")) return std::unexpected("unexpected argument '" + std::string(a) + "'");
    const std::size_t eq = a.find('=');
    option o{std::string(a.substr(0, eq)), {}};
    if (!known(o.name)) return std::unexpected("unknown flag " + o.name);
    if (eq != std::string_view::npos) {
      o.value.assign(a.substr(eq + 1));
    } else if (i + 1 < args.size()) {
      o.value.assign(args[++i]);
    } else {
      return std::unexpected(o.name + " needs a value");
    }
    for (const option& prev : out) {
      if (prev.name == o.name) return std::unexpected(o.name + " given twice");
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::expected<config::settings, int> settings_from(std::string_view config_file, const std::vector<option>& flags,
                                                   std::string_view command) {
  auto env = config::env_overrides(environ);
  if (!env) return std::unexpected(fail(exit_usage, std::string(command) + ": " + env.error()));
  std::vector<config::override_value> from_flags;
  for (const option& o : flags) {
    if (const config::key_info* k = config::find_flag(o.name)) from_flags.push_back({k, o.value, o.name});
  }
  auto s = config::load(config_file, *env, from_flags);
  if (!s) return std::unexpected(fail(exit_usage, std::string(command) + ": " + s.error()));
  return *std::move(s);
}

}  // namespace tollgate::cli
