// The schema model: from the registered models, from pg_catalog, and as JSON.
#include "matrx/orm/migrate/schema.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/registry.hpp"
#include "matrx/orm/migrate/migration_file.hpp"
#include "matrx/orm/model/relations.hpp"
#include "matrx/orm/pg/connection.hpp"
#include "matrx/orm/pg/database.hpp"

namespace matrx::orm::migrate {

// ---- names ----------------------------------------------------------------------------------

const ColumnDef* TableDef::column(std::string_view n) const {
  for (const auto& c : columns)
    if (c.name == n) return &c;
  return nullptr;
}
std::string TableDef::qualified() const { return quote_identifier(schema) + "." + quote_identifier(name); }
std::string EnumDef::qualified() const { return quote_identifier(schema) + "." + quote_identifier(name); }

const TableDef* SchemaDef::table(std::string_view schema, std::string_view name) const {
  for (const auto& t : tables)
    if (t.schema == schema && t.name == name) return &t;
  return nullptr;
}
const EnumDef* SchemaDef::enumeration(std::string_view schema, std::string_view name) const {
  for (const auto& e : enums)
    if (e.schema == schema && e.name == name) return &e;
  return nullptr;
}

bool TableFilter::matches(std::string_view schema, std::string_view table) const {
  auto listed = [&](const std::vector<std::string>& names) {
    for (const auto& n : names) {
      const auto dot = n.find('.');
      if (dot == std::string::npos ? n == table : (std::string_view(n).substr(0, dot) == schema &&
                                                   std::string_view(n).substr(dot + 1) == table))
        return true;
    }
    return false;
  };
  if (!include.empty()) return listed(include);
  return !listed(exclude);
}

void TableFilter::validate() const {
  if (!include.empty() && !exclude.empty())
    throw ConfigurationError("include-tables and exclude-tables are mutually exclusive",
                             ErrorContext{.hint = "give one list of tables or the other"});
}

namespace {
// PostgreSQL's identifiers are at most 63 bytes; a longer generated name is cut and gets a
// short hash, so that the name the catalog stores is the name we generated.
std::string object_name(std::string_view table, const std::vector<std::string>& columns, std::string_view suffix) {
  std::string name(table);
  for (const auto& c : columns) name += "_" + c;
  name += "_" + std::string(suffix);
  if (name.size() <= 63) return name;
  return name.substr(0, 63 - 7) + "_" + sha256_hex(name).substr(0, 6);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}
}  // namespace

std::string normalize_type(std::string_view type) {
  std::string t = trim(type);
  std::string arrays;
  while (t.size() > 2 && t.ends_with("[]")) {
    arrays += "[]";
    t = trim(std::string_view(t).substr(0, t.size() - 2));
  }
  std::string args;
  if (const auto open = t.find('('); open != std::string::npos && t.back() == ')') {
    for (char c : t.substr(open)) if (!std::isspace(static_cast<unsigned char>(c))) args.push_back(c);
    t = trim(std::string_view(t).substr(0, open));
  }
  // A quoted name (a user type with capitals) keeps its case.
  const std::string base = t.starts_with('"') ? t : lower(t);
  static const std::map<std::string, std::string, std::less<>> aliases{
      {"int", "integer"}, {"int4", "integer"}, {"serial", "integer"}, {"serial4", "integer"},
      {"int8", "bigint"}, {"bigserial", "bigint"}, {"serial8", "bigint"},
      {"int2", "smallint"}, {"smallserial", "smallint"}, {"serial2", "smallint"},
      {"float8", "double precision"}, {"float", "double precision"}, {"float4", "real"},
      {"bool", "boolean"}, {"varchar", "character varying"}, {"char", "character"},
      {"decimal", "numeric"}, {"timestamptz", "timestamp with time zone"},
      {"timestamp", "timestamp without time zone"}, {"timetz", "time with time zone"},
      {"time", "time without time zone"}, {"varbit", "bit varying"},
  };
  std::string name = base;
  if (auto it = aliases.find(base); it != aliases.end()) name = it->second;
  // format_type puts the precision of time types inside: "timestamp(3) with time zone".
  for (const char* zone : {" with time zone", " without time zone"}) {
    if (!args.empty() && name.ends_with(zone)) {
      const std::string head = name.substr(0, name.size() - std::string_view(zone).size());
      return head + args + zone + arrays;
    }
  }
  if (args == "(6)" && (name.starts_with("timestamp") || name.starts_with("time"))) args.clear();
  return name + args + arrays;
}

// ---- from the models ------------------------------------------------------------------------

namespace {
// A model belongs to the named database, or (no name given) to the default one.
bool in_database(const ModelInfo& m, std::string_view database) {
  if (!database.empty()) return m.database == database;
  if (m.database.empty()) return true;
  try {
    return pg::default_database().config().name == m.database;
  } catch (const OrmError&) {
    return false;  // no database registered: only models without a database name count
  }
}

std::string schema_of(const std::string& s) { return s.empty() ? "public" : s; }

bool is_integer(const std::string& type) { return type == "smallint" || type == "integer" || type == "bigint"; }

ColumnDef column_of(const FieldInfo& f) {
  ColumnDef c{.name = f.name, .type = normalize_type(f.sql_type), .nullable = f.nullable && !f.primary_key};
  if (f.identity) c.identity = true;
  else if (f.default_kind == DefaultKind::database) c.default_sql = f.db_default;
  return c;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

void add_enum(SchemaDef& out, const FieldInfo& f) {
  if (f.enum_type.empty() || f.choices.empty()) return;
  if (out.enumeration("public", f.enum_type)) return;
  out.enums.push_back(EnumDef{.schema = "public", .name = f.enum_type, .labels = f.choices});
}

TableDef table_of(const ModelInfo& m) {
  TableDef t{.schema = schema_of(m.schema), .name = m.table};
  for (const auto& f : m.fields) {
    t.columns.push_back(column_of(f));
    if (f.unique && !f.primary_key) t.uniques.push_back(UniqueDef{object_name(m.table, {f.name}, "key"), {f.name}});
    if (f.index) t.indexes.push_back(IndexDef{.name = object_name(m.table, {f.name}, "idx"), .columns = {f.name}});
    if (f.foreign_key && f.foreign_key->to_db.empty()) {
      const ModelInfo& target = f.foreign_key->target();
      const FieldInfo& to = orm::detail::referenced_field(f, m);
      // The original let a text column reference a uuid key; PostgreSQL then refuses the
      // constraint halfway through a migration. Say so before any SQL is written.
      const std::string from_type = normalize_type(f.sql_type), to_type = normalize_type(to.sql_type);
      const bool integers = is_integer(from_type) && is_integer(to_type);
      if (from_type != to_type && !integers)
        throw ConfigurationError(fmt::format("{}.{} is {} but references {}.{}, which is {}", m.name, f.name, from_type,
                                             target.name, to.name, to_type),
                                 ErrorContext{.model = m.name, .field = f.name,
                                              .hint = "give the foreign key field the referenced field's C++ type"});
      t.foreign_keys.push_back(ForeignKeyDef{.name = object_name(m.table, {f.name}, "fkey"), .columns = {f.name},
                                             .ref_schema = schema_of(target.schema), .ref_table = target.table,
                                             .ref_columns = {to.name}, .on_delete = upper(f.foreign_key->on_delete),
                                             .on_update = upper(f.foreign_key->on_update)});
    }
  }
  for (auto i : m.primary_keys) t.primary_key.push_back(m.fields[i].name);
  for (const auto& set : m.unique_together) t.uniques.push_back(UniqueDef{object_name(m.table, set, "key"), set});
  for (const auto& c : m.checks) t.checks.push_back(CheckDef{c.name, c.expression});
  for (const auto& i : m.indexes)
    t.indexes.push_back(IndexDef{.name = i.name.empty() ? object_name(m.table, i.columns, "idx") : i.name,
                                 .columns = i.columns, .unique = i.unique,
                                 .method = i.method.empty() ? "btree" : lower(i.method), .opclass = i.opclass,
                                 .where = i.where});
  return t;
}

// A many-to-many junction no model describes: (source, target) key, both cascading.
TableDef junction_of(const ModelInfo& m, const ManyToManyInfo& declared) {
  const ManyToManyInfo rel = orm::detail::resolved(m, declared);
  const ModelInfo& target = ModelRegistry::get(rel.target_name);
  const FieldInfo& source_key = m.fields.at(m.primary_keys.at(0));
  const FieldInfo& target_key = target.fields.at(target.primary_keys.at(0));
  TableDef t{.schema = schema_of(rel.junction_schema), .name = rel.junction};
  t.columns.push_back(ColumnDef{.name = rel.source_column, .type = normalize_type(source_key.sql_type), .nullable = false});
  t.columns.push_back(ColumnDef{.name = rel.target_column, .type = normalize_type(target_key.sql_type), .nullable = false});
  t.primary_key = {rel.source_column, rel.target_column};
  t.foreign_keys.push_back(ForeignKeyDef{.name = object_name(t.name, {rel.source_column}, "fkey"),
                                         .columns = {rel.source_column}, .ref_schema = schema_of(m.schema),
                                         .ref_table = m.table, .ref_columns = {source_key.name}, .on_delete = "CASCADE"});
  t.foreign_keys.push_back(ForeignKeyDef{.name = object_name(t.name, {rel.target_column}, "fkey"),
                                         .columns = {rel.target_column}, .ref_schema = schema_of(target.schema),
                                         .ref_table = target.table, .ref_columns = {target_key.name},
                                         .on_delete = "CASCADE"});
  return t;
}
}  // namespace

SchemaDef schema_from_models(std::string_view database, const TableFilter& filter) {
  filter.validate();
  SchemaDef out;
  std::vector<const ModelInfo*> models;
  for (const ModelInfo* m : ModelRegistry::all())
    if (!m->abstract && in_database(*m, database)) models.push_back(m);
  std::sort(models.begin(), models.end(), [](const ModelInfo* a, const ModelInfo* b) {
    return std::tie(a->schema, a->table) < std::tie(b->schema, b->table);
  });
  for (const ModelInfo* m : models) {
    if (!filter.matches(schema_of(m->schema), m->table)) continue;
    if (out.table(schema_of(m->schema), m->table))
      throw ConfigurationError(fmt::format("two models describe table {}.{}", schema_of(m->schema), m->table),
                               ErrorContext{.model = m->name});
    out.tables.push_back(table_of(*m));
    for (const auto& f : m->fields) add_enum(out, f);
  }
  for (const ModelInfo* m : models) {
    for (const auto& r : m->many_to_many) {
      const ManyToManyInfo rel = orm::detail::resolved(*m, r);
      const std::string schema = schema_of(rel.junction_schema);
      if (out.table(schema, rel.junction) || !filter.matches(schema, rel.junction)) continue;
      bool modelled = false;
      for (const ModelInfo* other : ModelRegistry::all())
        if (!other->abstract && other->table == rel.junction && schema_of(other->schema) == schema) modelled = true;
      if (!modelled) out.tables.push_back(junction_of(*m, r));
    }
  }
  std::set<std::string> schemas;
  for (const auto& t : out.tables)
    if (t.schema != "public") schemas.insert(t.schema);
  out.schemas.assign(schemas.begin(), schemas.end());
  return out;
}

// ---- from the catalog -----------------------------------------------------------------------

namespace {
// Relations in scope: ordinary and partitioned tables outside the system schemas, not owned
// by an extension, not the migration state table.
constexpr const char* tables_in_scope = R"(
  SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
    AND c.relname <> '_matrx_migrations'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))";

std::vector<std::string> json_names(const pg::Result& r, int row, int column) {
  if (r.is_null(row, column)) return {};
  return nlohmann::json::parse(r.get<std::string>(row, column)).get<std::vector<std::string>>();
}

std::string action(std::string_view code) {
  if (code == "r") return "RESTRICT";
  if (code == "c") return "CASCADE";
  if (code == "n") return "SET NULL";
  if (code == "d") return "SET DEFAULT";
  return "NO ACTION";
}
}  // namespace

