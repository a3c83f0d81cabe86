#include "matrx/orm/pg/detail/connect_error.hpp"

#include <cctype>
#include <string_view>

namespace matrx::orm::pg::detail {
namespace {
bool is_sqlstate_at(std::string_view s, std::size_t i) {
  if (i + 7 > s.size() || s[i + 5] != ':' || s[i + 6] != ' ') return false;
  for (std::size_t k = i; k < i + 5; ++k)
    if (!std::isdigit(static_cast<unsigned char>(s[k])) && !std::isupper(static_cast<unsigned char>(s[k]))) return false;
  return true;
}

// "LOCATION:  auth_failed, auth.c:334" (its label translated with the client's locale).
bool is_location_line(std::string_view line) {
  const auto colon = line.find(":  ");
  if (colon == std::string_view::npos) return false;
  const auto rest = line.substr(colon + 3);
  const auto comma = rest.find(", ");
  const auto last_colon = rest.rfind(':');
  if (comma == std::string_view::npos || last_colon == std::string_view::npos || last_colon < comma) return false;
  const auto line_number = rest.substr(last_colon + 1);
  if (line_number.empty()) return false;
  for (char c : line_number)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return rest.substr(0, comma).find(' ') == std::string_view::npos;
}
}  // namespace

ConnectFailure parse_connect_failure(std::string text) {
  ConnectFailure out;
  std::string_view rest = text;
  bool first_line = true;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (!first_line && is_location_line(line)) continue;
    std::string cleaned;
    for (std::size_t i = 0; i < line.size(); ++i) {
      cleaned += line[i];
      // severity ":  " then the code: keep the severity, drop "28P01: "
      if (line[i] == ' ' && i >= 2 && line[i - 1] == ' ' && line[i - 2] == ':' && is_sqlstate_at(line, i + 1)) {
        out.sqlstate.assign(line.substr(i + 1, 5));
        i += 7;
      }
    }
    if (!out.message.empty()) out.message += '\n';
    out.message += cleaned;
    first_line = false;
  }
  while (!out.message.empty() && (out.message.back() == '\n' || out.message.back() == ' ')) out.message.pop_back();
  return out;
}

}  // namespace matrx::orm::pg::detail
