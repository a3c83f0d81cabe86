// QuerySet<M>: an immutable query on model M. Chained methods return a new QuerySet;
// terminal operations return boost::asio::awaitable and run on the model's database.
//
//   auto adults = orm::objects<User>().filter(orm::col<&User::age> >= 18).order_by("-age").limit(10);
//   std::vector<User> rows = co_await adults.all();
//
// g++ 12: a braced list inside a co_await expression does not compile (TOOLCHAIN.md);
// build the QuerySet first, then co_await its terminal operation.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <algorithm>
#include <cctype>
#include <memory>
#include <tuple>
#include <type_traits>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/model.hpp"
#include "matrx/orm/model/execute.hpp"
#include "matrx/orm/model/hydrate.hpp"
#include "matrx/orm/model/state_manager.hpp"
#include "matrx/orm/model/update.hpp"
#include "matrx/orm/query/column.hpp"
#include "matrx/orm/query/compiler.hpp"
#include "matrx/orm/query/expression.hpp"

namespace matrx::orm {

/// A row of an annotated query: the model object plus the annotation values, read by alias
/// with their C++ type (get<std::int64_t>("post_count")) or all together as JSON.
template <Described M>
class Annotated {
 public:
  Annotated(M row_object, pg::Result result, int row, std::vector<std::string> aliases)
      : object(std::move(row_object)), result_(std::move(result)), row_(row), aliases_(std::move(aliases)) {}
  M object;

  template <class T>
  T get(std::string_view alias) const { return result_.get<T>(row_, column(alias)); }
  bool is_null(std::string_view alias) const { return result_.is_null(row_, column(alias)); }
  /// {"alias": value, …}: integers and floats as numbers, numeric as an exact string.
  nlohmann::json extras() const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& a : aliases_) out[a] = detail::json_of_column(result_, row_, result_.column_index(a));
    return out;
  }

 private:
  int column(std::string_view alias) const {
    if (std::find(aliases_.begin(), aliases_.end(), alias) == aliases_.end())
      throw FieldError(fmt::format("'{}' is not an annotation of this query", alias),
                       ErrorContext{.model = model_info<M>().name, .field = std::string(alias)});
    return result_.column_index(alias);
  }
  pg::Result result_;
  int row_ = 0;
  std::vector<std::string> aliases_;
};

template <Described M>
class PartialQuerySet;

/// Rows loaded with only some fields (QuerySet::only / defer). Every row is an M; loaded()
/// tells which fields hold database values — the others are default-constructed, which is
/// not the same as NULL.
template <Described M>
struct Partial {
  std::vector<M> rows{};
  std::vector<bool> loaded_fields{};  ///< by field index

  bool loaded(std::string_view field) const {
    const ModelInfo& m = model_info<M>();
    if (auto i = m.index_of(field)) return loaded_fields[*i];
    m.field(field);  // throws FieldError listing the fields
    return false;
  }
  template <auto Member>
    requires std::is_same_v<typename Column<Member>::Model, M>
  bool loaded() const { return loaded_fields[Column<Member>::index()]; }
};

template <Described M>
class QuerySet {
 public:
  QuerySet() { spec_.model = &model_info<M>(); }

  // ---- refining (each returns a new QuerySet) ---------------------------------------------
  QuerySet filter(const Where<M>& w) const { return with_where(w.node()); }
  QuerySet filter(const Q& q) const { return with_where(checked_where(q.resolve(*spec_.model, &spec_.annotations), "filter")); }
  /// filter(orm::F("balance") > orm::F("credit_limit")), filter(orm::Exists(posts)).
  QuerySet filter(const Expr& condition) const { return filter(Q(condition)); }
  QuerySet filter(std::initializer_list<Lookup> lookups) const { return filter(Q(Lookups(lookups))); }
  /// filter("age__gt", 18): one lookup, no braces (usable inside co_await with g++ 12).
  QuerySet filter(std::string key, Value value) const { return filter(Q(std::move(key), std::move(value))); }
  QuerySet exclude(const Where<M>& w) const { return with_where(query::make_not(w.node())); }
  QuerySet exclude(const Q& q) const {
    return with_where(query::make_not(checked_where(q.resolve(*spec_.model, &spec_.annotations), "exclude")));
  }
  QuerySet exclude(const Expr& condition) const { return exclude(Q(condition)); }
  QuerySet exclude(std::initializer_list<Lookup> lookups) const { return exclude(Q(Lookups(lookups))); }
  QuerySet exclude(std::string key, Value value) const { return exclude(Q(std::move(key), std::move(value))); }

