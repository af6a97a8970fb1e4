// cli/backup.cc — `tollgate backup`: a consistent hot copy of the store.
#include <sys/stat.h>

#include <cstdio>

#include "cli/cli.h"
#include "store/store.h"

namespace tollgate::cli {
namespace {
bool backup_flag(std::string_view n) { return n == "--data-dir" || n == "--out"; }
}  // namespace

void print_backup_help() {
  std::puts(
      "usage: tollgate backup [--data-dir DIR] --out FILE\n"
      "\n"
      "Writes a consistent, compacted copy of the store (safe while serve runs) to FILE,\n"
      "which must not exist. Restore: stop tollgate, copy FILE to DIR/data.mdb.");
}

int backup(std::span<char* const> args) {
  bool help = false;
  auto opts = parse_options(args, backup_flag, &help);
  if (!opts) return fail(exit_usage, "backup: " + opts.error() + " (see tollgate backup --help)");
  if (help) {
    print_backup_help();
    return exit_ok;
  }
  std::string out;
  for (const option& o : *opts) {
    if (o.name == "--out") out = o.value;
  }
  if (out.empty()) return fail(exit_usage, "backup: --out FILE is required");
  auto s = settings_from("", *opts, "backup");
  if (!s) return s.error();
  struct stat st;
  if (::stat(out.c_str(), &st) == 0) return fail(exit_runtime, "backup: " + out + " already exists");
  if (auto r = store::store::backup(s->store.data_dir, out); !r) {
    return fail(exit_runtime, "backup: " + s->store.data_dir + ": " + std::string(store::message_of(r.error())));
  }
  std::printf("tollgate: backed up %s to %s\n", s->store.data_dir.c_str(), out.c_str());
  return exit_ok;
}

}  // namespace tollgate::cli
