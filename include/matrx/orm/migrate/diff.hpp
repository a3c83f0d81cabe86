// The difference between the live database and the models, as ordered operations that each
// carry an up and a down: create/drop table, add/drop/alter column, indexes, constraints,
// enums and schemas. Tables without a model are never dropped unless asked.
#pragma once

#include <string>
#include <vector>

#include "matrx/orm/migrate/schema.hpp"

namespace matrx::orm::migrate {

struct Operation {
  std::string description{};  ///< "create table public.posts"
  std::string up{};           ///< SQL, statements ending with ';'
  std::string down{};         ///< SQL that undoes `up` (a comment when PostgreSQL cannot)
  bool destructive = false; ///< loses data (drop column or table)
};

struct DiffOptions {
  /// Drop tables that exist in the database but have no model (off: they are only reported).
  bool drop_unmodelled_tables = false;
};

struct MigrationPlan {
  std::vector<Operation> operations{};   ///< in up order
  std::vector<std::string> warnings{};   ///< out-of-scope references, tables left alone, enum labels kept
  bool empty() const noexcept { return operations.empty(); }
  /// The up statements in order, each preceded by a comment with its description.
  std::string up_sql() const;
  /// The downs in reverse order.
  std::string down_sql() const;
};

/// What turns `database` into `models`. Both are already filtered by the same TableFilter.
MigrationPlan diff_schemas(const SchemaDef& database, const SchemaDef& models, const DiffOptions& options = {});

}  // namespace matrx::orm::migrate
