#include "matrx/orm/meta/registry.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm/errors.hpp"

namespace matrx::orm {

namespace {
struct Registry {
  std::mutex mutex;
  std::map<std::type_index, detail::ModelInfoGetter> models;
};
Registry& registry() {
  static Registry* r = new Registry;  // used during static initialization and destruction
  return *r;
}
std::vector<detail::ModelInfoGetter> getters() {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<detail::ModelInfoGetter> out;
  for (const auto& [type, getter] : r.models) out.push_back(getter);
  return out;
}
}  // namespace

void detail::registry_add(std::type_index type, ModelInfoGetter getter) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  r.models[type] = getter;
}

const ModelInfo* ModelRegistry::find(std::string_view name) {
  for (auto getter : getters()) {
    const ModelInfo& m = getter();
    if (m.name == name || m.table == name) return &m;
  }
  return nullptr;
}

const ModelInfo& ModelRegistry::get(std::string_view name) {
  if (const ModelInfo* m = find(name)) return *m;
  std::string known;
  for (const ModelInfo* m : all()) known += fmt::format("{}{}", known.empty() ? "" : ", ", m->name);
  throw ConfigurationError(fmt::format("no model named '{}' is registered", name),
                           ErrorContext{.hint = known.empty() ? "declare models with MATRX_MODEL" : "registered: " + known});
}

const ModelInfo* ModelRegistry::find(std::type_index type) {
  auto& r = registry();
  detail::ModelInfoGetter getter = nullptr;
  {
    std::lock_guard lock(r.mutex);
    auto it = r.models.find(type);
    if (it != r.models.end()) getter = it->second;
  }
  return getter ? &getter() : nullptr;
}

std::vector<const ModelInfo*> ModelRegistry::all() {
  std::vector<const ModelInfo*> out;
  for (auto getter : getters()) {
    const ModelInfo& m = getter();
    if (!m.abstract) out.push_back(&m);
  }
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name < b->name; });
  for (std::size_t i = 1; i < out.size(); ++i)
    if (out[i]->name == out[i - 1]->name)
      throw ConfigurationError(fmt::format("two registered models are named '{}'", out[i]->name));
  for (std::size_t i = 0; i < out.size(); ++i)
    for (std::size_t j = i + 1; j < out.size(); ++j)
      if (out[i]->table == out[j]->table && out[i]->schema == out[j]->schema && out[i]->database == out[j]->database)
        throw ConfigurationError(fmt::format("models {} and {} both use the table '{}'", out[i]->name, out[j]->name,
                                             out[i]->table));
  return out;
}

nlohmann::json ModelRegistry::snapshot() {
  nlohmann::json models = nlohmann::json::array();
  for (const ModelInfo* m : all()) models.push_back(m->to_json());
  return nlohmann::json{{"version", 1}, {"models", models}};
}

const ModelInfo& ForeignKeyInfo::target() const {
  if (target_info) return target_info();
  return ModelRegistry::get(target_name);
}

}  // namespace matrx::orm
