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

// Foreign keys compare by everything but their name and whether they were validated yet
// (VALIDATE CONSTRAINT after a NOT VALID add is the usual next step, not a difference).
bool same_fk(const ForeignKeyDef& a, const ForeignKeyDef& b) {
  ForeignKeyDef renamed = b;
  renamed.name = a.name;
  renamed.not_valid = a.not_valid;
  return a == renamed;
}

// Storage parameters as the catalog prints them ("lists=100") and as a model may write them
// ("lists = 100") compare equal.
std::string without_spaces(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out.push_back(c);
  return out;
}

// Two indexes of one name are the same index when their shape is; an expression or a
// predicate is SQL the server reprints ("lower(email)" → "lower((email)::text)"), so only
// whether there is one is compared, unless both sides print it alike.
bool same_index(const IndexDef& db, const IndexDef& model) {
  if (db == model) return true;
  if (db.unique != model.unique || db.method != model.method || db.include != model.include ||
      db.nulls_not_distinct != model.nulls_not_distinct || db.where.empty() != model.where.empty() ||
      without_spaces(db.with) != without_spaces(model.with) || db.keys.size() != model.keys.size())
    return false;
  for (std::size_t k = 0; k < db.keys.size(); ++k) {
    IndexKey a = db.keys[k], b = model.keys[k];
    if (a.expression.empty() != b.expression.empty()) return false;
    a.expression = b.expression;  // both expressions, or both empty
    if (!(a == b)) return false;
  }
  return true;
}

bool has_unique(const TableDef& t, const UniqueDef& wanted) {
  for (const auto& u : t.uniques)
    if (u.columns == wanted.columns && u.nulls_not_distinct == wanted.nulls_not_distinct &&
        u.deferrable == wanted.deferrable && u.initially_deferred == wanted.initially_deferred)
      return true;
  for (const auto& i : t.indexes)
    if (i.unique && i.where.empty() && i.include.empty() && !wanted.deferrable &&
        i.nulls_not_distinct == wanted.nulls_not_distinct && i.plain_columns() == wanted.columns)
      return true;
  return false;
}

