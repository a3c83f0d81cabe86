// Writing single objects and batches: create, save (insert or update), remove, bulk_create.
//
//   User u{.username = "alice", .age = 30};
//   co_await orm::create(u);     // INSERT … RETURNING: u.id and server defaults filled in
//   u.age = 31;
//   co_await orm::save(u);       // upsert by primary key
//   co_await orm::remove(u);
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/log.hpp"
#include "matrx/orm/meta/model.hpp"
#include "matrx/orm/model/bulk_copy.hpp"
#include "matrx/orm/model/execute.hpp"
#include "matrx/orm/model/hydrate.hpp"
#include "matrx/orm/model/queryset.hpp"
#include "matrx/orm/model/bulk_ops.hpp"
#include "matrx/orm/model/signals.hpp"
#include "matrx/orm/pg/params.hpp"

namespace matrx::orm {

namespace detail {

/// Fields an INSERT of these objects must name: a server-defaulted field is left out only
/// when every object leaves it unset.
template <Described M>
std::vector<std::size_t> insert_columns(const M* objs, std::size_t n) {
  const ModelInfo& m = model_info<M>();
  std::vector<std::size_t> cols;
  for_each_field<M>([&](const auto& f, std::size_t i) {
    const FieldInfo& info = m.fields[i];
    if (!info.writable()) return;
    bool needed = !info.has_server_default();
    for (std::size_t k = 0; k < n && !needed; ++k) needed = !is_unset(objs[k].*(f.member));
    if (needed) cols.push_back(i);
  });
  return cols;
}

/// Fills fields that have an orm::default_fn and still hold their default-constructed value.
template <Described M>
void apply_defaults(M& obj) {
  for_each_field<M>([&](const auto& f, std::size_t) {
    if (f.make_default && is_unset(obj.*(f.member))) obj.*(f.member) = f.make_default();
  });
}

/// auto_now fields get the current time; auto_now_add fields too when `inserting` (or when
/// unset: a save that turns out to insert).
template <Described M>
void touch_timestamps(M& obj, bool inserting) {
  const ModelInfo& m = model_info<M>();
  const auto now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
  for_each_field<M>([&](const auto& f, std::size_t i) {
    const FieldInfo& info = m.fields[i];
    if (!info.auto_now && !info.auto_now_add) return;
    auto& member = obj.*(f.member);
    if (!info.auto_now && !(inserting && is_unset(member))) return;
    using Stored = typename std::remove_cvref_t<decltype(f)>::value_type;
    using T = typename unwrap_optional_t<Stored>::type;
    if constexpr (std::is_same_v<T, Timestamp>) member = now;
    else if constexpr (std::is_same_v<T, LocalTimestamp>) member = LocalTimestamp(now.time_since_epoch());
    else if constexpr (std::is_same_v<T, Date>) member = std::chrono::floor<std::chrono::days>(now);
  });
}

template <Described M>
void validate_object(const M& obj) {
  const ModelInfo& m = model_info<M>();
  for_each_field<M>([&](const auto& f, std::size_t i) { validate_member(obj.*(f.member), m.fields[i], m); });
}

/// Appends "($1, $2, DEFAULT, …)" for one object.
/// One cell of a VALUES row: "DEFAULT", or the next placeholder with `value` bound to it
/// (compiled once, in the library: append_values_row is instantiated per model).
void append_default_cell(std::string& sql, bool& first);
void append_param_cell(std::string& sql, pg::Params& params, bool& first, const Param& value);

template <Described M>
void append_values_row(std::string& sql, pg::Params& params, const M& obj, const std::vector<std::size_t>& cols) {
  const ModelInfo& m = model_info<M>();
  sql += "(";
  bool first = true;
  for_each_field<M>([&](const auto& f, std::size_t i) {
    if (std::find(cols.begin(), cols.end(), i) == cols.end()) return;
    const FieldInfo& info = m.fields[i];
    const auto& value = obj.*(f.member);
    if (info.has_server_default() && is_unset(value)) append_default_cell(sql, first);
    else append_param_cell(sql, params, first, encode_member(value, info));
  });
  sql += ")";
}

inline std::string column_list(const ModelInfo& m, const std::vector<std::size_t>& cols) {
  std::string out;
  for (auto i : cols) out += (out.empty() ? "" : ", ") + quote_identifier(m.fields[i].name);
  return out;
}

/// Throws QueryError for a write to a view's model.
void check_writable(const ModelInfo& m, const char* operation);

/// "INSERT INTO t (a, b) VALUES ". A GENERATED ALWAYS identity column is sent only when the
/// object holds its value (a save of a row read back, an explicit key): OVERRIDING SYSTEM
/// VALUE lets the server take it.
std::string insert_head(const ModelInfo& m, const std::vector<std::size_t>& cols);

/// Field indexes for names; throws FieldError on an unknown name.
inline std::vector<std::size_t> field_indexes(const ModelInfo& m, const std::vector<std::string>& names) {
  std::vector<std::size_t> out;
  for (const auto& n : names) {
    if (auto i = m.index_of(n)) out.push_back(*i);
    else m.field(n);  // throws, listing the fields
  }
  return out;
}

/// INSERT … VALUES (…), … ON CONFLICT (conflict) DO UPDATE SET update = EXCLUDED.update
/// [, version + 1 guarded by the expected version] RETURNING every field, (xmax = 0).
/// The columns an upsert updates on conflict (`update`, or when empty every field but the
/// conflict fields, the keys and creation times). Throws ValidationError.
std::vector<std::size_t> upsert_update_fields(const ModelInfo& m, const std::vector<std::size_t>& conflict,
                                              std::vector<std::size_t> update);
/// " ON CONFLICT (…) DO UPDATE SET … [WHERE version matches] RETURNING …, (xmax = 0)".
std::string upsert_tail(const ModelInfo& m, const std::vector<std::size_t>& conflict, const std::vector<std::size_t>& update);

template <Described M>
Statement upsert_statement(const M* objs, std::size_t n, const std::vector<std::size_t>& conflict,
                           std::vector<std::size_t> update) {
  const ModelInfo& m = model_info<M>();
  update = upsert_update_fields(m, conflict, std::move(update));
  std::vector<std::size_t> cols;
  for (std::size_t i = 0; i < m.fields.size(); ++i)
    if (m.fields[i].writable()) cols.push_back(i);
  Statement s;
  s.sql = insert_head(m, cols);
  for (std::size_t k = 0; k < n; ++k) {
    if (k) s.sql += ", ";
    append_values_row(s.sql, s.params, objs[k], cols);
  }
  s.sql += upsert_tail(m, conflict, update);
  return s;
}

}  // namespace detail

/// INSERTs obj and copies the row back (server defaults, identity keys). Fields with a
/// server default are left to the server while they hold their default-constructed value.
/// A version field starts at 1. Throws ValidationError before sending anything invalid.
template <Described M>
boost::asio::awaitable<void> create(M& obj) {
  const ModelInfo& m = model_info<M>();
  if (m.version_field)
    for_each_field<M>([&](const auto& f, std::size_t i) {
      if constexpr (std::is_integral_v<typename std::remove_cvref_t<decltype(f)>::value_type>)
        if (i == *m.version_field) obj.*(f.member) = 1;
    });
  detail::apply_defaults(obj);
  detail::touch_timestamps(obj, true);
  const SignalContext created{.created = true};
  co_await signals<M>::pre_save().send(obj, created);
  co_await signals<M>::pre_create().send(obj, created);
  detail::validate_object(obj);
  const auto cols = detail::insert_columns(&obj, 1);
  Statement s;
  s.sql = detail::insert_head(m, cols);
  if (cols.empty()) s.sql += " DEFAULT VALUES";
  else detail::append_values_row(s.sql, s.params, obj, cols);
  s.sql += " RETURNING " + select_list(m, {});
  pg::Result r = co_await detail::run_statement(m, s, "create");
  detail::hydrate_in_order(r, 0, obj);
  co_await detail::cache_after_write(&obj, 1, true);
  co_await signals<M>::post_create().send(obj, created);
  co_await signals<M>::post_save().send(obj, created);
}

/// Inserts or updates obj by primary key, so an object with a client-side key (a UUID made
/// with Uuid::random()) is inserted, not "updated" into nothing. An object whose
/// server-assigned key is still unset is created. With a version field, a save against a
/// newer row throws OptimisticLockError and changes nothing. Returns true when inserted.
template <Described M>
boost::asio::awaitable<bool> save(M& obj) {
  const ModelInfo& m = model_info<M>();
  bool key_unset = false;
  for_each_field<M>([&](const auto& f, std::size_t i) {
    if (m.fields[i].primary_key && m.fields[i].has_server_default() && detail::is_unset(obj.*(f.member))) key_unset = true;
  });
  if (key_unset) {
    co_await create(obj);
    co_return true;
  }
  detail::touch_timestamps(obj, true);  // auto_now_add only where still unset
  const SignalContext unknown_yet;  // whether it inserts is known only afterwards
  co_await signals<M>::pre_save().send(obj, unknown_yet);
  detail::validate_object(obj);
  const Statement s = detail::upsert_statement(&obj, 1, m.primary_keys, {});
  pg::Result r = co_await detail::run_statement(m, s, "save");
  if (r.rows() == 0) {
    ErrorContext ctx{.model = m.name, .operation = "save", .sql = s.sql, .params = s.params.render(),
                     .hint = "the row was changed by someone else: re-read it and apply the change again"};
    throw OptimisticLockError(fmt::format("{} was modified concurrently (version mismatch); nothing was saved", m.name),
                              std::move(ctx));
  }
  detail::hydrate_in_order(r, 0, obj);
  co_await detail::cache_after_write(&obj, 1, true);
  const SignalContext outcome{.created = r.get<bool>(0, static_cast<int>(m.fields.size()))};
  if (outcome.created) co_await signals<M>::post_create().send(obj, outcome);
  co_await signals<M>::post_save().send(obj, outcome);
  co_return outcome.created;
}

/// DELETEs obj by primary key. Returns false when no such row existed.
template <Described M>
boost::asio::awaitable<bool> remove(M& obj) {
  const ModelInfo& m = model_info<M>();
  const SignalContext context;
  co_await signals<M>::pre_delete().send(obj, context);
  const Statement s = compile_delete(SelectSpec{.model = &m, .where = detail::primary_key_condition(obj)});
  pg::Result r = co_await detail::run_statement(m, s, "delete");
  co_await detail::cache_after_write(&obj, 1, false);
  co_await signals<M>::post_delete().send(obj, context);
  co_return r.affected_rows() > 0;
}

namespace detail {

/// The model's BulkOps (bulk_ops.hpp): the per-model pieces of bulk_create, without a
/// coroutine among them.
template <Described M>
const BulkOps& bulk_ops() {
  static const BulkOps ops{
      .model = &model_info<M>(),
      .stride = sizeof(M),
      .prepare =
          [](void* p) {
            M& o = *static_cast<M*>(p);
            const ModelInfo& m = model_info<M>();
            apply_defaults(o);
            touch_timestamps(o, true);
            if (m.version_field)
              for_each_field<M>([&](const auto& f, std::size_t i) {
                if constexpr (std::is_integral_v<typename std::remove_cvref_t<decltype(f)>::value_type>)
                  if (i == *m.version_field) o.*(f.member) = 1;
              });
            validate_object(o);
          },
      .count_unset =
          [](const void* p, std::size_t n, std::vector<std::size_t>& unset) {
            const M* objs = static_cast<const M*>(p);
            const ModelInfo& m = model_info<M>();
            for_each_field<M>([&](const auto& f, std::size_t i) {
              if (m.fields[i].has_server_default())
                for (std::size_t k = 0; k < n; ++k) unset[i] += is_unset(objs[k].*(f.member)) ? 1u : 0u;
            });
          },
      .copy_encoding =
          [](std::size_t field, const CopyColumn& column) {
            CopyEncoding e = CopyEncoding::unsupported;
            for_each_field<M>([&](const auto& f, std::size_t i) {
              if (i == field) e = copy_encoding<typename std::remove_cvref_t<decltype(f)>::value_type>(column);
            });
            return e;
          },
      .append_copy_row =
          [](std::string& buf, const void* p, const std::vector<bool>& included, const std::vector<CopyEncoding>& encoding) {
            const M& o = *static_cast<const M*>(p);
            for_each_field<M>([&](const auto& f, std::size_t i) {
              if (included[i]) append_copy_value(buf, o.*(f.member), encoding[i]);
            });
          },
      .take_defaults =
          [](void* p, const pg::Result& r, int row, const std::vector<int>& columns) {
            M& o = *static_cast<M*>(p);
            M fresh{};
            hydrate(r, row, fresh, columns);
            for_each_field<M>([&](const auto& f, std::size_t i) {
              if (columns[i] >= 0 && is_unset(o.*(f.member))) o.*(f.member) = fresh.*(f.member);
            });
          },
      .insert_columns = [](const void* p, std::size_t n) { return insert_columns(static_cast<const M*>(p), n); },
      .append_values_row =
          [](std::string& sql, pg::Params& params, const void* p, const std::vector<std::size_t>& cols) {
            append_values_row(sql, params, *static_cast<const M*>(p), cols);
          },
      .hydrate = [](const pg::Result& r, int row, void* p, const std::vector<int>& columns) {
        hydrate(r, row, *static_cast<M*>(p), columns);
      },
      .cache_after_write = [](const void* p, std::size_t n, bool store) {
        return cache_after_write(static_cast<const M*>(p), n, store);
      },
  };
  return ops;
}

}  // namespace detail

/// INSERTs many objects in one transaction and returns how many. From
/// `options.copy_threshold` objects on it uses binary COPY when every column allows it
/// (bulk_copy.hpp), else multi-row INSERTs chunked below the 65,535-parameter limit. With
/// `options.refresh` (the default) every object gets its server-assigned values back
/// (identity keys, database defaults).
template <Described M>
boost::asio::awaitable<std::size_t> bulk_create(std::vector<M>& objs, BulkCreateOptions options = {}) {
  // The work is a library coroutine, compiled once (bulk_ops.hpp); objs must outlive the await.
  return detail::bulk_create_any(detail::bulk_ops<M>(), objs.data(), objs.size(), options);
}

/// INSERT … ON CONFLICT (conflict_fields) DO UPDATE SET update_fields (default: every other
/// field) RETURNING; obj is refreshed from the row. Returns true when it inserted.
template <Described M>
boost::asio::awaitable<bool> upsert(M& obj, std::vector<std::string> conflict_fields,
                                    std::vector<std::string> update_fields = {}) {
  const ModelInfo& m = model_info<M>();
  detail::touch_timestamps(obj, true);
  detail::validate_object(obj);
  const Statement s = detail::upsert_statement(&obj, 1, detail::field_indexes(m, conflict_fields),
                                               detail::field_indexes(m, update_fields));
  pg::Result r = co_await detail::run_statement(m, s, "upsert");
  if (r.rows() == 0)
    throw OptimisticLockError(fmt::format("{} was modified concurrently (version mismatch); nothing was saved", m.name),
                              ErrorContext{.model = m.name, .operation = "upsert", .sql = s.sql});
  detail::hydrate_in_order(r, 0, obj);
  co_await detail::cache_after_write(&obj, 1, true);
  co_return r.get<bool>(0, static_cast<int>(m.fields.size()));
}

/// upsert() for many objects, chunked below the parameter limit, in one transaction.
/// Returns how many rows were written; objs are refreshed in order.
template <Described M>
boost::asio::awaitable<std::size_t> bulk_upsert(std::vector<M>& objs, std::vector<std::string> conflict_fields,
                                                std::vector<std::string> update_fields = {}) {
  const ModelInfo& m = model_info<M>();
  if (objs.empty()) co_return 0;
  for (auto& o : objs) {
    detail::touch_timestamps(o, true);
    detail::validate_object(o);
  }
  const auto conflict = detail::field_indexes(m, conflict_fields);
  const auto update = detail::field_indexes(m, update_fields);
  const std::size_t per_chunk = std::max<std::size_t>(1, pg::Params::max_params / m.fields.size());
  std::vector<Statement> statements;
  for (std::size_t start = 0; start < objs.size(); start += per_chunk)
    statements.push_back(detail::upsert_statement(objs.data() + start, std::min(per_chunk, objs.size() - start),
                                                  conflict, update));
  auto results = co_await detail::run_in_transaction(m, statements, "bulk_upsert");
  const auto columns = detail::column_map(m, {});
  std::size_t k = 0;
  for (const auto& r : results)
    for (int row = 0; row < r.rows() && k < objs.size(); ++row) detail::hydrate(r, row, objs[k++], columns);
  co_await detail::cache_after_write(objs.data(), k, false);  // bulk: evict, never copy every row
  co_return k;
}

namespace detail {
/// The type to cast an untyped VALUES parameter to; enum type names are quoted.
inline std::string cast_type(const FieldInfo& f) {
  if (f.kind == ValueKind::enumeration) return quote_identifier(f.enum_type);
  if (f.kind == ValueKind::array && f.element_kind == ValueKind::enumeration) return quote_identifier(f.enum_type) + "[]";
  return f.sql_type;
}
}  // namespace detail

/// UPDATEs `fields` of every object, matched by primary key, with one
/// UPDATE … FROM (VALUES …) per chunk (chunks below the parameter limit, in one transaction).
/// A version field is incremented but not checked. Returns the rows updated; unknown or
/// key fields throw before any SQL.
template <Described M>
boost::asio::awaitable<std::int64_t> bulk_update(const std::vector<M>& objs, std::vector<std::string> fields) {
  const ModelInfo& m = model_info<M>();
  if (objs.empty()) co_return 0;
  const auto set = detail::field_indexes(m, fields);
  if (set.empty()) throw ValidationError(fmt::format("{}: bulk_update needs fields to update", m.name), ErrorContext{.model = m.name});
  for (auto i : set)
    if (m.fields[i].primary_key)
      throw ValidationError(fmt::format("{}.{} is a primary key and cannot be bulk-updated", m.name, m.fields[i].name),
                            ErrorContext{.model = m.name, .field = m.fields[i].name});
  for (const auto& o : objs) detail::validate_object(o);
  std::vector<std::size_t> cols = m.primary_keys;
  cols.insert(cols.end(), set.begin(), set.end());
  const std::string table = m.qualified_table();
  std::string head = "UPDATE " + table + " SET ";
  for (std::size_t k = 0; k < set.size(); ++k)
    head += (k ? ", " : "") + quote_identifier(m.fields[set[k]].name) + " = matrx_v." + quote_identifier(m.fields[set[k]].name);
  if (m.version_field && std::find(set.begin(), set.end(), *m.version_field) == set.end()) {
    const std::string v = quote_identifier(m.fields[*m.version_field].name);
    head += ", " + v + " = " + table + "." + v + " + 1";
  }
  head += " FROM (VALUES ";
  std::string tail = ") AS matrx_v (" + detail::column_list(m, cols) + ") WHERE ";
  for (std::size_t k = 0; k < m.primary_keys.size(); ++k) {
    const std::string key = quote_identifier(m.fields[m.primary_keys[k]].name);
    tail += (k ? " AND " : "") + table + "." + key + " = matrx_v." + key;
  }
  const std::size_t per_chunk = std::max<std::size_t>(1, pg::Params::max_params / cols.size());
  std::vector<Statement> statements;
  for (std::size_t start = 0; start < objs.size(); start += per_chunk) {
    Statement st;
    st.sql = head;
    const std::size_t end = std::min(objs.size(), start + per_chunk);
    for (std::size_t k = start; k < end; ++k) {
      st.sql += k == start ? "(" : ", (";
      bool first = true;
      for (auto i : cols) {
        for_each_field<M>([&](const auto& f, std::size_t fi) {
          if (fi != i) return;
          const Param p = detail::encode_member(objs[k].*(f.member), m.fields[fi]);
          if (p.null) st.params.add_null(p.oid);
          else st.params.add_encoded(p.bytes, p.oid, p.binary);
        });
        st.sql += fmt::format("{}${}::{}", first ? "" : ", ", st.params.size(), detail::cast_type(m.fields[i]));
        first = false;
      }
      st.sql += ")";
    }
    st.sql += tail;
    statements.push_back(std::move(st));
  }
  auto results = co_await detail::run_in_transaction(m, statements, "bulk_update");
  std::int64_t updated = 0;
  for (const auto& r : results) updated += r.affected_rows();
  co_await detail::cache_after_write(objs.data(), objs.size(), false);
  co_return updated;
}

/// DELETEs the objects by primary key in one statement; returns how many rows were deleted.
template <Described M>
boost::asio::awaitable<std::int64_t> bulk_delete(const std::vector<M>& objs) {
  const ModelInfo& m = model_info<M>();
  if (objs.empty()) co_return 0;
  query::NodePtr where;
  if (m.primary_keys.size() == 1) {
    // key = ANY($1): one array parameter, whatever the number of objects.
    for_each_field<M>([&](const auto& f, std::size_t i) {
      if (i != m.primary_keys[0]) return;
      using T = typename std::remove_cvref_t<decltype(f)>::value_type;
      std::vector<T> keys;
      keys.reserve(objs.size());
      for (const auto& o : objs) keys.push_back(o.*(f.member));
      Param p;
      p.oid = pg::Codec<std::vector<T>>::oid;
      p.binary = p.oid != 0;
      if (p.binary) pg::Codec<std::vector<T>>::to_binary(keys, p.bytes);
      else pg::Codec<std::vector<T>>::to_text(keys, p.bytes);
      where = query::make_leaf(query::Op::in, i, {std::move(p)});
    });
  } else {
    for (const auto& o : objs) {
      auto one = detail::primary_key_condition(o);
      where = where ? query::make_logical(query::Op::or_, where, one) : one;
    }
  }
  const Statement s = compile_delete(SelectSpec{.model = &m, .where = where});
  pg::Result r = co_await detail::run_statement(m, s, "bulk_delete");
  co_await detail::cache_after_write(objs.data(), objs.size(), false);
  co_return r.affected_rows();
}

// The original's model-level helpers, as thin wrappers over QuerySet.
/// Rows matching the filters: orm::count<User>(Q("age__gte", 18)).
template <Described M>
boost::asio::awaitable<std::int64_t> count(const Q& filters) {
  co_return co_await objects<M>().filter(filters).count();
}
template <Described M>
boost::asio::awaitable<bool> exists(const Q& filters) {
  co_return co_await objects<M>().filter(filters).exists();
}
/// UPDATE the matching rows: {rows_affected, rows}. update_where<User>(Q("age__lt", 18), "is_active", false).
template <Described M>
boost::asio::awaitable<UpdateResult<M>> update_where(const Q& filters, std::string field, Value value) {
  co_return co_await objects<M>().filter(filters).update(std::move(field), std::move(value));
}
template <Described M>
boost::asio::awaitable<UpdateResult<M>> update_where(const Q& filters, std::vector<FieldUpdate> values) {
  co_return co_await objects<M>().filter(filters).update(std::move(values));
}
/// DELETE the matching rows; returns how many.
template <Described M>
boost::asio::awaitable<std::int64_t> delete_where(const Q& filters) {
  co_return co_await objects<M>().filter(filters).remove();
}

namespace detail {
/// get() through the StateManager: a primary-key filter is answered from the cache while
/// fresh; what the database returns is cached (outside transactions).
template <Described M>
boost::asio::awaitable<std::optional<M>> cached_get(query::NodePtr where, bool use_cache, bool or_none) {
  const ModelInfo& m = model_info<M>();
  const bool in_tx = current_transaction(co_await boost::asio::this_coro::executor) != nullptr;
  std::optional<std::string> key;
  if (!in_tx) key = cache_key(*where, m);
  if (use_cache && key)
    if (auto hit = StateManager<M>::find_copy(*key)) co_return hit;
  // The query of QuerySet::get, written out: one coroutine per model instead of three.
  const Statement s = compile_get(SelectSpec{.model = &m, .where = std::move(where)});
  pg::Result r = co_await run_statement(m, s, "get");
  if (!expect_single_row(r, m, s, or_none)) co_return std::nullopt;
  std::optional<M> found(std::in_place, hydrate_row<M>(r, 0));
  if (!in_tx) StateManager<M>::cache(*found);
  co_return found;
}
}  // namespace detail

/// Shorthands: orm::get<User>(orm::col<&User::id> == 5), orm::get<User>(Q("username", "bob")).
/// With a primary-key filter, a fresh cached copy answers without a query unless
/// `use_cache` is false; the result is cached either way (see StateManager).
template <Described M>
boost::asio::awaitable<M> get(const Where<M>& where, bool use_cache = true) {
  if (use_cache && !detail::current_transaction(co_await boost::asio::this_coro::executor))
    if (const auto key = detail::cache_key(*where.node(), model_info<M>()))
      if (auto hit = StateManager<M>::find_copy(*key)) co_return std::move(*hit);  // the hit path, one frame
  auto found = co_await detail::cached_get<M>(where.node(), false, false);
  co_return std::move(*found);
}
template <Described M>
boost::asio::awaitable<M> get(const Q& q, bool use_cache = true) {
  auto found = co_await detail::cached_get<M>(q.resolve(model_info<M>()), use_cache, false);
  co_return std::move(*found);
}
template <Described M>
boost::asio::awaitable<std::optional<M>> get_or_none(const Where<M>& where, bool use_cache = true) {
  co_return co_await detail::cached_get<M>(where.node(), use_cache, true);
}
template <Described M>
boost::asio::awaitable<std::optional<M>> get_or_none(const Q& q, bool use_cache = true) {
  co_return co_await detail::cached_get<M>(q.resolve(model_info<M>()), use_cache, true);
}

}  // namespace matrx::orm
