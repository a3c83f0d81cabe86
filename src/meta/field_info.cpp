#include "matrx/orm/meta/field_info.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/model.hpp"

namespace matrx::orm {

const char* to_string(ValueKind kind) noexcept {
  switch (kind) {
    case ValueKind::boolean: return "boolean";
    case ValueKind::int16: return "int16";
    case ValueKind::int32: return "int32";
    case ValueKind::int64: return "int64";
    case ValueKind::float32: return "float32";
    case ValueKind::float64: return "float64";
    case ValueKind::numeric: return "numeric";
    case ValueKind::money: return "money";
    case ValueKind::text: return "text";
    case ValueKind::bytes: return "bytes";
    case ValueKind::uuid: return "uuid";
    case ValueKind::timestamptz: return "timestamptz";
    case ValueKind::timestamp: return "timestamp";
    case ValueKind::date: return "date";
    case ValueKind::time: return "time";
    case ValueKind::interval: return "interval";
    case ValueKind::json: return "json";
    case ValueKind::inet: return "inet";
    case ValueKind::cidr: return "cidr";
    case ValueKind::macaddr: return "macaddr";
    case ValueKind::point: return "point";
    case ValueKind::hstore: return "hstore";
    case ValueKind::vector: return "vector";
    case ValueKind::enumeration: return "enum";
    case ValueKind::array: return "array";
  }
  return "?";
}

std::string snake_case(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool upper = c >= 'A' && c <= 'Z';
    if (upper && i > 0) {
      const bool prev_lower = (name[i - 1] >= 'a' && name[i - 1] <= 'z') || (name[i - 1] >= '0' && name[i - 1] <= '9');
      const bool next_lower = i + 1 < name.size() && name[i + 1] >= 'a' && name[i + 1] <= 'z';
      const bool prev_upper = name[i - 1] >= 'A' && name[i - 1] <= 'Z';
      if (prev_lower || (prev_upper && next_lower)) out.push_back('_');
    }
    out.push_back(upper ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

void append_quoted_identifier(std::string& out, std::string_view name) {
  if (name.empty()) throw FieldError("an identifier cannot be empty");
  if (name.find('\0') != std::string_view::npos) throw FieldError("an identifier cannot contain a NUL byte");
  out.push_back('"');
  if (name.find('"') == std::string_view::npos) {
    out.append(name);
  } else {
    for (char c : name) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
  }
  out.push_back('"');
}

std::string quote_identifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  append_quoted_identifier(out, name);
  return out;
}

const FieldInfo* ModelInfo::find(std::string_view n) const noexcept {
  for (const auto& f : fields)
    if (f.name == n) return &f;
  return nullptr;
}

std::optional<std::size_t> ModelInfo::index_of(std::string_view n) const noexcept {
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == n) return i;
  return std::nullopt;
}

const FieldInfo& ModelInfo::field(std::string_view n) const {
  if (const FieldInfo* f = find(n)) return *f;
  std::string known;
  for (const auto& f : fields) known += fmt::format("{}{}", known.empty() ? "" : ", ", f.name);
  throw FieldError(fmt::format("{} has no field named '{}'", name, n),
                   ErrorContext{.model = name, .field = std::string(n), .hint = "fields: " + known});
}

std::string ModelInfo::qualified_table() const {
  std::string out;
  out.reserve(schema.size() + table.size() + 5);
  if (!schema.empty()) {
    append_quoted_identifier(out, schema);
    out.push_back('.');
  }
  append_quoted_identifier(out, table);
  return out;
}

nlohmann::json ModelInfo::to_json() const {
  nlohmann::json j;
  j["name"] = name;
  j["table"] = table;
  j["schema"] = schema.empty() ? "public" : schema;
  j["database"] = database;
  nlohmann::json pk = nlohmann::json::array();
  for (auto i : primary_keys) pk.push_back(fields[i].name);
  j["primary_key"] = pk;
  nlohmann::json fs = nlohmann::json::array();
  for (const auto& f : fields) {
    nlohmann::json jf{{"name", f.name}, {"type", f.sql_type}, {"kind", to_string(f.kind)}, {"nullable", f.nullable},
                      {"primary_key", f.primary_key}, {"unique", f.unique}, {"index", f.index},
                      {"identity", f.identity}, {"version", f.version}};
    if (f.max_length) jf["max_length"] = *f.max_length;
    if (f.precision) jf["precision"] = *f.precision;
    if (f.scale) jf["scale"] = *f.scale;
    if (f.dimensions) jf["dimensions"] = *f.dimensions;
    if (!f.choices.empty()) jf["choices"] = f.choices;
    if (!f.enum_type.empty()) jf["enum_type"] = f.enum_type;
    if (f.default_kind == DefaultKind::database) jf["db_default"] = f.db_default;
    if (f.foreign_key) {
      // By name: resolving the target here could recurse into a model still being built.
      const auto& fk = *f.foreign_key;
      jf["foreign_key"] = {{"target", fk.target_info ? fk.target().name : fk.target_name},
                           {"to_field", fk.to_field},
                           {"on_delete", fk.on_delete},
                           {"on_update", fk.on_update},
                           {"to_db", fk.to_db}};
    }
    fs.push_back(std::move(jf));
  }
  j["fields"] = fs;
  nlohmann::json m2m = nlohmann::json::array();
  for (const auto& r : many_to_many)
    m2m.push_back({{"name", r.name}, {"junction", r.junction}, {"source_column", r.source_column},
                   {"target_column", r.target_column}, {"target", r.target_name}});
  j["many_to_many"] = m2m;
  return j;
}

void finish_sql_type(FieldInfo& f) {
  const bool array = f.kind == ValueKind::array;
  const ValueKind k = array ? f.element_kind : f.kind;
  std::string base;
  if (k == ValueKind::text && f.max_length) base = fmt::format("character varying({})", *f.max_length);
  else if (k == ValueKind::numeric && f.precision) base = fmt::format("numeric({},{})", *f.precision, f.scale.value_or(0));
  else if (k == ValueKind::vector && f.dimensions) base = fmt::format("vector({})", *f.dimensions);
  if (!base.empty()) f.sql_type = array ? base + "[]" : base;
  if (!f.declared_type.empty()) f.sql_type = f.declared_type;
  if (f.version && f.kind != ValueKind::int32 && f.kind != ValueKind::int64)
    throw ConfigurationError(fmt::format("version field '{}' must be an integer", f.name));
  if (f.identity && f.kind != ValueKind::int16 && f.kind != ValueKind::int32 && f.kind != ValueKind::int64)
    throw ConfigurationError(fmt::format("identity field '{}' must be an integer", f.name));
}

namespace detail {

std::string enum_sql_name(std::string demangled) {
  if (auto colon = demangled.rfind("::"); colon != std::string::npos) demangled = demangled.substr(colon + 2);
  return snake_case(demangled);
}

std::unique_ptr<FieldInfo> new_field_info(const char* member_name) {
  auto f = std::make_unique<FieldInfo>();
  f->name = member_name;
  f->member = member_name;
  return f;
}

ModelInfo build_model_info(std::string_view type_name, const ModelOptions& options,
                           std::initializer_list<const FieldInfo*> fields) {
  std::vector<FieldInfo> copies;
  copies.reserve(fields.size());
  for (const FieldInfo* f : fields) copies.push_back(*f);
  return build_model_info(type_name, options, std::move(copies));
}

ModelInfo build_model_info(std::string_view type_name, const ModelOptions& options, std::vector<FieldInfo> fields) {
  ModelInfo m;
  m.name = std::string(type_name);
  m.table = options.table_name.empty() ? snake_case(type_name) : options.table_name;
  m.schema = options.schema_name;
  m.database = options.database_name;
  m.abstract = options.is_abstract;
  m.cache_policy = options.cache_policy;
  m.unfetchable = options.is_unfetchable;
  m.many_to_many = options.many_to_many_relations;
  m.inverse_foreign_keys = options.inverse_relations;
  m.indexes = options.index_list;
  m.unique_together = options.unique_sets;
  m.checks = options.check_list;
  m.uniques = options.unique_list;
  m.exclusions = options.exclusion_list;
  m.foreign_keys = options.foreign_key_list;
  m.primary_key_name = options.primary_key_constraint;
  m.partition_by = options.partition_key;
  m.comment = options.table_comment;
  m.view = options.is_view;
  m.keyless = options.is_keyless;
  m.cache_timeout = options.cache_timeout_seconds;
  m.cache_max_entries = options.cache_max;
  m.fields = std::move(fields);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < m.fields.size(); ++i) {
    auto& f = m.fields[i];
    if (!seen.insert(f.name).second)
      throw ConfigurationError(fmt::format("{} declares the column '{}' twice", m.name, f.name),
                               ErrorContext{.model = m.name, .field = f.name,
                                            .hint = "a field inherited from an abstract model cannot be declared again"});
    if (f.primary_key) {
      f.nullable = false;  // a key column is never NULL
      m.primary_keys.push_back(i);
    }
    if ((f.auto_now || f.auto_now_add) && f.kind != ValueKind::timestamptz && f.kind != ValueKind::timestamp &&
        f.kind != ValueKind::date)
      throw ConfigurationError(fmt::format("{}.{}: auto_now and auto_now_add need a Timestamp, LocalTimestamp or Date member",
                                           m.name, f.name), ErrorContext{.model = m.name, .field = f.name});
    if (f.version) {
      if (m.version_field)
        throw ConfigurationError(fmt::format("{} has more than one version field", m.name), ErrorContext{.model = m.name});
      m.version_field = i;
    }
  }
  auto known = [&](const std::string& column, const char* what) {
    if (!seen.count(column))
      throw ConfigurationError(fmt::format("{}: {} names '{}', which is not a field", m.name, what, column),
                               ErrorContext{.model = m.name, .field = column});
  };
  for (const auto& index : m.indexes) {
    if (index.columns.empty() && index.keys.empty())
      throw ConfigurationError(fmt::format("{}: an index needs at least one column or key", m.name));
    if (!index.columns.empty() && !index.keys.empty())
      throw ConfigurationError(fmt::format("{}: an index gives columns or keys, not both", m.name));
    for (const auto& c : index.columns) known(c, "an index");
    for (const auto& k : index.keys) {
      if (k.column.empty() == k.expression.empty())
        throw ConfigurationError(fmt::format("{}: each index key is a column or an expression", m.name));
      if (!k.column.empty()) known(k.column, "an index");
    }
    for (const auto& c : index.include) known(c, "an index's INCLUDE");
  }
  for (const auto& set : m.unique_together) {
    if (set.empty()) throw ConfigurationError(fmt::format("{}: unique_together needs at least one column", m.name));
    for (const auto& c : set) known(c, "unique_together");
  }
  for (const auto& check : m.checks)
    if (check.name.empty() || check.expression.empty())
      throw ConfigurationError(fmt::format("{}: a check constraint needs a name and an expression", m.name));
  for (const auto& u : m.uniques) {
    if (u.name.empty() || u.columns.empty())
      throw ConfigurationError(fmt::format("{}: a unique constraint needs a name and columns", m.name));
    for (const auto& c : u.columns) known(c, "a unique constraint");
  }
  for (const auto& x : m.exclusions)
    if (x.name.empty() || x.expression.empty())
      throw ConfigurationError(fmt::format("{}: an exclusion constraint needs a name and a definition", m.name));
  for (const auto& fk : m.foreign_keys) {
    if (fk.name.empty() || fk.columns.empty() || fk.ref_table.empty() || fk.columns.size() != fk.ref_columns.size())
      throw ConfigurationError(fmt::format("{}: a foreign key needs a name, a target table and as many referenced "
                                           "columns as columns", m.name));
    for (const auto& c : fk.columns) known(c, "a foreign key");
  }
  if (!options.primary_key_columns.empty()) {
    if (!m.primary_keys.empty())
      throw ConfigurationError(fmt::format("{}: give the primary key as field options or as .primary_key({{…}}), not both",
                                           m.name), ErrorContext{.model = m.name});
    for (const auto& c : options.primary_key_columns) {
      known(c, "the primary key");
      const std::size_t i = *m.index_of(c);
      m.fields[i].primary_key = true;
      m.fields[i].nullable = false;
      m.primary_keys.push_back(i);
    }
  }
  for (const auto& f : m.fields) {
    if (f.text_results) m.text_results = true;
    if (!f.generated.empty() && (f.identity || f.default_kind == DefaultKind::database))
      throw ConfigurationError(fmt::format("{}.{}: a generated column has no default nor identity", m.name, f.name),
                               ErrorContext{.model = m.name, .field = f.name});
  }
  if (m.keyless && !m.primary_keys.empty())
    throw ConfigurationError(fmt::format("{} is declared without_primary_key() but has one", m.name), ErrorContext{.model = m.name});
  if (m.primary_keys.empty() && !m.abstract && !m.view && !m.keyless)
    throw ConfigurationError(fmt::format("{} must define at least one primary key field", m.name),
                             ErrorContext{.model = m.name, .hint = "add orm::primary_key to a field's options"});
  if (!m.abstract) {
    m.quoted_table = m.qualified_table();
    for (const auto& f : m.fields) {
      std::string column = m.quoted_table;
      column.push_back('.');
      append_quoted_identifier(column, f.name);
      if (!m.select_all.empty()) m.select_all += ", ";
      m.select_all += column;
      m.quoted_columns.push_back(std::move(column));
    }
  }
  return m;
}

}  // namespace detail
}  // namespace matrx::orm
