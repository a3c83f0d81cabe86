// Relation metadata checks and the SQL of many-to-many junction operations.
#include "matrx/orm/model/relations.hpp"

#include <fmt/format.h>

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

const ManyToManyInfo& many_to_many(const ModelInfo& m, std::string_view name, const ModelInfo& target) {
  for (const auto& r : m.many_to_many) {
    if (r.name != name) continue;
    const ModelInfo& declared = ModelRegistry::get(r.target_name);
    if (&declared != &target)
      throw QueryError(fmt::format("{}.{} leads to {}, not {}", m.name, name, declared.name, target.name),
                       ErrorContext{.model = m.name});
    return r;
  }
  std::string known;
  for (const auto& r : m.many_to_many) known += (known.empty() ? "" : ", ") + r.name;
  throw QueryError(fmt::format("{} has no many-to-many relation '{}'", m.name, name),
                   ErrorContext{.model = m.name, .hint = known.empty() ? "it declares none" : "relations: " + known});
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

Statement m2m_insert(const ModelInfo& source, const ManyToManyInfo& rel, const Param& source_key, const std::vector<Param>& targets) {
  (void)source;
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

Statement m2m_delete(const ModelInfo& source, const ManyToManyInfo& rel, const Param& source_key,
                     const std::vector<Param>* targets) {
  (void)source;
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

}  // namespace matrx::orm::detail
