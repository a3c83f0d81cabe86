#include "matrx/orm/query/sql_lexer.hpp"

#include <cctype>

namespace matrx::orm::sql {

namespace {
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// End (one past) of the verbatim region starting at i, or npos if none starts there.
std::size_t verbatim_end(std::string_view s, std::size_t i) {
  const char c = s[i];
  const auto next = [&](std::size_t k) { return k < s.size() ? s[k] : '\0'; };
  if (c == '-' && next(i + 1) == '-') {
    const auto nl = s.find('\n', i);
    return nl == std::string_view::npos ? s.size() : nl;  // the newline stays code
  }
  if (c == '/' && next(i + 1) == '*') {  // PostgreSQL block comments nest
    int depth = 0;
    std::size_t k = i;
    while (k < s.size()) {
      if (s[k] == '/' && next(k + 1) == '*') { ++depth; k += 2; continue; }
      if (s[k] == '*' && next(k + 1) == '/') { k += 2; if (--depth == 0) return k; continue; }
      ++k;
    }
    return s.size();
  }
  if (c == '\'' || c == '"') {
    // E'…' strings take backslash escapes; '' (or "") inside is an escaped quote.
    const bool backslashes = c == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') && (i < 2 || !ident_char(s[i - 2]));
    std::size_t k = i + 1;
    while (k < s.size()) {
      if (backslashes && s[k] == '\\') { k += 2; continue; }
      if (s[k] == c) {
        if (next(k + 1) == c) { k += 2; continue; }
        return k + 1;
      }
      ++k;
    }
    return s.size();
  }
  if (c == '$' && !std::isdigit(static_cast<unsigned char>(next(i + 1))) && (i == 0 || !ident_char(s[i - 1]))) {
    std::size_t k = i + 1;
    while (k < s.size() && ident_char(s[k])) ++k;
    if (k < s.size() && s[k] == '$') {
      const std::string_view tag = s.substr(i, k - i + 1);
      const auto close = s.find(tag, k + 1);
      return close == std::string_view::npos ? s.size() : close + tag.size();
    }
  }
  return std::string_view::npos;
}
}  // namespace

void scan(std::string_view sql, const std::function<void(bool verbatim, std::string_view text)>& on_span) {
  std::size_t code_start = 0, i = 0;
  while (i < sql.size()) {
    const std::size_t end = verbatim_end(sql, i);
    if (end == std::string_view::npos) {
      ++i;
      continue;
    }
    if (i > code_start) on_span(false, sql.substr(code_start, i - code_start));
    on_span(true, sql.substr(i, end - i));
    i = code_start = end;
  }
  if (code_start < sql.size()) on_span(false, sql.substr(code_start));
}

}  // namespace matrx::orm::sql
