#include "matrx/orm/pg/database.hpp"

#include <map>

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"

namespace asio = boost::asio;

namespace matrx::orm::pg {

namespace {
struct Registry {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<Database>, std::less<>> by_name;
  std::map<std::string, Database*, std::less<>> by_alias;
  std::vector<std::string> order;  // registration order
  Database* first = nullptr;       // by_name[order.front()]: read by every statement

  Database* find(std::string_view key) {
    if (auto it = by_name.find(key); it != by_name.end()) return it->second.get();
    if (auto it = by_alias.find(key); it != by_alias.end()) return it->second;
    return nullptr;
  }
};
// Never destroyed: pools may live on io_contexts whose destruction order we cannot know.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}
}  // namespace

Pool& Database::pool(asio::any_io_executor executor) {
  std::lock_guard lock(mutex_);
  if (!pool_) pool_ = std::make_unique<Pool>(std::move(executor), config_.connect_options(), config_.pool);
  return *pool_;
}

asio::awaitable<PooledConnection> Database::acquire(boost::source_location where) {
  Pool& p = pool(co_await asio::this_coro::executor);
  try {
    co_return co_await p.acquire(where);
  } catch (OrmError& e) {
    e.enrich_database(config_.name);
    throw;
  }
}

asio::awaitable<SharedConnection> Database::acquire_shared() {
  Pool& p = pool(co_await asio::this_coro::executor);
  try {
    co_return co_await p.acquire_shared();
  } catch (OrmError& e) {
    e.enrich_database(config_.name);
    throw;
  }
}

void Database::close() {
  std::unique_ptr<Pool> p;
  {
    std::lock_guard lock(mutex_);
    p = std::move(pool_);
  }
  if (p) p->close();
}

void register_database(DatabaseConfig config) {
  config.validate();
  if (config.alias.empty()) config.alias = config.name;
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  if (r.find(config.name))
    throw ConfigurationError(fmt::format("a database named '{}' is already registered", config.name),
                             ErrorContext{.operation = "register_database", .database = config.name});
  if (r.find(config.alias))
    throw ConfigurationError(fmt::format("the alias '{}' is already used by another database", config.alias),
                             ErrorContext{.operation = "register_database", .database = config.name});
  const std::string name = config.name, alias = config.alias;
  auto db = std::make_unique<Database>(std::move(config));
  r.by_alias[alias] = db.get();
  r.by_name[name] = std::move(db);
  r.order.push_back(name);
  if (!r.first) r.first = r.by_name[name].get();
}

void register_database_url(std::string name, std::string url, std::string alias) {
  DatabaseConfig c = DatabaseConfig::from_url(std::move(name), std::move(url));
  c.alias = std::move(alias);
  register_database(std::move(c));
}

Database& database(std::string_view key) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  if (Database* db = r.find(key)) return *db;
  std::string known;
  for (const auto& [name, db] : r.by_name) known += fmt::format("{}{}", known.empty() ? "" : ", ", name);
  throw ConfigurationError(fmt::format("no database is registered under the name or alias '{}'", key),
                           ErrorContext{.hint = known.empty() ? "call register_database() first"
                                                              : fmt::format("registered: {}", known)});
}

bool is_database_registered(std::string_view key) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  return r.find(key) != nullptr;
}

Database& default_database() {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  if (!r.first)
    throw ConfigurationError("no database is registered", ErrorContext{.hint = "call register_database() first"});
  return *r.first;
}

std::vector<std::string> registered_databases() {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& [name, db] : r.by_name) names.push_back(name);
  return names;
}

void unregister_database(std::string_view key) {
  std::unique_ptr<Database> db;
  {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    Database* found = r.find(key);
    if (!found) return;
    r.by_alias.erase(found->config().alias);
    std::erase(r.order, found->config().name);
    auto it = r.by_name.find(found->config().name);
    db = std::move(it->second);
    r.by_name.erase(it);
    r.first = r.order.empty() ? nullptr : r.by_name.at(r.order.front()).get();
  }
  db->close();
}

void close_all_databases() {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  for (auto& [name, db] : r.by_name) db->close();
}

}  // namespace matrx::orm::pg