boost::asio::awaitable<SchemaDef> schema_from_database(pg::Connection& connection, TableFilter filter) {
  filter.validate();
  SchemaDef out;
  std::map<std::string, std::size_t> by_oid;  // table oid (text) → index in out.tables
  {
    const std::string sql = fmt::format(
        "SELECT c.oid::text, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid IN ({}) ORDER BY n.nspname, c.relname",
        tables_in_scope);
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) {
      auto schema = r.get<std::string>(i, 1), name = r.get<std::string>(i, 2);
      if (!filter.matches(schema, name)) continue;
      by_oid[r.get<std::string>(i, 0)] = out.tables.size();
      out.tables.push_back(TableDef{.schema = std::move(schema), .name = std::move(name)});
    }
  }
  {
    const std::string sql = fmt::format(
        "SELECT a.attrelid::text, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid), a.attidentity <> '' "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid IN ({}) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum",
        tables_in_scope);
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) {
      auto it = by_oid.find(r.get<std::string>(i, 0));
      if (it == by_oid.end()) continue;
      ColumnDef c{.name = r.get<std::string>(i, 1), .type = normalize_type(r.get<std::string>(i, 2)),
                  .nullable = !r.get<bool>(i, 3)};
      if (!r.is_null(i, 4)) c.default_sql = r.get<std::string>(i, 4);
      c.identity = r.get<bool>(i, 5);
      out.tables[it->second].columns.push_back(std::move(c));
    }
  }
  {
    const std::string sql = fmt::format(
        "SELECT con.conrelid::text, con.conname, con.contype, "
        "(SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(con.conkey) WITH ORDINALITY k(n, o) "
        "  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n), "
        "fn.nspname, fc.relname, "
        "(SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(con.confkey) WITH ORDINALITY k(n, o) "
        "  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n), "
        "con.confdeltype, con.confupdtype, pg_get_constraintdef(con.oid) "
        "FROM pg_constraint con LEFT JOIN pg_class fc ON fc.oid = con.confrelid "
        "LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace "
        "WHERE con.conrelid IN ({}) AND con.contype IN ('p', 'u', 'f', 'c') ORDER BY con.conrelid, con.conname",
        tables_in_scope);
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) {
      auto it = by_oid.find(r.get<std::string>(i, 0));
      if (it == by_oid.end()) continue;
      TableDef& t = out.tables[it->second];
      const std::string name = r.get<std::string>(i, 1), type = r.get<std::string>(i, 2);
      const auto columns = json_names(r, i, 3);
      if (type == "p") {
        t.primary_key = columns;
        t.primary_key_name = name;
      } else if (type == "u") {
        t.uniques.push_back(UniqueDef{name, columns});
      } else if (type == "f") {
        t.foreign_keys.push_back(ForeignKeyDef{.name = name, .columns = columns, .ref_schema = r.get<std::string>(i, 4),
                                               .ref_table = r.get<std::string>(i, 5), .ref_columns = json_names(r, i, 6),
                                               .on_delete = action(r.get<std::string>(i, 7)),
                                               .on_update = action(r.get<std::string>(i, 8))});
      } else {
        std::string def = r.get<std::string>(i, 9);  // "CHECK ((age >= 0))"
        if (def.starts_with("CHECK ")) def = def.substr(6);
        t.checks.push_back(CheckDef{name, def});
      }
    }
  }
  {
    // Indexes that do not back a primary key, unique or exclusion constraint.
    const std::string sql = fmt::format(
        "SELECT i.indrelid::text, ic.relname, i.indisunique, am.amname, pg_get_expr(i.indpred, i.indrelid), "
        "CASE WHEN i.indexprs IS NULL THEN (SELECT json_agg(a.attname ORDER BY k.o) "
        "  FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o) "
        "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n) END, "
        "(SELECT CASE WHEN oc.opcdefault THEN '' ELSE oc.opcname END FROM pg_opclass oc WHERE oc.oid = i.indclass[0]) "
        "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam "
        "WHERE i.indrelid IN ({}) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
        "  AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')) ORDER BY ic.relname",
        tables_in_scope);
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) {
      auto it = by_oid.find(r.get<std::string>(i, 0));
      if (it == by_oid.end()) continue;
      IndexDef index{.name = r.get<std::string>(i, 1), .columns = json_names(r, i, 5), .unique = r.get<bool>(i, 2),
                     .method = r.get<std::string>(i, 3)};
      if (!r.is_null(i, 4)) index.where = r.get<std::string>(i, 4);
      if (!r.is_null(i, 6)) index.opclass = r.get<std::string>(i, 6);
      out.tables[it->second].indexes.push_back(std::move(index));
    }
  }
  {
    pg::Result r = co_await connection.execute(
        "SELECT n.nspname, t.typname, json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t "
        "JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid "
        "  AND d.deptype = 'e') GROUP BY n.nspname, t.typname ORDER BY 1, 2",
        pg::Format::text);
    for (int i = 0; i < r.rows(); ++i)
      out.enums.push_back(EnumDef{.schema = r.get<std::string>(i, 0), .name = r.get<std::string>(i, 1),
                                  .labels = json_names(r, i, 2)});
  }
  {
    pg::Result r = co_await connection.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema') "
        "AND nspname NOT LIKE 'pg\\_%' ORDER BY 1",
        pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) out.schemas.push_back(r.get<std::string>(i, 0));
  }
  co_return out;
}

