// The code generator behind `matrx-orm inspect --out DIR`: a schema read from the catalog
// (migrate::SchemaDef) becomes C++ model headers written the way a person writes models with
// this library — one header per table or view, `schema.hpp` with the objects no single model
// owns (migrate::declare), and an umbrella header. Pure: no server, no files (see
// write_files). Naming rules and the type mapping: docs/introspection.md.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "matrx/orm/migrate/schema.hpp"

namespace matrx::orm::codegen {

struct CodegenOptions {
  std::string name_space = "models";  ///< the C++ namespace of the models
  std::string database{};             ///< registered database name the models use (empty: the default)
  std::string command{};              ///< the command that generated them, named in each file's first line
  /// Tables and views written (include or exclude). Every table is still analysed: a
  /// relation to a table left out is declared by table name, not lost.
  migrate::TableFilter filter{};
  /// Schemas whose tables get full models (empty: every schema).
  std::vector<std::string> schemas{};
  /// Schemas someone else owns (Supabase's auth, storage): their tables become stub models —
  /// key columns only, `.unfetchable()`, never migrated — so references to them resolve.
  std::vector<std::string> stub_schemas{};
  std::string umbrella = "models.hpp";  ///< the header that includes all the others
  /// Also a BaseManager subclass per table (<table>_manager.hpp) with typed helpers:
  /// load_by_<column> for foreign-key and enum columns, fetch_<relation> for the references,
  /// inverse foreign keys and many-to-many relations the model declares.
  bool managers = false;
};

struct GeneratedFile {
  std::string name;     ///< file name inside the output directory
  std::string content;
};

struct GeneratedModels {
  std::vector<GeneratedFile> files;  ///< in dependency order; the umbrella last
  std::vector<std::string> notes;    ///< what could not be written as asked, and why
};

/// The headers for `schema`. Deterministic: the same schema gives byte-identical files.
GeneratedModels generate_models(const migrate::SchemaDef& schema, const CodegenOptions& options);

struct WriteResult {
  std::vector<std::string> written;    ///< files created or changed
  std::vector<std::string> unchanged;  ///< files whose content was already this
  std::string diff;                    ///< with dry_run: what would change (unified-style, per file)
};

/// Writes `files` into `dir` (created if needed), leaving files whose content is already the
/// same untouched (their modification time too). With `dry_run` nothing is written and the
/// result's `diff` says what would change.
WriteResult write_files(const std::filesystem::path& dir, const std::vector<GeneratedFile>& files, bool dry_run = false);

/// "film_actor" → "FilmActor", "Odd Name" → "OddName", "2fa" → "T2fa".
std::string type_name(std::string_view sql_name);
/// A C++ identifier for a column: itself when it is one (and not a keyword), else a
/// snake_case rewrite ("Odd Name" → "odd_name", "select" → "select_").
std::string member_name(std::string_view column);

}  // namespace matrx::orm::codegen
