// The schema model: from the registered models, from pg_catalog, and as JSON.
#include "matrx/orm/migrate/schema.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/registry.hpp"
#include "matrx/orm/migrate/declare.hpp"
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
std::string CompositeTypeDef::qualified() const { return quote_identifier(schema) + "." + quote_identifier(name); }
std::string DomainDef::qualified() const { return quote_identifier(schema) + "." + quote_identifier(name); }
std::string SequenceDef::qualified() const { return quote_identifier(schema) + "." + quote_identifier(name); }
std::string ViewDef::qualified() const { return quote_identifier(schema) + "." + quote_identifier(name); }

std::vector<std::string> IndexDef::plain_columns() const {
  std::vector<std::string> out;
  for (const auto& k : keys) {
    if (k.column.empty() || !k.collation.empty() || !k.opclass.empty() || k.descending || k.nulls_first) return {};
    out.push_back(k.column);
  }
  return out;
}

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
  ColumnDef c{.name = f.name, .type = normalize_type(f.sql_type), .nullable = f.nullable && !f.primary_key,
              .identity = f.identity, .identity_always = f.identity_always, .identity_options = f.identity_options,
              .generated = f.generated, .collation = f.collation, .comment = f.comment};
  if (!f.identity && f.default_kind == DefaultKind::database) c.default_sql = f.db_default;
  return c;
}

// "schema.name", "\"Odd\".\"Name\"" or "name" → (schema, name), unquoted.
std::pair<std::string, std::string> split_qualified(std::string_view sql) {
  std::vector<std::string> parts{""};
  bool quoted = false;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '"') {
      if (quoted && i + 1 < sql.size() && sql[i + 1] == '"') {
        parts.back().push_back('"');
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == '.' && !quoted) {
      parts.emplace_back();
    } else {
      parts.back().push_back(c);
    }
  }
  if (parts.size() == 1) return {"public", parts[0]};
  return {parts[0], parts[1]};
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// An enum column's type: public.<enum_type>, or where orm::column_type puts it.
void add_enum(SchemaDef& out, const FieldInfo& f) {
  if (f.enum_type.empty() || f.choices.empty()) return;
  std::string schema = "public", name = f.enum_type;
  if (!f.declared_type.empty()) {
    std::string type = f.declared_type;
    if (type.ends_with("[]")) type.resize(type.size() - 2);
    std::tie(schema, name) = split_qualified(type);
  }
  if (out.enumeration(schema, name)) return;
  out.enums.push_back(EnumDef{.schema = schema, .name = name, .labels = f.choices});
}

TableDef table_of(const ModelInfo& m) {
  TableDef t{.schema = schema_of(m.schema), .name = m.table};
  for (const auto& f : m.fields) {
    t.columns.push_back(column_of(f));
    if (f.unique && !f.primary_key) t.uniques.push_back(UniqueDef{object_name(m.table, {f.name}, "key"), {f.name}});
    if (f.index) t.indexes.push_back(IndexDef{.name = object_name(m.table, {f.name}, "idx"), .keys = {{.column = f.name}}});
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
      const ForeignKeyInfo& fk = *f.foreign_key;
      t.foreign_keys.push_back(ForeignKeyDef{.name = fk.name.empty() ? object_name(m.table, {f.name}, "fkey") : fk.name,
                                             .columns = {f.name}, .ref_schema = schema_of(target.schema),
                                             .ref_table = target.table, .ref_columns = {to.name},
                                             .on_delete = upper(fk.on_delete), .on_update = upper(fk.on_update),
                                             .match_full = fk.match_full, .deferrable = fk.deferrable,
                                             .initially_deferred = fk.initially_deferred, .not_valid = fk.not_valid});
    }
  }
  for (auto i : m.primary_keys) t.primary_key.push_back(m.fields[i].name);
  t.primary_key_name = m.primary_key_name;
  t.partition_by = m.partition_by;
  t.comment = m.comment;
  for (const auto& set : m.unique_together) t.uniques.push_back(UniqueDef{object_name(m.table, set, "key"), set});
  for (const auto& u : m.uniques)
    t.uniques.push_back(UniqueDef{.name = u.name, .columns = u.columns, .nulls_not_distinct = u.nulls_not_distinct,
                                  .deferrable = u.deferrable, .initially_deferred = u.initially_deferred});
  for (const auto& c : m.checks) t.checks.push_back(CheckDef{c.name, c.expression});
  for (const auto& x : m.exclusions) t.exclusions.push_back(ExclusionDef{x.name, x.expression});
  for (const auto& f : m.foreign_keys)
    t.foreign_keys.push_back(ForeignKeyDef{.name = f.name, .columns = f.columns, .ref_schema = f.ref_schema,
                                           .ref_table = f.ref_table, .ref_columns = f.ref_columns,
                                           .on_delete = upper(f.on_delete), .on_update = upper(f.on_update),
                                           .match_full = f.match_full, .deferrable = f.deferrable,
                                           .initially_deferred = f.initially_deferred, .not_valid = f.not_valid});
  for (const auto& i : m.indexes) {
    IndexDef index{.name = i.name, .keys = i.keys, .include = i.include, .unique = i.unique,
                   .nulls_not_distinct = i.nulls_not_distinct, .method = i.method.empty() ? "btree" : lower(i.method),
                   .with = i.with, .where = i.where};
    for (const auto& c : i.columns) index.keys.push_back(IndexKey{.column = c, .opclass = i.opclass});
    if (index.name.empty()) {
      std::vector<std::string> parts;
      for (const auto& k : index.keys) parts.push_back(k.column.empty() ? "expr" : k.column);
      index.name = object_name(m.table, parts, "idx");
    }
    t.indexes.push_back(std::move(index));
  }
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

