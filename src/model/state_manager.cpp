// The StateManager's clock, time-to-live table, the registry of model caches (for
// clear_all) and the primary-key filter recogniser.
#include "matrx/orm/model/state_manager.hpp"

#include <algorithm>
#include <cctype>

namespace matrx::orm {

namespace {
struct Globals {
  std::mutex mutex;
  std::function<cache::Clock::time_point()> clock;
  std::vector<detail::ModelCacheBase*> caches;
};
Globals& globals() {
  static Globals g;
  return g;
}
}  // namespace

namespace cache {

void set_clock(std::function<Clock::time_point()> now) {
  std::lock_guard lock(globals().mutex);
  globals().clock = std::move(now);
}

Clock::time_point now() {
  std::function<Clock::time_point()> clock;
  {
    std::lock_guard lock(globals().mutex);
    clock = globals().clock;
  }
  return clock ? clock() : Clock::now();
}

std::optional<Clock::duration> time_to_live(const ModelInfo& model) {
  using namespace std::chrono_literals;
  if (model.cache_timeout) return *model.cache_timeout;
  switch (model.cache_policy) {
    case CachePolicy::permanent: return std::nullopt;
    case CachePolicy::long_term: return 4h;
    case CachePolicy::short_term: return 10min;
    case CachePolicy::instant: return 1min;
    case CachePolicy::none: return Clock::duration::zero();
  }
  return 10min;
}

void clear_all() {
  std::vector<detail::ModelCacheBase*> caches;
  {
    std::lock_guard lock(globals().mutex);
    caches = globals().caches;
  }
  for (auto* c : caches) c->clear();
}

bool may_have_written(std::string_view sql, std::string_view command_tag) {
  if (!command_tag.starts_with("SELECT")) return true;
  std::string upper(sql);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const char* word : {"INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "COPY"})
    if (upper.find(word) != std::string::npos) return true;
  return false;
}

}  // namespace cache

namespace detail {

void register_cache(ModelCacheBase* cache) {
  std::lock_guard lock(globals().mutex);
  globals().caches.push_back(cache);
}

std::optional<std::string> cache_key(const query::Node& where, const ModelInfo& model) {
  // Collect the equality leaves of a flat AND (or the single leaf).
  std::vector<const query::Node*> leaves;
  if (where.op == query::Op::and_) {
    for (const auto& c : where.children) leaves.push_back(c.get());
  } else {
    leaves.push_back(&where);
  }
  if (leaves.size() != model.primary_keys.size()) return std::nullopt;
  std::vector<const Param*> by_field(model.fields.size(), nullptr);
  for (const auto* leaf : leaves) {
    if (leaf->op != query::Op::eq || leaf->lhs || leaf->rhs || leaf->params.size() != 1) return std::nullopt;
    if (!model.fields.at(leaf->field).primary_key || by_field[leaf->field]) return std::nullopt;
    by_field[leaf->field] = &leaf->params[0];
  }
  std::string key;
  for (std::size_t i = 0; i < model.fields.size(); ++i) {
    if (!model.fields[i].primary_key) continue;
    const Param* p = by_field[i];
    if (!p || p->null) return std::nullopt;
    key += std::to_string(i) + ':' + std::to_string(p->bytes.size()) + (p->binary ? 'b' : 't') + p->bytes;
  }
  return key;
}

}  // namespace detail
}  // namespace matrx::orm
