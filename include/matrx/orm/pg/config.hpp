// DatabaseConfig: how to reach one registered database, as in the original's
// DatabaseProjectConfig, plus a URL form, pool settings and the pooler mode.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "matrx/orm/pg/connect_options.hpp"
#include "matrx/orm/pg/pool.hpp"

namespace matrx::orm::pg {

struct DatabaseConfig {
  std::string name{};           ///< registry key (required)
  std::string host{};           ///< host name, IP or Unix socket directory; empty: PGHOST/libpq default
  std::string port{};           ///< empty: PGPORT / 5432
  std::string database_name{};  ///< empty: PGDATABASE / the user name
  std::string user{};           ///< empty: PGUSER / the OS user
  std::string password{};       ///< empty: PGPASSWORD / ~/.pgpass. Never logged or shown in errors.
  std::string alias{};          ///< second lookup key; empty: same as name
  std::vector<std::string> additional_schemas{};  ///< schemas owned elsewhere: `inspect` writes stub models for their tables
  /// For `inspect --typescript` (the original's entity_overrides): entity (camelCase) → key
  /// (schemaType, entityName, primaryKey, defaultFetchStrategy, …) → TypeScript source
  /// inserted verbatim.
  std::map<std::string, std::map<std::string, std::string>> entity_overrides{};
  /// For `inspect --typescript` (field_overrides): entity → field (camelCase) → TypeScript
  /// source, or a JSON object whose keys are written one by one (componentProps merged, with
  /// required: false last).
  std::map<std::string, std::map<std::string, std::string>> field_overrides{};
  std::string url{};            ///< optional libpq URI or conninfo; the fields above override it
  std::string sslmode{};        ///< libpq sslmode (disable, prefer, require, verify-ca, verify-full); empty: libpq's
  std::string application_name{};  ///< empty: "matrx-orm"
  std::chrono::milliseconds connect_timeout{10'000};
  CancelMode cancel_mode = CancelMode::request;  ///< see ConnectOptions::cancel_mode
  std::chrono::milliseconds cancel_timeout{5'000};  ///< see ConnectOptions::cancel_timeout
  /// Deadline for every statement the ORM runs on this database; 0 = none. See
  /// ConnectOptions::statement_timeout; QuerySet::timeout() sets one per query.
  std::chrono::milliseconds statement_timeout{0};
  PoolConfig pool{};
  PoolerMode pooler_mode = PoolerMode::session;
  std::size_t statement_cache_size = 256;  ///< per connection; 0 = unnamed statements only

  /// A config from a libpq URI ("postgresql://user:pw@host:5432/db?sslmode=require") or
  /// key=value conninfo. Throws ConfigurationError (password redacted) if it does not parse.
  static DatabaseConfig from_url(std::string name, std::string url);

  /// Options for Connection::connect (password kept apart from the conninfo).
  ConnectOptions connect_options() const;
  /// "postgresql://user@host:port/db" with no password, for logs.
  std::string describe() const;
  /// Throws ConfigurationError naming the first invalid setting.
  void validate() const;
};

}  // namespace matrx::orm::pg
