// Expressions: F("balance") - 100, Lower(F("email")), Count("id"), Window(Rank(), …),
// subqueries and EXISTS. Used in annotate(), aggregate(), filters that compare two
// columns, and updates. Field names are resolved against the model when the expression
// is attached to a QuerySet (unknown names throw FieldError then, before any SQL exists);
// literal values become bound parameters, typed after the field they meet when there is one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "matrx/orm/meta/field_info.hpp"
#include "matrx/orm/query/value.hpp"

namespace matrx::orm {

struct SelectSpec;

namespace query {

enum class ExprKind {
  field,        ///< a field of the query's model (name, resolved to an index)
  outer_field,  ///< OuterRef: a field of the enclosing query's model
  value,        ///< a literal: a bound parameter
  star,         ///< * in COUNT(*)
  call,         ///< NAME(args…) from a fixed list of functions
  aggregate,    ///< NAME([DISTINCT] arg)
  window,       ///< fn OVER (PARTITION BY … ORDER BY … frame)
  binary,       ///< a <op> b, op one of + - * / ||
  compare,      ///< a <op> b, op one of = <> < <= > >= — a condition
  cast,         ///< CAST(a AS type)
  extract,      ///< EXTRACT(part FROM a)
  json_text,    ///< a ->> key, or a #>> path
  subquery,     ///< (SELECT one column …)
  exists,       ///< EXISTS (SELECT 1 …)
  cte_column,   ///< (SELECT column FROM cte): for `in` lookups
};

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  ExprKind kind = ExprKind::value;
  std::string name{};  ///< field, function, operator, type, part, or CTE name
  std::string column{};  ///< cte_column: the CTE's column
  std::optional<std::size_t> field{};  ///< resolved field index
  std::optional<Value> literal{};      ///< value: not yet encoded
  std::optional<Param> param{};  ///< value: encoded when resolved
  std::vector<ExprPtr> args{};
  bool distinct = false;
  std::vector<ExprPtr> partition_by{};  ///< window
  std::vector<ExprPtr> order_by{};      ///< window
  std::vector<bool> order_descending{};
  std::string frame{};                  ///< window, validated
  std::shared_ptr<const SelectSpec> query{};  ///< subquery / exists (resolved against its own model)
};

/// A named expression in the SELECT list.
struct Annotation {
  std::string alias;
  ExprPtr expr;
};

/// Binds field names (and annotation aliases, inlined) to `model`, encodes literals, and
/// checks aggregates and windows are used where they may be. `context` types a literal.
ExprPtr resolve(const ExprPtr& expr, const ModelInfo& model, const std::vector<Annotation>* annotations = nullptr,
                const FieldInfo* context = nullptr);
bool contains_aggregate(const Expr& e) noexcept;
bool contains_window(const Expr& e) noexcept;

}  // namespace query

/// An expression; build with the functions below and combine with + - * / and comparisons.
class Expr {
 public:
  explicit Expr(query::ExprPtr node, std::string alias = {}) : node_(std::move(node)), alias_(std::move(alias)) {}
  const query::ExprPtr& node() const noexcept { return node_; }
  /// The name of this expression in aggregate() results.
  Expr as(std::string alias) const { return Expr(node_, std::move(alias)); }
  const std::string& alias() const noexcept { return alias_; }

 private:
  query::ExprPtr node_;
  std::string alias_;
};

/// A field of the query's model: F("balance").
Expr F(std::string field);
/// A field of the enclosing query's model, inside a subquery: OuterRef("id").
Expr OuterRef(std::string field);
/// A literal value as an expression (a bound parameter).
Expr Val(Value value);

Expr operator+(const Expr& a, const Expr& b);
Expr operator-(const Expr& a, const Expr& b);
Expr operator*(const Expr& a, const Expr& b);
Expr operator/(const Expr& a, const Expr& b);
Expr operator+(const Expr& a, Value b);
Expr operator-(const Expr& a, Value b);
Expr operator*(const Expr& a, Value b);
Expr operator/(const Expr& a, Value b);
Expr operator+(Value a, const Expr& b);
Expr operator-(Value a, const Expr& b);
Expr operator*(Value a, const Expr& b);
Expr operator/(Value a, const Expr& b);

