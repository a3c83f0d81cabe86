// Helpers for tests against the throwaway server that `run.sh test` starts (PG* set).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "matrx/orm.hpp"

namespace test {

namespace asio = boost::asio;
namespace pg = matrx::orm::pg;

/// Connect options for the test server: libpq defaults from PGHOST/PGPORT/PGUSER/PGDATABASE.
pg::ConnectOptions db_options();

/// Runs `body` on a fresh io_context until it completes; rethrows its exception.
/// Fails the test if it has not finished within `limit`.
void run(std::function<asio::awaitable<void>()> body, std::chrono::seconds limit = std::chrono::seconds(60));

/// Suspends the calling coroutine.
asio::awaitable<void> sleep_for(std::chrono::milliseconds duration);

/// A fresh schema registered as the database "default" (search_path set to it), so test
/// cases running in parallel never share tables. Dropped with everything in it at the end.
struct SchemaDatabase {
  explicit SchemaDatabase(std::string prefix);
  ~SchemaDatabase();
  /// Runs one statement in the schema (DDL for the test's tables).
  asio::awaitable<void> execute(std::string sql);
  std::string schema;
};

/// A fresh, empty database on the test server (with the vector extension), registered under
/// `registered_as` for the test's duration and dropped at the end: for migrations, which
/// see a whole database.
struct FreshDatabase {
  FreshDatabase(std::string prefix, std::string registered_as);
  ~FreshDatabase();
  /// Runs one statement in the database on a connection of its own.
  asio::awaitable<void> execute(std::string sql);
  /// `pg_dump --schema-only` of the database, without comments and blank lines.
  std::string dump_schema() const;
  std::string name;           ///< the database's name on the server
  std::string registered_as;  ///< the registry name models use (.database(...))
};

/// Milliseconds elapsed since `start`.
double ms_since(std::chrono::steady_clock::time_point start);

}  // namespace test
