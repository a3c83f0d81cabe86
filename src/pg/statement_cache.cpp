#include "matrx/orm/pg/statement_cache.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "sql_words.hpp"

namespace matrx::orm::pg {

using detail::starts_with_word;

bool StatementCache::worth_preparing(std::string_view sql) noexcept {
  for (std::string_view w : {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES", "TABLE"})
    if (starts_with_word(sql, w)) return true;
  return false;
}

StatementCache::Decision StatementCache::lookup(std::string_view sql, const Oid* types, std::size_t n_types) {
  Decision d;
  if (capacity_ == 0 || !worth_preparing(sql)) return d;
  // The key is built in a reused buffer: a hit allocates nothing.
  std::string& key = scratch_;
  key.assign(sql);
  key.push_back('\0');  // SQL text never holds a NUL: the types cannot run into it
  if (n_types) key.append(reinterpret_cast<const char*>(types), n_types * sizeof(Oid));

  if (auto it = index_.find(std::string_view(key)); it != index_.end()) {
    if (!it->second->ready) return d;  // its Parse is still in flight
    lru_.splice(lru_.begin(), lru_, it->second);
    ++hits_;
    d.use = Use::execute;
    d.name = it->second->name;
    return d;
  }
  if (index_.size() >= capacity_) {
    auto victim = lru_.end();
    for (auto it = lru_.rbegin(); it != lru_.rend(); ++it)
      if (it->ready) { victim = std::prev(it.base()); break; }
    if (victim == lru_.end()) return d;  // every entry is a Parse in flight
    d.evicted = victim->name;
    index_.erase(victim->key);
    lru_.erase(victim);
  }
  lru_.push_front(Node{key, "matrx_s" + std::to_string(++next_name_), false});
  index_.emplace(lru_.front().key, lru_.begin());
  d.use = Use::prepare;
  d.name = lru_.front().name;
  return d;
}

// By name: a scan of at most `capacity` entries, once per Parse answer or stale plan.
std::list<StatementCache::Node>::iterator StatementCache::find_name(std::string_view name) {
  return std::find_if(lru_.begin(), lru_.end(), [&](const Node& n) { return n.name == name; });
}

void StatementCache::prepared(std::string_view name, bool ok) {
  auto it = find_name(name);
  if (it == lru_.end()) return;  // cleared meanwhile
  if (ok) {
    it->ready = true;
    return;
  }
  index_.erase(it->key);
  lru_.erase(it);
}

bool StatementCache::forget(std::string_view name) {
  auto it = find_name(name);
  if (it == lru_.end()) return false;
  const bool was_ready = it->ready;
  index_.erase(it->key);
  lru_.erase(it);
  return was_ready;
}

void StatementCache::clear() noexcept {
  index_.clear();
  lru_.clear();
}

bool StatementCache::drops_statements(std::string_view sql) noexcept {
  // Called for every statement sent: look at the first letter before comparing words.
  const auto first = std::find_if(sql.begin(), sql.end(), [](char c) { return !std::isspace(static_cast<unsigned char>(c)) && c != '('; });
  if (first == sql.end() || (*first != 'D' && *first != 'd')) return false;
  return starts_with_word(sql, "DISCARD") || starts_with_word(sql, "DEALLOCATE");
}

}  // namespace matrx::orm::pg