// ---- JSON -----------------------------------------------------------------------------------

nlohmann::json SchemaDef::to_json() const {
  nlohmann::json j;
  j["format"] = "matrx-orm schema 1";
  j["schemas"] = schemas;
  j["enums"] = nlohmann::json::array();
  for (const auto& e : enums) j["enums"].push_back({{"schema", e.schema}, {"name", e.name}, {"labels", e.labels}});
  j["tables"] = nlohmann::json::array();
  for (const auto& t : tables) {
    nlohmann::json jt{{"schema", t.schema}, {"name", t.name}, {"primary_key", t.primary_key}};
    jt["columns"] = nlohmann::json::array();
    for (const auto& c : t.columns)
      jt["columns"].push_back({{"name", c.name}, {"type", c.type}, {"nullable", c.nullable},
                               {"default", c.default_sql}, {"identity", c.identity}});
    jt["uniques"] = nlohmann::json::array();
    for (const auto& u : t.uniques) jt["uniques"].push_back({{"name", u.name}, {"columns", u.columns}});
    jt["foreign_keys"] = nlohmann::json::array();
    for (const auto& f : t.foreign_keys)
      jt["foreign_keys"].push_back({{"name", f.name}, {"columns", f.columns}, {"ref_schema", f.ref_schema},
                                    {"ref_table", f.ref_table}, {"ref_columns", f.ref_columns},
                                    {"on_delete", f.on_delete}, {"on_update", f.on_update}});
    jt["checks"] = nlohmann::json::array();
    for (const auto& c : t.checks) jt["checks"].push_back({{"name", c.name}, {"expression", c.expression}});
    jt["indexes"] = nlohmann::json::array();
    for (const auto& i : t.indexes)
      jt["indexes"].push_back({{"name", i.name}, {"columns", i.columns}, {"unique", i.unique}, {"method", i.method},
                               {"opclass", i.opclass}, {"where", i.where}});
    j["tables"].push_back(std::move(jt));
  }
  return j;
}