  /// order_by("-age", "username"): "-" for descending; unknown names throw FieldError.
  template <class... Names>
    requires(sizeof...(Names) > 0 && (std::is_convertible_v<const Names&, std::string_view> && ...))
  QuerySet order_by(const Names&... names) const {
    QuerySet c = *this;
    c.spec_.order.clear();
    (c.spec_.order.push_back(c.order_term(std::string_view(names))), ...);
    return c;
  }
  /// order_by(orm::col<&User::age>.desc(), orm::col<&User::id>.asc())
  template <class... Terms>
    requires(sizeof...(Terms) > 0 && (std::is_same_v<Terms, OrderTerm> && ...))
  QuerySet order_by(const Terms&... terms) const {
    QuerySet c = *this;
    c.spec_.order = {terms...};
    return c;
  }
  QuerySet limit(std::int64_t n) const {
    if (n < 0) throw QueryError("limit must not be negative", ErrorContext{.model = spec_.model->name});
    QuerySet c = *this;
    c.spec_.limit = n;
    return c;
  }
  QuerySet offset(std::int64_t n) const {
    if (n < 0) throw QueryError("offset must not be negative", ErrorContext{.model = spec_.model->name});
    QuerySet c = *this;
    c.spec_.offset = n;
    return c;
  }
  /// Rows [begin, end) of the result, like Python's qs[begin:end].
  QuerySet slice(std::int64_t begin, std::int64_t end) const {
    if (begin < 0 || end < begin)
      throw QueryError(fmt::format("invalid slice [{}:{}]", begin, end), ErrorContext{.model = spec_.model->name});
    return offset(begin).limit(end - begin);
  }
  QuerySet distinct() const {
    QuerySet c = *this;
    c.spec_.distinct = true;
    return c;
  }
  template <class... Names>
    requires(sizeof...(Names) > 0 && (std::is_convertible_v<const Names&, std::string_view> && ...))
  QuerySet distinct_on(const Names&... names) const {
    QuerySet c = *this;
    c.spec_.distinct_on.clear();
    (c.spec_.distinct_on.push_back(c.field_index_checked(std::string_view(names))), ...);
    return c;
  }
  QuerySet select_for_update(bool nowait = false, bool skip_locked = false) const {
    QuerySet c = *this;
    c.spec_.lock = RowLock::for_update;
    c.spec_.nowait = nowait;
    c.spec_.skip_locked = skip_locked;
    return c;
  }
  /// Loads only these fields (the primary key always); see Partial. Call last.
  template <class... Names>
    requires(sizeof...(Names) > 0 && (std::is_convertible_v<const Names&, std::string_view> && ...))
  PartialQuerySet<M> only(const Names&... names) const {
    std::vector<bool> keep(spec_.model->fields.size(), false);
    for (auto k : spec_.model->primary_keys) keep[k] = true;
    (void(keep[field_index_checked(std::string_view(names))] = true), ...);
    return PartialQuerySet<M>(*this, std::move(keep));
  }
  /// Loads every field but these (the primary key cannot be deferred); see Partial. Call last.
  template <class... Names>
    requires(sizeof...(Names) > 0 && (std::is_convertible_v<const Names&, std::string_view> && ...))
  PartialQuerySet<M> defer(const Names&... names) const {
    std::vector<bool> keep(spec_.model->fields.size(), true);
    (void(keep[field_index_checked(std::string_view(names))] = false), ...);
    for (auto k : spec_.model->primary_keys)
      if (!keep[k])
        throw FieldError(fmt::format("{}.{} is a primary key and cannot be deferred", spec_.model->name,
                                     spec_.model->fields[k].name), ErrorContext{.model = spec_.model->name});
    return PartialQuerySet<M>(*this, std::move(keep));
  }

