// Relation metadata checks and the SQL of many-to-many junction operations.
#include "matrx/orm/model/relations.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm/meta/registry.hpp"

namespace asio = boost::asio;

namespace matrx::orm::detail {

const FieldInfo& referenced_field(const FieldInfo& fk_field, const ModelInfo& source) {
  const ModelInfo& target = fk_field.foreign_key->target();
  if (!fk_field.foreign_key->to_field.empty()) return target.field(fk_field.foreign_key->to_field);
  if (target.primary_keys.size() != 1)
    throw ConfigurationError(fmt::format("{}.{} references {}, whose key has {} fields: name the referenced field with to_field()",
                                         source.name, fk_field.name, target.name, target.primary_keys.size()),
                             ErrorContext{.model = source.name, .field = fk_field.name});
  return target.fields[target.primary_keys[0]];
}

ManyToManyInfo resolved(const ModelInfo& m, const ManyToManyInfo& rel) {
  ManyToManyInfo out = rel;
  if (!out.source_column.empty()) return out;  // given in full
  const ModelInfo& target = ModelRegistry::get(rel.target_name);
  if (out.junction.empty()) out.junction = std::min(m.table, target.table) + "_" + std::max(m.table, target.table);
  const bool self = &target == &m;
  out.source_column = (self ? "from_" : "") + snake_case(m.name) + "_id";
  out.target_column = (self ? "to_" : "") + snake_case(target.name) + "_id";
  return out;
}

ManyToManyInfo many_to_many(const ModelInfo& m, std::string_view name, const ModelInfo* target) {
  for (const auto& r : m.many_to_many) {
    if (r.name != name) continue;
    const ModelInfo& declared = ModelRegistry::get(r.target_name);
    if (target && &declared != target)
      throw QueryError(fmt::format("{}.{} leads to {}, not {}", m.name, name, declared.name, target->name),
                       ErrorContext{.model = m.name});
    return resolved(m, r);
  }
  std::string known;
  for (const auto& r : m.many_to_many) known += (known.empty() ? "" : ", ") + r.name;
  throw QueryError(fmt::format("{} has no many-to-many relation '{}'", m.name, name),
                   ErrorContext{.model = m.name, .hint = known.empty() ? "it declares none" : "relations: " + known});
}

std::string inverse_field(const ModelInfo& m, std::string_view relation, const ModelInfo& from) {
  for (const auto& r : m.inverse_foreign_keys) {
    if (r.name != relation) continue;
    const ModelInfo& declared = ModelRegistry::get(r.from_model);
    if (&declared != &from)
      throw QueryError(fmt::format("{}.{} comes from {}, not {}", m.name, relation, declared.name, from.name),
                       ErrorContext{.model = m.name});
    return r.from_field;
  }
  return std::string(relation);
}

std::vector<IncomingForeignKey> foreign_keys_to(const ModelInfo& m) {
  std::vector<IncomingForeignKey> out;
  for (const ModelInfo* from : ModelRegistry::all())
    for (std::size_t i = 0; i < from->fields.size(); ++i) {
      const FieldInfo& f = from->fields[i];
      if (!f.foreign_key) continue;
      try {
        if (&f.foreign_key->target() == &m) out.push_back(IncomingForeignKey{from, i});
      } catch (const ConfigurationError&) {
        // a reference to an unregistered name cannot point at m
      }
    }
  return out;
}

bool skip_unfetchable(const ModelInfo& source, std::string_view relation, const ModelInfo& target) {
  if (!target.unfetchable) return false;
  log(LogLevel::warning, fmt::format("{}.{}: {} is marked unfetchable; nothing was fetched", source.name, relation, target.name));
  return true;
}

namespace {
std::string junction_table(const ManyToManyInfo& rel) {
  return rel.junction_schema.empty() ? quote_identifier(rel.junction)
                                     : quote_identifier(rel.junction_schema) + "." + quote_identifier(rel.junction);
}
void add(pg::Params& params, const Param& p) {
  if (p.null) params.add_null(p.oid);
  else params.add_encoded(p.bytes, p.oid, p.binary);
}
}  // namespace

Statement m2m_select(const ModelInfo& target, const ManyToManyInfo& rel, Param source, bool many) {
  const std::string t = target.qualified_table();
  const std::string pk = t + "." + quote_identifier(target.fields.at(target.primary_keys.at(0)).name);
  Statement s;
  s.sql = "SELECT " + select_list(target, {});
  if (many) s.sql += ", matrx_j." + quote_identifier(rel.source_column);
  s.sql += " FROM " + t + " JOIN " + junction_table(rel) + " AS matrx_j ON matrx_j." + quote_identifier(rel.target_column) +
           " = " + pk + " WHERE matrx_j." + quote_identifier(rel.source_column) + (many ? " = ANY($1)" : " = $1") +
           " ORDER BY " + pk;
  add(s.params, source);
  return s;
}

std::vector<Param> m2m_target_params(const ManyToManyInfo& rel, const std::vector<Value>& ids) {
  const ModelInfo& target = ModelRegistry::get(rel.target_name);
  const FieldInfo& pk = target.fields.at(target.primary_keys.at(0));
  std::vector<Param> out;
  for (const auto& id : ids) out.push_back(encode_value(id, pk, target));
  return out;
}

Statement m2m_insert(const ManyToManyInfo& rel, const Param& source_key, const std::vector<Param>& targets) {
  Statement s;
  s.sql = "INSERT INTO " + junction_table(rel) + " (" + quote_identifier(rel.source_column) + ", " +
          quote_identifier(rel.target_column) + ") VALUES ";
  add(s.params, source_key);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    add(s.params, targets[i]);
    s.sql += fmt::format("{}($1, ${})", i ? ", " : "", s.params.size());
  }
  s.sql += " ON CONFLICT DO NOTHING";
  return s;
}