// ---- declared objects -----------------------------------------------------------------------

namespace {
struct Declarations {
  std::mutex mutex;
  std::vector<std::pair<std::string, SchemaDef>> entries;  // (database, objects) in call order
};
Declarations& declarations() {
  static Declarations d;
  return d;
}

template <class T>
void append_new(std::vector<T>& into, const std::vector<T>& from) {
  for (const auto& x : from)
    if (std::none_of(into.begin(), into.end(), [&](const T& y) { return y.schema == x.schema && y.name == x.name; }))
      into.push_back(x);
}

// A declared partition: the parent's columns, with the defaults and NOT NULL it lists.
TableDef partition_of(const TableDef& parent, const TableDef& declared) {
  TableDef t = declared;
  t.columns.clear();
  for (const auto& c : parent.columns) {
    ColumnDef column = c;
    column.comment.clear();
    // PostgreSQL 15 keeps an identity on the partitioned table only.
    column.identity = column.identity_always = false;
    column.identity_options.clear();
    for (const auto& own : declared.columns)
      if (own.name == c.name) {
        column.default_sql = own.default_sql;
        column.nullable = own.nullable;
      }
    t.columns.push_back(std::move(column));
  }
  return t;
}
}  // namespace

bool declare(SchemaDef objects, std::string database) {
  Declarations& d = declarations();
  std::lock_guard lock(d.mutex);
  d.entries.emplace_back(std::move(database), std::move(objects));
  return true;
}

SchemaDef declared_objects(std::string_view database) {
  std::string default_name;
  try {
    default_name = pg::default_database().config().name;
  } catch (const OrmError&) {
  }
  Declarations& d = declarations();
  std::lock_guard lock(d.mutex);
  SchemaDef out;
  for (const auto& [db, objects] : d.entries) {
    const bool ours = database.empty() ? (db.empty() || db == default_name)
                                       : (db == database || (db.empty() && database == default_name));
    if (!ours) continue;
    for (const auto& s : objects.schemas)
      if (std::find(out.schemas.begin(), out.schemas.end(), s) == out.schemas.end()) out.schemas.push_back(s);
    for (const auto& e : objects.extensions)
      if (std::none_of(out.extensions.begin(), out.extensions.end(), [&](const ExtensionDef& x) { return x.name == e.name; }))
        out.extensions.push_back(e);
    append_new(out.enums, objects.enums);
    append_new(out.composite_types, objects.composite_types);
    append_new(out.domains, objects.domains);
    append_new(out.sequences, objects.sequences);
    append_new(out.tables, objects.tables);
  }
  return out;
}

