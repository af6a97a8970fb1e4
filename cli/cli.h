// cli/cli.h — the subcommands of the tollgate binary. Private to cli/.
//
// Threading: main thread only, at startup (serve then hands over to the engine).
// Every command returns the process exit status: 0 success, 1 runtime failure,
// 2 bad usage, bad config or bad input. Errors are one line on stderr.
#pragma once

#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace tollgate::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_runtime = 1;
inline constexpr int exit_usage = 2;

// fail prints "tollgate: <what>" as one line on stderr and returns `status`.
int fail(int status, std::string_view what);

// option is one command-line flag as given: "--name value" or "--name=value".
struct option {
  std::string name;
  std::string value;
};

// parse_options splits `args` into flags. `known` says whether a flag exists.
// "--help"/"-h" sets *help. Positional arguments, unknown or repeated flags and
// missing values are errors (the message, without the "tollgate: " prefix).
std::expected<std::vector<option>, std::string> parse_options(std::span<char* const> args,
                                                              bool (*known)(std::string_view),
                                                              bool* help);

// settings_from loads the settings from `config_file` (empty: none), the process
// environment and `flags` (config keys given as flags), printing the error if any.
std::expected<config::settings, int> settings_from(std::string_view config_file, const std::vector<option>& flags,
                                                   std::string_view command);

int serve(std::span<char* const> args);
int init(std::span<char* const> args);
int backup(std::span<char* const> args);

void print_serve_help();
void print_init_help();
void print_backup_help();

}  // namespace tollgate::cli
