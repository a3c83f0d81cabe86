#include "matrx/orm/pg/detail/secrets.hpp"

#include <libpq-fe.h>

#include <vector>

namespace matrx::orm::pg::detail {

namespace {
void replace_all(std::string& text, const std::string& secret) {
  if (secret.empty()) return;
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 8))
    text.replace(pos, secret.size(), "********");
}

// Passwords written inside a conninfo string, found without trusting it to parse.
std::vector<std::string> embedded_passwords(const std::string& conninfo) {
  std::vector<std::string> found;
  if (const auto scheme = conninfo.find("://"); scheme != std::string::npos) {
    const auto at = conninfo.find('@', scheme + 3);
    const auto colon = conninfo.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      found.push_back(conninfo.substr(colon + 1, at - colon - 1));
  }
  for (auto pos = conninfo.find("password"); pos != std::string::npos; pos = conninfo.find("password", pos + 8)) {
    auto eq = conninfo.find_first_not_of(' ', pos + 8);
    if (eq == std::string::npos || conninfo[eq] != '=') continue;
    auto start = conninfo.find_first_not_of(' ', eq + 1);
    if (start == std::string::npos) continue;
    auto end = conninfo.find_first_of(conninfo[start] == '\'' ? "'" : " &", start + 1);
    if (conninfo[start] == '\'') ++start;
    found.push_back(conninfo.substr(start, end == std::string::npos ? std::string::npos : end - start));
  }
  return found;
}
}  // namespace

std::string redact_secrets(std::string text, const ConnectOptions& options) {
  replace_all(text, options.password);
  for (const auto& p : embedded_passwords(options.conninfo)) replace_all(text, p);
  for (const auto& [k, v] : options.keywords)
    if (k == "password") replace_all(text, v);
  return text;
}

std::string redacted_conninfo(const std::string& conninfo) {
  std::string text = conninfo;
  for (const auto& p : embedded_passwords(conninfo)) replace_all(text, p);
  return text;
}

}  // namespace matrx::orm::pg::detail