Statement m2m_delete(const ManyToManyInfo& rel, const Param& source_key,
                     const std::vector<Param>* targets) {
  Statement s;
  s.sql = "DELETE FROM " + junction_table(rel) + " WHERE " + quote_identifier(rel.source_column) + " = $1";
  add(s.params, source_key);
  if (targets) {
    s.sql += " AND " + quote_identifier(rel.target_column) + " IN (";
    for (std::size_t i = 0; i < targets->size(); ++i) {
      add(s.params, (*targets)[i]);
      s.sql += fmt::format("{}${}", i ? ", " : "", s.params.size());
    }
    s.sql += ")";
  }
  return s;
}

namespace {
// A text-format result as JSON objects keyed by column.
std::vector<nlohmann::json> json_rows(const pg::Result& r) {
  std::vector<nlohmann::json> out;
  for (int row = 0; row < r.rows(); ++row) {
    nlohmann::json obj = nlohmann::json::object();
    for (int c = 0; c < r.columns(); ++c) obj[std::string(r.column_name(c))] = json_of_column(r, row, c);
    out.push_back(std::move(obj));
  }
  return out;
}

// Rows of `model` matching `where`, as JSON objects keyed by column.
asio::awaitable<std::vector<nlohmann::json>> rows_as_json(const ModelInfo& model, query::NodePtr where,
                                                          std::string database, std::string_view operation) {
  const Statement st = compile_select(SelectSpec{.model = &model, .where = std::move(where)});
  pg::Result r = co_await run_statement_text(model, st, operation, database);
  co_return json_rows(r);
}
}  // namespace

