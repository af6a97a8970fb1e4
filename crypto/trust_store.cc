#include "crypto/trust_store.h"

#include <algorithm>
#include <limits>

namespace tollgate::crypto {

using detail::issuer_entry;
using detail::snapshot;

trust_store::trust_store() {
  auto first = std::make_unique<snapshot>();
  first->version = next_version_++;
  current_.store(first.get(), std::memory_order_release);
  owned_current_ = std::move(first);
}

trust_store::~trust_store() = default;

std::uint64_t trust_store::version() const noexcept {
  return current_.load(std::memory_order_acquire)->version;
}

void trust_store::publish_locked(std::unique_ptr<snapshot> next) {
  next->version = next_version_++;
  current_.store(next.get(), std::memory_order_release);
  retired_.push_back(std::move(owned_current_));
  owned_current_ = std::move(next);
  reclaim_locked();
}

std::size_t trust_store::reclaim_locked() {
  std::uint64_t min_seen = std::numeric_limits<std::uint64_t>::max();
  for (const auto& s : slots_) min_seen = std::min(min_seen, s->observed.load(std::memory_order_acquire));
  // A snapshot of version v is unreachable once every verifier has switched to a
  // version > v: a verifier stores |observed| only after it stopped using older ones.
  std::erase_if(retired_, [&](const std::unique_ptr<const snapshot>& s) { return s->version < min_seen; });
  return retired_.size();
}

std::size_t trust_store::reclaim() {
  std::lock_guard lock(mu_);
  return reclaim_locked();
}

void trust_store::set_issuer(issuer_config config, std::vector<key_entry> keys) {
  std::lock_guard lock(mu_);
  auto next = std::make_unique<snapshot>(*owned_current_);
  auto entry = std::make_shared<issuer_entry>();
  entry->config = std::move(config);
  entry->keys = std::move(keys);
  auto it = std::find_if(next->issuers.begin(), next->issuers.end(),
                         [&](const auto& e) { return e->config.name == entry->config.name; });
  if (it != next->issuers.end()) {
    entry->refetch_wanted = (*it)->refetch_wanted;
    *it = std::move(entry);
  } else {
    entry->refetch_wanted = std::make_shared<std::atomic<bool>>(false);
    next->issuers.push_back(std::move(entry));
  }
  publish_locked(std::move(next));
}

errc trust_store::replace_keys(std::string_view name, std::vector<key_entry> keys) {
  std::lock_guard lock(mu_);
  auto next = std::make_unique<snapshot>(*owned_current_);
  auto it = std::find_if(next->issuers.begin(), next->issuers.end(),
                         [&](const auto& e) { return e->config.name == name; });
  if (it == next->issuers.end()) return errc::unknown_issuer;
  auto entry = std::make_shared<issuer_entry>(**it);
  entry->keys = std::move(keys);
  *it = std::move(entry);
  publish_locked(std::move(next));
  return errc::ok;
}

void trust_store::remove_issuer(std::string_view name) {
  std::lock_guard lock(mu_);
  auto next = std::make_unique<snapshot>(*owned_current_);
  std::erase_if(next->issuers, [&](const auto& e) { return e->config.name == name; });
  publish_locked(std::move(next));
}

bool trust_store::take_refetch_request(std::string_view name) {
  std::lock_guard lock(mu_);
  for (const auto& e : owned_current_->issuers)
    if (e->config.name == name) return e->refetch_wanted->exchange(false, std::memory_order_relaxed);
  return false;
}

}  // namespace tollgate::crypto
