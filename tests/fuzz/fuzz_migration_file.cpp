// The migration-file parser and the statement splitter on arbitrary text (RELIABILITY E10):
// a MigrationError (naming the file and line) or a parsed file, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/migrate/migration_file.hpp"
#include "matrx/orm/migrate/sql_script.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  try {
    (void)matrx::orm::migrate::parse_migration("0001_fuzz.sql", text);
  } catch (const matrx::orm::MigrationError&) {
  }
  try {
    (void)matrx::orm::migrate::split_script(text, "fuzz.sql");
  } catch (const matrx::orm::MigrationError&) {
  }
  return 0;
}
