// engine/offload.cc — the offload pool: a Boost.Asio thread_pool for slow routes.
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "engine/shard.h"

namespace tollgate::engine {

namespace {

// lower_priority_once renices the calling pool thread on its first task. Asio owns
// the threads, so their first task is the only hook into each of them; on Linux
// setpriority with a thread id changes that thread alone.
void lower_priority_once(int nice) {
  thread_local bool lowered = false;
  if (lowered) return;
  lowered = true;
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice);
}

}  // namespace

struct offload_pool::impl {
  impl(unsigned threads, int nice_value) : pool(threads), nice(nice_value) {}
  boost::asio::thread_pool pool;
  int nice;
};

offload_pool::offload_pool(unsigned threads, int nice)
    : impl_(std::make_unique<impl>(threads, nice)) {}

offload_pool::~offload_pool() { join(); }

void offload_pool::post(std::move_only_function<void()> work) {
  boost::asio::post(impl_->pool, [nice = impl_->nice, work = std::move(work)]() mutable {
    lower_priority_once(nice);
    work();
  });
}

void offload_pool::join() { impl_->pool.join(); }

}  // namespace tollgate::engine
