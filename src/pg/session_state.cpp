#include "matrx/orm/pg/session_state.hpp"

#include <cctype>

#include "sql_words.hpp"

namespace matrx::orm::pg {

namespace {
using detail::starts_with_word;

// Case-insensitive search for an upper-case word anywhere in `sql` (statements it is asked
// about are short and rare: CREATE, DECLARE).
bool contains_word(std::string_view sql, std::string_view word) noexcept {
  for (std::size_t i = 0; i + word.size() <= sql.size(); ++i)
    if ((i == 0 || !std::isalnum(static_cast<unsigned char>(sql[i - 1]))) && detail::word_at(sql, i, word)) return true;
  return false;
}

// The word after the first one.
std::size_t second_word(std::string_view sql) noexcept {
  std::size_t i = detail::code_start(sql);
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) ++i;
  while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
  return i;
}
}  // namespace

bool touches_session(std::string_view sql) noexcept {
  // The common statements (SELECT, INSERT, UPDATE, DELETE, WITH, BEGIN, COMMIT) fall through
  // to the two substring searches; they are not SET-like by their first letter.
  const std::size_t at = detail::code_start(sql);
  if (at < sql.size()) {
    switch (std::toupper(static_cast<unsigned char>(sql[at]))) {
      case 'S':
        if (starts_with_word(sql, "SET")) {
          const std::size_t next = second_word(sql);
          return !detail::word_at(sql, next, "LOCAL") && !detail::word_at(sql, next, "TRANSACTION") &&
                 !detail::word_at(sql, next, "CONSTRAINTS");
        }
        break;
      case 'R':
        if (starts_with_word(sql, "RESET")) return true;
        break;
      case 'L':
        if (starts_with_word(sql, "LISTEN") || starts_with_word(sql, "LOAD")) return true;
        break;
      case 'U':
        if (starts_with_word(sql, "UNLISTEN")) return true;
        break;
      case 'P':
        if (starts_with_word(sql, "PREPARE") && !detail::word_at(sql, second_word(sql), "TRANSACTION")) return true;
        break;
      case 'D':
        if (starts_with_word(sql, "DO")) return true;
        if (starts_with_word(sql, "DECLARE")) return contains_word(sql, "HOLD");
        break;
      case 'C':
        if (starts_with_word(sql, "CALL")) return true;
        if (starts_with_word(sql, "CREATE")) return contains_word(sql, "TEMP") || contains_word(sql, "TEMPORARY");
        break;
      default:
        break;
    }
  }
  return sql.find("pg_advisory_lock") != std::string_view::npos || sql.find("set_config") != std::string_view::npos;
}

bool resets_session(std::string_view sql) noexcept {
  return starts_with_word(sql, "DISCARD") && detail::word_at(sql, second_word(sql), "ALL");
}

}  // namespace matrx::orm::pg
