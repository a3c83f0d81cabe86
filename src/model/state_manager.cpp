// The StateManager's clock, time-to-live table, the registry of model caches (for
// clear_all) and the primary-key filter recogniser.
#include "matrx/orm/model/state_manager.hpp"

#include <algorithm>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include <fmt/format.h>

#include "matrx/orm/log.hpp"

#include "matrx/orm/model/execute.hpp"
#include "matrx/orm/pg/connection.hpp"
#include "matrx/orm/pg/database.hpp"
#include <cctype>

namespace matrx::orm {

namespace {
// One LISTEN connection and the coroutine that watches it and reconnects it.
struct Listener {
  Listener(std::string db, pg::ConnectOptions opts, boost::asio::any_io_executor executor)
      : database(std::move(db)), options(std::move(opts)), timer(executor) {}
  std::string database;  // registered name
  pg::ConnectOptions options;
  pg::Connection connection;  // replaced by the supervisor after a reconnect
  boost::asio::steady_timer timer;
  std::chrono::milliseconds health_check{1000};
  bool stopped = false;
  int backend_pid = 0;
  std::uint64_t reconnects = 0;
};
struct Globals {
  std::mutex mutex;
  std::function<cache::Clock::time_point()> clock;
  std::vector<detail::ModelCacheBase*> caches;
  std::vector<std::shared_ptr<Listener>> listeners;
  std::set<std::string, std::less<>> enabled;  // registered database names
  std::set<std::string, std::less<>> down;     // listening, but the connection is lost
  const std::string process_tag = Uuid::random().to_string();  // tells our own NOTIFYs apart
};
Globals& globals() {
  static Globals g;
  return g;
}
}  // namespace

namespace cache {

void set_clock(std::function<Clock::time_point()> now) {
  std::lock_guard lock(globals().mutex);
  globals().clock = std::move(now);
}

Clock::time_point now() {
  std::function<Clock::time_point()> clock;
  {
    std::lock_guard lock(globals().mutex);
    clock = globals().clock;
  }
  return clock ? clock() : Clock::now();
}

std::optional<Clock::duration> time_to_live(const ModelInfo& model) {
  using namespace std::chrono_literals;
  if (model.cache_timeout) return *model.cache_timeout;
  switch (model.cache_policy) {
    case CachePolicy::permanent: return std::nullopt;
    case CachePolicy::long_term: return 4h;
    case CachePolicy::short_term: return 10min;
    case CachePolicy::instant: return 1min;
    case CachePolicy::none: return Clock::duration::zero();
  }
  return 10min;
}

void clear_all() {
  std::vector<detail::ModelCacheBase*> caches;
  {
    std::lock_guard lock(globals().mutex);
    caches = globals().caches;
  }
  for (auto* c : caches) c->clear();
}

bool may_have_written(std::string_view sql, std::string_view command_tag) {
  if (!command_tag.starts_with("SELECT")) return true;
  std::string upper(sql);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const char* word : {"INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "COPY"})
    if (upper.find(word) != std::string::npos) return true;
  return false;
}

namespace {
std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}
std::string unhex(std::string_view text) {
  std::string out;
  auto value = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(static_cast<char>(value(text[i]) * 16 + value(text[i + 1])));
  return out;
}
std::string registered_name(std::string_view database) {
  return database.empty() ? pg::default_database().config().name : pg::database(database).config().name;
}
constexpr char separator = '\x1f';  // ASCII unit separator: never in a model name or hex

// "tag␟Model␟hexkey": evict one key; an empty key empties the model; model "*" everything.
void on_invalidation(std::string_view payload) {
  const auto a = payload.find(separator);
  const auto b = a == std::string_view::npos ? a : payload.find(separator, a + 1);
  if (b == std::string_view::npos) return;  // not ours
  if (payload.substr(0, a) == globals().process_tag) return;  // our own write: already evicted
  const std::string_view model = payload.substr(a + 1, b - a - 1);
  const std::string key = unhex(payload.substr(b + 1));
  if (model == "*") {
    clear_all();
    return;
  }
  std::vector<detail::ModelCacheBase*> caches;
  {
    std::lock_guard lock(globals().mutex);
    caches = globals().caches;
  }
  for (auto* c : caches) {
    if (c->model().name != model) continue;
    if (key.empty()) c->clear();
    else c->evict(key);
  }
}
}  // namespace

std::string invalidation_payload(std::string_view model, std::string_view key) {
  return globals().process_tag + separator + std::string(model) + separator + hex(key);
}

bool notifications_enabled(std::string_view database) {
  std::lock_guard lock(globals().mutex);
  if (globals().enabled.empty()) return false;
  const std::string name = registered_name(database);
  return globals().enabled.count(name) > 0;
}

namespace {
boost::asio::awaitable<pg::Connection> open_listener(const Listener& l) {
  auto executor = co_await boost::asio::this_coro::executor;
  pg::Connection connection = co_await pg::Connection::connect(executor, l.options);
  connection.on_notification([](std::string_view, std::string_view payload, int) { on_invalidation(payload); });
  co_await connection.execute(std::string("LISTEN ") + notify_channel);
  co_return connection;
}

void set_down(const std::string& database, bool down) {
  std::lock_guard lock(globals().mutex);
  if (down) globals().down.insert(database);
  else globals().down.erase(database);
  detail::listeners_down.store(static_cast<int>(globals().down.size()), std::memory_order_release);
}

// Every health_check: is the LISTEN connection alive? When it is lost, notifications may be
// missed from then on, so the caches of that database stop serving and storing (and are
// emptied) until a new connection LISTENs again — retried with backoff up to 5 s.
boost::asio::awaitable<void> supervise(std::shared_ptr<Listener> l) {
  using namespace std::chrono_literals;
  boost::system::error_code ec;
  while (!l->stopped) {
    l->timer.expires_after(l->health_check);
    co_await l->timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (l->stopped) co_return;
    bool alive = !l->connection.is_broken();
    if (alive) {
      try {
        alive = co_await l->connection.check_alive();
      } catch (const std::exception&) {
        alive = false;
      }
    }
    if (alive) continue;
    set_down(l->database, true);
    clear_all();
    log(LogLevel::warning, fmt::format("cache listener on '{}' lost its connection: the cache is paused there until it "
                                       "reconnects", l->database));
    std::chrono::milliseconds backoff = 100ms;
    while (!l->stopped) {
      std::string failure;
      try {
        pg::Connection fresh = co_await open_listener(*l);
        l->connection.close();
        l->connection = std::move(fresh);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (l->stopped) co_return;
      if (failure.empty()) {
        clear_all();  // LISTEN is active again: anything cached from now on will be invalidated
        {
          std::lock_guard lock(globals().mutex);
          l->backend_pid = l->connection.backend_pid();
          ++l->reconnects;
        }
        set_down(l->database, false);
        log(LogLevel::info, fmt::format("cache listener on '{}' reconnected; the cache serves again", l->database));
        break;
      }
      log(LogLevel::warning, fmt::format("cache listener on '{}': reconnect failed ({}); retrying in {} ms", l->database,
                                         failure, backoff.count()));
      l->timer.expires_after(backoff);
      co_await l->timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
    }
  }
}
}  // namespace

boost::asio::awaitable<void> start_listener(std::string database, std::chrono::milliseconds health_check) {
  pg::Database& db = database.empty() ? pg::default_database() : pg::database(database);
  auto executor = co_await boost::asio::this_coro::executor;
  pg::ConnectOptions options = db.config().connect_options();
  auto listener = std::make_shared<Listener>(db.config().name, std::move(options), executor);
  listener->health_check = health_check;
  listener->connection = co_await open_listener(*listener);
  listener->backend_pid = listener->connection.backend_pid();
  // Anything cached before listening may have changed unseen.
  clear_all();
  {
    std::lock_guard lock(globals().mutex);
    globals().enabled.insert(db.config().name);
    globals().listeners.push_back(listener);
  }
  boost::asio::co_spawn(executor, supervise(listener), boost::asio::detached);
}

void stop_listeners() {
  std::vector<std::shared_ptr<Listener>> listeners;
  {
    std::lock_guard lock(globals().mutex);
    listeners = std::move(globals().listeners);
    globals().listeners.clear();
    globals().enabled.clear();
    globals().down.clear();
    detail::listeners_down.store(0, std::memory_order_release);
  }
  for (auto& l : listeners) {
    l->stopped = true;
    l->timer.cancel();
    l->connection.close();
  }
}

std::optional<ListenerStatus> listener_status(std::string_view database) {
  const std::string name = registered_name(database);
  std::lock_guard lock(globals().mutex);
  for (const auto& l : globals().listeners)
    if (l->database == name)
      return ListenerStatus{.connected = globals().down.count(name) == 0, .backend_pid = l->backend_pid,
                            .reconnects = l->reconnects};
  return std::nullopt;
}

boost::asio::awaitable<void> notify(std::string database, std::string model, std::vector<std::string> keys) {
  if (!notifications_enabled(database) || keys.empty()) co_return;
  // Many keys, or long ones, become one "whole model" message (NOTIFY payloads stay < 8000 bytes).
  std::size_t bytes = 0;
  for (const auto& k : keys) bytes += k.size();
  if (keys.size() > 64 || bytes > 1024) keys.assign(1, std::string());
  std::vector<std::string> payloads;
  for (const auto& k : keys) payloads.push_back(invalidation_payload(model, k));
  const Statement statement{"SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
                            pg::Params::of(std::string(notify_channel), payloads)};
  co_await detail::run_sql(database, statement, "cache notify");
}

}  // namespace cache

namespace detail {

std::atomic<int> listeners_down{0};

bool listener_down(std::string_view database) {
  std::string name;
  try {
    name = cache::registered_name(database);
  } catch (const OrmError&) {
    return false;  // not a registered database: no listener for it
  }
  std::lock_guard lock(globals().mutex);
  return globals().down.count(name) > 0;
}

void register_cache(ModelCacheBase* cache) {
  std::lock_guard lock(globals().mutex);
  globals().caches.push_back(cache);
}

void append_cache_key_part(std::string& key, std::size_t field, const Param& p) {
  // On every cache lookup: std::to_chars, not fmt (measured: fmt's format parsing was 6 %
  // of a cache hit).
  char head[48];
  char* end = std::to_chars(head, head + 20, field).ptr;
  *end++ = ':';
  end = std::to_chars(end, end + 20, p.bytes.size()).ptr;
  *end++ = p.binary ? 'b' : 't';
  key.append(head, end);
  key += p.bytes;
}

std::optional<std::string> cache_key(const query::Node& where, const ModelInfo& model) {
  // The common case without allocating: one key field, one equality leaf.
  if (model.primary_keys.size() == 1) {
    if (where.op != query::Op::eq || where.lhs || where.rhs || where.params.size() != 1 ||
        where.field != model.primary_keys[0] || where.params[0].null)
      return std::nullopt;
    std::string key;
    append_cache_key_part(key, where.field, where.params[0]);
    return key;
  }
  // Collect the equality leaves of a flat AND (or the single leaf).
  std::vector<const query::Node*> leaves;
  if (where.op == query::Op::and_) {
    for (const auto& c : where.children) leaves.push_back(c.get());
  } else {
    leaves.push_back(&where);
  }
  if (leaves.size() != model.primary_keys.size()) return std::nullopt;
  std::vector<const Param*> by_field(model.fields.size(), nullptr);
  for (const auto* leaf : leaves) {
    if (leaf->op != query::Op::eq || leaf->lhs || leaf->rhs || leaf->params.size() != 1) return std::nullopt;
    if (!model.fields.at(leaf->field).primary_key || by_field[leaf->field]) return std::nullopt;
    by_field[leaf->field] = &leaf->params[0];
  }
  std::string key;
  for (std::size_t i = 0; i < model.fields.size(); ++i) {
    if (!model.fields[i].primary_key) continue;
    const Param* p = by_field[i];
    if (!p || p->null) return std::nullopt;
    append_cache_key_part(key, i, *p);
  }
  return key;
}

}  // namespace detail
namespace detail {

boost::asio::awaitable<void> cache_after_write_any(const ModelInfo& model, std::vector<std::string> keys, const void* objs,
                                            std::size_t stride, bool store, void (*cache_object)(const void*),
                                            void (*remove_key)(const std::string&)) {
  TransactionContext* tx = current_transaction(co_await boost::asio::this_coro::executor);
  if (cache::notifications_enabled(model.database)) co_await cache::notify(model.database, model.name, keys);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (store && !tx) {
      cache_object(static_cast<const char*>(objs) + i * stride);
    } else {
      remove_key(keys[i]);
      if (tx) tx->on_end.push_back([remove_key, key = keys[i]] { remove_key(key); });
    }
  }
}

boost::asio::awaitable<void> cache_after_filtered_write_any(const ModelInfo& model, std::optional<std::string> key,
                                                     void (*remove_key)(const std::string&), void (*clear)()) {
  if (cache::notifications_enabled(model.database)) {
    std::vector<std::string> keys(1);  // one empty key: the model's whole cache
    if (key) keys[0] = *key;
    co_await cache::notify(model.database, model.name, std::move(keys));
  }
  if (key) remove_key(*key);
  else clear();
  if (TransactionContext* tx = current_transaction(co_await boost::asio::this_coro::executor)) {
    if (key) tx->on_end.push_back([remove_key, k = *key] { remove_key(k); });
    else tx->on_end.push_back(clear);
  }
}

}  // namespace detail

}  // namespace matrx::orm
