// A minimal SQL lexer: tells code from text that must be copied verbatim — string literals
// ('…', E'…' with backslash escapes), quoted identifiers ("…"), dollar quotes ($tag$…$tag$),
// and comments (-- … and nested /* … */). Used to renumber a raw CTE's placeholders without
// touching what is inside quotes. (Migration scripts are split by PostgreSQL's own grammar:
// migrate/sql_script.hpp.)
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace matrx::orm::sql {

/// Calls on_span(verbatim, text) for consecutive pieces of `sql` in order; `verbatim` is true
/// for literals, quoted identifiers, dollar-quoted bodies and comments. An unterminated one
/// runs to the end of the text.
void scan(std::string_view sql, const std::function<void(bool verbatim, std::string_view text)>& on_span);

}  // namespace matrx::orm::sql
