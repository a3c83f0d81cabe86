// makemigrations: diff the live database against the models and write the difference as the
// next migration file (up and down); create_empty: a blank next file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "matrx/orm/migrate/diff.hpp"
#include "matrx/orm/migrate/schema.hpp"

namespace matrx::orm::migrate {

struct MakeMigrationsOptions {
  std::filesystem::path dir{};
  std::string name{};                  ///< the file is NNNN_<name>.sql; empty: named after what it does
  std::string database{};              ///< registered database (connection and models); empty: the default
  TableFilter filter{};
  DiffOptions diff{};
  bool dry_run = false;                ///< compute and return the SQL, write nothing
  std::optional<SchemaDef> models{};   ///< a snapshot (--models FILE); default: the registered models
};

struct MakeMigrationsResult {
  MigrationPlan plan;
  std::optional<std::filesystem::path> file{};  ///< set when a file was written
  std::string content{};                        ///< the file's text ("" when the plan is empty)
};

/// Reads the database's schema, diffs it against the models (both through `filter`) and,
/// unless the plan is empty or `dry_run`, writes the next migration file depending on the
/// latest one. A database that already matches the models produces no file.
boost::asio::awaitable<MakeMigrationsResult> makemigrations(MakeMigrationsOptions options);

/// A file name for `plan` when none is given: "initial" for the first migration that only
/// creates; else its first operation ("add_user_email", "create_billing_invoice",
/// "drop_post_body"), with "_and_more" when there are others.
std::string migration_name_for(const MigrationPlan& plan, bool first);

/// The text of a migration file for `plan` depending on `depends` (may be empty).
std::string migration_text(const MigrationPlan& plan, const std::vector<std::string>& depends);

/// The next file name in `dir` ("0003_name"): one more than the highest number there.
/// Throws MigrationError for a name that is not letters, digits and underscores.
std::string next_migration_name(const std::filesystem::path& dir, const std::string& name);

/// Writes a blank NNNN_<name>.sql depending on the latest migration (which the loader
/// accepts: the dependency exists), creating `dir` if needed; returns its path.
std::filesystem::path create_empty_migration(const std::filesystem::path& dir, const std::string& name);

}  // namespace matrx::orm::migrate
