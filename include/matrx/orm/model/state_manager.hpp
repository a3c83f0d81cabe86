// StateManager: the in-process cache of model objects, keyed by primary key.
//
// orm::get<M>(…) with a primary-key filter is answered from the cache while the entry is
// fresh; every read through get fills it, and every write path evicts or refreshes it —
// including bulk and QuerySet writes, delete_where and raw SQL, which the original left
// stale. Callers get copies (or shared_ptr<const M>), never one shared mutable object.
// Inside a transaction nothing is stored (the data is not committed yet) and touched keys
// are evicted again when the transaction ends.
//
// Thread-safe: one mutex per model cache. Time comes from an injectable clock (cache::set_clock).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "matrx/orm/meta/model.hpp"
#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include "matrx/orm/model/hydrate.hpp"
#include "matrx/orm/model/transaction.hpp"
#include "matrx/orm/query/expression.hpp"

namespace matrx::orm {

struct CacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;  ///< entries dropped: expired, or invalidated by a write
  std::size_t size = 0;
};

namespace cache {
using Clock = std::chrono::steady_clock;
/// Replaces the clock (tests advance a fake one instead of sleeping); nullptr restores it.
void set_clock(std::function<Clock::time_point()> now);
Clock::time_point now();
/// How long entries of `model` stay fresh; nullopt: forever (permanent).
std::optional<Clock::duration> time_to_live(const ModelInfo& model);
/// Empties every model's cache (raw SQL that may have written anything does this).
void clear_all();
// ---- cross-process invalidation (LISTEN/NOTIFY) ----
/// The channel writers NOTIFY and listeners LISTEN on.
inline constexpr const char* notify_channel = "matrx_orm_cache";
/// Opens a dedicated connection to `database` (empty: the default) that LISTENs for other
/// processes' writes and evicts what they changed; from then on this process's writes on
/// that database send a NOTIFY (inside a transaction, delivered only if it commits).
/// Every `health_check` the connection is checked; when it is lost, that database's caches
/// are emptied and paused (no hits, nothing stored: invalidations could be missed) until a
/// reconnect (backoff 0.1 s … 5 s) LISTENs again. Call stop_listeners() before the io_context ends.
boost::asio::awaitable<void> start_listener(std::string database = {},
                                            std::chrono::milliseconds health_check = std::chrono::seconds(1));
/// Closes every listener connection and stops their reconnects.
void stop_listeners();
struct ListenerStatus {
  bool connected = false;
  int backend_pid = 0;          ///< the LISTEN connection's server process
  std::uint64_t reconnects = 0;
};
/// The listener of `database` (empty: the default), or nullopt when none was started.
std::optional<ListenerStatus> listener_status(std::string_view database = {});
/// True once start_listener ran for this database (registered name).
bool notifications_enabled(std::string_view database);
/// The NOTIFY payload for an eviction of `key` in `model` ("" key: the model's whole cache),
/// tagged with this process's id so that a process ignores its own notifications.
std::string invalidation_payload(std::string_view model, std::string_view key);
/// Sends invalidations of `keys` of `model` ("*": every model) through `database` (empty:
/// the default), inside the caller's transaction if any. No-op unless enabled there.
boost::asio::awaitable<void> notify(std::string database, std::string model, std::vector<std::string> keys);

}  // namespace cache

namespace detail {
extern std::atomic<int> listeners_down;  // databases whose listener is reconnecting
bool listener_down(std::string_view database);
}  // namespace detail

namespace cache {
/// True while the listener of `database` is reconnecting: its caches neither serve nor store.
inline bool paused(std::string_view database) {
  return detail::listeners_down.load(std::memory_order_acquire) > 0 && detail::listener_down(database);
}
/// False only for a plain SELECT: the command tag says SELECT and the text has no
/// INSERT/UPDATE/DELETE/MERGE/TRUNCATE/COPY word (a data-modifying CTE also reports SELECT).
bool may_have_written(std::string_view sql, std::string_view command_tag);
}  // namespace cache

