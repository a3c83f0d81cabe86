// Splitting a migration script into statements with PostgreSQL's own grammar (libpg_query,
// Debian's libpg-query-dev: the server's parser built as a library). A hand-written lexer
// cannot know that `BEGIN ATOMIC … END` or `CREATE RULE … (…; …)` hold semicolons that do
// not end the statement; the parser does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace matrx::orm::migrate {

struct ScriptStatement {
  std::string sql;  ///< the statement without its terminating ';', comments before it kept
  int line = 1;     ///< the line of the script where its first code starts (1-based)
};

/// The statements of `script` in order. Pieces holding only whitespace and comments are left
/// out. Throws MigrationError naming `file`, the line and the column of a syntax error
/// (PostgreSQL 15's grammar), before anything is sent to the server. Lines count from
/// `first_line` (a section's line in its file).
std::vector<ScriptStatement> split_script(std::string_view script, std::string_view file = {}, int first_line = 1);

}  // namespace matrx::orm::migrate
