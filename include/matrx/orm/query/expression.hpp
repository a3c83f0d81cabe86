// The query AST shared by both front ends: typed columns (column.hpp), checked at compile
// time, and Django-style lookups (Q), checked against the model's fields when a filter is
// built. Nodes are immutable and shared; every value is an already-encoded parameter.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "matrx/orm/meta/model.hpp"
#include "matrx/orm/pg/oid.hpp"
#include "matrx/orm/query/expr.hpp"
#include "matrx/orm/query/value.hpp"

namespace matrx::orm {

namespace query {

enum class Op {
  eq, ne, lt, lte, gt, gte,  // field <op> $1 (ne is IS DISTINCT FROM: NULL rows count as different)
  in,                        // field = ANY($1)
  is_null, is_not_null,
  like, ilike,               // pattern already escaped
  between,                   // field BETWEEN $1 AND $2
  always_true, always_false,
  and_, or_, not_,
  json_has_key, json_has_any, json_has_all,  // ? ?| ?&
  json_contains, json_contained_by,          // @> <@
  condition,                                 // a boolean expression (lhs): F("a") > F("b"), EXISTS (…)
};

/// A condition. The left side is the field, or `lhs` when set (an annotation inlined, a JSON
/// key); the right side is `params`, or `rhs` when set (another column, a subquery: `in`
/// then renders IN (subquery)).
struct Node {
  Op op = Op::always_true;
  std::size_t field = 0;
  std::vector<Param> params{};
  std::vector<std::shared_ptr<const Node>> children{};
  ExprPtr lhs{};
  ExprPtr rhs{};
};
using NodePtr = std::shared_ptr<const Node>;

NodePtr make_leaf(Op op, std::size_t field, std::vector<Param> params = {});
NodePtr make_logical(Op op, NodePtr a, NodePtr b);
NodePtr make_not(NodePtr a);
bool contains_aggregate(const Node& n) noexcept;
bool contains_window(const Node& n) noexcept;

}  // namespace query

/// A condition on model M (from typed columns, or a Q resolved against M).
template <class M>
class Where {
 public:
  explicit Where(query::NodePtr node) : node_(std::move(node)) {}
  const query::NodePtr& node() const noexcept { return node_; }
  friend Where operator&&(const Where& a, const Where& b) { return Where(query::make_logical(query::Op::and_, a.node_, b.node_)); }
  friend Where operator||(const Where& a, const Where& b) { return Where(query::make_logical(query::Op::or_, a.node_, b.node_)); }
  friend Where operator!(const Where& a) { return Where(query::make_not(a.node_)); }

 private:
  query::NodePtr node_;
};

/// Django-style lookups, combinable with && (AND), || (OR) and ! (NOT):
///   Q{{"age__gte", 18}, {"is_active", true}} || !Q{{"username__startswith", "adm"}}
/// Lookups of one Q are ANDed. Keys are "field" or "field__op" with op one of exact,
/// iexact, ne, gt, gte, lt, lte, in, isnull, contains, icontains, startswith,
/// istartswith, endswith, iendswith, range; on json fields also json_has_key,
/// json_has_any, json_has_all, json_contains, json_contained_by, and
/// json_key ({"key", "expected"} compares data->>'key'; a bare key tests it is present and not
/// null) and json_path ({List{"a","b"}, "expected"} compares data#>>'{a,b}').
class Q {
 public:
  /// One lookup: Q("age__gt", 18). Combine with && || !. Usable inside co_await with g++ 12
  /// (a braced list there does not compile: see docs/querying.md).
  Q(std::string key, Value value) : Q(Lookups{Lookup{std::move(key), std::move(value)}}) {}
  /// A lookup against an expression: Q("balance__gt", F("credit_limit")),
  /// Q("author_id__in", users.as_subquery("id")).
  Q(std::string key, const Expr& rhs) : Q(Lookups{Lookup{std::move(key), Value(), rhs.node()}}) {}
  /// A boolean expression: Q(F("balance") > F("credit_limit")), Q(orm::Exists(posts)).
  explicit Q(const Expr& condition);
  Q(std::initializer_list<Lookup> lookups) : Q(Lookups(lookups)) {}
  explicit Q(Lookups lookups);
  friend Q operator&&(const Q& a, const Q& b);
  friend Q operator||(const Q& a, const Q& b);
  friend Q operator!(const Q& a);

  /// Checks every field, operator and value against the model; throws FieldError,
  /// QueryError or ValidationError before any SQL exists.
  /// With `annotations`, keys may name annotation aliases (their expression is inlined).
  query::NodePtr resolve(const ModelInfo& model, const std::vector<query::Annotation>* annotations = nullptr) const;
  template <Described M>
  Where<M> on() const { return Where<M>(resolve(model_info<M>())); }

  struct Node;  // implementation detail

 private:
  explicit Q(std::shared_ptr<const Node> node) : node_(std::move(node)) {}
  std::shared_ptr<const Node> node_;
};

namespace detail {
/// Encodes a dynamic value for a field; throws ValidationError (naming model and field) when
/// the value's type does not fit, an integer is out of the column's range, or an enum label
/// or choice is unknown.
Param encode_value(const Value& value, const FieldInfo& field, const ModelInfo& model);
/// Escapes %, _ and \ for LIKE.
std::string escape_like(std::string_view text);
}  // namespace detail

}  // namespace matrx::orm
