#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "version") {
    std::puts("tollgate 0.1.0");
    return 0;
  }
  std::fputs("usage: tollgate init|serve|backup|version|--help\n", stderr);
  return 2;
}
