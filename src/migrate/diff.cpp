// The diff from the live database to the models. Operations are grouped in phases so that
// every up can run in order (constraints dropped before the columns they use, tables created
// before the foreign keys that point at them, cycles closed with ALTER TABLE … ADD CONSTRAINT)
// and the downs, run in reverse, undo them in the opposite order.
#include "matrx/orm/migrate/diff.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "matrx/orm/migrate/ddl.hpp"

namespace matrx::orm::migrate {

std::string MigrationPlan::up_sql() const {
  std::string out;
  for (const auto& op : operations) out += "-- " + op.description + "\n" + op.up + "\n";
  return out;
}

std::string MigrationPlan::down_sql() const {
  std::string out;
  for (auto it = operations.rbegin(); it != operations.rend(); ++it)
    out += "-- undo: " + it->description + "\n" + it->down + "\n";
  return out;
}

namespace {

// Defaults as the catalog prints them ("'x'::text", "(0)") and as a model writes them ("'x'",
// "0") compare equal: casts, outer parentheses, case and spaces are ignored.
std::string comparable_default(std::string_view sql) {
  static const std::regex casts(R"(::\s*"?[a-zA-Z_][a-zA-Z0-9_ ]*"?(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])*)");
  std::string s = std::regex_replace(std::string(sql), casts, "");
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  while (out.size() >= 2 && out.front() == '(' && out.back() == ')') out = out.substr(1, out.size() - 2);
  if (out == "current_timestamp" || out == "transaction_timestamp()") out = "now()";
  return out;
}

bool same_fk(const ForeignKeyDef& a, const ForeignKeyDef& b) {
  return a.columns == b.columns && a.ref_schema == b.ref_schema && a.ref_table == b.ref_table &&
         a.ref_columns == b.ref_columns && a.on_delete == b.on_delete && a.on_update == b.on_update;
}

bool same_index(const IndexDef& db, const IndexDef& model) {
  if (db.columns.empty()) return true;  // an expression index: compared by name only
  return db.columns == model.columns && db.unique == model.unique && db.method == model.method &&
         db.opclass == model.opclass && db.where.empty() == model.where.empty();
}

bool has_unique(const TableDef& t, const std::vector<std::string>& columns) {
  for (const auto& u : t.uniques)
    if (u.columns == columns) return true;
  for (const auto& i : t.indexes)
    if (i.unique && i.where.empty() && i.columns == columns) return true;
  return false;
}

struct Phases {
  std::vector<Operation> schemas, enums, drop_fks, drop_constraints, creates, columns, drop_columns, adds, add_fks,
      drop_tables;
};

void compare_columns(const TableDef& db, const TableDef& model, Phases& ph, std::vector<std::string>& warnings) {
  const std::string id = model.id();
  for (const auto& c : model.columns) {
    const ColumnDef* d = db.column(c.name);
    if (!d) {
      if (!c.nullable && c.default_sql.empty() && !c.identity)
        warnings.push_back(fmt::format("{}.{} is added NOT NULL without a default: the migration fails if the table has rows",
                                       id, c.name));
      ph.columns.push_back({fmt::format("add column {}.{}", id, c.name), ddl::add_column(model, c), ddl::drop_column(model, c)});
      continue;
    }
    if (d->type != c.type)
      ph.columns.push_back({fmt::format("alter column {}.{} type {} -> {}", id, c.name, d->type, c.type),
                            ddl::alter_type(model, c, c.type), ddl::alter_type(model, c, d->type)});
    if (d->nullable != c.nullable)
      ph.columns.push_back({fmt::format("alter column {}.{} {}", id, c.name, c.nullable ? "drop not null" : "set not null"),
                            ddl::set_nullable(model, c, c.nullable), ddl::set_nullable(model, c, d->nullable)});
    // A serial column (DEFAULT nextval(…)) already does what an identity column does.
    const bool serial = d->default_sql.starts_with("nextval(");
    if (d->identity != c.identity && !(c.identity && serial))
      ph.columns.push_back({fmt::format("alter column {}.{} {} identity", id, c.name, c.identity ? "add" : "drop"),
                            ddl::set_identity(model, c, c.identity), ddl::set_identity(model, c, d->identity)});
    if (!c.identity && !d->identity && comparable_default(d->default_sql) != comparable_default(c.default_sql))
      ph.columns.push_back({fmt::format("alter column {}.{} default", id, c.name), ddl::set_default(model, c, c.default_sql),
                            ddl::set_default(model, c, d->default_sql)});
  }
  for (const auto& d : db.columns)
    if (!model.column(d.name))
      ph.drop_columns.push_back({fmt::format("drop column {}.{} (its data is lost)", id, d.name), ddl::drop_column(db, d),
                                 ddl::add_column(db, d) + " -- the column returns empty", true});
  if (db.primary_key != model.primary_key) {
    Operation op{fmt::format("primary key of {}", id), "", ""};
    if (!db.primary_key.empty()) op.up += ddl::drop_primary_key(db) + "\n";
    if (!model.primary_key.empty()) op.up += ddl::add_primary_key(model, model.primary_key);
    TableDef renamed = model;
    renamed.primary_key_name.clear();
    if (!model.primary_key.empty()) op.down += ddl::drop_primary_key(renamed) + "\n";
    if (!db.primary_key.empty()) op.down += ddl::add_primary_key(db, db.primary_key);
    ph.columns.push_back(std::move(op));
  }
}

void compare_constraints(const TableDef& db, const TableDef& model, Phases& ph) {
  const std::string id = model.id();
  for (const auto& f : db.foreign_keys) {
    const bool kept = std::any_of(model.foreign_keys.begin(), model.foreign_keys.end(),
                                  [&](const ForeignKeyDef& m) { return same_fk(f, m); });
    if (!kept)
      ph.drop_fks.push_back({fmt::format("drop foreign key {} on {}", f.name, id), ddl::drop_constraint(db, f.name),
                             ddl::add_foreign_key(db, f)});
  }
  for (const auto& f : model.foreign_keys) {
    const bool present = std::any_of(db.foreign_keys.begin(), db.foreign_keys.end(),
                                     [&](const ForeignKeyDef& d) { return same_fk(d, f); });
    if (!present)
      ph.add_fks.push_back({fmt::format("add foreign key {} on {}", f.name, id), ddl::add_foreign_key(model, f),
                            ddl::drop_constraint(model, f.name)});
  }
  for (const auto& u : db.uniques)
    if (!std::any_of(model.uniques.begin(), model.uniques.end(), [&](const UniqueDef& m) { return m.columns == u.columns; }))
      ph.drop_constraints.push_back({fmt::format("drop unique {} on {}", u.name, id), ddl::drop_constraint(db, u.name),
                                     ddl::add_unique(db, u)});
  for (const auto& u : model.uniques)
    if (!has_unique(db, u.columns))
      ph.adds.push_back({fmt::format("add unique {} on {}", u.name, id), ddl::add_unique(model, u),
                         ddl::drop_constraint(model, u.name)});
  for (const auto& c : db.checks)
    if (!std::any_of(model.checks.begin(), model.checks.end(), [&](const CheckDef& m) { return m.name == c.name; }))
      ph.drop_constraints.push_back({fmt::format("drop check {} on {}", c.name, id), ddl::drop_constraint(db, c.name),
                                     ddl::add_check(db, c)});
  for (const auto& c : model.checks)
    if (!std::any_of(db.checks.begin(), db.checks.end(), [&](const CheckDef& d) { return d.name == c.name; }))
      ph.adds.push_back({fmt::format("add check {} on {}", c.name, id), ddl::add_check(model, c),
                         ddl::drop_constraint(model, c.name)});
  for (const auto& i : db.indexes) {
    // A unique index the models ask for as a unique constraint stays.
    if (i.unique && i.where.empty() && std::any_of(model.uniques.begin(), model.uniques.end(),
                                                   [&](const UniqueDef& u) { return u.columns == i.columns; }))
      continue;
    auto m = std::find_if(model.indexes.begin(), model.indexes.end(), [&](const IndexDef& x) { return x.name == i.name; });
    if (m == model.indexes.end() || !same_index(i, *m))
      ph.drop_constraints.push_back({fmt::format("drop index {} on {}", i.name, id), ddl::drop_index(db, i),
                                     i.columns.empty() ? "-- expression index " + i.name + ": recreate it by hand"
                                                       : ddl::create_index(db, i)});
  }
  for (const auto& i : model.indexes) {
    auto d = std::find_if(db.indexes.begin(), db.indexes.end(), [&](const IndexDef& x) { return x.name == i.name; });
    if (d == db.indexes.end() || !same_index(*d, i))
      ph.adds.push_back({fmt::format("create index {} on {}", i.name, id), ddl::create_index(model, i),
                         ddl::drop_index(model, i)});
  }
}

// New tables in foreign-key order (targets first, ties by name); a foreign key to a table
// created later (a cycle) is added after all creates.
void create_tables(std::vector<const TableDef*> fresh, Phases& ph) {
  std::sort(fresh.begin(), fresh.end(), [](const TableDef* a, const TableDef* b) { return a->id() < b->id(); });
  std::set<std::string> pending;
  for (const auto* t : fresh) pending.insert(t->id());
  std::set<std::string> created;
  std::vector<const TableDef*> order;
  while (order.size() < fresh.size()) {
    const TableDef* next = nullptr;
    for (const auto* t : fresh) {
      if (created.count(t->id())) continue;
      const bool ready = std::all_of(t->foreign_keys.begin(), t->foreign_keys.end(), [&](const ForeignKeyDef& f) {
        const std::string target = f.ref_schema + "." + f.ref_table;
        return target == t->id() || !pending.count(target) || created.count(target);
      });
      if (ready) {
        next = t;
        break;
      }
    }
    if (!next)  // a cycle: take the first remaining table; its forward references wait
      for (const auto* t : fresh)
        if (!created.count(t->id())) {
          next = t;
          break;
        }
    created.insert(next->id());
    order.push_back(next);
  }
  std::set<std::string> done;
  for (const auto* t : order) {
    TableDef now = *t;
    now.foreign_keys.clear();
    for (const auto& f : t->foreign_keys) {
      const std::string target = f.ref_schema + "." + f.ref_table;
      if (target == t->id() || !pending.count(target) || done.count(target)) now.foreign_keys.push_back(f);
      else
        ph.add_fks.push_back({fmt::format("add foreign key {} on {} (a cycle)", f.name, t->id()),
                              ddl::add_foreign_key(*t, f), ddl::drop_constraint(*t, f.name)});
    }
    done.insert(t->id());
    ph.creates.push_back({"create table " + t->id(), ddl::create_table(now, true), ddl::drop_table(*t)});
    for (const auto& i : t->indexes)
      ph.adds.push_back({fmt::format("create index {} on {}", i.name, t->id()), ddl::create_index(*t, i),
                         ddl::drop_index(*t, i)});
  }
}

}  // namespace

MigrationPlan diff_schemas(const SchemaDef& database, const SchemaDef& models, const DiffOptions& options) {
  MigrationPlan plan;
  Phases ph;
  for (const auto& s : models.schemas)
    if (std::find(database.schemas.begin(), database.schemas.end(), s) == database.schemas.end())
      ph.schemas.push_back({"create schema " + s, ddl::create_schema(s), ddl::drop_schema(s)});
  for (const auto& e : models.enums) {
    const EnumDef* d = database.enumeration(e.schema, e.name);
    if (!d) {
      ph.enums.push_back({"create enum " + e.schema + "." + e.name, ddl::create_enum(e), ddl::drop_enum(e)});
      continue;
    }
    std::string previous;
    for (const auto& label : e.labels) {
      if (std::find(d->labels.begin(), d->labels.end(), label) == d->labels.end())
        ph.enums.push_back({fmt::format("add value '{}' to enum {}.{}", label, e.schema, e.name),
                            ddl::add_enum_value(e, label, previous),
                            fmt::format("-- PostgreSQL cannot drop a value from an enum: '{}' stays in {}.{}", label,
                                        e.schema, e.name)});
      previous = label;
    }
    for (const auto& label : d->labels)
      if (std::find(e.labels.begin(), e.labels.end(), label) == e.labels.end())
        plan.warnings.push_back(fmt::format("enum {}.{} has the value '{}', which the models do not list; it is kept",
                                            e.schema, e.name, label));
  }
  std::vector<const TableDef*> fresh;
  for (const auto& t : models.tables) {
    const TableDef* d = database.table(t.schema, t.name);
    if (!d) {
      fresh.push_back(&t);
      continue;
    }
    compare_columns(*d, t, ph, plan.warnings);
    compare_constraints(*d, t, ph);
  }
  create_tables(fresh, ph);
  for (const auto& t : models.tables)
    for (const auto& f : t.foreign_keys)
      if (!models.table(f.ref_schema, f.ref_table))
        plan.warnings.push_back(fmt::format("{}.{} references {}.{}, which is outside the models in scope{}", t.id(),
                                            f.name, f.ref_schema, f.ref_table,
                                            database.table(f.ref_schema, f.ref_table) ? "" : " and not in the database"));
  for (const auto& d : database.tables) {
    if (models.table(d.schema, d.name)) continue;
    if (!options.drop_unmodelled_tables) {
      plan.warnings.push_back(fmt::format("table {} has no model; it is left alone (drop it explicitly if intended)", d.id()));
      continue;
    }
    std::string down = ddl::create_table(d, true);
    for (const auto& i : d.indexes)
      if (!i.columns.empty()) down += "\n" + ddl::create_index(d, i);
    ph.drop_tables.push_back({"drop table " + d.id() + " (its data is lost)", ddl::drop_table(d), down, true});
  }
  for (auto* phase : {&ph.schemas, &ph.enums, &ph.drop_fks, &ph.drop_constraints, &ph.creates, &ph.columns,
                      &ph.drop_columns, &ph.adds, &ph.add_fks, &ph.drop_tables})
    for (auto& op : *phase) plan.operations.push_back(std::move(op));
  return plan;
}

}  // namespace matrx::orm::migrate
