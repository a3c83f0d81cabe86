// The model-independent parts of create/save/upsert statements, compiled once: crud.hpp's
// templates are instantiated per model and keep only what needs the model's C++ type.
#include "matrx/orm/model/crud.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"

namespace matrx::orm::detail {

void append_default_cell(std::string& sql, bool& first) {
  if (!first) sql += ", ";
  first = false;
  sql += "DEFAULT";
}

void append_param_cell(std::string& sql, pg::Params& params, bool& first, const Param& value) {
  if (!first) sql += ", ";
  first = false;
  if (value.null) params.add_null(value.oid);
  else params.add_encoded(value.bytes, value.oid, value.binary);
  fmt::format_to(std::back_inserter(sql), "${}", params.size());
}

void throw_no_primary_key(const ModelInfo& m) {
  throw QueryError(fmt::format("{} has no primary key: one object of it cannot be identified", m.name),
                   ErrorContext{.model = m.name, .hint = "filter a QuerySet by the columns that identify the row"});
}

void check_writable(const ModelInfo& m, const char* operation) {
  if (m.view)
    throw QueryError(fmt::format("{} is a view: it cannot be written", m.name),
                     ErrorContext{.model = m.name, .operation = operation,
                                  .hint = "views are read-only models; write to the tables the view reads"});
}

std::string insert_head(const ModelInfo& m, const std::vector<std::size_t>& cols) {
  check_writable(m, "insert");
  if (cols.empty()) return "INSERT INTO " + m.qualified_table();
  const bool overriding = std::any_of(cols.begin(), cols.end(), [&](std::size_t i) { return m.fields[i].identity_always; });
  return "INSERT INTO " + m.qualified_table() + " (" + column_list(m, cols) + ")" +
         (overriding ? " OVERRIDING SYSTEM VALUE" : "") + " VALUES ";
}

std::vector<std::size_t> upsert_update_fields(const ModelInfo& m, const std::vector<std::size_t>& conflict,
                                              std::vector<std::size_t> update) {
  if (conflict.empty())
    throw ValidationError(fmt::format("{}: upsert needs at least one conflict field", m.name), ErrorContext{.model = m.name});
  if (update.empty())  // every other field, but keys and creation times keep their values
    for (std::size_t i = 0; i < m.fields.size(); ++i)
      if (std::find(conflict.begin(), conflict.end(), i) == conflict.end() && !m.fields[i].auto_now_add &&
          !m.fields[i].primary_key && m.fields[i].writable())
        update.push_back(i);
  return update;
}

std::string upsert_tail(const ModelInfo& m, const std::vector<std::size_t>& conflict, const std::vector<std::size_t>& update) {
  std::string sql = " ON CONFLICT (" + column_list(m, conflict) + ") DO UPDATE SET ";
  bool first = true;
  for (auto i : update) {
    if (std::find(conflict.begin(), conflict.end(), i) != conflict.end()) continue;
    if (!first) sql += ", ";
    first = false;
    const std::string name = quote_identifier(m.fields[i].name);
    if (m.version_field && *m.version_field == i) sql += name + " = " + m.qualified_table() + "." + name + " + 1";
    else sql += name + " = EXCLUDED." + name;
  }
  if (m.version_field && std::find(update.begin(), update.end(), *m.version_field) == update.end()) {
    const std::string v = quote_identifier(m.fields[*m.version_field].name);
    sql += (first ? "" : ", ") + v + " = " + m.qualified_table() + "." + v + " + 1";
    first = false;
  }
  if (first)
    throw ValidationError(fmt::format("{}: no fields to update on conflict", m.name), ErrorContext{.model = m.name});
  if (m.version_field) {
    const std::string v = quote_identifier(m.fields[*m.version_field].name);
    sql += " WHERE " + m.qualified_table() + "." + v + " = EXCLUDED." + v;
  }
  sql += " RETURNING " + select_list(m, {}) + ", (xmax = 0) AS matrx_inserted";
  return sql;
}

}  // namespace matrx::orm::detail