SchemaDef schema_from_models(std::string_view database, const TableFilter& filter) {
  filter.validate();
  SchemaDef out;
  std::vector<const ModelInfo*> models;
  for (const ModelInfo* m : ModelRegistry::all())
    if (!m->abstract && !m->view && in_database(*m, database)) models.push_back(m);
  std::sort(models.begin(), models.end(), [](const ModelInfo* a, const ModelInfo* b) {
    return std::tie(a->schema, a->table) < std::tie(b->schema, b->table);
  });
  for (const ModelInfo* m : models) {
    if (!filter.matches(schema_of(m->schema), m->table)) continue;
    if (m->unfetchable) {  // a stub of a table someone else owns
      out.external_tables.push_back(schema_of(m->schema) + "." + m->table);
      continue;
    }
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
  // What the program declared besides its models (generated headers declare these).
  const SchemaDef declared = declared_objects(database);
  out.extensions = declared.extensions;
  std::vector<EnumDef> enums = declared.enums;
  append_new(enums, out.enums);
  out.enums = std::move(enums);
  out.composite_types = declared.composite_types;
  out.domains = declared.domains;
  // Partitions follow their partitioned table into scope (parents first: sub-partitions).
  for (bool added = true; added;) {
    added = false;
    for (const auto& p : declared.tables) {
      if (out.table(p.schema, p.name)) continue;
      if (const TableDef* parent = out.table(p.parent_schema, p.parent_table)) {
        out.tables.push_back(partition_of(*parent, p));
        added = true;
      }
    }
  }
  for (const auto& q : declared.sequences)
    if (q.owned_by_table.empty() ? filter.include.empty() : out.table(q.schema, q.owned_by_table) != nullptr)
      out.sequences.push_back(q);
  std::set<std::string> schemas(declared.schemas.begin(), declared.schemas.end());
  for (const auto& t : out.tables) schemas.insert(t.schema);
  for (const auto& e : out.enums) schemas.insert(e.schema);
  for (const auto& d : out.domains) schemas.insert(d.schema);
  for (const auto& c : out.composite_types) schemas.insert(c.schema);
  for (const auto& q : out.sequences) schemas.insert(q.schema);
  schemas.erase("public");
  out.schemas.assign(schemas.begin(), schemas.end());
  return out;
}

// ---- from the catalog -----------------------------------------------------------------------

namespace {
// Schemas the catalog reader skips: PostgreSQL's own.
constexpr const char* user_schema = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'";

// Not a member of an extension (pgvector's, hstore's objects are the extension's business).
std::string not_extension_member(std::string_view catalog, std::string_view oid) {
  return fmt::format("NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{}'::regclass AND e.objid = {} "
                     "AND e.deptype = 'e')", catalog, oid);
}

// A collation's name as SQL ("C" quoted as needed; schema-qualified outside pg_catalog), for
// the collation whose oid `oid` (an SQL expression) is.
std::string collation_sql(std::string_view oid) {
  return fmt::format("(SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname) "
                     "ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END "
                     "FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = {})",
                     oid);
}

std::vector<std::string> json_names(const pg::Result& r, int row, int column) {
  if (r.is_null(row, column)) return {};
  return nlohmann::json::parse(r.get<std::string>(row, column)).get<std::vector<std::string>>();
}

std::string text_or_empty(const pg::Result& r, int row, int column) {
  return r.is_null(row, column) ? std::string() : r.get<std::string>(row, column);
}

std::string action(std::string_view code) {
  if (code == "r") return "RESTRICT";
  if (code == "c") return "CASCADE";
  if (code == "n") return "SET NULL";
  if (code == "d") return "SET DEFAULT";
  return "NO ACTION";
}

// A relation read from the catalog: where its indexes go.
struct Relation {
  TableDef* table = nullptr;
  ViewDef* view = nullptr;
  std::vector<IndexDef>& indexes() const { return table ? table->indexes : view->indexes; }
};

// Index keys as json: [column, expression, collation, opclass, descending, nulls_first] per key.
std::string index_keys_sql() {
  return fmt::format(R"(
  (SELECT json_agg(json_build_array(
      COALESCE(a.attname, ''),
      CASE WHEN k.n = 0 THEN pg_get_indexdef(i.indexrelid, k.o::int, true) ELSE '' END,
      CASE WHEN i.indcollation[k.o - 1] <> 0 AND i.indcollation[k.o - 1] <> COALESCE(a.attcollation, 100)
           THEN {} ELSE '' END,
      COALESCE((SELECT CASE WHEN oc.opcdefault THEN '' ELSE oc.opcname END FROM pg_opclass oc
                WHERE oc.oid = i.indclass[k.o - 1]), ''),
      (i.indoption[k.o - 1] & 1) <> 0, (i.indoption[k.o - 1] & 2) <> 0) ORDER BY k.o)
   FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
   LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
   WHERE k.o <= i.indnkeyatts))", collation_sql("i.indcollation[k.o - 1]"));
}

constexpr const char* index_include_sql = R"(
  (SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n WHERE k.o > i.indnkeyatts))";

IndexKey index_key(const nlohmann::json& k) {
  IndexKey key{.column = k.at(0), .expression = k.at(1), .collation = k.at(2), .opclass = k.at(3),
               .descending = k.at(4)};
  const bool nulls_first = k.at(5);
  if (nulls_first != key.descending) key.nulls_first = nulls_first;  // not the direction's default
  if (!key.column.empty()) key.expression.clear();
  return key;
}

// The options of an identity column's sequence that differ from what PostgreSQL picks for a
// sequence of that type and direction, in CREATE SEQUENCE's order.
std::string identity_options(const nlohmann::json& q) {
  const std::string type = q.at(0);
  const std::int64_t start = q.at(1), increment = q.at(2), min = q.at(3), max = q.at(4), cache = q.at(5);
  const bool cycle = q.at(6);
  const std::int64_t type_max = type == "smallint" ? INT16_MAX : type == "integer" ? INT32_MAX : INT64_MAX;
  const std::int64_t type_min = type == "smallint" ? INT16_MIN : type == "integer" ? INT32_MIN : INT64_MIN;
  const std::int64_t default_min = increment > 0 ? 1 : type_min, default_max = increment > 0 ? type_max : -1;
  std::vector<std::string> parts;
  if (increment != 1) parts.push_back(fmt::format("INCREMENT BY {}", increment));
  if (min != default_min) parts.push_back(fmt::format("MINVALUE {}", min));
  if (max != default_max) parts.push_back(fmt::format("MAXVALUE {}", max));
  if (start != (increment > 0 ? min : max)) parts.push_back(fmt::format("START WITH {}", start));
  if (cache != 1) parts.push_back(fmt::format("CACHE {}", cache));
  if (cycle) parts.push_back("CYCLE");
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

CheckDef check_of(std::string name, std::string definition) {
  if (definition.starts_with("CHECK ")) definition = definition.substr(6);  // "CHECK ((age >= 0))"
  return CheckDef{std::move(name), std::move(definition)};
}
}  // namespace

boost::asio::awaitable<SchemaDef> schema_from_database(pg::Connection& connection, TableFilter filter) {
  filter.validate();
  SchemaDef out;
  // Relations in scope: ordinary, partitioned and partition tables, views and materialized
  // views outside the system schemas, not owned by an extension, not the migration state
  // table. A partition is in scope when its partitioned table is.
  const std::string relations = fmt::format(
      "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {} AND c.relname <> '_matrx_migrations' AND {}",
      user_schema, not_extension_member("pg_class", "c.oid"));
  std::map<std::string, Relation> by_oid;  // relation oid (text) → where it is read into
  {
    const std::string sql = fmt::format(
        "SELECT c.oid::text, n.nspname, c.relname, c.relkind, pg_get_partkeydef(c.oid), pn.nspname, pc.relname, "
        "pg_get_expr(c.relpartbound, c.oid), obj_description(c.oid, 'pg_class'), "
        "CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_inherits inh ON c.relispartition AND inh.inhrelid = c.oid "
        "LEFT JOIN pg_class pc ON pc.oid = inh.inhparent LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace "
        "WHERE c.oid IN ({}) ORDER BY c.relkind IN ('v', 'm'), n.nspname, c.relname",
        relations);
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    std::vector<std::pair<std::string, TableDef>> tables;
    for (int i = 0; i < r.rows(); ++i) {
      auto schema = r.get<std::string>(i, 1), name = r.get<std::string>(i, 2);
      const std::string kind = r.get<std::string>(i, 3);
      if (kind == "v" || kind == "m") {
        if (!filter.matches(schema, name)) continue;
        std::string definition = text_or_empty(r, i, 9);
        while (!definition.empty() && (definition.back() == ';' || std::isspace(static_cast<unsigned char>(definition.back()))))
          definition.pop_back();
        out.views.push_back(ViewDef{.schema = std::move(schema), .name = std::move(name), .definition = std::move(definition),
                                    .materialized = kind == "m", .comment = text_or_empty(r, i, 8)});
        continue;
      }
      TableDef t{.schema = std::move(schema), .name = std::move(name), .partition_by = text_or_empty(r, i, 4),
                 .parent_schema = text_or_empty(r, i, 5), .parent_table = text_or_empty(r, i, 6),
                 .partition_bound = text_or_empty(r, i, 7), .comment = text_or_empty(r, i, 8)};
      tables.emplace_back(r.get<std::string>(i, 0), std::move(t));
    }
    // A partition follows its partitioned table (the filter's decision and the order); the
    // root of a partition tree decides for all of it.
    std::map<std::string, const TableDef*> by_id;
    for (const auto& [oid, t] : tables) by_id[t.id()] = &t;
    const auto root_of = [&](const TableDef* t) {
      while (t->is_partition()) {
        auto it = by_id.find(t->parent_schema + "." + t->parent_table);
        if (it == by_id.end()) break;
        t = it->second;
      }
      return t;
    };
    const auto depth_of = [&](const TableDef* t) {
      int depth = 0;
      for (; t->is_partition() && by_id.count(t->parent_schema + "." + t->parent_table); ++depth)
        t = by_id[t->parent_schema + "." + t->parent_table];
      return depth;
    };
    std::vector<std::size_t> order(tables.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const TableDef *ra = root_of(&tables[a].second), *rb = root_of(&tables[b].second);
      const int da = depth_of(&tables[a].second), db = depth_of(&tables[b].second);
      return std::tie(ra->schema, ra->name, da, tables[a].second.name) < std::tie(rb->schema, rb->name, db, tables[b].second.name);
    });
    std::vector<std::string> kept;
    for (std::size_t i : order) {
      const TableDef* root = root_of(&tables[i].second);
      if (!filter.matches(root->schema, root->name)) continue;
      kept.push_back(tables[i].first);
      out.tables.push_back(std::move(tables[i].second));
    }
    // Pointers into the vectors once they stop growing.
    for (std::size_t i = 0; i < kept.size(); ++i) by_oid[kept[i]] = Relation{.table = &out.tables[i]};
  }
  {
    const std::string sql = fmt::format(
        "SELECT c.oid::text, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid IN ({}) AND c.relkind IN ('v', 'm') ORDER BY n.nspname, c.relname", relations);
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i)
      for (auto& v : out.views)
        if (v.schema == r.get<std::string>(i, 1) && v.name == r.get<std::string>(i, 2))
          by_oid[r.get<std::string>(i, 0)] = Relation{.view = &v};
  }
  const auto find = [&](const pg::Result& r, int row) -> const Relation* {
    auto it = by_oid.find(r.get<std::string>(row, 0));
    return it == by_oid.end() ? nullptr : &it->second;
  };
  {
    // Columns; a collation is kept when it is not the type's default.
    const std::string sql = fmt::format(
        "SELECT a.attrelid::text, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, "
        "CASE WHEN a.attcollation <> t.typcollation THEN {} END, "
        "col_description(a.attrelid, a.attnum), "
        "(SELECT json_build_array(format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, "
        "  s.seqcache, s.seqcycle) FROM pg_sequence s WHERE a.attidentity <> '' "
        "  AND s.seqrelid = pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname)::regclass) "
        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid IN ({}) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum",
        collation_sql("a.attcollation"), relations);
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) {
      const Relation* rel = find(r, i);
      if (!rel) continue;
      ColumnDef c{.name = r.get<std::string>(i, 1), .type = normalize_type(r.get<std::string>(i, 2)),
                  .nullable = !r.get<bool>(i, 3)};
      const std::string expression = text_or_empty(r, i, 4), identity = r.get<std::string>(i, 5);
      if (r.get<std::string>(i, 6) == "s") c.generated = expression;
      else c.default_sql = expression;
      c.identity = !identity.empty();
      c.identity_always = identity == "a";
      c.collation = text_or_empty(r, i, 7);
      c.comment = text_or_empty(r, i, 8);
      if (!r.is_null(i, 9)) c.identity_options = identity_options(nlohmann::json::parse(r.get<std::string>(i, 9)));
      (rel->table ? rel->table->columns : rel->view->columns).push_back(std::move(c));
    }
  }
  {
    // Constraints declared on the table itself: those a partition inherits from its
    // partitioned table (conparentid) or a child from its parent (not conislocal) come back
    // when the parent's are created.
    const std::string sql = fmt::format(
        "SELECT con.conrelid::text, con.conname, con.contype, "
        "(SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(con.conkey) WITH ORDINALITY k(n, o) "
        "  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n), "
        "fn.nspname, fc.relname, "
        "(SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(con.confkey) WITH ORDINALITY k(n, o) "
        "  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n), "
        "con.confdeltype, con.confupdtype, pg_get_constraintdef(con.oid), con.confmatchtype = 'f', "
        "con.condeferrable, con.condeferred, COALESCE(ix.indnullsnotdistinct, false), NOT con.convalidated "
        "FROM pg_constraint con LEFT JOIN pg_class fc ON fc.oid = con.confrelid "
        "LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace "
        "LEFT JOIN pg_index ix ON ix.indexrelid = con.conindid AND con.contype = 'u' "
        "WHERE con.conrelid IN ({}) AND con.contype IN ('p', 'u', 'f', 'c', 'x') AND con.conparentid = 0 "
        "AND con.conislocal ORDER BY con.conrelid, con.conname",
        relations);
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) {
      const Relation* rel = find(r, i);
      if (!rel || !rel->table) continue;
      TableDef& t = *rel->table;
      std::string name = r.get<std::string>(i, 1);
      const std::string type = r.get<std::string>(i, 2);
      auto columns = json_names(r, i, 3);
      const bool deferrable = r.get<bool>(i, 11), deferred = r.get<bool>(i, 12);
      if (type == "p") {
        t.primary_key = std::move(columns);
        t.primary_key_name = std::move(name);
      } else if (type == "u") {
        t.uniques.push_back(UniqueDef{.name = std::move(name), .columns = std::move(columns),
                                      .nulls_not_distinct = r.get<bool>(i, 13), .deferrable = deferrable,
                                      .initially_deferred = deferred});
      } else if (type == "f") {
        t.foreign_keys.push_back(ForeignKeyDef{.name = std::move(name), .columns = std::move(columns),
                                               .ref_schema = r.get<std::string>(i, 4),
                                               .ref_table = r.get<std::string>(i, 5), .ref_columns = json_names(r, i, 6),
                                               .on_delete = action(r.get<std::string>(i, 7)),
                                               .on_update = action(r.get<std::string>(i, 8)),
                                               .match_full = r.get<bool>(i, 10), .deferrable = deferrable,
                                               .initially_deferred = deferred, .not_valid = r.get<bool>(i, 14)});
      } else if (type == "x") {
        t.exclusions.push_back(ExclusionDef{std::move(name), r.get<std::string>(i, 9)});
      } else {
        t.checks.push_back(check_of(std::move(name), r.get<std::string>(i, 9)));
      }
    }
  }
  {
    // Indexes that do not back a constraint, nor are a partition's copy of its partitioned
    // table's index (those come back with the parent's).
    const std::string sql = fmt::format(
        "SELECT i.indrelid::text, ic.relname, i.indisunique, am.amname, pg_get_expr(i.indpred, i.indrelid), {}, {}, "
        "i.indnullsnotdistinct, array_to_string(ic.reloptions, ', ') "
        "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam "
        "WHERE i.indrelid IN ({}) AND NOT ic.relispartition AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "  WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')) "
        "ORDER BY ic.relname",
        index_keys_sql(), index_include_sql, relations);
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) {
      const Relation* rel = find(r, i);
      if (!rel) continue;
      IndexDef index{.name = r.get<std::string>(i, 1), .include = json_names(r, i, 6), .unique = r.get<bool>(i, 2),
                     .nulls_not_distinct = r.get<bool>(i, 7), .method = r.get<std::string>(i, 3),
                     .with = text_or_empty(r, i, 8), .where = text_or_empty(r, i, 4)};
      for (const auto& k : nlohmann::json::parse(r.get<std::string>(i, 5))) index.keys.push_back(index_key(k));
      rel->indexes().push_back(std::move(index));
    }
  }
  {
    const std::string sql = fmt::format(
        "SELECT n.nspname, t.typname, json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t "
        "JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE {} AND {} GROUP BY n.nspname, t.typname ORDER BY 1, 2",
        user_schema, not_extension_member("pg_type", "t.oid"));
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i)
      out.enums.push_back(EnumDef{.schema = r.get<std::string>(i, 0), .name = r.get<std::string>(i, 1),
                                  .labels = json_names(r, i, 2)});
  }
  {
    // Extensions but the built-in procedural language.
    pg::Result r = co_await connection.execute(
        "SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname <> 'plpgsql' ORDER BY e.oid",
        pg::Format::text);
    for (int i = 0; i < r.rows(); ++i)
      out.extensions.push_back(ExtensionDef{.name = r.get<std::string>(i, 0), .schema = r.get<std::string>(i, 1)});
  }
  {
    // Composite types that are not a table's row type, in creation order.
    const std::string sql = fmt::format(
        "SELECT n.nspname, t.typname, json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod), "
        "  CASE WHEN a.attcollation <> at.typcollation THEN {} ELSE '' END) ORDER BY a.attnum) "
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_class c ON c.oid = t.typrelid "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "JOIN pg_type at ON at.oid = a.atttypid "
        "WHERE t.typtype = 'c' AND c.relkind = 'c' AND {} AND {} GROUP BY t.oid, n.nspname, t.typname ORDER BY t.oid",
        collation_sql("a.attcollation"), user_schema, not_extension_member("pg_type", "t.oid"));
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) {
      CompositeTypeDef c{.schema = r.get<std::string>(i, 0), .name = r.get<std::string>(i, 1)};
      for (const auto& a : nlohmann::json::parse(r.get<std::string>(i, 2)))
        c.attributes.push_back(ColumnDef{.name = a.at(0), .type = normalize_type(a.at(1).get<std::string>()),
                                         .collation = a.at(2)});
      out.composite_types.push_back(std::move(c));
    }
  }
  {
    // Domains in creation order (a domain over another domain comes after it).
    const std::string sql = fmt::format(
        "SELECT n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, "
        "CASE WHEN t.typcollation <> b.typcollation THEN {} END, "
        "(SELECT json_agg(json_build_array(c.conname, pg_get_constraintdef(c.oid)) ORDER BY c.conname) "
        "  FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c') "
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_type b ON b.oid = t.typbasetype "
        "WHERE t.typtype = 'd' AND {} AND {} ORDER BY t.oid",
        collation_sql("t.typcollation"), user_schema, not_extension_member("pg_type", "t.oid"));
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) {
      DomainDef d{.schema = r.get<std::string>(i, 0), .name = r.get<std::string>(i, 1),
                  .type = normalize_type(r.get<std::string>(i, 2)), .not_null = r.get<bool>(i, 3),
                  .default_sql = text_or_empty(r, i, 4), .collation = text_or_empty(r, i, 5)};
      if (!r.is_null(i, 6))
        for (const auto& c : nlohmann::json::parse(r.get<std::string>(i, 6)))
          d.checks.push_back(check_of(c.at(0), c.at(1)));
      out.domains.push_back(std::move(d));
    }
  }
  {
    // Sequences but identity columns' (those belong to their column); a serial column's
    // sequence names the column that owns it.
    const std::string sql = fmt::format(
        "SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, "
        "s.seqcache, s.seqcycle, tn.nspname, tc.relname, ta.attname "
        "FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid "
        "  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
        "LEFT JOIN pg_class tc ON tc.oid = d.refobjid LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace "
        "LEFT JOIN pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid "
        "WHERE d.deptype IS DISTINCT FROM 'i' AND {} AND {} ORDER BY 1, 2",
        user_schema, not_extension_member("pg_class", "c.oid"));
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) {
      SequenceDef q{.schema = r.get<std::string>(i, 0), .name = r.get<std::string>(i, 1),
                    .type = normalize_type(r.get<std::string>(i, 2)), .start = r.get<std::int64_t>(i, 3),
                    .increment = r.get<std::int64_t>(i, 4), .min_value = r.get<std::int64_t>(i, 5),
                    .max_value = r.get<std::int64_t>(i, 6), .cache = r.get<std::int64_t>(i, 7),
                    .cycle = r.get<bool>(i, 8)};
      if (!r.is_null(i, 10)) {
        const std::string owner_schema = r.get<std::string>(i, 9), owner = r.get<std::string>(i, 10);
        // A serial column's sequence is in scope with its table; one that stands alone is
        // in scope unless the filter names the only tables to look at.
        if (!out.table(owner_schema, owner)) continue;
        q.owned_by_table = owner;
        q.owned_by_column = r.get<std::string>(i, 11);
      } else if (!filter.include.empty()) {
        continue;
      }
      out.sequences.push_back(std::move(q));
    }
  }
  {
    pg::Result r = co_await connection.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema') "
        "AND nspname NOT LIKE 'pg\\_%' ORDER BY 1",
        pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) out.schemas.push_back(r.get<std::string>(i, 0));
  }
  {
    // What the schema model does not describe: said by name, never dropped nor emitted.
    const std::string sql = fmt::format(
        "SELECT kind || ' ' || name FROM ("
        " SELECT CASE t.typtype WHEN 'r' THEN 'range type' ELSE 'type' END AS kind, "
        "   format_type(t.oid, NULL) AS name, n.nspname, t.typname AS sort FROM pg_type t "
        "   JOIN pg_namespace n ON n.oid = t.typnamespace "
        "   WHERE t.typtype IN ('b', 'r') AND {} AND {} AND t.typelem = 0 "
        " UNION ALL SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END, "
        "   p.oid::regprocedure::text, n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "   WHERE {} AND {} "
        " UNION ALL SELECT 'trigger', t.tgname || ' on ' || t.tgrelid::regclass::text, n.nspname, t.tgname "
        "   FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "   WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {} "
        " UNION ALL SELECT 'policy', p.polname || ' on ' || p.polrelid::regclass::text, n.nspname, p.polname "
        "   FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        ") o ORDER BY 1",
        user_schema, not_extension_member("pg_type", "t.oid"), user_schema, not_extension_member("pg_proc", "p.oid"),
        user_schema);
    pg::Result r = co_await connection.execute(sql, pg::Format::text);
    for (int i = 0; i < r.rows(); ++i) out.unsupported.push_back(r.get<std::string>(i, 0));
  }
  co_return out;
}

