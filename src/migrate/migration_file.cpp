#include "matrx/orm/migrate/migration_file.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "matrx/orm/errors.hpp"

namespace matrx::orm::migrate {

namespace {
[[noreturn]] void fail(const std::string& file, std::size_t line, const std::string& what) {
  throw MigrationError(line ? fmt::format("{}.sql, line {}: {}", file, line, what) : fmt::format("{}.sql: {}", file, what),
                       ErrorContext{.operation = "load migrations"});
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "-- +up" and friends: a comment line whose text, after "--", is exactly the marker.
std::optional<std::string_view> directive(std::string_view line) {
  line = trim(line);
  if (!line.starts_with("--")) return std::nullopt;
  return trim(line.substr(2));
}
}  // namespace

bool valid_migration_name(std::string_view name) noexcept {
  std::size_t digits = 0;
  while (digits < name.size() && std::isdigit(static_cast<unsigned char>(name[digits]))) ++digits;
  if (digits < 4 || digits + 1 >= name.size() || name[digits] != '_') return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(digits) + 1, name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw MigrationError("SHA-256 failed (OpenSSL)");
  std::string out;
  for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

MigrationFile parse_migration(std::string name, std::string_view content) {
  if (!valid_migration_name(name))
    fail(name, 0, "the name must be NNNN_name (at least four digits, then letters, digits or underscores)");
  MigrationFile m;
  m.name = std::move(name);
  m.checksum = sha256_hex(content);
  m.crlf = content.find("\r\n") != std::string_view::npos;
  enum class Section { header, up, down } section = Section::header;
  std::string up, down;
  bool has_up = false, has_down = false, has_depends = false;
  std::size_t line_no = 0, up_directive = 0, down_directive = 0;
  std::size_t start = 0;
  while (start <= content.size()) {
    const std::size_t end = std::min(content.find('\n', start), content.size());
    const std::string_view line = content.substr(start, end - start);
    ++line_no;
    const auto d = directive(line);
    if (d && *d == "+up") {
      if (has_up) fail(m.name, line_no, "a second \"-- +up\"");
      has_up = true;
      up_directive = line_no;
      section = Section::up;
    } else if (d && *d == "+down") {
      if (!has_up) fail(m.name, line_no, "\"-- +down\" before \"-- +up\"");
      if (has_down) fail(m.name, line_no, "a second \"-- +down\"");
      has_down = true;
      down_directive = line_no;
      section = Section::down;
    } else if (d && section == Section::header && d->starts_with("depends:")) {
      if (has_depends) fail(m.name, line_no, "a second \"-- depends:\" line (list them all on one, comma-separated)");
      has_depends = true;
      std::string_view list = d->substr(8);
      while (!list.empty()) {
        const auto comma = std::min(list.find(','), list.size());
        const std::string_view dep = trim(list.substr(0, comma));
        if (!dep.empty()) {
          std::string dep_name(dep.ends_with(".sql") ? dep.substr(0, dep.size() - 4) : dep);
          if (!valid_migration_name(dep_name)) fail(m.name, line_no, fmt::format("\"{}\" is not a migration name", dep));
          if (dep_name == m.name) fail(m.name, line_no, "a migration cannot depend on itself");
          m.depends.push_back(std::move(dep_name));
        }
        list.remove_prefix(std::min(comma + 1, list.size()));
      }
    } else if (d && section == Section::header && *d == "matrx:no-transaction") {
      m.no_transaction = true;
    } else if (section == Section::up) {
      up.append(line).push_back('\n');
    } else if (section == Section::down) {
      down.append(line).push_back('\n');
    }
    if (end == content.size()) break;
    start = end + 1;
  }
  if (!has_up) fail(m.name, 0, "no \"-- +up\" section");
  // The line where a section's trimmed text starts: after its directive and blank lines.
  const auto first_line = [](std::size_t directive_line, std::string_view text) {
    const std::string_view kept = trim(text);
    return static_cast<int>(directive_line + 1 +
                            std::count(text.begin(), text.begin() + (kept.empty() ? 0 : kept.data() - text.data()), '\n'));
  };
  m.up = std::string(trim(up));
  if (m.up.empty()) fail(m.name, 0, "the \"-- +up\" section is empty");
  m.up_line = first_line(up_directive, up);
  if (has_down) {
    m.down = std::string(trim(down));
    m.down_line = first_line(down_directive, down);
  }
  return m;
}

std::vector<MigrationFile> load_migrations(const std::filesystem::path& directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(directory, ec))
    throw MigrationError(fmt::format("the migrations directory {} does not exist", directory.string()),
                         ErrorContext{.operation = "load migrations", .hint = "create it, or pass --dir"});
  std::vector<MigrationFile> files;
  std::map<std::string, std::string> numbers;  // "0001" → name
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
    const std::string name = entry.path().stem().string();
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    MigrationFile m = parse_migration(name, bytes.str());
    m.path = entry.path();
    const std::string number = name.substr(0, name.find('_'));
    if (auto [it, fresh] = numbers.emplace(number, name); !fresh)
      fail(name, 0, fmt::format("the number {} is already used by {}.sql", number, it->second));
    files.push_back(std::move(m));
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return files;
}

std::vector<const MigrationFile*> dependency_order(const std::vector<MigrationFile>& files) {
  std::map<std::string, const MigrationFile*> by_name;
  for (const auto& f : files) by_name[f.name] = &f;
  std::map<std::string, std::size_t> waiting;                  // unmet dependencies per file
  std::map<std::string, std::vector<std::string>> dependents;  // dependency → files needing it
  for (const auto& f : files) {
    for (const auto& d : f.depends) {
      if (!by_name.count(d))
        fail(f.name, 0, fmt::format("depends on {}, which is not in the migrations directory", d));
      dependents[d].push_back(f.name);
    }
    waiting[f.name] = std::set<std::string>(f.depends.begin(), f.depends.end()).size();
  }
  // Kahn's algorithm; the ready set is ordered by name, so ties go in name order.
  std::set<std::string> ready;
  for (const auto& [name, n] : waiting)
    if (n == 0) ready.insert(name);
  std::vector<const MigrationFile*> order;
  while (!ready.empty()) {
    const std::string next = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(by_name[next]);
    std::set<std::string> released(dependents[next].begin(), dependents[next].end());
    for (const auto& d : released)
      if (--waiting[d] == 0) ready.insert(d);
  }
  if (order.size() != files.size()) {
    std::string stuck;
    for (const auto& [name, n] : waiting)
      if (n > 0) stuck += (stuck.empty() ? "" : ", ") + name + ".sql";
    throw MigrationError(fmt::format("dependency cycle among {}", stuck),
                         ErrorContext{.operation = "load migrations", .hint = "remove one of the -- depends: entries"});
  }
  return order;
}

}  // namespace matrx::orm::migrate
