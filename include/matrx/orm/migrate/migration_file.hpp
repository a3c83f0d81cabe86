// Migration files: NNNN_name.sql with a header and up/down sections.
//
//   -- depends: 0001_initial, 0002_tags
//   -- matrx:no-transaction        (optional: run outside a transaction)
//   -- +up
//   CREATE TABLE …;
//   -- +down
//   DROP TABLE …;
//
// Parsing, loading a directory and ordering by dependencies are pure (no server); see
// docs/migrations.md.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace matrx::orm::migrate {

struct MigrationFile {
  std::string name;                  ///< "0001_initial": the file name without ".sql"
  std::filesystem::path path{};      ///< empty when parsed from memory
  std::vector<std::string> depends{};
  std::string up{};
  std::optional<std::string> down{};  ///< none: the migration cannot be rolled back
  int up_line = 0;                   ///< the file's line where `up` starts (for error messages)
  int down_line = 0;                 ///< the file's line where `down` starts
  bool no_transaction = false;
  std::string checksum{};            ///< SHA-256 of the file's bytes, lowercase hex
  bool crlf = false;                 ///< the file has CRLF line endings (for checksum hints)
};

/// "NNNN_name": four or more digits, an underscore, then letters, digits and underscores.
bool valid_migration_name(std::string_view name) noexcept;

/// Parses one file's content. Throws MigrationError naming the file and line for a missing
/// "-- +up", a section given twice, a "-- +down" before "-- +up", a malformed or
/// self-referencing "-- depends:", or an invalid name.
MigrationFile parse_migration(std::string name, std::string_view content);

/// Every *.sql file of `directory`, parsed and sorted by name. Throws MigrationError for a
/// missing directory, a file whose name is not NNNN_name.sql, or two files with one number.
std::vector<MigrationFile> load_migrations(const std::filesystem::path& directory);

/// The files in dependency order (a file after everything it depends on), ties broken by
/// name. Throws MigrationError naming the files for a missing dependency or a cycle.
std::vector<const MigrationFile*> dependency_order(const std::vector<MigrationFile>& files);

/// SHA-256 of `bytes` as lowercase hex (OpenSSL's libcrypto).
std::string sha256_hex(std::string_view bytes);

}  // namespace matrx::orm::migrate
