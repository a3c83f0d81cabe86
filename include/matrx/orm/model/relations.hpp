// Relationships: foreign keys, inverse foreign keys and many-to-many, fetched one object at
// a time or for many objects at once (select_related: one JOIN; prefetch_*: one `= ANY($1)`
// query per relation, whatever the number of objects).
//
//   std::optional<User> author = co_await orm::fetch_fk<User>(post, "author_id");
//   std::vector<Post> posts = co_await orm::fetch_ifk<Post>(user, "author_id");
//   std::vector<Tag> tags = co_await orm::fetch_m2m<Tag>(post, "tags");
//
// The target type is checked against the relation's declared target (QueryError otherwise).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/log.hpp"
#include "matrx/orm/meta/foreign_key.hpp"
#include "matrx/orm/meta/model.hpp"
#include "matrx/orm/model/crud.hpp"
#include "matrx/orm/model/execute.hpp"
#include "matrx/orm/model/hydrate.hpp"
#include "matrx/orm/model/queryset.hpp"
#include "matrx/orm/model/transaction.hpp"

namespace matrx::orm {

namespace detail {
/// The foreign key `field` of M, checked to point at Target.
template <Described M, Described Target>
const FieldInfo& foreign_key_field(std::string_view field) {
  const ModelInfo& m = model_info<M>();
  const FieldInfo& f = m.field(field);
  if (!f.foreign_key)
    throw QueryError(fmt::format("{}.{} is not a foreign key", m.name, f.name), ErrorContext{.model = m.name, .field = f.name});
  const ModelInfo& target = f.foreign_key->target();
  if (&target != &model_info<Target>())
    throw QueryError(fmt::format("{}.{} references {}, not {}", m.name, f.name, target.name, model_info<Target>().name),
                     ErrorContext{.model = m.name, .field = f.name});
  return f;
}
/// The referenced field of a foreign key: to_field, or the target's single primary key.
const FieldInfo& referenced_field(const FieldInfo& fk_field, const ModelInfo& source);
/// The many-to-many relation `name` of `m`, checked to lead to `target` (nullptr: any), with
/// a declarative relation's junction table and columns filled in.
ManyToManyInfo many_to_many(const ModelInfo& m, std::string_view name, const ModelInfo* target);
/// A declared relation with its junction and columns filled in.
ManyToManyInfo resolved(const ModelInfo& m, const ManyToManyInfo& rel);
/// The foreign-key field of `from` behind `relation`: a name declared on `m` with
/// inverse_foreign_key (checked to come from `from`), or the field name itself.
std::string inverse_field(const ModelInfo& m, std::string_view relation, const ModelInfo& from);
/// A foreign key of a registered model that points at a given model.
struct IncomingForeignKey {
  const ModelInfo* from;
  std::size_t field;  ///< index into from->fields
};
/// Every registered model's foreign key to `m` (references to unregistered names skipped).
std::vector<IncomingForeignKey> foreign_keys_to(const ModelInfo& m);

/// Logs the one warning for a fetch from an unfetchable model; true when it is one.
bool skip_unfetchable(const ModelInfo& source, std::string_view relation, const ModelInfo& target);

/// The value of field `name` of obj, encoded with the column type of `as`.
template <Described M>
Param member_param(const M& obj, std::string_view name, const FieldInfo& as) {
  const ModelInfo& m = model_info<M>();
  std::optional<Param> out;
  for_each_field<M>([&](const auto& f, std::size_t i) {
    if (m.fields[i].name == name) out = encode_member(obj.*(f.member), as);
  });
  if (!out) m.field(name);  // throws FieldError
  return *out;
}
/// The values of field `name` of every object as one array parameter (NULLs left out).
template <Described M>
std::optional<Param> members_array(const std::vector<M>& objs, std::string_view name) {
  const ModelInfo& m = model_info<M>();
  std::optional<Param> out;
  for_each_field<M>([&](const auto& f, std::size_t i) {
    if (m.fields[i].name != name) return;
    using Stored = typename std::remove_cvref_t<decltype(f)>::value_type;
    using T = typename unwrap_optional_t<Stored>::type;
    std::vector<T> values;
    for (const auto& o : objs) {
      if constexpr (is_std_optional<Stored>::value) {
        if (o.*(f.member)) values.push_back(*(o.*(f.member)));
      } else {
        values.push_back(o.*(f.member));
      }
    }
    Param p;
    p.oid = pg::Codec<std::vector<T>>::oid;
    p.binary = p.oid != 0;
    if (p.binary) pg::Codec<std::vector<T>>::to_binary(values, p.bytes);
    else pg::Codec<std::vector<T>>::to_text(values, p.bytes);
    out = std::move(p);
  });
  if (!out) m.field(name);
  return out;
}
/// A text key for grouping rows by a field value (the encoded bytes).
template <Described M>
std::string member_key(const M& obj, std::string_view name) {
  const ModelInfo& m = model_info<M>();
  return member_param(obj, name, m.field(name)).bytes;
}
}  // namespace detail

// ---- foreign keys -------------------------------------------------------------------------

/// The object `obj.field` refers to; empty when the key is NULL or the target is unfetchable.
/// A dangling key is DoesNotExist. Uses the target's cache (StateManager) unless the target
/// lives in another database (to_db), where the fetch goes to that database's pool.
template <Described Target, Described M>
boost::asio::awaitable<std::optional<Target>> fetch_fk(const M& obj, std::string field) {
  const FieldInfo& f = detail::foreign_key_field<M, Target>(field);
  const ModelInfo& target = model_info<Target>();
  if (detail::skip_unfetchable(model_info<M>(), field, target)) co_return std::nullopt;
  const FieldInfo& to = detail::referenced_field(f, model_info<M>());
  Param key = detail::member_param(obj, field, to);
  if (key.null) co_return std::nullopt;
  const std::size_t to_index = *target.index_of(to.name);
  query::NodePtr where = query::make_leaf(query::Op::eq, to_index, {std::move(key)});
  if (!f.foreign_key->to_db.empty()) {
    const QuerySet<Target> other = objects<Target>().filter(Where<Target>(std::move(where))).using_database(f.foreign_key->to_db);
    co_return co_await other.get();
  }
  co_return co_await detail::cached_get<Target>(std::move(where), true, false);
}

/// The objects of From whose foreign key `from_field` refers to obj (an inverse foreign key).
/// Two foreign keys from one table to the same target are two relations: name the field.
/// `relation` is the foreign key's field in From, or a name declared on M with
/// ModelOptions::inverse_foreign_key.
template <Described From, Described M>
boost::asio::awaitable<std::vector<From>> fetch_ifk(const M& obj, std::string relation) {
  const std::string from_field = detail::inverse_field(model_info<M>(), relation, model_info<From>());
  const FieldInfo& f = detail::foreign_key_field<From, M>(from_field);
  if (detail::skip_unfetchable(model_info<M>(), from_field, model_info<From>())) co_return std::vector<From>{};
  const FieldInfo& referenced = detail::referenced_field(f, model_info<From>());
  Param key = detail::member_param(obj, referenced.name, f);
  if (key.null) co_return std::vector<From>{};
  const std::size_t field = *model_info<From>().index_of(f.name);
  const QuerySet<From> rows = objects<From>().filter(Where<From>(query::make_leaf(query::Op::eq, field, {std::move(key)})));
  co_return co_await rows.all();
}

// ---- many-to-many -------------------------------------------------------------------------

namespace detail {
/// SELECT target.* FROM target JOIN junction ON junction.target_col = target.pk
/// WHERE junction.source_col <op> $1 — op "=" for one object, "= ANY" for many; with the
/// source column selected last when `with_source`.
Statement m2m_select(const ModelInfo& target, const ManyToManyInfo& rel, Param source, bool many);
}  // namespace detail

template <Described Target, Described M>
boost::asio::awaitable<std::vector<Target>> fetch_m2m(const M& obj, std::string name) {
  const ModelInfo& m = model_info<M>();
  const ModelInfo& target = model_info<Target>();
  const ManyToManyInfo rel = detail::many_to_many(m, name, &target);
  if (detail::skip_unfetchable(m, name, target)) co_return std::vector<Target>{};
  const FieldInfo& key_field = m.fields.at(m.primary_keys.at(0));
  Param key = detail::member_param(obj, key_field.name, key_field);
  const Statement s = detail::m2m_select(target, rel, std::move(key), false);
  pg::Result r = co_await detail::run_statement(target, s, "fetch_m2m");
  co_return detail::hydrate_all<Target>(r);
}

namespace detail {
Statement m2m_insert(const ManyToManyInfo& rel, const Param& source_key, const std::vector<Param>& targets);
Statement m2m_delete(const ManyToManyInfo& rel, const Param& source_key,
                     const std::vector<Param>* targets);
template <Described M>
std::pair<ManyToManyInfo, Param> m2m_source(const M& obj, std::string_view name) {
  const ModelInfo& m = model_info<M>();
  ManyToManyInfo rel = detail::many_to_many(m, name, nullptr);
  const FieldInfo& key_field = m.fields.at(m.primary_keys.at(0));
  return {std::move(rel), member_param(obj, key_field.name, key_field)};
}
std::vector<Param> m2m_target_params(const ManyToManyInfo& rel, const std::vector<Value>& ids);
}  // namespace detail

/// Links obj to the targets with these keys; existing links are kept (ON CONFLICT DO
/// NOTHING). Returns how many links were actually inserted (the original returned the number
/// of ids asked for).
template <Described M>
boost::asio::awaitable<std::int64_t> add_m2m(const M& obj, std::string name, std::vector<Value> target_ids) {
  if (target_ids.empty()) co_return 0;
  auto [rel, key] = detail::m2m_source(obj, name);
  const auto targets = detail::m2m_target_params(rel, target_ids);
  const Statement s = detail::m2m_insert(rel, key, targets);
  pg::Result r = co_await detail::run_statement(model_info<M>(), s, "add_m2m");
  co_return r.affected_rows();
}
/// Unlinks these targets; returns how many links were removed.
template <Described M>
boost::asio::awaitable<std::int64_t> remove_m2m(const M& obj, std::string name, std::vector<Value> target_ids) {
  if (target_ids.empty()) co_return 0;
  auto [rel, key] = detail::m2m_source(obj, name);
  const auto targets = detail::m2m_target_params(rel, target_ids);
  const Statement s = detail::m2m_delete(rel, key, &targets);
  pg::Result r = co_await detail::run_statement(model_info<M>(), s, "remove_m2m");
  co_return r.affected_rows();
}
/// Unlinks every target; returns how many links were removed.
template <Described M>
boost::asio::awaitable<std::int64_t> clear_m2m(const M& obj, std::string name) {
  auto [rel, key] = detail::m2m_source(obj, name);
  const Statement s = detail::m2m_delete(rel, key, nullptr);
  pg::Result r = co_await detail::run_statement(model_info<M>(), s, "clear_m2m");
  co_return r.affected_rows();
}
/// Makes the links exactly these targets, atomically (one transaction, or a savepoint inside
/// the caller's).
template <Described M>
boost::asio::awaitable<void> set_m2m(const M& obj, std::string name, std::vector<Value> target_ids) {
  auto body = [](const M& o, std::string n, std::vector<Value> ids) -> boost::asio::awaitable<void> {
    co_await clear_m2m(o, n);
    co_await add_m2m(o, n, std::move(ids));
  };
  co_await transaction(body(obj, std::move(name), std::move(target_ids)), model_info<M>().database);
}

// ---- eager loading ------------------------------------------------------------------------

/// Each object of `query` with the object its foreign key `field` refers to, in one
/// LEFT JOIN query (empty when the key is NULL).
template <Described Target, Described M>
boost::asio::awaitable<std::vector<std::pair<M, std::optional<Target>>>> select_related(const QuerySet<M>& query,
                                                                                          std::string field) {
  const FieldInfo& f = detail::foreign_key_field<M, Target>(field);
  if (!f.foreign_key->to_db.empty())
    throw QueryError(fmt::format("select_related('{}'): the target lives in another database; a JOIN cannot reach it", field),
                     ErrorContext{.model = model_info<M>().name, .hint = "use fetch_fk or prefetch instead"});
  const ModelInfo& m = model_info<M>();
  const ModelInfo& target = model_info<Target>();
  const FieldInfo& to = detail::referenced_field(f, m);
  if (query.spec().group_by || !query.spec().annotations.empty())
    throw QueryError("select_related() cannot be combined with group_by or annotate", ErrorContext{.model = m.name});
  SelectSpec spec = query.spec();
  spec.joins.push_back(Join{.target = &target, .field = *m.index_of(f.name), .to_field = *target.index_of(to.name),
                            .alias = "matrx_sr_" + f.name});
  const Statement s = compile_select(spec);
  pg::Result r = co_await detail::run_statement(m, s, "select_related", query.database());
  const auto own = detail::column_map(m, query.spec().columns);
  const int first_target = static_cast<int>(query.spec().columns.empty() ? m.fields.size() : query.spec().columns.size());
  std::vector<int> target_columns(target.fields.size());
  for (std::size_t i = 0; i < target.fields.size(); ++i) target_columns[i] = first_target + static_cast<int>(i);
  const int target_key = first_target + static_cast<int>(target.primary_keys.at(0));
  std::vector<std::pair<M, std::optional<Target>>> out(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    auto& [obj, related] = out[static_cast<std::size_t>(row)];
    detail::hydrate(r, row, obj, own);
    if (!r.is_null(row, target_key)) {
      related.emplace();
      detail::hydrate(r, row, *related, target_columns);
    }
  }
  co_return out;
}

/// For each of `objs`, the objects of From whose foreign key `from_field` refers to it — one
/// query for all of them (`= ANY($1)`), aligned with `objs`.
template <Described From, Described M>
boost::asio::awaitable<std::vector<std::vector<From>>> prefetch_ifk(const std::vector<M>& objs, std::string from_field) {
  std::vector<std::vector<From>> out(objs.size());
  if (objs.empty()) co_return out;
  const FieldInfo& f = detail::foreign_key_field<From, M>(from_field);
  const FieldInfo& referenced = detail::referenced_field(f, model_info<From>());
  auto keys = detail::members_array(objs, referenced.name);
  const std::size_t field = *model_info<From>().index_of(f.name);
  const QuerySet<From> rows_qs = objects<From>().filter(Where<From>(query::make_leaf(query::Op::in, field, {std::move(*keys)})));
  const std::vector<From> rows = co_await rows_qs.all();
  std::unordered_map<std::string, std::vector<std::size_t>> positions;
  for (std::size_t i = 0; i < objs.size(); ++i)
    positions[detail::member_param(objs[i], referenced.name, f).bytes].push_back(i);
  for (const auto& row : rows) {
    auto it = positions.find(detail::member_key(row, f.name));
    if (it == positions.end()) continue;
    for (auto i : it->second) out[i].push_back(row);
  }
  co_return out;
}

/// For each of `objs`, its targets through the many-to-many relation `name` — one JOIN query
/// for all of them, aligned with `objs`.
template <Described Target, Described M>
boost::asio::awaitable<std::vector<std::vector<Target>>> prefetch_m2m(const std::vector<M>& objs, std::string name) {
  std::vector<std::vector<Target>> out(objs.size());
  if (objs.empty()) co_return out;
  const ModelInfo& m = model_info<M>();
  const ModelInfo& target = model_info<Target>();
  const ManyToManyInfo rel = detail::many_to_many(m, name, &target);
  const FieldInfo& key_field = m.fields.at(m.primary_keys.at(0));
  auto keys = detail::members_array(objs, key_field.name);
  const Statement s = detail::m2m_select(target, rel, std::move(*keys), true);
  pg::Result r = co_await detail::run_statement(target, s, "prefetch_m2m");
  std::unordered_map<std::string, std::vector<std::size_t>> positions;
  for (std::size_t i = 0; i < objs.size(); ++i) positions[detail::member_key(objs[i], key_field.name)].push_back(i);
  const auto columns = detail::column_map(target, {});
  const int source_column = static_cast<int>(target.fields.size());
  for (int row = 0; row < r.rows(); ++row) {
    Target t{};
    detail::hydrate(r, row, t, columns);
    // The source key comes back in binary; compare it with the objects' encoded keys.
    const pg::RawValue v = r.raw(row, source_column);
    auto it = positions.find(std::string(v.data));
    if (it == positions.end()) continue;
    for (auto i : it->second) out[i].push_back(t);
  }
  co_return out;
}

// ---- every relation at once, by name ------------------------------------------------------

/// The relations of one object, fetched by name: foreign keys (field → the object or null),
/// inverse foreign keys (every registered model's foreign key to this model, named
/// "table.field" → rows), many-to-many (relation name → rows). Rows are JSON objects keyed
/// by column. A relation that fails is reported in `errors` and the others still load.
struct RelatedResults {
  std::map<std::string, nlohmann::json> foreign_keys;
  std::map<std::string, std::vector<nlohmann::json>> inverse_foreign_keys;
  std::map<std::string, std::vector<nlohmann::json>> many_to_many;
  std::map<std::string, std::string> errors;
  /// {"foreign_keys": {…}, "inverse_foreign_keys": {…}, "many_to_many": {…}, "errors": {…}}
  nlohmann::json to_json() const;
};

namespace detail {
enum class RelationGroups { foreign_keys = 1, inverse = 2, many_to_many = 4, all = 7 };
/// `values`: every field of the object, encoded, in field order.
boost::asio::awaitable<RelatedResults> fetch_related(const ModelInfo& m, std::vector<Param> values, int groups);
template <Described M>
std::vector<Param> encoded_fields(const M& obj) {
  const ModelInfo& m = model_info<M>();
  std::vector<Param> out;
  for_each_field<M>([&](const auto& f, std::size_t i) { out.push_back(encode_member(obj.*(f.member), m.fields[i])); });
  return out;
}
}  // namespace detail

/// Every foreign key of obj (a failing one is reported in errors; the others still load).
template <Described M>
boost::asio::awaitable<RelatedResults> fetch_fks(const M& obj) {
  co_return co_await detail::fetch_related(model_info<M>(), detail::encoded_fields(obj), 1);
}
/// Every inverse foreign key of obj, derived from the registered models.
template <Described M>
boost::asio::awaitable<RelatedResults> fetch_ifks(const M& obj) {
  co_return co_await detail::fetch_related(model_info<M>(), detail::encoded_fields(obj), 2);
}
/// Every many-to-many relation of obj.
template <Described M>
boost::asio::awaitable<RelatedResults> fetch_m2ms(const M& obj) {
  co_return co_await detail::fetch_related(model_info<M>(), detail::encoded_fields(obj), 4);
}
/// All three groups, one relation after the other (never concurrently on one connection:
/// the original gathered them on a transaction's single connection, B4-32).
template <Described M>
boost::asio::awaitable<RelatedResults> fetch_all_related(const M& obj) {
  co_return co_await detail::fetch_related(model_info<M>(), detail::encoded_fields(obj), 7);
}

}  // namespace matrx::orm
