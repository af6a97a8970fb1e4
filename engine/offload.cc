// engine/offload.cc — the offload pool: a Boost.Asio thread_pool for slow routes.
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "engine/shard.h"

namespace tollgate::engine {

namespace {

// lower_priority_once lowers the calling pool thread on its first task. Asio owns
// the threads, so their first task is the only hook into each of them; on Linux
// sched_setscheduler(0) and setpriority with a thread id change that thread alone.
// Lowering needs no privilege; a failure leaves the thread at the shards' priority.
void lower_priority_once(const offload_priority& p) {
  thread_local bool lowered = false;
  if (lowered) return;
  lowered = true;
  if (p.idle) {
    const sched_param none{};
    (void)::sched_setscheduler(0, SCHED_IDLE, &none);
  } else {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), p.nice);
  }
}

}  // namespace

struct offload_pool::impl {
  impl(unsigned threads, offload_priority p) : pool(threads), priority(p) {}
  boost::asio::thread_pool pool;
  offload_priority priority;
};

offload_pool::offload_pool(unsigned threads, offload_priority priority)
    : impl_(std::make_unique<impl>(threads, priority)) {}

offload_pool::~offload_pool() { join(); }

void offload_pool::post(std::move_only_function<void()> work) {
  boost::asio::post(impl_->pool, [priority = impl_->priority, work = std::move(work)]() mutable {
    lower_priority_once(priority);
    work();
  });
}

void offload_pool::join() { impl_->pool.join(); }

}  // namespace tollgate::engine