namespace detail {
/// Type-erased view of one model's cache, for clear_all.
class ModelCacheBase {
 public:
  virtual ~ModelCacheBase() = default;
  virtual void clear() = 0;
  virtual void evict(const std::string& key) = 0;
  virtual const ModelInfo& model() const = 0;
};
void register_cache(ModelCacheBase* cache);

/// Appends one key field to a cache key: "index:size" 'b'|'t' bytes.
void append_cache_key_part(std::string& key, std::size_t field, const Param& p);

/// The cache key of an object: its primary-key values, encoded.
template <Described M>
std::string cache_key(const M& obj) {
  const ModelInfo& m = model_info<M>();
  std::string key;
  for_each_field<M>([&](const auto& f, std::size_t i) {
    if (m.fields[i].primary_key) append_cache_key_part(key, i, encode_member(obj.*(f.member), m.fields[i]));
  });
  return key;
}
/// The cache key a filter asks for, when it is exactly "every primary-key field = value".
std::optional<std::string> cache_key(const query::Node& where, const ModelInfo& model);
}  // namespace detail

template <Described M>
class StateManager {
 public:
  /// The cached object for `key` while fresh (counts a hit or a miss).
  static std::shared_ptr<const M> find(const std::string& key) {
    auto& s = state();
    const bool paused = cache::paused(model_info<M>().database);
    std::lock_guard lock(s.mutex);
    auto it = paused ? s.entries.end() : s.entries.find(key);
    if (it == s.entries.end()) {
      ++s.stats.misses;
      return nullptr;
    }
    const auto ttl = cache::time_to_live(model_info<M>());
    if (ttl && cache::now() - it->second.cached_at > *ttl) {
      s.entries.erase(it);
      ++s.stats.evictions;
      ++s.stats.misses;
      return nullptr;
    }
    ++s.stats.hits;
    return it->second.object;
  }
  /// A copy of the cached object for `key` while fresh, made under the lock: no reference
  /// count traffic on the hit path (counts a hit or a miss).
  static std::optional<M> find_copy(const std::string& key) {
    auto& s = state();
    const bool paused = cache::paused(model_info<M>().database);
    std::lock_guard lock(s.mutex);
    auto it = paused ? s.entries.end() : s.entries.find(key);
    if (it != s.entries.end()) {
      const auto ttl = cache::time_to_live(model_info<M>());
      if (!ttl || cache::now() - it->second.cached_at <= *ttl) {
        ++s.stats.hits;
        return std::optional<M>(*it->second.object);
      }
      s.entries.erase(it);
      ++s.stats.evictions;
    }
    ++s.stats.misses;
    return std::nullopt;
  }
  /// Stores a copy of `obj` (replacing an older one). No-op for CachePolicy::none.
  static void cache(const M& obj) {
    if (model_info<M>().cache_policy == CachePolicy::none || cache::paused(model_info<M>().database)) return;
    auto copy = std::make_shared<const M>(obj);
    auto& s = state();
    const auto now = cache::now();
    std::lock_guard lock(s.mutex);
    s.entries.insert_or_assign(detail::cache_key(obj), Entry{std::move(copy), now});
    if (s.entries.size() > model_info<M>().cache_max_entries) s.trim(now);
  }
  static void remove(const M& obj) { remove_key(detail::cache_key(obj)); }
  static void remove_key(const std::string& key) {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    s.stats.evictions += s.entries.erase(key);
  }
  static void clear_cache() { state().clear(); }
  static std::size_t count() {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    return s.entries.size();
  }
  static CacheStats stats() {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    CacheStats out = s.stats;
    out.size = s.entries.size();
    return out;
  }

