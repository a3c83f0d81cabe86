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
#include <cctype>
#include <tuple>
#include <type_traits>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/model.hpp"
#include "matrx/orm/model/execute.hpp"
#include "matrx/orm/model/hydrate.hpp"
#include "matrx/orm/model/update.hpp"
#include "matrx/orm/query/column.hpp"
#include "matrx/orm/query/compiler.hpp"
#include "matrx/orm/query/expression.hpp"

namespace matrx::orm {

/// An aggregate for QuerySet::aggregate: Count(), Sum("balance"), Avg("age", true) …
/// The result key is "field__function" ("balance__sum"), or "count" for Count().
struct Aggregate {
  std::string function;
  std::string field{};
  bool distinct = false;
};
inline Aggregate Count(std::string field = {}, bool distinct = false) { return {"COUNT", std::move(field), distinct}; }
inline Aggregate Sum(std::string field, bool distinct = false) { return {"SUM", std::move(field), distinct}; }
inline Aggregate Avg(std::string field, bool distinct = false) { return {"AVG", std::move(field), distinct}; }
inline Aggregate Min(std::string field) { return {"MIN", std::move(field), false}; }
inline Aggregate Max(std::string field) { return {"MAX", std::move(field), false}; }
inline Aggregate StdDev(std::string field) { return {"STDDEV", std::move(field), false}; }
inline Aggregate Variance(std::string field) { return {"VARIANCE", std::move(field), false}; }

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
  QuerySet filter(const Q& q) const { return with_where(q.resolve(*spec_.model)); }
  QuerySet filter(std::initializer_list<Lookup> lookups) const { return filter(Q(Lookups(lookups))); }
  /// filter("age__gt", 18): one lookup, no braces (usable inside co_await with g++ 12).
  QuerySet filter(std::string key, Value value) const { return filter(Q(std::move(key), std::move(value))); }
  QuerySet exclude(const Where<M>& w) const { return with_where(query::make_not(w.node())); }
  QuerySet exclude(const Q& q) const { return with_where(query::make_not(q.resolve(*spec_.model))); }
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
    pg::Result r = co_await detail::run_statement(*spec_.model, st, "nearest", database_);
    const auto columns = detail::column_map(*spec_.model, s.columns);
    const int distance_column = r.columns() - 1;
    std::vector<std::pair<M, double>> out(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) {
      detail::hydrate(r, row, out[static_cast<std::size_t>(row)].first, columns);
      out[static_cast<std::size_t>(row)].second = r.get<double>(row, distance_column);
    }
    co_return out;
  }

  /// Runs on another registered database than the model's.
  QuerySet using_database(std::string name) const {
    QuerySet c = *this;
    c.database_ = std::move(name);
    return c;
  }

  // ---- terminal operations ----------------------------------------------------------------
  boost::asio::awaitable<std::vector<M>> all() const {
    const Statement s = compile_select(spec_);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "all", database_);
    co_return detail::hydrate_all<M>(r, spec_.columns);
  }
  /// The first row (in the query's order), or nothing.
  boost::asio::awaitable<std::optional<M>> first() const {
    auto rows = co_await limit(1).all();
    if (rows.empty()) co_return std::nullopt;
    co_return std::move(rows.front());
  }
  /// Exactly one row: DoesNotExist or MultipleObjectsReturned otherwise (reads at most two).
  boost::asio::awaitable<M> get() const {
    const QuerySet two = limit(2);
    const Statement s = compile_select(two.spec_);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "get", database_);
    if (r.rows() == 1) co_return detail::hydrate_all<M>(r, spec_.columns).front();
    ErrorContext ctx{.model = spec_.model->name, .operation = "get", .sql = s.sql, .params = s.params.render()};
    if (r.rows() == 0) throw DoesNotExist(fmt::format("no {} matches the filters", spec_.model->name), std::move(ctx));
    throw MultipleObjectsReturned(fmt::format("more than one {} matches the filters", spec_.model->name), std::move(ctx));
  }
  /// Like get(), but "not found" is an empty optional; every other error propagates.
  boost::asio::awaitable<std::optional<M>> get_or_none() const {
    std::optional<M> found;
    try {
      found = co_await get();
    } catch (const DoesNotExist&) {
    }
    co_return found;
  }
  boost::asio::awaitable<std::int64_t> count() const {
    const Statement s = compile_count(spec_);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "count", database_);
    co_return r.get<std::int64_t>(0, 0);
  }
  boost::asio::awaitable<bool> exists() const {
    const Statement s = compile_exists(spec_);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "exists", database_);
    co_return r.get<bool>(0, 0);
  }
  /// UPDATE the matching rows; returns the count and the updated rows:
  /// update("age", 31), update("balance", F("balance") - 100). Several fields: a vector of
  /// FieldUpdate, or named FieldUpdate objects (g++ 12 miscompiles braced temporaries inside
  /// co_await, see docs/querying.md).
  boost::asio::awaitable<UpdateResult<M>> update(std::string field, Value value) const {
    return update(FieldUpdate(std::move(field), std::move(value)));
  }
  boost::asio::awaitable<UpdateResult<M>> update(std::string field, FExpr value) const {
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
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "update", database_);
    co_return UpdateResult<M>{r.affected_rows(), detail::hydrate_all<M>(r)};
  }
  /// DELETE the matching rows; returns how many were deleted.
  boost::asio::awaitable<std::int64_t> remove() const {
    const Statement s = compile_delete(spec_);
    pg::Result r = co_await detail::run_statement(*spec_.model, s, "delete", database_);
    co_return r.affected_rows();
  }

  /// Chosen columns as typed tuples: values_list<&User::id, &User::username>().
  template <auto... Members>
    requires(sizeof...(Members) > 0 && (std::is_same_v<typename Column<Members>::Model, M> && ...))
  boost::asio::awaitable<std::vector<std::tuple<typename Column<Members>::Stored...>>> values_list() const {
    SelectSpec s = spec_;
    s.columns = {Column<Members>::index()...};
    const Statement st = compile_select(s);
    pg::Result r = co_await detail::run_statement(*spec_.model, st, "values_list", database_);
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
    pg::Result r = co_await detail::run_statement(*spec_.model, st, "values_flat", database_);
    std::vector<typename Column<Member>::Stored> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) out.push_back(r.get<typename Column<Member>::Stored>(row, 0));
    co_return out;
  }
  /// Rows as JSON objects of the named fields (all fields when none are named); unknown
  /// names throw FieldError. Values follow detail::json_of (numeric stays an exact string).
  template <class... Names>
    requires(std::is_convertible_v<const Names&, std::string_view> && ...)
  boost::asio::awaitable<std::vector<nlohmann::json>> values(const Names&... names) const {
    SelectSpec s = spec_;
    s.columns = {field_index_checked(std::string_view(names))...};
    const Statement st = compile_select(s);
    pg::Result r = co_await detail::run_statement(*spec_.model, st, "values", database_);
    const auto columns = detail::column_map(*spec_.model, s.columns);
    std::vector<nlohmann::json> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) {
      nlohmann::json obj = nlohmann::json::object();
      for_each_field<M>([&](const auto& f, std::size_t i) {
        if (columns[i] < 0) return;
        using T = typename std::remove_cvref_t<decltype(f)>::value_type;
        obj[spec_.model->fields[i].name] = detail::json_of(r.get<T>(row, columns[i]));
      });
      out.push_back(std::move(obj));
    }
    co_return out;
  }

  /// Aggregates over the matching rows as one JSON object:
  /// co_await qs.aggregate(orm::Count(), orm::Sum("balance")) → {"count": 6, "balance__sum": "1500.00"}.
  template <class... A>
    requires(sizeof...(A) > 0 && (std::is_same_v<A, Aggregate> && ...))
  boost::asio::awaitable<nlohmann::json> aggregate(const A&... aggregates) const {
    std::vector<AggregateSpec> specs;
    (specs.push_back(aggregate_spec(aggregates)), ...);
    const Statement st = compile_aggregate(spec_, specs);
    pg::Result r = co_await detail::run_statement_text(*spec_.model, st, "aggregate", database_);
    nlohmann::json out = nlohmann::json::object();
    for (int c = 0; c < r.columns(); ++c) out[std::string(r.column_name(c))] = detail::json_of_column(r, 0, c);
    co_return out;
  }

  const SelectSpec& spec() const noexcept { return spec_; }
  /// The database chosen with using_database(), or "" for the model's.
  const std::string& database() const noexcept { return database_; }
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
  AggregateSpec aggregate_spec(const Aggregate& a) const {
    std::string lower = a.function;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (a.field.empty()) {
      if (a.function != "COUNT") throw QueryError(fmt::format("{}() needs a field", a.function));
      return AggregateSpec{.function = a.function, .alias = "count"};
    }
    return AggregateSpec{.function = a.function, .field = field_index_checked(a.field), .distinct = a.distinct,
                         .alias = a.field + "__" + lower};
  }
  OrderTerm order_term(std::string_view n) const {
    const bool desc = !n.empty() && n.front() == '-';
    return OrderTerm{field_index_checked(desc ? n.substr(1) : n), desc};
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
        const auto& e = std::get<FExpr>(u.value);
        a.base_field = field_index_checked(e.field);
        a.op = e.op;
        a.value = detail::encode_value(e.operand, m.fields[*a.base_field], m);
      }
      out.push_back(std::move(a));
    }
    return out;
  }

  SelectSpec spec_;
  std::string database_;
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
    pg::Result r = co_await detail::run_statement(*s.model, st, "all", query_.database());
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

/// All rows of M, to refine: orm::objects<User>().filter(…).
template <Described M>
QuerySet<M> objects() {
  return QuerySet<M>();
}

}  // namespace matrx::orm
