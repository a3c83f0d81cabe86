// BaseManager<M>: the original's manager class — a place for a model's business logic over
// the ORM's operations. Subclass it and override on_load() to prepare every loaded item:
//
//   class PostManager : public orm::BaseManager<Post> {
//    protected:
//     boost::asio::awaitable<void> on_load(Post& p) override { p.title = trim(p.title); co_return; }
//   };
//
// Every method is a coroutine; orm::sync(manager.load_by_id(5)) is the blocking form.
// Unlike the original, errors are not rewrapped: they keep their type, SQL and SQLSTATE.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "matrx/orm/model/crud.hpp"
#include "matrx/orm/model/queryset.hpp"
#include "matrx/orm/model/relations.hpp"

namespace matrx::orm {

template <Described M>
class BaseManager {
 public:
  virtual ~BaseManager() = default;

  // ---- reading ------------------------------------------------------------------------------
  /// The item whose (single-field) primary key is `id`; DoesNotExist otherwise. Uses the cache.
  boost::asio::awaitable<M> load_by_id(Value id) {
    M item = co_await orm::get<M>(by_id(std::move(id)));
    co_await on_load(item);
    co_return item;
  }
  boost::asio::awaitable<M> load_item(Q filters, bool use_cache = true) {
    M item = co_await orm::get<M>(filters, use_cache);
    co_await on_load(item);
    co_return item;
  }
  boost::asio::awaitable<std::optional<M>> load_item_or_none(Q filters, bool use_cache = true) {
    std::optional<M> item = co_await orm::get_or_none<M>(filters, use_cache);
    if (item) co_await on_load(*item);
    co_return item;
  }
  boost::asio::awaitable<std::vector<M>> load_all() { return load_items(Q{}); }
  boost::asio::awaitable<std::vector<M>> load_items(Q filters) {
    const QuerySet<M> query = objects<M>().filter(filters);
    std::vector<M> items = co_await query.all();
    for (auto& item : items) co_await on_load(item);
    co_return items;
  }
  boost::asio::awaitable<std::vector<M>> load_items_by_ids(std::vector<Value> ids) {
    return load_items(Q(pk_name() + "__in", Value(std::move(ids))));
  }

  // ---- writing ------------------------------------------------------------------------------
  /// Inserts `item`; returns it as stored (keys and server defaults filled in).
  boost::asio::awaitable<M> create_item(M item) {
    co_await orm::create(item);
    co_await on_load(item);
    co_return item;
  }
  /// Applies the changes to the item `id`; returns it as stored. DoesNotExist if it is gone.
  boost::asio::awaitable<M> update_item(Value id, std::vector<FieldUpdate> changes) {
    const QuerySet<M> query = objects<M>().filter(by_id(id));
    UpdateResult<M> result = co_await query.update(std::move(changes));
    if (result.rows.empty())
      throw DoesNotExist(fmt::format("no {} with {} = {}", model_info<M>().name, pk_name(), describe(id)),
                         ErrorContext{.model = model_info<M>().name, .operation = "update_item"});
    M item = std::move(result.rows.front());
    co_await on_load(item);
    co_return item;
  }
  /// True when the item existed and was deleted.
  boost::asio::awaitable<bool> delete_item(Value id) {
    const QuerySet<M> query = objects<M>().filter(by_id(std::move(id)));
    const std::int64_t n = co_await query.remove();
    co_return n > 0;
  }
  boost::asio::awaitable<M> upsert_item(M item, std::vector<std::string> conflict_fields) {
    co_await orm::upsert(item, std::move(conflict_fields));
    co_await on_load(item);
    co_return item;
  }
  // Coroutines (not forwarding returns): the callees take `filters` by reference.
  boost::asio::awaitable<std::int64_t> count(Q filters = Q{}) { co_return co_await orm::count<M>(filters); }
  boost::asio::awaitable<bool> exists(Q filters) { co_return co_await orm::exists<M>(filters); }
  boost::asio::awaitable<UpdateResult<M>> update_where(Q filters, std::vector<FieldUpdate> changes) {
    co_return co_await orm::update_where<M>(filters, std::move(changes));
  }
  boost::asio::awaitable<std::int64_t> delete_where(Q filters) { co_return co_await orm::delete_where<M>(filters); }

  // ---- relations ----------------------------------------------------------------------------
  boost::asio::awaitable<std::pair<M, RelatedResults>> get_item_with_all_related(Value id) {
    M item = co_await load_by_id(std::move(id));
    RelatedResults related = co_await fetch_all_related(item);
    co_return std::pair<M, RelatedResults>(std::move(item), std::move(related));
  }
  /// The item and the object its foreign key `field` refers to.
  template <Described Target>
  boost::asio::awaitable<std::pair<M, std::optional<Target>>> get_item_with_related(Value id, std::string field) {
    M item = co_await load_by_id(std::move(id));
    std::optional<Target> related = co_await fetch_fk<Target>(item, field);
    co_return std::pair<M, std::optional<Target>>(std::move(item), std::move(related));
  }
  /// Every item matching `filters` with its related object, in one JOIN query.
  template <Described Target>
  boost::asio::awaitable<std::vector<std::pair<M, std::optional<Target>>>> get_items_with_related(std::string field,
                                                                                                  Q filters = Q{}) {
    const QuerySet<M> query = objects<M>().filter(filters);
    auto rows = co_await select_related<Target>(query, field);
    for (auto& row : rows) co_await on_load(row.first);
    co_return rows;
  }
  template <Described Target>
  boost::asio::awaitable<std::pair<M, std::vector<Target>>> get_item_with_m2m(Value id, std::string relation) {
    M item = co_await load_by_id(std::move(id));
    std::vector<Target> related = co_await fetch_m2m<Target>(item, relation);
    co_return std::pair<M, std::vector<Target>>(std::move(item), std::move(related));
  }
  boost::asio::awaitable<std::int64_t> add_m2m(Value id, std::string relation, std::vector<Value> target_ids) {
    const M item = co_await load_by_id(std::move(id));
    co_return co_await orm::add_m2m(item, relation, std::move(target_ids));
  }
  boost::asio::awaitable<std::int64_t> remove_m2m(Value id, std::string relation, std::vector<Value> target_ids) {
    const M item = co_await load_by_id(std::move(id));
    co_return co_await orm::remove_m2m(item, relation, std::move(target_ids));
  }
  boost::asio::awaitable<void> set_m2m(Value id, std::string relation, std::vector<Value> target_ids) {
    const M item = co_await load_by_id(std::move(id));
    co_await orm::set_m2m(item, relation, std::move(target_ids));
  }
  boost::asio::awaitable<std::int64_t> clear_m2m(Value id, std::string relation) {
    const M item = co_await load_by_id(std::move(id));
    co_return co_await orm::clear_m2m(item, relation);
  }

 protected:
  /// Called for every item a manager method returns: override to add business logic.
  virtual boost::asio::awaitable<void> on_load(M&) { co_return; }

 private:
  static const std::string& pk_name() {
    const ModelInfo& m = model_info<M>();
    if (m.primary_keys.size() != 1)
      throw QueryError(fmt::format("{} has a composite key: use load_item with a Q of every key field", m.name),
                       ErrorContext{.model = m.name});
    return m.fields[m.primary_keys[0]].name;
  }
  static Q by_id(Value id) { return Q(pk_name(), std::move(id)); }
  static std::string describe(const Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v.v)) return std::to_string(*i);
    if (const auto* s = std::get_if<std::string>(&v.v)) return *s;
    return v.type_name();
  }
};

}  // namespace matrx::orm
