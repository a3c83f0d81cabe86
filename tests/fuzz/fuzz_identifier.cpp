// Identifier quoting (RELIABILITY E2): for any name, quote_identifier either refuses it
// (empty, NUL) or gives text that PostgreSQL's own parser (libpg_query) reads as exactly one
// identifier equal to the name: `SELECT 1 AS <quoted>` has one target whose name is the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>
#include <pg_query.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/field_info.hpp"

namespace {
// The server refuses bytes that are not UTF-8 (client_encoding is UTF8), and the parse tree
// comes back as JSON, which cannot carry them.
bool valid_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string name(reinterpret_cast<const char*>(bytes), size);
  std::string quoted;
  try {
    quoted = matrx::orm::quote_identifier(name);
  } catch (const matrx::orm::FieldError&) {
    if (!name.empty() && name.find('\0') == std::string::npos) std::abort();  // refused a valid name
    return 0;
  }
  if (!valid_utf8(name)) return 0;
  const std::string sql = "SELECT 1 AS " + quoted;
  PgQueryParseResult parsed = pg_query_parse(sql.c_str());
  if (parsed.error) {
    const std::string message = parsed.error->message;
    pg_query_free_parse_result(parsed);
    std::fprintf(stderr, "does not parse (%s): %s\n", message.c_str(), sql.c_str());
    std::abort();  // a quoted identifier that does not parse
  }
  const auto tree = nlohmann::json::parse(parsed.parse_tree);
  pg_query_free_parse_result(parsed);
  const auto& stmts = tree.at("stmts");
  if (stmts.size() != 1) std::abort();
  const auto& targets = stmts[0].at("stmt").at("SelectStmt").at("targetList");
  if (targets.size() != 1) std::abort();
  // PostgreSQL's scanner truncates identifiers to 63 bytes (NAMEDATALEN - 1), at a character
  // boundary; the quoted text must come back as the name, so truncated.
  std::string expected = name;
  if (expected.size() > 63) {
    std::size_t cut = 63;
    while (cut > 0 && (static_cast<unsigned char>(expected[cut]) & 0xC0) == 0x80) --cut;
    expected.resize(cut);
  }
  if (targets[0].at("ResTarget").at("name").get<std::string>() != expected) {
    std::fprintf(stderr, "quoted %s came back as another name\n", quoted.c_str());
    std::abort();
  }
  return 0;
}