  /// pgvector nearest-neighbour order: rows closest to `probe` first (before any other
  /// order_by), rows whose vector is NULL left out unless `null_guard` is false. The probe's
  /// length is checked against the field's dimensions.
  template <auto Member>
    requires std::is_same_v<typename Column<Member>::Model, M> && std::is_same_v<typename Column<Member>::T, Vector>
  QuerySet nearest(Column<Member> column, const Vector& probe, VectorMetric metric = VectorMetric::cosine,
                   bool null_guard = true) const {
    const FieldInfo& f = column.info();
    detail::validate_member(probe, f, *spec_.model);
    QuerySet c = null_guard && Column<Member>::nullable ? with_where(query::make_leaf(query::Op::is_not_null, column.index()))
                                                        : *this;
    c.spec_.nearest = NearestSpec{.field = column.index(), .vector = detail::encode_typed(probe, f), .metric = metric};
    return c;
  }
  /// all() with each row's distance to the nearest() probe.
  boost::asio::awaitable<std::vector<std::pair<M, double>>> all_with_distance() const {
    if (!spec_.nearest) throw QueryError("all_with_distance() needs nearest()", ErrorContext{.model = spec_.model->name});
    SelectSpec s = spec_;
    s.nearest->select_distance = true;
    const Statement st = compile_select(s);
    pg::Result r = co_await detail::run_statement(*spec_.model, st, "nearest", database_, timeout_);
    const auto columns = detail::column_map(*spec_.model, s.columns);
    const int distance_column = r.columns() - 1;
    std::vector<std::pair<M, double>> out(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) {
      detail::hydrate(r, row, out[static_cast<std::size_t>(row)].first, columns);
      out[static_cast<std::size_t>(row)].second = r.get<double>(row, distance_column);
    }
    co_return out;
  }

  /// Adds `expression AS "alias"` to the SELECT list. Field names in the expression are
  /// checked now; an aggregate groups the rows by primary key (or by group_by()). The alias
  /// may then be used in order_by, having, filter (non-aggregates), values and
  /// all_annotated().
  QuerySet annotate(std::string alias, const Expr& expression) const {
    const ModelInfo& m = *spec_.model;
    if (alias.empty() || m.find(alias))
      throw QueryError(fmt::format("annotation name '{}' is empty or a field of {}", alias, m.name),
                       ErrorContext{.model = m.name, .operation = "annotate"});
    for (const auto& a : spec_.annotations)
      if (a.alias == alias)
        throw QueryError(fmt::format("annotation '{}' is already defined", alias), ErrorContext{.model = m.name, .operation = "annotate"});
    QuerySet c = *this;
    c.spec_.annotations.push_back(query::Annotation{std::move(alias), query::resolve(expression.node(), m, &spec_.annotations)});
    return c;
  }
  /// GROUP BY these fields; the query then selects them and the annotations, and returns
  /// rows through values() (a grouped row is not a model object).
  template <class... Names>
    requires(sizeof...(Names) > 0 && (std::is_convertible_v<const Names&, std::string_view> && ...))
  QuerySet group_by(const Names&... names) const {
    QuerySet c = *this;
    c.spec_.group_by = std::vector<std::size_t>{field_index_checked(std::string_view(names))...};
    return c;
  }
  /// HAVING: lookups on fields and annotation aliases (an aggregate alias is rendered as its
  /// expression, since PostgreSQL does not accept aliases in HAVING).
  QuerySet having(const Q& q) const {
    QuerySet c = *this;
    auto node = q.resolve(*spec_.model, &spec_.annotations);
    c.spec_.having = c.spec_.having ? query::make_logical(query::Op::and_, c.spec_.having, std::move(node)) : std::move(node);
    return c;
  }
  QuerySet having(std::string key, Value value) const { return having(Q(std::move(key), std::move(value))); }
  QuerySet having(const Expr& condition) const { return having(Q(condition)); }

