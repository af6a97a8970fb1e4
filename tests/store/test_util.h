// tests/store/test_util.h — a temporary data dir per test.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "store/store.h"

namespace tollgate::store::testing {

// temp_dir makes a fresh directory and removes it when destroyed.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tollgate-store-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline init_params admin_params() {
  init_params p;
  p.admin_user_id = "usr_admin";
  p.admin_username = "Admin";
  p.admin_password_hash = "$argon2id$test";
  p.admin_email = "admin@example.com";
  p.now = 1'700'000'000'000'000'000;
  return p;
}

}  // namespace tollgate::store::testing
