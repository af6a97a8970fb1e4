// External issuers from [[issuers]]: jwks_file documents loaded into the trust store
// at startup through crypto::jwks_source and re-polled by one background thread.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/hot.h"
#include "crypto/jwks_source.h"

namespace tollgate::api::hot {

namespace {

// source_loader drives every issuer's crypto::jwks_source from one thread: poll()
// re-reads a file when its refresh interval has passed, or early (rate-limited by
// the source) when a shard saw an unknown kid; a failed read keeps the last good set.
class source_loader final : public issuer_loader {
 public:
  explicit source_loader(std::vector<std::unique_ptr<crypto::jwks_source>> sources)
      : sources_(std::move(sources)), thread_([this] { run(); }) {}
  ~source_loader() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  static std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  void run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; }))
      for (auto& s : sources_) s->poll(now_seconds());
  }

  std::vector<std::unique_ptr<crypto::jwks_source>> sources_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::expected<std::unique_ptr<issuer_loader>, std::string> load_issuers(crypto::trust_store& trust,
                                                                        std::vector<issuer> issuers) {
  std::vector<std::unique_ptr<crypto::jwks_source>> sources;
  for (auto& is : issuers) {
    crypto::issuer_config config;
    config.name = is.name;
    config.issuer = is.iss;
    config.audiences = is.audiences;
    config.leeway_seconds = is.leeway_seconds;
    for (const auto& a : is.algorithms) {
      auto parsed = crypto::parse_alg(a);
      if (!parsed) return std::unexpected("issuers: " + is.name + ": unknown algorithm " + a);
      config.algorithms |= crypto::alg_bit(*parsed);
    }
    crypto::jwks_source_config sc;
    sc.issuer_name = is.name;
    sc.algorithms = config.algorithms;
    sc.refresh_seconds = std::max<std::int64_t>(1, is.refresh_seconds);
    trust.set_issuer(std::move(config), {});
    const bool from_url = !is.jwks_url.empty();
    auto source = std::make_unique<crypto::jwks_source>(
        trust, sc, from_url ? crypto::url_fetch(is.jwks_url) : crypto::file_fetch(is.jwks_file));
    source->poll(std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count());
    if (source->status().last_success == 0 || source->status().keys == 0)
      return std::unexpected("issuers: " + is.name + (from_url ? ": jwks_url " + is.jwks_url : ": jwks_file " + is.jwks_file) + ": " +
                             std::string(source->status().last_error == crypto::errc::ok
                                             ? "no key usable with the issuer's algorithms"
                                             : crypto::message_of(source->status().last_error)));
    sources.push_back(std::move(source));
  }
  return std::unique_ptr<issuer_loader>(new source_loader(std::move(sources)));
}

}  // namespace tollgate::api::hot