  /// WITH "name" AS (query) before this query's SELECT; refer to it with CteValues(name, column)
  /// in an `in` lookup.
  template <Described Other>
  QuerySet with_cte(std::string name, const QuerySet<Other>& query) const {
    QuerySet c = *this;
    c.spec_.ctes.push_back(Cte{.name = std::move(name), .query = std::make_shared<const SelectSpec>(query.spec())});
    return c;
  }
  /// WITH [RECURSIVE] "name" AS (sql): the SQL's own $1…$n are bound to `params` (the
  /// placeholders are renumbered into the whole statement). The SQL text is yours: build it
  /// from constants, never from user input.
  QuerySet with_cte(std::string name, std::string sql, std::vector<Value> params = {}, bool recursive = false) const {
    QuerySet c = *this;
    Cte cte{.name = std::move(name), .sql = std::move(sql), .recursive = recursive};
    for (const auto& v : params) cte.params.push_back(detail::encode_untyped(v));
    c.spec_.ctes.push_back(std::move(cte));
    return c;
  }

  /// This query as a one-column subquery: (SELECT "field" FROM … WHERE …). Use it in a lookup
  /// (Q("author_id__in", users.as_subquery("id"))) or an annotation; OuterRef() inside it
  /// refers to the enclosing query's model.
  Expr as_subquery(std::string_view field) const { return as_subquery(F(std::string(field))); }
  /// (SELECT expression FROM … WHERE …), e.g. as_subquery(Count()) for a correlated count.
  Expr as_subquery(const Expr& expression) const {
    auto inner = std::make_shared<SelectSpec>(spec_);
    inner->projection = query::resolve(expression.node(), *spec_.model, &spec_.annotations);
    auto e = std::make_shared<query::Expr>();
    e->kind = query::ExprKind::subquery;
    e->query = std::move(inner);
    return Expr(std::move(e));
  }

  /// The order reversed (descending by primary key when there was none).
  QuerySet reverse() const {
    QuerySet c = *this;
    if (c.spec_.order.empty())
      for (auto k : spec_.model->primary_keys) c.spec_.order.push_back(OrderTerm{k, false});
    for (auto& t : c.spec_.order) t.descending = !t.descending;
    return c;
  }

  /// Runs on another registered database than the model's.
  QuerySet using_database(std::string name) const {
    QuerySet c = *this;
    c.database_ = std::move(name);
    return c;
  }
  /// A deadline for each statement this query runs, replacing the database's
  /// statement_timeout: past it the call throws StatementTimeoutError and the statement is
  /// cancelled on the server (inside a transaction, that transaction can then only roll back).
  /// A stream (for_each_chunk) applies it to each FETCH.
  QuerySet timeout(std::chrono::milliseconds limit) const {
    if (limit.count() <= 0)
      throw QueryError("timeout() needs a positive duration", ErrorContext{.model = spec_.model->name, .operation = "timeout"});
    QuerySet c = *this;
    c.timeout_ = limit;
    return c;
  }