// ---- JSON -----------------------------------------------------------------------------------

// Every field is written; on reading, a field missing from a snapshot takes its default, so a
// format-1 snapshot (before domains, sequences, partitions and index keys) still reads.
namespace {
nlohmann::json column_json(const ColumnDef& c) {
  return {{"name", c.name}, {"type", c.type}, {"nullable", c.nullable}, {"default", c.default_sql},
          {"identity", c.identity}, {"identity_always", c.identity_always},
          {"identity_options", c.identity_options}, {"generated", c.generated},
          {"collation", c.collation}, {"comment", c.comment}};
}
ColumnDef column_from(const nlohmann::json& c) {
  return ColumnDef{.name = c.at("name"), .type = normalize_type(c.at("type").get<std::string>()),
                   .nullable = c.at("nullable"), .default_sql = c.at("default"), .identity = c.at("identity"),
                   .identity_always = c.value("identity_always", false),
                   .identity_options = c.value("identity_options", ""), .generated = c.value("generated", ""),
                   .collation = c.value("collation", ""), .comment = c.value("comment", "")};
}
nlohmann::json index_json(const IndexDef& i) {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : i.keys) {
    nlohmann::json jk{{"column", k.column}, {"expression", k.expression}, {"collation", k.collation},
                      {"opclass", k.opclass}, {"descending", k.descending}};
    jk["nulls_first"] = k.nulls_first ? nlohmann::json(*k.nulls_first) : nlohmann::json(nullptr);
    keys.push_back(std::move(jk));
  }
  return {{"name", i.name}, {"keys", keys}, {"include", i.include}, {"unique", i.unique},
          {"nulls_not_distinct", i.nulls_not_distinct}, {"method", i.method}, {"with", i.with}, {"where", i.where}};
}
IndexDef index_from(const nlohmann::json& j) {
  IndexDef i{.name = j.at("name"), .include = j.value("include", std::vector<std::string>{}), .unique = j.at("unique"),
             .nulls_not_distinct = j.value("nulls_not_distinct", false), .method = j.at("method"),
             .with = j.value("with", ""), .where = j.at("where")};
  if (j.contains("keys")) {
    for (const auto& k : j.at("keys")) {
      IndexKey key{.column = k.at("column"), .expression = k.at("expression"), .collation = k.at("collation"),
                   .opclass = k.at("opclass"), .descending = k.at("descending")};
      if (!k.at("nulls_first").is_null()) key.nulls_first = k.at("nulls_first").get<bool>();
      i.keys.push_back(std::move(key));
    }
  } else {  // format 1: columns sharing one operator class
    for (const auto& c : j.at("columns")) i.keys.push_back(IndexKey{.column = c, .opclass = j.value("opclass", "")});
  }
  return i;
}
nlohmann::json checks_json(const std::vector<CheckDef>& checks) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : checks) out.push_back({{"name", c.name}, {"expression", c.expression}});
  return out;
}
std::vector<CheckDef> checks_from(const nlohmann::json& j) {
  std::vector<CheckDef> out;
  for (const auto& c : j) out.push_back(CheckDef{c.at("name"), c.at("expression")});
  return out;
}
}  // namespace

