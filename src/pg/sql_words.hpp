// Looking at the first words of a statement without parsing it (the statement cache and the
// session-state tracking both need it on every statement sent, so it stays this cheap).
#pragma once

#include <cctype>
#include <string_view>

namespace matrx::orm::pg::detail {

/// Offset of the statement's first code character (after spaces and opening parentheses).
inline std::size_t code_start(std::string_view sql) noexcept {
  std::size_t i = 0;
  while (i < sql.size() && (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == '(')) ++i;
  return i;
}

/// Case-insensitive: does `sql`, from `from`, start with the upper-case `word` as a whole word?
inline bool word_at(std::string_view sql, std::size_t from, std::string_view word) noexcept {
  if (from > sql.size() || sql.size() - from < word.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k)
    if (std::toupper(static_cast<unsigned char>(sql[from + k])) != word[k]) return false;
  return sql.size() - from == word.size() || !std::isalnum(static_cast<unsigned char>(sql[from + word.size()]));
}

/// Case-insensitive: does `sql` start with `word` (after spaces and an opening parenthesis)?
inline bool starts_with_word(std::string_view sql, std::string_view word) noexcept {
  return word_at(sql, code_start(sql), word);
}

}  // namespace matrx::orm::pg::detail