  // ---- terminal operations ----------------------------------------------------------------
  boost::asio::awaitable<std::vector<M>> all() const {
    check_rows_are_objects("all");
    const Statement s = compile_select(spec_);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "all", database_, timeout_);
    co_return detail::hydrate_all<M>(r, spec_.columns);
  }
  /// Streams the rows through a server-side cursor: `on_chunk(std::vector<M>&)` gets at most
  /// `chunk_rows` objects at a time (one buffer, reused), so a result of any size needs
  /// bounded memory. Runs in the caller's transaction, or in one of its own. Returns the rows.
  template <class OnChunk>
  boost::asio::awaitable<std::uint64_t> for_each_chunk(std::size_t chunk_rows, OnChunk on_chunk) const {
    check_rows_are_objects("for_each_chunk");
    const Statement s = compile_select(spec_);
    std::vector<M> buffer;
    const auto columns = detail::column_map(*spec_.model, spec_.columns);
    const std::function<void(const pg::Result&)> each = [&](const pg::Result& r) {
      buffer.resize(static_cast<std::size_t>(r.rows()));
      for (int row = 0; row < r.rows(); ++row) detail::hydrate(r, row, buffer[static_cast<std::size_t>(row)], columns);
      on_chunk(buffer);
    };
    co_return co_await detail::stream_statement(*spec_.model, s, chunk_rows, each, "for_each_chunk", database_, timeout_);
  }
  /// The first row (in the query's order), or nothing.
  boost::asio::awaitable<std::optional<M>> first() const {
    const QuerySet one = limit(1);
    auto rows = co_await one.all();
    if (rows.empty()) co_return std::nullopt;
    co_return std::move(rows.front());
  }
  /// The last row in the query's order (by primary key when unordered), or nothing.
  boost::asio::awaitable<std::optional<M>> last() const {
    const QuerySet reversed = reverse();  // a coroutine of a temporary would outlive it
    co_return co_await reversed.first();
  }
  /// Rows with their annotations (annotate()).
  boost::asio::awaitable<std::vector<Annotated<M>>> all_annotated() const {
    check_rows_are_objects("all_annotated");
    const Statement s = compile_select(spec_);
    pg::Result r = co_await detail::run_statement_text(*spec_.model, s, "all_annotated", database_, timeout_);
    std::vector<std::string> aliases;
    for (const auto& a : spec_.annotations) aliases.push_back(a.alias);
    const auto columns = detail::column_map(*spec_.model, spec_.columns);
    std::vector<Annotated<M>> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) {
      M object{};
      detail::hydrate(r, row, object, columns);
      out.emplace_back(std::move(object), r, row, aliases);
    }
    co_return out;
  }
  /// Exactly one row: DoesNotExist or MultipleObjectsReturned otherwise (reads at most two).
  boost::asio::awaitable<M> get() const {
    check_rows_are_objects("get");
    const Statement s = compile_get(spec_);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "get", database_, timeout_);
    detail::expect_single_row(r, *spec_.model, s, false);
    co_return detail::hydrate_row<M>(r, 0, spec_.columns);
  }
  /// Like get(), but "not found" is an empty optional; every other error propagates.
  boost::asio::awaitable<std::optional<M>> get_or_none() const {
    check_rows_are_objects("get_or_none");
    const Statement s = compile_get(spec_);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "get", database_, timeout_);
    if (!detail::expect_single_row(r, *spec_.model, s, true)) co_return std::nullopt;
    co_return detail::hydrate_row<M>(r, 0, spec_.columns);
  }
  boost::asio::awaitable<std::int64_t> count() const {
    const Statement s = compile_count(spec_);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "count", database_, timeout_);
    co_return r.get<std::int64_t>(0, 0);
  }
  boost::asio::awaitable<bool> exists() const {
    const Statement s = compile_exists(spec_);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "exists", database_, timeout_);
    co_return r.get<bool>(0, 0);
  }
  /// UPDATE the matching rows; returns the count and the updated rows:
  /// update("age", 31), update("balance", F("balance") - 100). Several fields: a vector of
  /// FieldUpdate, or named FieldUpdate objects (g++ 12 miscompiles braced temporaries inside
  /// co_await, see docs/querying.md).
  boost::asio::awaitable<UpdateResult<M>> update(std::string field, Value value) const {
    return update(FieldUpdate(std::move(field), std::move(value)));
  }
  boost::asio::awaitable<UpdateResult<M>> update(std::string field, Expr value) const {
    return update(FieldUpdate(std::move(field), std::move(value)));
  }
  boost::asio::awaitable<UpdateResult<M>> update(FieldUpdate a) const { return update(std::vector<FieldUpdate>{std::move(a)}); }
  boost::asio::awaitable<UpdateResult<M>> update(FieldUpdate a, FieldUpdate b) const {
    return update(std::vector<FieldUpdate>{std::move(a), std::move(b)});
  }
  boost::asio::awaitable<UpdateResult<M>> update(FieldUpdate a, FieldUpdate b, FieldUpdate c) const {
    return update(std::vector<FieldUpdate>{std::move(a), std::move(b), std::move(c)});
  }
  boost::asio::awaitable<UpdateResult<M>> update(std::vector<FieldUpdate> values) const {
    const Statement s = compile_update(spec_, assignments(values), true);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "update", database_, timeout_);
    UpdateResult<M> result{r.affected_rows(), detail::hydrate_all<M>(r)};
    co_await detail::cache_after_write(result.rows.data(), result.rows.size(), false);  // evict: may be many rows
    co_return result;
  }
  /// UPDATE without reading the rows back (no RETURNING, nothing decoded); returns how many
  /// rows changed. The cheaper update() when the rows are not needed. A primary-key filter
  /// evicts that one cached object; any other filter empties the model's cache.
  boost::asio::awaitable<std::int64_t> update_count(std::string field, Value value) const {
    return update_count(std::vector<FieldUpdate>{FieldUpdate(std::move(field), std::move(value))});
  }
  boost::asio::awaitable<std::int64_t> update_count(std::string field, Expr value) const {
    return update_count(std::vector<FieldUpdate>{FieldUpdate(std::move(field), std::move(value))});
  }
  boost::asio::awaitable<std::int64_t> update_count(std::vector<FieldUpdate> values) const {
    const Statement s = compile_update(spec_, assignments(values), false);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "update", database_, timeout_);
    co_await detail::cache_after_filtered_write<M>(spec_.where);
    co_return r.affected_rows();
  }
  /// DELETE the matching rows; returns how many were deleted.
  boost::asio::awaitable<std::int64_t> remove() const {
    const Statement s = compile_delete(spec_);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "delete", database_, timeout_);
    co_await detail::cache_after_unknown_write<M>();
    co_return r.affected_rows();
  }

  /// Chosen columns as typed tuples: values_list<&User::id, &User::username>().
  template <auto... Members>
    requires(sizeof...(Members) > 0 && (std::is_same_v<typename Column<Members>::Model, M> && ...))
  boost::asio::awaitable<std::vector<std::tuple<typename Column<Members>::Stored...>>> values_list() const {
    SelectSpec s = spec_;
    s.columns = {Column<Members>::index()...};
    const Statement st = compile_select(s);
    pg::Result r = co_await detail::run_statement(*spec_.model, st, "values_list", database_, timeout_);
    std::vector<std::tuple<typename Column<Members>::Stored...>> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row)
      out.push_back(read_tuple<typename Column<Members>::Stored...>(r, row, std::index_sequence_for<decltype(Members)...>{}));
    co_return out;
  }
  /// One column as a flat list: values_flat<&User::id>().
  template <auto Member>
    requires std::is_same_v<typename Column<Member>::Model, M>
  boost::asio::awaitable<std::vector<typename Column<Member>::Stored>> values_flat() const {
    SelectSpec s = spec_;
    s.columns = {Column<Member>::index()};
    const Statement st = compile_select(s);
    pg::Result r = co_await detail::run_statement(*spec_.model, st, "values_flat", database_, timeout_);
    std::vector<typename Column<Member>::Stored> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) out.push_back(r.get<typename Column<Member>::Stored>(row, 0));
    co_return out;
  }
  /// Rows as JSON objects of the named fields and annotations (all fields and annotations
  /// when none are named; the group_by fields and annotations of a grouped query); unknown
  /// names throw FieldError. Values follow detail::json_of (numeric stays an exact string).
  template <class... Names>
    requires(std::is_convertible_v<const Names&, std::string_view> && ...)
  boost::asio::awaitable<std::vector<nlohmann::json>> values(const Names&... names) const {
    const ModelInfo& m = *spec_.model;
    std::vector<std::string> wanted{std::string(std::string_view(names))...};
    SelectSpec s = spec_;
    std::vector<std::size_t> fields;
    std::vector<std::string> aliases;
    for (const auto& n : wanted) {
      if (has_annotation(n)) aliases.push_back(n);
      else fields.push_back(field_index_checked(n));
    }
    if (wanted.empty()) {
      if (s.group_by) fields = *s.group_by;
      else for (std::size_t i = 0; i < m.fields.size(); ++i) fields.push_back(i);
      for (const auto& a : s.annotations) aliases.push_back(a.alias);
    }
    if (s.group_by) {
      for (auto f : fields)
        if (std::find(s.group_by->begin(), s.group_by->end(), f) == s.group_by->end())
          throw QueryError(fmt::format("values(): '{}' is not a group_by field", m.fields[f].name),
                           ErrorContext{.model = m.name, .operation = "values"});
    } else {
      s.columns = fields;
    }
    const Statement st = compile_select(s);
    // (No co_await inside ?: — g++ 12 miscompiles it.)
    pg::Result r;
    if (s.annotations.empty()) r = co_await detail::run_statement(m, st, "values", database_, timeout_);
    else r = co_await detail::run_statement_text(m, st, "values", database_, timeout_);
    std::vector<int> field_columns(m.fields.size(), -1);
    for (auto f : fields) field_columns[f] = r.column_index(m.fields[f].name);
    std::vector<nlohmann::json> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) {
      nlohmann::json obj = nlohmann::json::object();
      for_each_field<M>([&](const auto& f, std::size_t i) {
        if (field_columns[i] < 0) return;
        using T = typename std::remove_cvref_t<decltype(f)>::value_type;
        obj[m.fields[i].name] = detail::json_of(r.get<T>(row, field_columns[i]));
      });
      for (const auto& a : aliases) obj[a] = detail::json_of_column(r, row, r.column_index(a));
      out.push_back(std::move(obj));
    }
    co_return out;
  }

  /// Aggregates over the matching rows as one JSON object:
  /// co_await qs.aggregate(orm::Count(), orm::Sum("balance")) → {"count": 6, "balance__sum": "1500.00"}.
  /// Keys are "field__function" ("count" for Count()), or the name given with .as("name").
  template <class... A>
    requires(sizeof...(A) > 0 && (std::is_same_v<A, Expr> && ...))
  boost::asio::awaitable<nlohmann::json> aggregate(const A&... aggregates) const {
    std::vector<query::Annotation> specs;
    (specs.push_back(query::Annotation{detail::default_alias(aggregates),
                                       query::resolve(aggregates.node(), *spec_.model, nullptr)}),
     ...);
    const Statement st = compile_aggregate(spec_, specs);
    pg::Result r = co_await detail::run_statement_text(*spec_.model, st, "aggregate", database_, timeout_);
    nlohmann::json out = nlohmann::json::object();
    for (int c = 0; c < r.columns(); ++c) out[std::string(r.column_name(c))] = detail::json_of_column(r, 0, c);
    co_return out;
  }

  const SelectSpec& spec() const noexcept { return spec_; }
  /// The database chosen with using_database(), or "" for the model's.
  const std::string& database() const noexcept { return database_; }
  /// The timeout chosen with timeout(), or 0 for the database's statement_timeout.
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }
  /// The SELECT this QuerySet runs (for logging and tests).
  Statement sql() const { return compile_select(spec_); }

 private:
  template <class... Ts, std::size_t... I>
  static std::tuple<Ts...> read_tuple(const pg::Result& r, int row, std::index_sequence<I...>) {
    return std::tuple<Ts...>(r.get<Ts>(row, static_cast<int>(I))...);
  }
  QuerySet with_where(query::NodePtr node) const {
    QuerySet c = *this;
    c.spec_.where = c.spec_.where ? query::make_logical(query::Op::and_, c.spec_.where, std::move(node)) : std::move(node);
    return c;
  }
  bool has_annotation(std::string_view name) const {
    return std::any_of(spec_.annotations.begin(), spec_.annotations.end(), [&](const auto& a) { return a.alias == name; });
  }
  query::NodePtr checked_where(query::NodePtr node, const char* operation) const {
    return check_where(spec_, std::move(node), operation);
  }
  void check_rows_are_objects(const char* operation) const { orm::check_rows_are_objects(spec_, operation); }
  OrderTerm order_term(std::string_view n) const {
    const bool desc = !n.empty() && n.front() == '-';
    const std::string_view name = desc ? n.substr(1) : n;
    if (has_annotation(name)) return OrderTerm{0, desc, std::string(name)};
    return OrderTerm{field_index_checked(name), desc};
  }
  std::size_t field_index_checked(std::string_view name) const {
    if (auto i = spec_.model->index_of(name)) return *i;
    spec_.model->field(name);  // throws FieldError listing the fields
    return 0;
  }
  std::vector<Assignment> assignments(const std::vector<FieldUpdate>& values) const {
    const ModelInfo& m = *spec_.model;
    std::vector<Assignment> out;
    for (const auto& u : values) {
      const std::size_t i = field_index_checked(u.field);
      if (m.fields[i].primary_key)
        throw ValidationError(fmt::format("{}.{} is a primary key and cannot be updated in bulk", m.name, u.field),
                              ErrorContext{.model = m.name, .field = u.field});
      Assignment a{.field = i};
      if (const auto* v = std::get_if<Value>(&u.value)) {
        a.value = detail::encode_value(*v, m.fields[i], m);
      } else {
        a.expr = query::resolve(std::get<Expr>(u.value).node(), m, nullptr, &m.fields[i]);
        if (query::contains_aggregate(*a.expr) || query::contains_window(*a.expr))
          throw QueryError(fmt::format("update(): {} cannot be set from an aggregate or window function", u.field),
                           ErrorContext{.model = m.name, .operation = "update", .field = u.field});
      }
      out.push_back(std::move(a));
    }
    return out;
  }

  SelectSpec spec_;
  std::string database_;
  std::chrono::milliseconds timeout_{0};
};

