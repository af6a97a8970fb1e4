// tests/store/test_util.h — a temporary data dir per test.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "store/store.h"
#include "tests/temp_dir.h"

namespace tollgate::store::testing {

using tollgate::testing::temp_dir;

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