SchemaDef SchemaDef::from_json(const nlohmann::json& j) {
  try {
    if (j.value("format", "") != "matrx-orm schema 1")
      throw MigrationError("not a matrx-orm schema snapshot (expected \"format\": \"matrx-orm schema 1\")",
                           ErrorContext{.hint = "write one with your program's `export-models` subcommand"});
    SchemaDef s;
    s.schemas = j.at("schemas").get<std::vector<std::string>>();
    for (const auto& e : j.at("enums"))
      s.enums.push_back(EnumDef{e.at("schema"), e.at("name"), e.at("labels").get<std::vector<std::string>>()});
    for (const auto& jt : j.at("tables")) {
      TableDef t{.schema = jt.at("schema"), .name = jt.at("name")};
      t.primary_key = jt.at("primary_key").get<std::vector<std::string>>();
      for (const auto& c : jt.at("columns"))
        t.columns.push_back(ColumnDef{c.at("name"), normalize_type(c.at("type").get<std::string>()), c.at("nullable"),
                                      c.at("default"), c.at("identity")});
      for (const auto& u : jt.at("uniques")) t.uniques.push_back(UniqueDef{u.at("name"), u.at("columns")});
      for (const auto& f : jt.at("foreign_keys"))
        t.foreign_keys.push_back(ForeignKeyDef{f.at("name"), f.at("columns"), f.at("ref_schema"), f.at("ref_table"),
                                               f.at("ref_columns"), f.at("on_delete"), f.at("on_update")});
      for (const auto& c : jt.at("checks")) t.checks.push_back(CheckDef{c.at("name"), c.at("expression")});
      for (const auto& i : jt.at("indexes"))
        t.indexes.push_back(IndexDef{i.at("name"), i.at("columns"), i.at("unique"), i.at("method"), i.at("opclass"),
                                     i.at("where")});
      s.tables.push_back(std::move(t));
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw MigrationError(fmt::format("malformed schema snapshot: {}", e.what()));
  }
}

}  // namespace matrx::orm::migrate
