// Model and field options compiled once: every MATRX_MODEL calls these instead of inlining
// copies of their strings and vectors (docs/performance.md, "Build time").
#include "matrx/orm/meta/options.hpp"

#include "matrx/orm/meta/foreign_key.hpp"

namespace matrx::orm {

namespace {
// Every builder returns a changed copy: these say which member changes, once.
template <class T, class M, class V>
T with(T copy, M T::*member, V value) {
  copy.*member = std::move(value);
  return copy;
}
template <class T, class E, class V>
T appended(T copy, std::vector<E> T::*list, V value) {
  (copy.*list).push_back(std::move(value));
  return copy;
}
options::References with_fk(options::References copy, std::string ForeignKeyInfo::*member, std::string value) {
  copy.fk.*member = std::move(value);
  return copy;
}
}  // namespace

namespace options {
void PlainJson::apply(FieldInfo& f) const { f.sql_type = "json"; }
void DbDefault::apply(FieldInfo& f) const {
  f.default_kind = DefaultKind::database;
  f.db_default = sql;
}
void Column::apply(FieldInfo& f) const { f.name = name; }
void Choices::apply(FieldInfo& f) const { f.choices = values; }
void EnumType::apply(FieldInfo& f) const { f.enum_type = name; }
void ColumnType::apply(FieldInfo& f) const { f.declared_type = type; }
void Generated::apply(FieldInfo& f) const { f.generated = expression; }
void Collate::apply(FieldInfo& f) const { f.collation = collation; }
void Comment::apply(FieldInfo& f) const { f.comment = text; }
void IdentityOptions::apply(FieldInfo& f) const { f.identity_options = sql; }

References::References() = default;
References::References(const References&) = default;
References::References(References&&) noexcept = default;
References& References::operator=(const References&) = default;
References& References::operator=(References&&) noexcept = default;
References::~References() = default;
void References::apply(FieldInfo& f) const { f.foreign_key = fk; }
References References::on_delete(std::string action) const { return with_fk(*this, &ForeignKeyInfo::on_delete, std::move(action)); }
References References::on_update(std::string action) const { return with_fk(*this, &ForeignKeyInfo::on_update, std::move(action)); }
References References::to_field(std::string field) const { return with_fk(*this, &ForeignKeyInfo::to_field, std::move(field)); }
References References::to_db(std::string database) const { return with_fk(*this, &ForeignKeyInfo::to_db, std::move(database)); }
References References::to_schema(std::string schema) const { return with_fk(*this, &ForeignKeyInfo::to_schema, std::move(schema)); }
References References::name(std::string constraint) const { return with_fk(*this, &ForeignKeyInfo::name, std::move(constraint)); }
References References::match_full() const {
  References copy = *this;
  copy.fk.match_full = true;
  return copy;
}
References References::deferrable(bool initially_deferred) const {
  References copy = *this;
  copy.fk.deferrable = true;
  copy.fk.initially_deferred = initially_deferred;
  return copy;
}
References References::not_valid() const {
  References copy = *this;
  copy.fk.not_valid = true;
  return copy;
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

ModelOptions ModelOptions::cache_max_entries(std::size_t n) const { return with(*this, &ModelOptions::cache_max, n); }
ModelOptions ModelOptions::inverse_foreign_key(std::string name, std::string from_model, std::string from_field,
                                               std::string referenced_field) const {
  return appended(*this, &ModelOptions::inverse_relations,
                  InverseForeignKeyInfo{std::move(name), std::move(from_model), std::move(from_field), std::move(referenced_field)});
}
ModelOptions ModelOptions::unfetchable() const { return with(*this, &ModelOptions::is_unfetchable, true); }
ModelOptions ModelOptions::many_to_many(std::string name, std::string junction, std::string source_column,
                                        std::string target_column, std::string target_model) const {
  return appended(*this, &ModelOptions::many_to_many_relations,
                  ManyToManyInfo{std::move(name), std::move(junction), std::move(source_column), std::move(target_column),
                                 std::move(target_model)});
}
ModelOptions ModelOptions::many_to_many(std::string name, std::string target_model, std::string junction) const {
  return appended(*this, &ModelOptions::many_to_many_relations,
                  ManyToManyInfo{std::move(name), std::move(junction), {}, {}, std::move(target_model)});
}
ModelOptions ModelOptions::index(IndexInfo i) const {
  return appended(*this, &ModelOptions::index_list, std::move(i));
}
ModelOptions ModelOptions::unique_together(std::vector<std::string> columns) const {
  return appended(*this, &ModelOptions::unique_sets, std::move(columns));
}
ModelOptions ModelOptions::check(std::string name, std::string expression) const {
  return appended(*this, &ModelOptions::check_list, CheckInfo{std::move(name), std::move(expression)});
}
ModelOptions ModelOptions::unique(UniqueInfo u) const { return appended(*this, &ModelOptions::unique_list, std::move(u)); }
ModelOptions ModelOptions::exclusion(std::string name, std::string definition) const {
  return appended(*this, &ModelOptions::exclusion_list, CheckInfo{std::move(name), std::move(definition)});
}
ModelOptions ModelOptions::foreign_key(ForeignKeyConstraintInfo f) const {
  return appended(*this, &ModelOptions::foreign_key_list, std::move(f));
}
ModelOptions ModelOptions::primary_key_name(std::string name) const {
  return with(*this, &ModelOptions::primary_key_constraint, std::move(name));
}
ModelOptions ModelOptions::primary_key(std::vector<std::string> columns) const {
  return with(*this, &ModelOptions::primary_key_columns, std::move(columns));
}
ModelOptions ModelOptions::partition_by(std::string key) const { return with(*this, &ModelOptions::partition_key, std::move(key)); }
ModelOptions ModelOptions::comment(std::string text) const { return with(*this, &ModelOptions::table_comment, std::move(text)); }
ModelOptions ModelOptions::view() const { return with(*this, &ModelOptions::is_view, true); }
ModelOptions ModelOptions::without_primary_key() const { return with(*this, &ModelOptions::is_keyless, true); }
ModelOptions ModelOptions::schema(std::string s) const { return with(*this, &ModelOptions::schema_name, std::move(s)); }
ModelOptions ModelOptions::cache(CachePolicy p) const { return with(*this, &ModelOptions::cache_policy, p); }
ModelOptions ModelOptions::cache_timeout(std::chrono::seconds t) const { return with(*this, &ModelOptions::cache_timeout_seconds, t); }
ModelOptions ModelOptions::database(std::string d) const { return with(*this, &ModelOptions::database_name, std::move(d)); }

ModelOptions table(std::string name) {
  ModelOptions o;
  o.table_name = std::move(name);
  return o;
}
ModelOptions defaults() { return ModelOptions{}; }

}  // namespace matrx::orm