/// A QuerySet that loads only some fields (from only() or defer()).
template <Described M>
class PartialQuerySet {
 public:
  PartialQuerySet(QuerySet<M> query, std::vector<bool> keep) : query_(std::move(query)), keep_(std::move(keep)) {}

  boost::asio::awaitable<Partial<M>> all() const {
    SelectSpec s = query_.spec();
    s.columns.clear();
    for (std::size_t i = 0; i < keep_.size(); ++i)
      if (keep_[i]) s.columns.push_back(i);
    const Statement st = compile_select(s);
    pg::Result r = co_await detail::run_statement(*s.model, st, "all", query_.database(), query_.timeout());
    co_return Partial<M>{detail::hydrate_all<M>(r, s.columns), keep_};
  }
  /// The SELECT this runs.
  Statement sql() const {
    SelectSpec s = query_.spec();
    for (std::size_t i = 0; i < keep_.size(); ++i)
      if (keep_[i]) s.columns.push_back(i);
    return compile_select(s);
  }

 private:
  QuerySet<M> query_;
  std::vector<bool> keep_;
};

/// EXISTS (SELECT 1 FROM … WHERE …) for filter(): filter(orm::Exists(posts_of_user)), with
/// OuterRef("id") inside `query` referring to the filtered model.
template <Described M>
Expr Exists(const QuerySet<M>& query) {
  auto e = std::make_shared<query::Expr>();
  e->kind = query::ExprKind::exists;
  e->query = std::make_shared<const SelectSpec>(query.spec());
  return Expr(std::move(e));
}

/// All rows of M, to refine: orm::objects<User>().filter(…).
template <Described M>
QuerySet<M> objects() {
  return QuerySet<M>();
}

}  // namespace matrx::orm
