// Foreign-key field options: (author_id, orm::references<User>().on_delete("CASCADE")).
// The target is given by type, or by registered name for self-references and cycles
// (orm::references("Category")); it is resolved when first used, not at declaration.
#pragma once

#include <string>

#include "matrx/orm/meta/field_info.hpp"
#include "matrx/orm/meta/model.hpp"

namespace matrx::orm {

namespace options {
struct References {
  ForeignKeyInfo fk;
  void apply(FieldInfo& f) const { f.foreign_key = fk; }
  /// ON DELETE action for migrations: "CASCADE", "SET NULL", "RESTRICT", "NO ACTION".
  References on_delete(std::string action) const { auto c = *this; c.fk.on_delete = std::move(action); return c; }
  References on_update(std::string action) const { auto c = *this; c.fk.on_update = std::move(action); return c; }
  /// The referenced field (default: the target's primary key).
  References to_field(std::string field) const { auto c = *this; c.fk.to_field = std::move(field); return c; }
  /// The target lives in another registered database: fetches go to its pool.
  References to_db(std::string database) const { auto c = *this; c.fk.to_db = std::move(database); return c; }
  References to_schema(std::string schema) const { auto c = *this; c.fk.to_schema = std::move(schema); return c; }
};
}  // namespace options

template <Described Target>
options::References references() {
  options::References r;
  r.fk.target_info = &model_info<Target>;
  return r;
}
/// By registered name (type name or table): for self-references and cycles.
inline options::References references(std::string target) {
  options::References r;
  r.fk.target_name = std::move(target);
  return r;
}

}  // namespace matrx::orm