asio::awaitable<RelatedResults> fetch_related(const ModelInfo& m, std::vector<Param> values, int groups) {
  RelatedResults out;
  if (groups & 1) {
    for (std::size_t i = 0; i < m.fields.size(); ++i) {
      const FieldInfo& f = m.fields[i];
      if (!f.foreign_key) continue;
      try {
        const ModelInfo& target = f.foreign_key->target();
        if (skip_unfetchable(m, f.name, target) || values[i].null) {
          out.foreign_keys[f.name] = nullptr;
          continue;
        }
        const FieldInfo& to = referenced_field(f, m);
        Param key = values[i];
        key.oid = to.oid;
        auto where = query::make_leaf(query::Op::eq, *target.index_of(to.name), {std::move(key)});
        auto rows = co_await rows_as_json(target, std::move(where), f.foreign_key->to_db, "fetch_fks");
        if (rows.empty())
          throw DoesNotExist(fmt::format("{}.{} refers to a {} that does not exist", m.name, f.name, target.name),
                             ErrorContext{.model = target.name});
        out.foreign_keys[f.name] = std::move(rows.front());
      } catch (const std::exception& e) {
        out.foreign_keys[f.name] = nullptr;
        out.errors[f.name] = e.what();
        log(LogLevel::warning, fmt::format("[{}] failed to fetch foreign key '{}': {}", m.name, f.name, e.what()));
      }
    }
  }
  if (groups & 2) {
    const auto incoming = foreign_keys_to(m);  // named: the loop body suspends
    for (const auto& [from, i] : incoming) {
      const FieldInfo& f = from->fields[i];
      std::string name = from->table + "." + f.name;
      for (const auto& declared : m.inverse_foreign_keys)
        if (declared.from_field == f.name && ModelRegistry::find(declared.from_model) == from) name = declared.name;
      try {
        if (skip_unfetchable(m, name, *from)) {
          out.inverse_foreign_keys[name] = {};
          continue;
        }
        const FieldInfo& referenced = referenced_field(f, *from);
        Param key = values.at(*m.index_of(referenced.name));
        if (key.null) {
          out.inverse_foreign_keys[name] = {};
          continue;
        }
        key.oid = f.oid;
        auto where = query::make_leaf(query::Op::eq, i, {std::move(key)});
        out.inverse_foreign_keys[name] = co_await rows_as_json(*from, std::move(where), std::string(), "fetch_ifks");
      } catch (const std::exception& e) {
        out.inverse_foreign_keys[name] = {};
        out.errors[name] = e.what();
        log(LogLevel::warning, fmt::format("[{}] failed to fetch inverse relation '{}': {}", m.name, name, e.what()));
      }
    }
  }
  if (groups & 4) {
    for (const auto& declared : m.many_to_many) {
      const ManyToManyInfo& rel = declared;
      try {
        const ModelInfo& target = ModelRegistry::get(rel.target_name);
        if (skip_unfetchable(m, rel.name, target)) {
          out.many_to_many[rel.name] = {};
          continue;
        }
        const Statement st = m2m_select(target, resolved(m, rel), values.at(m.primary_keys.at(0)), false);
        pg::Result r = co_await run_statement_text(target, st, "fetch_m2ms");
        out.many_to_many[rel.name] = json_rows(r);
      } catch (const std::exception& e) {
        out.many_to_many[rel.name] = {};
        out.errors[rel.name] = e.what();
        log(LogLevel::warning, fmt::format("[{}] failed to fetch many-to-many '{}': {}", m.name, rel.name, e.what()));
      }
    }
  }
  co_return out;
}

}  // namespace matrx::orm::detail

namespace matrx::orm {
nlohmann::json RelatedResults::to_json() const {
  nlohmann::json j;
  j["foreign_keys"] = nlohmann::json::object();
  for (const auto& [k, v] : foreign_keys) j["foreign_keys"][k] = v;
  j["inverse_foreign_keys"] = nlohmann::json::object();
  for (const auto& [k, v] : inverse_foreign_keys) j["inverse_foreign_keys"][k] = v;
  j["many_to_many"] = nlohmann::json::object();
  for (const auto& [k, v] : many_to_many) j["many_to_many"][k] = v;
  j["errors"] = errors;
  return j;
}
}  // namespace matrx::orm
