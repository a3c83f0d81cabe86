// Foreign-key field options: (author_id, orm::references<User>().on_delete("CASCADE")).
// The target is given by type, or by registered name for self-references and cycles
// (orm::references("Category")); it is resolved when first used, not at declaration.
#pragma once

#include <string>

#include "matrx/orm/meta/field_info.hpp"
#include "matrx/orm/meta/model.hpp"

namespace matrx::orm {

namespace options {
// Compiled once in the library (src/meta/options.cpp): a model's definition calls these
// instead of inlining copies of ForeignKeyInfo's strings.
struct References {
  ForeignKeyInfo fk;
  References();
  References(const References&);
  References(References&&) noexcept;
  References& operator=(const References&);
  References& operator=(References&&) noexcept;
  ~References();
  void apply(FieldInfo& f) const;
  /// ON DELETE action for migrations: "CASCADE", "SET NULL", "RESTRICT", "NO ACTION".
  References on_delete(std::string action) const;
  References on_update(std::string action) const;
  /// The referenced field (default: the target's primary key).
  References to_field(std::string field) const;
  /// The target lives in another registered database: fetches go to its pool.
  References to_db(std::string database) const;
  References to_schema(std::string schema) const;
  /// The constraint's name (default: <table>_<column>_fkey).
  References name(std::string constraint) const;
  References match_full() const;
  References deferrable(bool initially_deferred = false) const;
  /// Added NOT VALID: existing rows are not checked.
  References not_valid() const;
};
/// A reference to the model whose ModelInfo `target` returns.
References references_to(const ModelInfo& (*target)());

}  // namespace options

template <Described Target>
options::References references() {
  return options::references_to(&model_info<Target>);
}
/// By registered name (type name or table): for self-references and cycles.
options::References references(std::string target);

}  // namespace matrx::orm
