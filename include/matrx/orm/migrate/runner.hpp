// Applying migration files: apply_migrations, rollback_migrations, migration_status.
//
// Each run takes a session advisory lock on its own direct connection before it touches (or
// creates) the state table, so concurrent runs apply every migration exactly once; the plan
// is read after the lock is held. Each migration and its state row commit in one
// transaction: a failing migration leaves neither. See docs/migrations.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

namespace matrx::orm::migrate {

struct RunOptions {
  std::filesystem::path dir;
  std::string database{};                ///< registered database; empty: the default one
  std::optional<std::string> target{};   ///< apply up to and including this migration
  std::chrono::milliseconds lock_timeout{15'000};
  /// The run's session statement_timeout (0: the server's setting).
  std::chrono::milliseconds statement_timeout{0};
  /// Refuse a pending migration that sorts before the latest applied one (merged branches).
  bool strict = false;
  /// Called after each migration is applied or rolled back, with how long it took.
  std::function<void(const std::string& name, std::chrono::milliseconds took)> on_done{};
};

struct AppliedMigration {
  std::string name;
  std::string applied_at;  ///< as the server prints timestamptz
  std::string checksum;
};

struct MigrationStatus {
  std::vector<AppliedMigration> applied;  ///< in the order they were applied
  std::vector<std::string> pending;       ///< in the order they would be applied
  std::vector<std::string> changed;       ///< applied, but the file's checksum differs
  std::vector<std::string> missing;       ///< applied, but the file is gone
  std::vector<std::string> dirty;         ///< no-transaction migrations that failed midway
  nlohmann::json to_json() const;
};

/// The session advisory lock every run takes ("matrx_mg" in ASCII).
inline constexpr std::int64_t lock_key = 0x6d617472785f6d67;

/// The state table (the original's shape).
inline constexpr const char* state_table = "_matrx_migrations";

/// Applies the pending migrations in dependency order; returns their names. Throws
/// MigrationError for a changed or missing applied file, a failing statement (naming file,
/// statement number, SQLSTATE and message), a lock timeout (naming the holder), or a
/// database configured behind a transaction-mode pooler.
boost::asio::awaitable<std::vector<std::string>> apply_migrations(RunOptions options);
/// Rolls back the last `steps` applied migrations with their -- +down sections; returns
/// their names. A migration without one cannot be rolled back (MigrationError).
boost::asio::awaitable<std::vector<std::string>> rollback_migrations(RunOptions options, int steps = 1);
boost::asio::awaitable<MigrationStatus> migration_status(RunOptions options);

/// After a no-transaction migration failed midway and the database was repaired by hand:
/// record `name` as applied (`applied` true) or as never run (false), so runs go on.
boost::asio::awaitable<void> resolve_dirty(RunOptions options, std::string name, bool applied);

/// The state-table checksum of a no-transaction migration while it runs (and after it failed).
inline constexpr const char* dirty_marker = "dirty";

}  // namespace matrx::orm::migrate
