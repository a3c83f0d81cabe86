// Identifier quoting (RELIABILITY E2): for any name, quote_identifier either refuses it
// (empty, NUL) or gives text that PostgreSQL's own parser (libpg_query) reads as exactly one
// identifier equal to the name: `SELECT 1 AS <quoted>` has one target whose name is the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>
#include <pg_query.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/field_info.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string name(reinterpret_cast<const char*>(bytes), size);
  std::string quoted;
  try {
    quoted = matrx::orm::quote_identifier(name);
  } catch (const matrx::orm::FieldError&) {
    if (!name.empty() && name.find('\0') == std::string::npos) std::abort();  // refused a valid name
    return 0;
  }
  // The parser works on valid UTF-8 only; the server would refuse other bytes anyway.
  const std::string sql = "SELECT 1 AS " + quoted;
  PgQueryParseResult parsed = pg_query_parse(sql.c_str());
  if (parsed.error) {
    const std::string message = parsed.error->message;
    pg_query_free_parse_result(parsed);
    if (message.find("invalid byte sequence") != std::string::npos || message.find("encoding") != std::string::npos) return 0;
    std::abort();  // a quoted identifier that does not parse
  }
  const auto tree = nlohmann::json::parse(parsed.parse_tree);
  pg_query_free_parse_result(parsed);
  const auto& stmts = tree.at("stmts");
  if (stmts.size() != 1) std::abort();
  const auto& targets = stmts[0].at("stmt").at("SelectStmt").at("targetList");
  if (targets.size() != 1) std::abort();
  // PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN); the parser keeps them whole.
  if (targets[0].at("ResTarget").at("name").get<std::string>() != name) std::abort();
  return 0;
}