struct Phases {
  std::vector<Operation> schemas, extensions, enums, composites, domains, sequences, drop_fks, drop_constraints, creates,
      columns, drop_columns, owned, adds, add_fks, drop_tables;
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
    if (d->type != c.type || d->collation != c.collation) {
      const auto spelled = [](const ColumnDef& x) { return x.collation.empty() ? x.type : x.type + " COLLATE " + x.collation; };
      ph.columns.push_back({fmt::format("alter column {}.{} type {} -> {}", id, c.name, spelled(*d), spelled(c)),
                            ddl::alter_type(model, c, spelled(c)), ddl::alter_type(model, c, spelled(*d))});
    }
    if (d->nullable != c.nullable)
      ph.columns.push_back({fmt::format("alter column {}.{} {}", id, c.name, c.nullable ? "drop not null" : "set not null"),
                            ddl::set_nullable(model, c, c.nullable), ddl::set_nullable(model, c, d->nullable)});
    // A serial column (DEFAULT nextval(…)) already does what an identity column does.
    const bool serial = d->default_sql.starts_with("nextval(");
    if (d->identity != c.identity && !(c.identity && serial))
      ph.columns.push_back({fmt::format("alter column {}.{} {} identity", id, c.name, c.identity ? "add" : "drop"),
                            ddl::set_identity(model, c, c.identity), ddl::set_identity(model, c, d->identity)});
    else if (d->identity && c.identity && d->identity_always != c.identity_always)
      ph.columns.push_back({fmt::format("alter column {}.{} generated {}", id, c.name, c.identity_always ? "always" : "by default"),
                            ddl::set_identity_kind(model, c, c.identity_always),
                            ddl::set_identity_kind(model, c, d->identity_always)});
    if (d->generated != c.generated) {
      // PostgreSQL 15 cannot change a generated column's expression in place.
      warnings.push_back(fmt::format("{}.{}: the generated expression differs (database: {}; model: {}); drop and add the "
                                     "column in a migration written by hand", id, c.name,
                                     d->generated.empty() ? "none" : d->generated, c.generated.empty() ? "none" : c.generated));
      continue;
    }
    if (d->comment != c.comment)
      ph.adds.push_back({fmt::format("comment on column {}.{}", id, c.name), ddl::comment_on_column(model, c, c.comment),
                         ddl::comment_on_column(model, c, d->comment)});
    if (!c.identity && !d->identity && c.generated.empty() &&
        comparable_default(d->default_sql) != comparable_default(c.default_sql))
      ph.columns.push_back({fmt::format("alter column {}.{} default", id, c.name), ddl::set_default(model, c, c.default_sql),
                            ddl::set_default(model, c, d->default_sql)});
  }
  for (const auto& d : db.columns)
    if (!model.column(d.name))
      ph.drop_columns.push_back({fmt::format("drop column {}.{} (its data is lost)", id, d.name), ddl::drop_column(db, d),
                                 ddl::add_column(db, d) + " -- the column returns empty", true});
  if (db.primary_key == model.primary_key && !db.primary_key.empty() && !model.primary_key_name.empty() &&
      db.primary_key_name != model.primary_key_name)
    ph.columns.push_back({fmt::format("rename primary key of {} to {}", id, model.primary_key_name),
                          ddl::rename_constraint(model, db.primary_key_name, model.primary_key_name),
                          ddl::rename_constraint(model, model.primary_key_name, db.primary_key_name)});
  if (db.comment != model.comment)
    ph.adds.push_back({"comment on table " + id, ddl::comment_on_table(model, model.comment),
                       ddl::comment_on_table(model, db.comment)});
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
    if (!has_unique(model, u))
      ph.drop_constraints.push_back({fmt::format("drop unique {} on {}", u.name, id), ddl::drop_constraint(db, u.name),
                                     ddl::add_unique(db, u)});
  for (const auto& x : db.exclusions)
    if (std::find(model.exclusions.begin(), model.exclusions.end(), x) == model.exclusions.end())
      ph.drop_constraints.push_back({fmt::format("drop exclusion {} on {}", x.name, id), ddl::drop_constraint(db, x.name),
                                     ddl::add_exclusion(db, x)});
  for (const auto& x : model.exclusions)
    if (std::find(db.exclusions.begin(), db.exclusions.end(), x) == db.exclusions.end())
      ph.adds.push_back({fmt::format("add exclusion {} on {}", x.name, id), ddl::add_exclusion(model, x),
                         ddl::drop_constraint(model, x.name)});
  for (const auto& u : model.uniques)
    if (!has_unique(db, u))
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
    if (i.unique && i.where.empty() && std::any_of(model.uniques.begin(), model.uniques.end(), [&](const UniqueDef& u) {
          return u.columns == i.plain_columns();
        }))
      continue;
    auto m = std::find_if(model.indexes.begin(), model.indexes.end(), [&](const IndexDef& x) { return x.name == i.name; });
    if (m == model.indexes.end() || !same_index(i, *m))
      ph.drop_constraints.push_back({fmt::format("drop index {} on {}", i.name, id), ddl::drop_index(db, i),
                                     ddl::create_index(db, i)});
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
void create_tables(std::vector<const TableDef*> fresh, const SchemaDef& models, Phases& ph) {
  std::sort(fresh.begin(), fresh.end(), [](const TableDef* a, const TableDef* b) { return a->id() < b->id(); });
  std::set<std::string> pending;
  for (const auto* t : fresh) pending.insert(t->id());
  std::set<std::string> created;
  std::vector<const TableDef*> order;
  // A partition is created after its partitioned table (a tree: never part of a cycle).
  const auto parent_ready = [&](const TableDef* t) {
    if (!t->is_partition()) return true;
    const std::string parent = t->parent_schema + "." + t->parent_table;
    return !pending.count(parent) || created.count(parent);
  };
  while (order.size() < fresh.size()) {
    const TableDef* next = nullptr;
    for (const auto* t : fresh) {
      if (created.count(t->id())) continue;
      if (!parent_ready(t)) continue;
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
        if (!created.count(t->id()) && parent_ready(t)) {
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
    for (const auto& c : t->checks)
      if (c.not_valid())
        ph.adds.push_back({fmt::format("add check {} on {} (not valid)", c.name, t->id()), ddl::add_check(*t, c),
                           ddl::drop_constraint(*t, c.name)});
    for (const auto& f : t->foreign_keys) {
      const std::string target = f.ref_schema + "." + f.ref_table;
      if (f.not_valid)
        ph.add_fks.push_back({fmt::format("add foreign key {} on {} (not valid)", f.name, t->id()),
                              ddl::add_foreign_key(*t, f), ddl::drop_constraint(*t, f.name)});
      else if (target == t->id() || !pending.count(target) || done.count(target)) now.foreign_keys.push_back(f);
      else
        ph.add_fks.push_back({fmt::format("add foreign key {} on {} (a cycle)", f.name, t->id()),
                              ddl::add_foreign_key(*t, f), ddl::drop_constraint(*t, f.name)});
    }
    done.insert(t->id());
    std::string up = ddl::create_table(now, true);
    if (t->is_partition())
      if (const TableDef* parent = models.table(t->parent_schema, t->parent_table))
        up += ddl::partition_column_changes(*parent, *t);
    if (!t->comment.empty()) up += "\n" + ddl::comment_on_table(*t, t->comment);
    for (const auto& c : t->columns)
      if (!c.comment.empty()) up += "\n" + ddl::comment_on_column(*t, c, c.comment);
    ph.creates.push_back({(t->is_partition() ? "create partition " : "create table ") + t->id(), up, ddl::drop_table(*t)});
    for (const auto& i : t->indexes)
      ph.adds.push_back({fmt::format("create index {} on {}", i.name, t->id()), ddl::create_index(*t, i),
                         ddl::drop_index(*t, i)});
  }
}

// Extensions and composite types the models use and the database lacks are created; a
// composite type that differs is reported (its attributes may be in use).
void compare_types(const SchemaDef& database, const SchemaDef& models, Phases& ph, std::vector<std::string>& warnings) {
  for (const auto& e : models.extensions)
    if (std::none_of(database.extensions.begin(), database.extensions.end(),
                     [&](const ExtensionDef& d) { return d.name == e.name; }))
      ph.extensions.push_back({"create extension " + e.name, ddl::create_extension(e), ddl::drop_extension(e)});
  for (const auto& c : models.composite_types) {
    const auto it = std::find_if(database.composite_types.begin(), database.composite_types.end(),
                                 [&](const CompositeTypeDef& d) { return d.schema == c.schema && d.name == c.name; });
    if (it == database.composite_types.end())
      ph.composites.push_back({"create type " + c.schema + "." + c.name, ddl::create_composite_type(c),
                               ddl::drop_type(c.qualified())});
    else if (!(*it == c))
      warnings.push_back(fmt::format("composite type {}.{} differs from the models' ({}); change it in a migration written "
                                     "by hand", c.schema, c.name, ddl::create_composite_type(c)));
  }
}

// Domains the models have and the database lacks are created; one that differs is reported
// (ALTER DOMAIN cannot change a base type, and a changed check needs the data checked).
void compare_domains(const SchemaDef& database, const SchemaDef& models, Phases& ph, std::vector<std::string>& warnings) {
  for (const auto& d : models.domains) {
    const auto it = std::find_if(database.domains.begin(), database.domains.end(),
                                 [&](const DomainDef& x) { return x.schema == d.schema && x.name == d.name; });
    if (it == database.domains.end())
      ph.domains.push_back({"create domain " + d.schema + "." + d.name, ddl::create_domain(d), ddl::drop_domain(d)});
    else if (!(*it == d))
      warnings.push_back(fmt::format("domain {}.{} differs from the models' ({}); change it in a migration written by hand",
                                     d.schema, d.name, ddl::create_domain(d)));
  }
}

// Sequences are created before the tables whose defaults call them, and owned by their serial
// column once it exists (the down gives the sequence up before the table is dropped).
void compare_sequences(const SchemaDef& database, const SchemaDef& models, Phases& ph, std::vector<std::string>& warnings) {
  for (const auto& q : models.sequences) {
    const auto it = std::find_if(database.sequences.begin(), database.sequences.end(),
                                 [&](const SequenceDef& x) { return x.schema == q.schema && x.name == q.name; });
    SequenceDef unowned = q;
    unowned.owned_by_table.clear();
    unowned.owned_by_column.clear();
    if (it == database.sequences.end()) {
      ph.sequences.push_back({"create sequence " + q.schema + "." + q.name, ddl::create_sequence(q), ddl::drop_sequence(q)});
      if (!q.owned_by_table.empty())
        ph.owned.push_back({fmt::format("sequence {}.{} owned by {}.{}", q.schema, q.name, q.owned_by_table, q.owned_by_column),
                            ddl::sequence_owned_by(q), ddl::sequence_owned_by(unowned)});
      continue;
    }
    SequenceDef db_unowned = *it;
    db_unowned.owned_by_table.clear();
    db_unowned.owned_by_column.clear();
    if (!(db_unowned == unowned))
      ph.columns.push_back({"alter sequence " + q.schema + "." + q.name, ddl::alter_sequence(q), ddl::alter_sequence(*it)});
    if (it->owned_by_table != q.owned_by_table || it->owned_by_column != q.owned_by_column)
      ph.owned.push_back({fmt::format("sequence {}.{} owned by {}", q.schema, q.name,
                                      q.owned_by_table.empty() ? "none" : q.owned_by_table + "." + q.owned_by_column),
                          ddl::sequence_owned_by(q), ddl::sequence_owned_by(*it)});
  }
  for (const auto& d : database.sequences)
    if (d.owned_by_table.empty() && std::none_of(models.sequences.begin(), models.sequences.end(), [&](const SequenceDef& q) {
          return q.schema == d.schema && q.name == d.name;
        }))
      warnings.push_back(fmt::format("sequence {}.{} has no model; it is left alone", d.schema, d.name));
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
  compare_types(database, models, ph, plan.warnings);
  compare_domains(database, models, ph, plan.warnings);
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
  create_tables(fresh, models, ph);
  compare_sequences(database, models, ph, plan.warnings);
  const auto external = [&](const std::string& schema, const std::string& table) {
    return std::find(models.external_tables.begin(), models.external_tables.end(), schema + "." + table) !=
           models.external_tables.end();
  };
  for (const auto& t : models.tables)
    for (const auto& f : t.foreign_keys)
      if (!models.table(f.ref_schema, f.ref_table) && !external(f.ref_schema, f.ref_table))
        plan.warnings.push_back(fmt::format("{}.{} references {}.{}, which is outside the models in scope{}", t.id(),
                                            f.name, f.ref_schema, f.ref_table,
                                            database.table(f.ref_schema, f.ref_table) ? "" : " and not in the database"));
  for (const auto& d : database.tables) {
    if (models.table(d.schema, d.name) || external(d.schema, d.name)) continue;
    if (!options.drop_unmodelled_tables) {
      plan.warnings.push_back(fmt::format("table {} has no model; it is left alone (drop it explicitly if intended)", d.id()));
      continue;
    }
    std::string down = ddl::create_table(d, true);
    for (const auto& i : d.indexes)
      down += "\n" + ddl::create_index(d, i);
    ph.drop_tables.push_back({"drop table " + d.id() + " (its data is lost)", ddl::drop_table(d), down, true});
  }
  for (auto* phase : {&ph.schemas, &ph.extensions, &ph.enums, &ph.composites, &ph.domains, &ph.sequences, &ph.drop_fks, &ph.drop_constraints,
                      &ph.creates, &ph.columns, &ph.drop_columns, &ph.owned, &ph.adds, &ph.add_fks, &ph.drop_tables})
    for (auto& op : *phase) plan.operations.push_back(std::move(op));
  return plan;
}

}  // namespace matrx::orm::migrate
