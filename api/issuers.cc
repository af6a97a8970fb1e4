// External issuers from [[issuers]]: jwks_file documents loaded into the trust store
// at startup and re-read by one background thread.
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "api/hot.h"
#include "crypto/jwk.h"

namespace tollgate::api::hot {

namespace {

struct loaded {
  crypto::issuer_config config;
  std::string file;
  std::int64_t refresh_seconds;
  std::string last_text;
};

std::expected<std::vector<crypto::key_entry>, std::string> read_keys(const loaded& l, std::string& text) {
  std::ifstream in(l.file, std::ios::binary);
  if (!in) return std::unexpected(l.config.name + ": cannot read jwks_file " + l.file);
  std::ostringstream s;
  s << in.rdbuf();
  text = s.str();
  auto set = crypto::parse_jwks(text);
  if (!set) return std::unexpected(l.config.name + ": jwks_file " + l.file + ": " + std::string(crypto::message_of(set.error())));
  auto keys = crypto::key_entries(*set, l.config.algorithms);
  if (!keys) return std::unexpected(l.config.name + ": jwks_file " + l.file + ": " + std::string(crypto::message_of(keys.error())));
  if (keys->empty()) return std::unexpected(l.config.name + ": jwks_file " + l.file + ": no key usable with the issuer's algorithms");
  return std::move(*keys);
}

class file_loader final : public issuer_loader {
 public:
  file_loader(crypto::trust_store& trust, std::vector<loaded> issuers)
      : trust_(trust), issuers_(std::move(issuers)), thread_([this] { run(); }) {}
  ~file_loader() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  // run re-reads each file when its refresh interval has passed, or within a second
  // when a verifier saw an unknown kid for it (take_refetch_request is shared by all
  // shards, so a burst of unknown kids costs one read).
  void run() {
    using clock = std::chrono::steady_clock;
    std::vector<clock::time_point> due(issuers_.size(), clock::now());
    for (std::size_t i = 0; i < issuers_.size(); ++i) due[i] += std::chrono::seconds(issuers_[i].refresh_seconds);
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
      const auto now = clock::now();
      for (std::size_t i = 0; i < issuers_.size(); ++i) {
        auto& l = issuers_[i];
        const bool asked = trust_.take_refetch_request(l.config.name);
        if (!asked && now < due[i]) continue;
        due[i] = now + std::chrono::seconds(l.refresh_seconds);
        std::string text;
        auto keys = read_keys(l, text);
        if (!keys || text == l.last_text) continue;  // keep the last good set
        l.last_text = std::move(text);
        trust_.replace_keys(l.config.name, std::move(*keys));
      }
    }
  }

  crypto::trust_store& trust_;
  std::vector<loaded> issuers_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::expected<std::unique_ptr<issuer_loader>, std::string> load_issuers(crypto::trust_store& trust,
                                                                        std::vector<issuer> issuers) {
  std::vector<loaded> all;
  for (auto& is : issuers) {
    if (!is.jwks_url.empty())
      return std::unexpected("issuers: " + is.name + ": jwks_url is not supported yet (crypto has no JWKS fetcher); use jwks_file");
    loaded l;
    l.config.name = is.name;
    l.config.issuer = is.iss;
    l.config.audiences = is.audiences;
    l.config.leeway_seconds = is.leeway_seconds;
    for (const auto& a : is.algorithms) {
      auto parsed = crypto::parse_alg(a);
      if (!parsed) return std::unexpected("issuers: " + is.name + ": unknown algorithm " + a);
      l.config.algorithms |= crypto::alg_bit(*parsed);
    }
    l.file = is.jwks_file;
    l.refresh_seconds = std::max<std::int64_t>(1, is.refresh_seconds);
    auto keys = read_keys(l, l.last_text);
    if (!keys) return std::unexpected("issuers: " + keys.error());
    trust.set_issuer(l.config, std::move(*keys));
    all.push_back(std::move(l));
  }
  return std::unique_ptr<issuer_loader>(new file_loader(trust, std::move(all)));
}

}  // namespace tollgate::api::hot
