// bench/store_reader_bench.cc — cost of the hot path's store reads: one renew, the
// session, user status and permission lookups, one reset.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "store/store.h"

namespace {

using namespace tollgate::store;

// numbered builds "<prefix><i>" (GCC 12 warns falsely on `literal + std::to_string`).
std::string numbered(const char* prefix, int i) {
  std::string out(prefix);
  out.append(std::to_string(i));
  return out;
}

struct fixture {
  std::string dir;
  std::unique_ptr<store> db;
  std::unique_ptr<reader> rd;
  fixture() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tollgate-bench-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
    init_params p{"usr_admin", "admin", "$argon2id$x", "", 1};
    (void)store::init(dir, p);
    db = std::move(store::open(dir).value());
    (void)db->write([](write_txn& t) -> result<void> {
      for (int i = 0; i < 10000; ++i) {
        user u;
        u.id = numbered("usr_", i);
        u.username = numbered("u", i);
        u.status = user_status::active;
        if (auto r = t.put_user(u); !r) return r;
        session s;
        s.id = numbered("ses_", i);
        s.user_id = u.id;
        s.created_at = s.last_activity = 1;
        if (auto r = t.put_session(s); !r) return r;
      }
      return {};
    });
    rd = std::move(db->make_reader().value());
  }
  ~fixture() {
    rd.reset();
    db.reset();
    std::filesystem::remove_all(dir);
  }
};

void BM_ReaderRenewReset(benchmark::State& state) {
  static fixture f;
  for (auto _ : state) {
    f.rd->begin();
    f.rd->end();
  }
}
BENCHMARK(BM_ReaderRenewReset);

void BM_ReaderRevocationCheck(benchmark::State& state) {
  static fixture f;
  std::string sid = "ses_4242", uid = "usr_4242";
  for (auto _ : state) {
    f.rd->begin();
    auto s = f.rd->session(sid);
    auto u = f.rd->user_status(uid);
    auto p = f.rd->effective_permissions(uid);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(u);
    benchmark::DoNotOptimize(p);
    f.rd->end();
  }
}
BENCHMARK(BM_ReaderRevocationCheck);

}  // namespace

BENCHMARK_MAIN();
