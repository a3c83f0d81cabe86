// Schema objects that belong to no single model — extensions, enums and composite types in any
// schema, domains, sequences, and the partitions of a partitioned model — declared once by the
// program (generated headers do it) so that makemigrations creates them with the tables.
#pragma once

#include <string>
#include <string_view>

#include "matrx/orm/migrate/schema.hpp"

namespace matrx::orm::migrate {

/// Adds `objects` to what schema_from_models(database) returns (empty: the default
/// database). Its `tables` are partitions: each names its partitioned table
/// (parent_schema, parent_table) and bound, and lists only the columns whose default or NOT
/// NULL differ from the parent's; the rest of its columns are the parent's. Returns true, so
/// that a header can declare at namespace scope:
///   inline const bool declared = migrate::declare({.domains = {…}, .sequences = {…}});
/// Thread-safe; typically called during static initialisation.
bool declare(SchemaDef objects, std::string database = {});

/// Everything declared for `database` (empty: the default database), merged in call order.
SchemaDef declared_objects(std::string_view database = {});

}  // namespace matrx::orm::migrate
