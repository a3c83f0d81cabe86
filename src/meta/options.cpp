// Model and field options compiled once: every MATRX_MODEL calls these instead of inlining
// copies of their strings and vectors (docs/performance.md, "Build time").
#include "matrx/orm/meta/options.hpp"

#include "matrx/orm/meta/foreign_key.hpp"

namespace matrx::orm {

namespace options {
void PlainJson::apply(FieldInfo& f) const { f.sql_type = "json"; }
void DbDefault::apply(FieldInfo& f) const {
  f.default_kind = DefaultKind::database;
  f.db_default = sql;
}
void Column::apply(FieldInfo& f) const { f.name = name; }
void Choices::apply(FieldInfo& f) const { f.choices = values; }
void EnumType::apply(FieldInfo& f) const { f.enum_type = name; }

References::References() = default;
References::References(const References&) = default;
References::References(References&&) noexcept = default;
References& References::operator=(const References&) = default;
References& References::operator=(References&&) noexcept = default;
References::~References() = default;
void References::apply(FieldInfo& f) const { f.foreign_key = fk; }
References References::on_delete(std::string action) const {
  auto c = *this;
  c.fk.on_delete = std::move(action);
  return c;
}
References References::on_update(std::string action) const {
  auto c = *this;
  c.fk.on_update = std::move(action);
  return c;
}
References References::to_field(std::string field) const {
  auto c = *this;
  c.fk.to_field = std::move(field);
  return c;
}
References References::to_db(std::string database) const {
  auto c = *this;
  c.fk.to_db = std::move(database);
  return c;
}
References References::to_schema(std::string schema) const {
  auto c = *this;
  c.fk.to_schema = std::move(schema);
  return c;
}
References references_to(const ModelInfo& (*target)()) {
  References r;
  r.fk.target_info = target;
  return r;
}
}  // namespace options

options::References references(std::string target) {
  options::References r;
  r.fk.target_name = std::move(target);
  return r;
}

ModelOptions::ModelOptions() = default;
ModelOptions::ModelOptions(const ModelOptions&) = default;
ModelOptions::ModelOptions(ModelOptions&&) noexcept = default;
ModelOptions& ModelOptions::operator=(const ModelOptions&) = default;
ModelOptions& ModelOptions::operator=(ModelOptions&&) noexcept = default;
ModelOptions::~ModelOptions() = default;

ModelOptions ModelOptions::cache_max_entries(std::size_t n) const {
  auto c = *this;
  c.cache_max = n;
  return c;
}
ModelOptions ModelOptions::inverse_foreign_key(std::string name, std::string from_model, std::string from_field,
                                               std::string referenced_field) const {
  auto c = *this;
  c.inverse_relations.push_back(
      InverseForeignKeyInfo{std::move(name), std::move(from_model), std::move(from_field), std::move(referenced_field)});
  return c;
}
ModelOptions ModelOptions::unfetchable() const {
  auto c = *this;
  c.is_unfetchable = true;
  return c;
}
ModelOptions ModelOptions::many_to_many(std::string name, std::string junction, std::string source_column,
                                        std::string target_column, std::string target_model) const {
  auto c = *this;
  c.many_to_many_relations.push_back(ManyToManyInfo{std::move(name), std::move(junction), std::move(source_column),
                                                    std::move(target_column), std::move(target_model)});
  return c;
}
ModelOptions ModelOptions::many_to_many(std::string name, std::string target_model, std::string junction) const {
  auto c = *this;
  c.many_to_many_relations.push_back(ManyToManyInfo{std::move(name), std::move(junction), {}, {}, std::move(target_model)});
  return c;
}
ModelOptions ModelOptions::index(IndexInfo i) const {
  auto c = *this;
  c.index_list.push_back(std::move(i));
  return c;
}
ModelOptions ModelOptions::unique_together(std::vector<std::string> columns) const {
  auto c = *this;
  c.unique_sets.push_back(std::move(columns));
  return c;
}
ModelOptions ModelOptions::check(std::string name, std::string expression) const {
  auto c = *this;
  c.check_list.push_back(CheckInfo{std::move(name), std::move(expression)});
  return c;
}
ModelOptions ModelOptions::schema(std::string s) const {
  auto c = *this;
  c.schema_name = std::move(s);
  return c;
}
ModelOptions ModelOptions::cache(CachePolicy p) const {
  auto c = *this;
  c.cache_policy = p;
  return c;
}
ModelOptions ModelOptions::cache_timeout(std::chrono::seconds t) const {
  auto c = *this;
  c.cache_timeout_seconds = t;
  return c;
}
ModelOptions ModelOptions::database(std::string d) const {
  auto c = *this;
  c.database_name = std::move(d);
  return c;
}

ModelOptions table(std::string name) {
  ModelOptions o;
  o.table_name = std::move(name);
  return o;
}
ModelOptions defaults() { return ModelOptions{}; }

}  // namespace matrx::orm
