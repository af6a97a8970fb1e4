// engine/offload.cc — the offload pool: a Boost.Asio thread_pool for slow routes.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "engine/shard.h"

namespace tollgate::engine {

struct offload_pool::impl {
  explicit impl(unsigned threads) : pool(threads) {}
  boost::asio::thread_pool pool;
};

offload_pool::offload_pool(unsigned threads) : impl_(std::make_unique<impl>(threads)) {}

offload_pool::~offload_pool() { join(); }

void offload_pool::post(std::move_only_function<void()> work) {
  boost::asio::post(impl_->pool, std::move(work));
}

void offload_pool::join() { impl_->pool.join(); }

}  // namespace tollgate::engine