nlohmann::json SchemaDef::to_json() const {
  nlohmann::json j;
  j["format"] = "matrx-orm schema 2";
  j["schemas"] = schemas;
  j["enums"] = nlohmann::json::array();
  for (const auto& e : enums) j["enums"].push_back({{"schema", e.schema}, {"name", e.name}, {"labels", e.labels}});
  j["extensions"] = nlohmann::json::array();
  for (const auto& e : extensions) j["extensions"].push_back({{"name", e.name}, {"schema", e.schema}});
  j["composite_types"] = nlohmann::json::array();
  for (const auto& c : composite_types) {
    nlohmann::json attributes = nlohmann::json::array();
    for (const auto& a : c.attributes) attributes.push_back(column_json(a));
    j["composite_types"].push_back({{"schema", c.schema}, {"name", c.name}, {"attributes", attributes}});
  }
  j["domains"] = nlohmann::json::array();
  for (const auto& d : domains)
    j["domains"].push_back({{"schema", d.schema}, {"name", d.name}, {"type", d.type}, {"not_null", d.not_null},
                            {"default", d.default_sql}, {"collation", d.collation}, {"checks", checks_json(d.checks)}});
  j["sequences"] = nlohmann::json::array();
  for (const auto& q : sequences)
    j["sequences"].push_back({{"schema", q.schema}, {"name", q.name}, {"type", q.type}, {"start", q.start},
                              {"increment", q.increment}, {"min_value", q.min_value}, {"max_value", q.max_value},
                              {"cache", q.cache}, {"cycle", q.cycle}, {"owned_by_table", q.owned_by_table},
                              {"owned_by_column", q.owned_by_column}});
  j["tables"] = nlohmann::json::array();
  for (const auto& t : tables) {
    nlohmann::json jt{{"schema", t.schema}, {"name", t.name}, {"primary_key", t.primary_key},
                      {"primary_key_name", t.primary_key_name}, {"partition_by", t.partition_by},
                      {"parent_schema", t.parent_schema}, {"parent_table", t.parent_table},
                      {"partition_bound", t.partition_bound}, {"comment", t.comment}};
    jt["columns"] = nlohmann::json::array();
    for (const auto& c : t.columns) jt["columns"].push_back(column_json(c));
    jt["uniques"] = nlohmann::json::array();
    for (const auto& u : t.uniques)
      jt["uniques"].push_back({{"name", u.name}, {"columns", u.columns}, {"nulls_not_distinct", u.nulls_not_distinct},
                               {"deferrable", u.deferrable}, {"initially_deferred", u.initially_deferred}});
    jt["foreign_keys"] = nlohmann::json::array();
    for (const auto& f : t.foreign_keys)
      jt["foreign_keys"].push_back({{"name", f.name}, {"columns", f.columns}, {"ref_schema", f.ref_schema},
                                    {"ref_table", f.ref_table}, {"ref_columns", f.ref_columns},
                                    {"on_delete", f.on_delete}, {"on_update", f.on_update}, {"match_full", f.match_full},
                                    {"deferrable", f.deferrable}, {"initially_deferred", f.initially_deferred},
                                    {"not_valid", f.not_valid}});
    jt["checks"] = checks_json(t.checks);
    jt["exclusions"] = nlohmann::json::array();
    for (const auto& x : t.exclusions) jt["exclusions"].push_back({{"name", x.name}, {"definition", x.definition}});
    jt["indexes"] = nlohmann::json::array();
    for (const auto& i : t.indexes) jt["indexes"].push_back(index_json(i));
    j["tables"].push_back(std::move(jt));
  }
  j["views"] = nlohmann::json::array();
  for (const auto& v : views) {
    nlohmann::json jv{{"schema", v.schema}, {"name", v.name}, {"definition", v.definition},
                      {"materialized", v.materialized}, {"comment", v.comment}};
    jv["columns"] = nlohmann::json::array();
    for (const auto& c : v.columns) jv["columns"].push_back(column_json(c));
    jv["indexes"] = nlohmann::json::array();
    for (const auto& i : v.indexes) jv["indexes"].push_back(index_json(i));
    j["views"].push_back(std::move(jv));
  }
  j["unsupported"] = unsupported;
  j["external_tables"] = external_tables;
  return j;
}