/// Conditions comparing two expressions (or an expression and a value), for filter():
/// filter(orm::F("balance") > orm::F("credit_limit")).
Expr operator==(const Expr& a, const Expr& b);
Expr operator!=(const Expr& a, const Expr& b);
Expr operator<(const Expr& a, const Expr& b);
Expr operator<=(const Expr& a, const Expr& b);
Expr operator>(const Expr& a, const Expr& b);
Expr operator>=(const Expr& a, const Expr& b);
Expr operator==(const Expr& a, Value b);
Expr operator!=(const Expr& a, Value b);
Expr operator<(const Expr& a, Value b);
Expr operator<=(const Expr& a, Value b);
Expr operator>(const Expr& a, Value b);
Expr operator>=(const Expr& a, Value b);

// Scalar functions (the original's list).
Expr Coalesce(std::vector<Expr> args);
Expr Lower(Expr e);
Expr Upper(Expr e);
Expr Length(Expr e);
Expr Trim(Expr e);
Expr Concat(std::vector<Expr> args);
Expr Greatest(std::vector<Expr> args);
Expr Least(std::vector<Expr> args);
Expr Abs(Expr e);
Expr Round(Expr e, std::optional<int> digits = std::nullopt);
Expr Now();
/// CAST(e AS type); the type is checked against a strict pattern (letters, digits, spaces,
/// (p,s) and []), so it cannot carry SQL.
Expr Cast(Expr e, std::string type);
/// EXTRACT(part FROM e); part one of year, month, day, hour, minute, second, epoch, dow, doy,
/// week, quarter, isodow, isoyear, decade, century, millennium, microseconds, milliseconds.
Expr Extract(std::string part, Expr e);
/// date_trunc($n, e) with the precision bound as a parameter.
Expr DateTrunc(std::string precision, Expr e);
/// data ->> 'key' (text), and data #>> '{a,b}' (text at a path).
Expr JsonKey(Expr json, std::string key);
Expr JsonPath(Expr json, std::vector<std::string> path);

// Aggregates: Count() is COUNT(*). A field name is shorthand for F(name).
Expr Count(std::string field = {}, bool distinct = false);
Expr Count(Expr e, bool distinct = false);
Expr Sum(std::string field, bool distinct = false);
Expr Sum(Expr e, bool distinct = false);
Expr Avg(std::string field, bool distinct = false);
Expr Avg(Expr e, bool distinct = false);
Expr Min(std::string field);
Expr Min(Expr e);
Expr Max(std::string field);
Expr Max(Expr e);
Expr StdDev(std::string field);
Expr StdDev(Expr e);
Expr Variance(std::string field);
Expr Variance(Expr e);

// Window functions, used inside Window().
Expr RowNumber();
Expr Rank();
Expr DenseRank();
Expr CumeDist();
Expr PercentRank();
Expr Ntile(int buckets);
Expr Lag(std::string field, int offset = 1, std::optional<Value> fallback = std::nullopt);
Expr Lead(std::string field, int offset = 1, std::optional<Value> fallback = std::nullopt);
Expr FirstValue(std::string field);
Expr LastValue(std::string field);
Expr NthValue(std::string field, int n);

/// fn OVER (PARTITION BY … ORDER BY … frame). Order names take "-" for descending; the
/// frame is checked word by word ("ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW").
Expr Window(Expr fn, std::vector<std::string> partition_by = {}, std::vector<std::string> order_by = {},
            std::string frame = {});

/// (SELECT "column" FROM "cte"): for `in` lookups against a CTE (QuerySet::with_cte).
Expr CteValues(std::string cte, std::string column);

namespace detail {
/// Encodes a value with no column to type it: integers as int8, floats as float8, strings
/// untyped (the server infers), and the pg types by their own OIDs.
Param encode_untyped(const Value& value);
/// The result key of an aggregate without .as(): "balance__sum", "count".
std::string default_alias(const Expr& e);
}  // namespace detail

}  // namespace matrx::orm
