// `matrx-orm inspect --typescript DIR`: the original's TypeScript/JSON schema outputs for a
// front end — entity names, fields with their name formats, primary keys, relationships
// (foreign keys, inverse foreign keys, many-to-many) with the default fetch strategy, and the
// registered entity/field overrides inserted as the original does (docs/introspection.md).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "matrx/orm/codegen/model_writer.hpp"
#include "matrx/orm/migrate/schema.hpp"

namespace matrx::orm::codegen {

struct TypeScriptOptions {
  migrate::TableFilter filter{};             ///< entities written (every table is analysed)
  std::vector<std::string> schemas{};        ///< schemas whose tables become entities (empty: all)
  std::string command{};                     ///< named in each file's first line
  std::map<std::string, std::map<std::string, std::string>> entity_overrides{};  ///< pg::DatabaseConfig's
  std::map<std::string, std::map<std::string, std::string>> field_overrides{};   ///< pg::DatabaseConfig's
};

/// types.ts, entities.ts, entityPrimaryKeys.ts, fullRelationships.ts/.json, initialSchemas.json,
/// entityOverrides.ts, fieldOverrides.ts. Deterministic.
std::vector<GeneratedFile> generate_typescript(const migrate::SchemaDef& schema, const TypeScriptOptions& options);

/// "film_actor" → "filmActor".
std::string camel_case(std::string_view sql_name);

}  // namespace matrx::orm::codegen