 private:
  struct Entry {
    std::shared_ptr<const M> object;
    cache::Clock::time_point cached_at;
  };
  struct State : detail::ModelCacheBase {
    State() { detail::register_cache(this); }
    void clear() override {
      std::lock_guard lock(mutex);
      stats.evictions += entries.size();
      entries.clear();
    }
    void evict(const std::string& key) override {
      std::lock_guard lock(mutex);
      stats.evictions += entries.erase(key);
    }
    const ModelInfo& model() const override { return model_info<M>(); }
    // Over the bound (the original's cache grew without one): drop expired entries, then the
    // oldest tenth, so that trimming is rare and its cost amortised. Called with the lock held.
    void trim(cache::Clock::time_point now) {
      const auto ttl = cache::time_to_live(model_info<M>());
      const std::size_t max = model_info<M>().cache_max_entries;
      if (ttl) stats.evictions += std::erase_if(entries, [&](const auto& e) { return now - e.second.cached_at > *ttl; });
      if (entries.size() <= max) return;
      std::vector<cache::Clock::time_point> times;
      times.reserve(entries.size());
      for (const auto& e : entries) times.push_back(e.second.cached_at);
      const std::size_t drop = entries.size() - max + max / 10;
      std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(drop - 1), times.end());
      const auto cutoff = times[drop - 1];
      std::size_t dropped = 0;
      for (auto it = entries.begin(); it != entries.end() && dropped < drop;) {
        if (it->second.cached_at <= cutoff) {
          it = entries.erase(it);
          ++dropped;
        } else {
          ++it;
        }
      }
      stats.evictions += dropped;
    }
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
    CacheStats stats;
  };
  static State& state() {
    static State s;
    return s;
  }
};

namespace detail {
// The cache upkeep after a write is library code compiled once (src/model/state_manager.cpp);
// the per-model templates below only compute keys and pass StateManager<M>'s functions, so
// no model instantiates a coroutine for it (compile time, docs/performance.md).

/// `keys[i]` is the key of the object at `objs + i * stride`. Outside a transaction the
/// objects are stored (`store`) or evicted; inside one they are evicted now and again when it
/// ends. Other processes are told when notifications are on.
boost::asio::awaitable<void> cache_after_write_any(const ModelInfo& model, std::vector<std::string> keys, const void* objs,
                                                   std::size_t stride, bool store, void (*cache_object)(const void*),
                                                   void (*remove_key)(const std::string&));
/// One known key is evicted, or (no key) the model's whole cache; now and at the end of a
/// surrounding transaction.
boost::asio::awaitable<void> cache_after_filtered_write_any(const ModelInfo& model, std::optional<std::string> key,
                                                            void (*remove_key)(const std::string&), void (*clear)());

/// After objects were written: outside a transaction store fresh copies (or evict them when
/// `store` is false); inside one evict them now and again when it ends, committed or not.
/// `objs` must outlive the await.
template <Described M>
boost::asio::awaitable<void> cache_after_write(const M* objs, std::size_t n, bool store) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) keys.push_back(cache_key(objs[i]));
  return cache_after_write_any(
      model_info<M>(), std::move(keys), objs, sizeof(M), store,
      [](const void* o) { StateManager<M>::cache(*static_cast<const M*>(o)); }, &StateManager<M>::remove_key);
}

/// After a write whose rows are unknown (QuerySet::remove): the model's whole cache goes.
template <Described M>
boost::asio::awaitable<void> cache_after_unknown_write() {
  return cache_after_filtered_write_any(model_info<M>(), std::nullopt, &StateManager<M>::remove_key,
                                        &StateManager<M>::clear_cache);
}

/// After a write through a filter whose rows were not read back: a primary-key filter
/// evicts that one object (now, and again when a surrounding transaction ends); any other
/// filter empties the model's cache.
template <Described M>
boost::asio::awaitable<void> cache_after_filtered_write(const query::NodePtr& where) {
  std::optional<std::string> key;
  if (where) key = cache_key(*where, model_info<M>());
  return cache_after_filtered_write_any(model_info<M>(), std::move(key), &StateManager<M>::remove_key,
                                        &StateManager<M>::clear_cache);
}
}  // namespace detail

}  // namespace matrx::orm
