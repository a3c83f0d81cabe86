#include "matrx/orm/migrate/sql_script.hpp"

#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"

namespace matrx::orm::migrate {

namespace {
int line_at(std::string_view text, std::size_t offset, int first_line) {
  return first_line + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text.size())), '\n'));
}

// Whitespace and comments before the first code of a piece (the statement's own leading
// comments stay in its text, but its line is where the code starts).
std::size_t code_start(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
    } else if (s.substr(i, 2) == "--") {
      const auto nl = s.find('\n', i);
      i = nl == std::string_view::npos ? s.size() : nl + 1;
    } else if (s.substr(i, 2) == "/*") {
      int depth = 0;
      do {
        if (s.substr(i, 2) == "/*") ++depth, i += 2;
        else if (s.substr(i, 2) == "*/") --depth, i += 2;
        else ++i;
      } while (depth > 0 && i < s.size());
    } else {
      break;
    }
  }
  return i;
}
}  // namespace

std::vector<ScriptStatement> split_script(std::string_view script, std::string_view file, int first_line) {
  const std::string text(script);  // libpg_query reads a NUL-terminated string
  if (text.find('\0') != std::string::npos)
    throw MigrationError(fmt::format("{}: the script contains a NUL byte", file.empty() ? "script" : file));
  PgQuerySplitResult result = pg_query_split_with_parser(text.c_str());
  const std::unique_ptr<PgQuerySplitResult, void (*)(PgQuerySplitResult*)> guard(
      &result, [](PgQuerySplitResult* r) { pg_query_free_split_result(*r); });
  if (result.error) {
    // cursorpos is 1-based in bytes; 0 when the error has no position (end of input).
    const std::size_t at = result.error->cursorpos > 0 ? static_cast<std::size_t>(result.error->cursorpos - 1) : text.size();
    const std::size_t line_begin = text.rfind('\n', at == 0 ? 0 : at - 1);
    const std::size_t column = line_begin == std::string::npos ? at + 1 : at - line_begin;
    throw MigrationError(fmt::format("{}line {}, column {}: {}", file.empty() ? "" : fmt::format("{}, ", file),
                                     line_at(text, at, first_line), column, result.error->message),
                         ErrorContext{.operation = "parse migration", .sqlstate = "42601",
                                      .hint = "the script is parsed with PostgreSQL 15's grammar before it runs"});
  }
  std::vector<ScriptStatement> out;
  for (int i = 0; i < result.n_stmts; ++i) {
    const auto location = static_cast<std::size_t>(result.stmts[i]->stmt_location);
    std::string_view piece = std::string_view(text).substr(location, static_cast<std::size_t>(result.stmts[i]->stmt_len));
    const std::size_t code = code_start(piece);
    if (code == piece.size()) continue;
    std::size_t begin = 0;
    while (begin < piece.size() && std::isspace(static_cast<unsigned char>(piece[begin]))) ++begin;
    piece = piece.substr(begin);
    while (!piece.empty() && std::isspace(static_cast<unsigned char>(piece.back()))) piece.remove_suffix(1);
    out.push_back(ScriptStatement{std::string(piece), line_at(text, location + code, first_line)});
  }
  return out;
}

}  // namespace matrx::orm::migrate
