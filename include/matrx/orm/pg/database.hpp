// The registry of databases: register_database() as in the original, lookup by name or
// alias, and one lazily created pool per database.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/assert/source_location.hpp>  // std::source_location is missing with clang 14 + libstdc++ 12

#include "matrx/orm/pg/config.hpp"
#include "matrx/orm/pg/pool.hpp"

namespace matrx::orm::pg {

class Database {
 public:
  explicit Database(DatabaseConfig config) : config_(std::move(config)) {}
  const DatabaseConfig& config() const noexcept { return config_; }

  /// The pool, created on first use on `executor`. Later calls return the same pool
  /// whatever executor they pass; that io_context must keep running while it is used.
  Pool& pool(boost::asio::any_io_executor executor);
  /// Acquires from the pool (created on the calling coroutine's executor if needed).
  boost::asio::awaitable<PooledConnection> acquire(boost::source_location where = BOOST_CURRENT_LOCATION);
  /// Pool::acquire_shared on this database's pool: for single autocommit statements.
  boost::asio::awaitable<SharedConnection> acquire_shared();
  /// Closes the pool (if any); the next use creates a new one.
  void close();

 private:
  DatabaseConfig config_;
  std::mutex mutex_;
  std::unique_ptr<Pool> pool_;
};

/// Registers a database. Throws ConfigurationError for an empty or already registered
/// name, an alias already in use, or invalid settings (see DatabaseConfig::validate).
void register_database(DatabaseConfig config);
/// Shorthand for register_database(DatabaseConfig::from_url(name, url)) with an alias.
void register_database_url(std::string name, std::string url, std::string alias = {});
/// Looks a database up by name or alias. Throws ConfigurationError naming the registered ones.
Database& database(std::string_view name_or_alias);
bool is_database_registered(std::string_view name_or_alias);
/// The database models use when they name none: the first one registered. Throws
/// ConfigurationError when none is registered.
Database& default_database();
std::vector<std::string> registered_databases();
/// Closes its pool and forgets it. References from database() become invalid.
void unregister_database(std::string_view name_or_alias);
/// Closes every pool (call before destroying the io_contexts that run them).
void close_all_databases();

}  // namespace matrx::orm::pg
