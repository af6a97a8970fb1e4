// cli/main.cc — the tollgate command: dispatch to a subcommand.
#include <cstdio>
#include <string_view>

#include "cli/cli.h"

#ifndef TOLLGATE_VERSION
#error "cli/meson.build defines TOLLGATE_VERSION from the project version"
#endif

namespace {

void print_help() {
  std::puts(
      "usage: tollgate <command> [flags]\n"
      "\n"
      "commands:\n"
      "  serve    serve the verify, forward-auth and management API (until SIGTERM)\n"
      "  init     create the store in the data dir with the first admin\n"
      "  backup   write a consistent copy of the store to a file\n"
      "  version  print the version\n"
      "  help     print this help; `tollgate <command> --help` for a command's flags\n"
      "\n"
      "Exit status: 0 success, 1 runtime failure, 2 bad usage or configuration.");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tollgate::cli;
  if (argc < 2) return fail(exit_usage, "no command given (see tollgate --help)");
  const std::string_view cmd = argv[1];
  const std::span<char* const> rest(argv + 2, static_cast<std::size_t>(argc - 2));
  if (cmd == "serve") return serve(rest);
  if (cmd == "init") return init(rest);
  if (cmd == "backup") return backup(rest);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    if (cmd == "help" && argc >= 3) {
      const std::string_view topic = argv[2];
      if (topic == "serve") print_serve_help();
      else if (topic == "init") print_init_help();
      else if (topic == "backup") print_backup_help();
      else return fail(exit_usage, "help: unknown command '" + std::string(topic) + "'");
      return exit_ok;
    }
    print_help();
    return exit_ok;
  }
  if (cmd == "version" || cmd == "--version") {
    if (argc > 2) return fail(exit_usage, "version: takes no arguments");
    std::puts("tollgate " TOLLGATE_VERSION);
    return exit_ok;
  }
  return fail(exit_usage, "unknown command '" + std::string(cmd) + "' (see tollgate --help)");
}