SchemaDef SchemaDef::from_json(const nlohmann::json& j) {
  try {
    const std::string format = j.value("format", "");
    if (format != "matrx-orm schema 1" && format != "matrx-orm schema 2")
      throw MigrationError("not a matrx-orm schema snapshot (expected \"format\": \"matrx-orm schema 2\")",
                           ErrorContext{.hint = "write one with your program's `export-models` subcommand"});
    SchemaDef s;
    s.schemas = j.at("schemas").get<std::vector<std::string>>();
    for (const auto& e : j.at("enums"))
      s.enums.push_back(EnumDef{e.at("schema"), e.at("name"), e.at("labels").get<std::vector<std::string>>()});
    for (const auto& e : j.value("extensions", nlohmann::json::array()))
      s.extensions.push_back(ExtensionDef{.name = e.at("name"), .schema = e.at("schema")});
    for (const auto& c : j.value("composite_types", nlohmann::json::array())) {
      CompositeTypeDef type{.schema = c.at("schema"), .name = c.at("name")};
      for (const auto& a : c.at("attributes")) type.attributes.push_back(column_from(a));
      s.composite_types.push_back(std::move(type));
    }
    for (const auto& d : j.value("domains", nlohmann::json::array()))
      s.domains.push_back(DomainDef{.schema = d.at("schema"), .name = d.at("name"),
                                    .type = normalize_type(d.at("type").get<std::string>()), .not_null = d.at("not_null"),
                                    .default_sql = d.at("default"), .collation = d.at("collation"),
                                    .checks = checks_from(d.at("checks"))});
    for (const auto& q : j.value("sequences", nlohmann::json::array()))
      s.sequences.push_back(SequenceDef{.schema = q.at("schema"), .name = q.at("name"),
                                        .type = normalize_type(q.at("type").get<std::string>()), .start = q.at("start"),
                                        .increment = q.at("increment"), .min_value = q.at("min_value"),
                                        .max_value = q.at("max_value"), .cache = q.at("cache"), .cycle = q.at("cycle"),
                                        .owned_by_table = q.at("owned_by_table"),
                                        .owned_by_column = q.at("owned_by_column")});
    for (const auto& jt : j.at("tables")) {
      TableDef t{.schema = jt.at("schema"), .name = jt.at("name")};
      t.primary_key = jt.at("primary_key").get<std::vector<std::string>>();
      t.primary_key_name = jt.value("primary_key_name", "");
      t.partition_by = jt.value("partition_by", "");
      t.parent_schema = jt.value("parent_schema", "");
      t.parent_table = jt.value("parent_table", "");
      t.partition_bound = jt.value("partition_bound", "");
      t.comment = jt.value("comment", "");
      for (const auto& c : jt.at("columns")) t.columns.push_back(column_from(c));
      for (const auto& u : jt.at("uniques"))
        t.uniques.push_back(UniqueDef{.name = u.at("name"), .columns = u.at("columns"),
                                      .nulls_not_distinct = u.value("nulls_not_distinct", false),
                                      .deferrable = u.value("deferrable", false),
                                      .initially_deferred = u.value("initially_deferred", false)});
      for (const auto& f : jt.at("foreign_keys"))
        t.foreign_keys.push_back(ForeignKeyDef{.name = f.at("name"), .columns = f.at("columns"),
                                               .ref_schema = f.at("ref_schema"), .ref_table = f.at("ref_table"),
                                               .ref_columns = f.at("ref_columns"), .on_delete = f.at("on_delete"),
                                               .on_update = f.at("on_update"), .match_full = f.value("match_full", false),
                                               .deferrable = f.value("deferrable", false),
                                               .initially_deferred = f.value("initially_deferred", false),
                                               .not_valid = f.value("not_valid", false)});
      t.checks = checks_from(jt.at("checks"));
      for (const auto& x : jt.value("exclusions", nlohmann::json::array()))
        t.exclusions.push_back(ExclusionDef{x.at("name"), x.at("definition")});
      for (const auto& i : jt.at("indexes")) t.indexes.push_back(index_from(i));
      s.tables.push_back(std::move(t));
    }
    for (const auto& jv : j.value("views", nlohmann::json::array())) {
      ViewDef v{.schema = jv.at("schema"), .name = jv.at("name"), .definition = jv.at("definition"),
                .materialized = jv.at("materialized"), .comment = jv.value("comment", "")};
      for (const auto& c : jv.at("columns")) v.columns.push_back(column_from(c));
      for (const auto& i : jv.at("indexes")) v.indexes.push_back(index_from(i));
      s.views.push_back(std::move(v));
    }
    s.unsupported = j.value("unsupported", std::vector<std::string>{});
    s.external_tables = j.value("external_tables", std::vector<std::string>{});
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw MigrationError(fmt::format("malformed schema snapshot: {}", e.what()));
  }
}

}  // namespace matrx::orm::migrate
