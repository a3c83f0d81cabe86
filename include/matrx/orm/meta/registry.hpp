// The model registry: every MATRX_MODEL registers itself at program start, so relations,
// migrations and the CLI can find models by type or by name.
#pragma once

#include <string_view>
#include <typeindex>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "matrx/orm/meta/field_info.hpp"

namespace matrx::orm {

namespace detail {
using ModelInfoGetter = const ModelInfo& (*)();
/// Called by register_model<M>(); the description is built on first use.
void registry_add(std::type_index type, ModelInfoGetter getter);
}  // namespace detail

struct ModelRegistry {
  /// By C++ type name ("User") or table name ("users"); nullptr if unknown.
  static const ModelInfo* find(std::string_view name);
  /// Throws ConfigurationError naming the registered models.
  static const ModelInfo& get(std::string_view name);
  static const ModelInfo* find(std::type_index type);
  /// Every registered concrete model, sorted by name. Throws ConfigurationError when two
  /// models share a name or a table.
  static std::vector<const ModelInfo*> all();
  /// {"version": 1, "models": [...]} — the schema snapshot migrations diff against.
  static nlohmann::json snapshot();
};

}  // namespace matrx::orm
