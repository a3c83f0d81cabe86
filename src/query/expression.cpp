// AST nodes, Q resolution (Django-style lookups) and the encoding of dynamic values.
#include "matrx/orm/query/expression.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/codec.hpp"

namespace matrx::orm {

namespace query {
NodePtr make_leaf(Op op, std::size_t field, std::vector<Param> params) {
  auto n = std::make_shared<Node>();
  n->op = op;
  n->field = field;
  n->params = std::move(params);
  return n;
}
NodePtr make_logical(Op op, NodePtr a, NodePtr b) {
  auto n = std::make_shared<Node>();
  n->op = op;
  // Flatten (a AND b) AND c into one AND with three children.
  for (auto* child : {&a, &b}) {
    if ((*child)->op == op) n->children.insert(n->children.end(), (*child)->children.begin(), (*child)->children.end());
    else n->children.push_back(std::move(*child));
  }
  return n;
}
bool contains_aggregate(const Node& n) noexcept {
  if ((n.lhs && contains_aggregate(*n.lhs)) || (n.rhs && contains_aggregate(*n.rhs))) return true;
  return std::any_of(n.children.begin(), n.children.end(), [](const NodePtr& c) { return contains_aggregate(*c); });
}
bool contains_window(const Node& n) noexcept {
  if ((n.lhs && contains_window(*n.lhs)) || (n.rhs && contains_window(*n.rhs))) return true;
  return std::any_of(n.children.begin(), n.children.end(), [](const NodePtr& c) { return contains_window(*c); });
}
NodePtr make_not(NodePtr a) {
  auto n = std::make_shared<Node>();
  n->op = Op::not_;
  n->children.push_back(std::move(a));
  return n;
}
}  // namespace query

const char* Value::type_name() const noexcept {
  static constexpr const char* names[] = {"null",   "bool",           "integer", "float",    "string",
                                          "Numeric", "Uuid",          "Timestamp", "LocalTimestamp", "Date",
                                          "TimeOfDay", "Interval",    "json",    "Bytes",    "list"};
  return names[v.index()];
}

// ---- encoding dynamic values --------------------------------------------------------------

namespace detail {

std::string escape_like(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

namespace {
[[noreturn]] void mismatch(const Value& v, const FieldInfo& f, const ModelInfo& m, std::string why = {}) {
  throw ValidationError(
      fmt::format("{}.{} ({}) cannot take a {} value{}", m.name, f.name, f.sql_type, v.type_name(), why.empty() ? "" : ": " + why),
      ErrorContext{.model = m.name, .field = f.name});
}

// Array elements are built into a text literal: `text_form` asks for the text encoding.
thread_local bool text_form = false;

template <class T>
Param encode(const T& value, pg::Oid oid) {
  Param p;
  p.oid = oid;
  if constexpr (pg::Codec<T>::binary_param) {
    if (!text_form) {
      p.binary = true;
      pg::Codec<T>::to_binary(value, p.bytes);
      return p;
    }
  }
  pg::Codec<T>::to_text(value, p.bytes);
  return p;
}

Param encode_text(std::string text, pg::Oid oid) {
  Param p;
  pg::Codec<std::string>::to_text(text, p.bytes);  // NUL check
  p.oid = oid;
  return p;
}

template <class I>
Param encode_int(std::int64_t v, const Value& value, const FieldInfo& f, const ModelInfo& m) {
  if (v < std::numeric_limits<I>::min() || v > std::numeric_limits<I>::max())
    mismatch(value, f, m, fmt::format("{} is out of the column's range", v));
  return encode<I>(static_cast<I>(v), f.oid);
}

// Encodes one scalar (not array) value for a field of kind `kind`.
Param encode_scalar(const Value& value, ValueKind kind, const FieldInfo& f, const ModelInfo& m, pg::Oid oid) {
  const auto& v = value.v;
  switch (kind) {
    case ValueKind::boolean:
      if (auto* b = std::get_if<bool>(&v)) return encode(*b, oid);
      break;
    case ValueKind::int16:
      if (auto* i = std::get_if<std::int64_t>(&v)) return encode_int<std::int16_t>(*i, value, f, m);
      break;
    case ValueKind::int32:
      if (auto* i = std::get_if<std::int64_t>(&v)) return encode_int<std::int32_t>(*i, value, f, m);
      break;
    case ValueKind::int64:
      if (auto* i = std::get_if<std::int64_t>(&v)) return encode(*i, oid);
      break;
    case ValueKind::float32:
    case ValueKind::float64:
      if (auto* d = std::get_if<double>(&v)) return kind == ValueKind::float32 ? encode(static_cast<float>(*d), oid) : encode(*d, oid);
      if (auto* i = std::get_if<std::int64_t>(&v)) return kind == ValueKind::float32 ? encode(static_cast<float>(*i), oid) : encode(static_cast<double>(*i), oid);
      break;
    case ValueKind::numeric:
      if (auto* n = std::get_if<Numeric>(&v)) return encode(*n, oid);
      if (auto* i = std::get_if<std::int64_t>(&v)) return encode(Numeric(*i), oid);
      if (auto* s = std::get_if<std::string>(&v)) {
        try { return encode(Numeric(*s), oid); } catch (const ParameterError&) { mismatch(value, f, m, "not a decimal number"); }
      }
      break;
    case ValueKind::money:
      if (auto* i = std::get_if<std::int64_t>(&v)) return encode(Money{*i}, oid);
      break;
    case ValueKind::text:
      if (auto* s = std::get_if<std::string>(&v)) return encode_text(*s, oid);
      break;
    case ValueKind::enumeration:
      if (auto* s = std::get_if<std::string>(&v)) {
        bool known = false;
        for (const auto& c : f.choices) known |= c == *s;
        if (!known) mismatch(value, f, m, fmt::format("'{}' is not one of its values", *s));
        return encode_text(*s, 0);
      }
      break;
    case ValueKind::uuid:
      if (auto* u = std::get_if<Uuid>(&v)) return encode(*u, oid);
      if (auto* s = std::get_if<std::string>(&v)) {
        try { return encode(Uuid::parse(*s), oid); } catch (const ParameterError&) { mismatch(value, f, m, "not a UUID"); }
      }
      break;
    case ValueKind::timestamptz:
      if (auto* t = std::get_if<Timestamp>(&v)) return encode(*t, oid);
      break;
    case ValueKind::timestamp:
      if (auto* t = std::get_if<LocalTimestamp>(&v)) return encode(*t, oid);
      break;
    case ValueKind::date:
      if (auto* d = std::get_if<Date>(&v)) return encode(*d, oid);
      break;
    case ValueKind::time:
      if (auto* t = std::get_if<TimeOfDay>(&v)) return encode(*t, oid);
      break;
    case ValueKind::interval:
      if (auto* i = std::get_if<Interval>(&v)) return encode(*i, oid);
      break;
    case ValueKind::json:
      if (auto* j = std::get_if<nlohmann::json>(&v)) return encode(*j, 0);
      break;
    case ValueKind::bytes:
      if (auto* b = std::get_if<Bytes>(&v)) return encode(*b, oid);
      break;
    case ValueKind::inet: case ValueKind::cidr: case ValueKind::macaddr: case ValueKind::point:
    case ValueKind::hstore: case ValueKind::vector:
      if (auto* s = std::get_if<std::string>(&v)) return encode_text(*s, 0);  // server parses the text form
      break;
    case ValueKind::array:
      break;
  }
  mismatch(value, f, m);
}
}  // namespace

Param encode_value(const Value& value, const FieldInfo& f, const ModelInfo& m) {
  if (value.is_null()) {
    if (!f.nullable && !f.has_server_default())
      throw ValidationError(fmt::format("{}.{} cannot be NULL", m.name, f.name), ErrorContext{.model = m.name, .field = f.name});
    Param p;
    p.null = true;
    p.oid = f.oid;
    return p;
  }
  if (f.kind == ValueKind::array) {
    const auto* list = std::get_if<Value::List>(&value.v);
    if (!list) mismatch(value, f, m, "an array column takes a list");
    // Text array literal built from each element's text form (works for every element type).
    std::string literal = "{";
    for (std::size_t i = 0; i < list->size(); ++i) {
      if (i) literal.push_back(',');
      if ((*list)[i].is_null()) { literal += "NULL"; continue; }
      text_form = true;
      Param e;
      try {
        e = encode_scalar((*list)[i], f.element_kind, f, m, 0);
      } catch (...) {
        text_form = false;
        throw;
      }
      text_form = false;
      if (e.binary) mismatch((*list)[i], f, m, "unsupported array element");
      pg::detail::append_array_text_element(literal, e.bytes);
    }
    literal.push_back('}');
    Param p;
    p.bytes = std::move(literal);
    p.oid = f.oid;
    return p;
  }
  return encode_scalar(value, f.kind, f, m, f.oid);
}

}  // namespace detail

// ---- Q ----------------------------------------------------------------------------------

struct Q::Node {
  enum class Kind { leaf, and_, or_, not_, condition } kind = Kind::leaf;
  Lookups lookups;
  std::vector<std::shared_ptr<const Node>> children;
  query::ExprPtr condition{};
};

Q::Q(const Expr& condition) {
  const auto kind = condition.node()->kind;
  if (kind != query::ExprKind::compare && kind != query::ExprKind::exists)
    throw QueryError("Q(expression) takes a condition: a comparison such as F(\"a\") > F(\"b\"), or Exists(…)");
  auto n = std::make_shared<Node>();
  n->kind = Node::Kind::condition;
  n->condition = condition.node();
  node_ = std::move(n);
}

Q::Q(Lookups lookups) {
  auto n = std::make_shared<Node>();
  n->lookups = std::move(lookups);
  node_ = std::move(n);
}

Q operator&&(const Q& a, const Q& b) {
  auto n = std::make_shared<Q::Node>();
  n->kind = Q::Node::Kind::and_;
  n->children = {a.node_, b.node_};
  return Q(std::shared_ptr<const Q::Node>(std::move(n)));
}
Q operator||(const Q& a, const Q& b) {
  auto n = std::make_shared<Q::Node>();
  n->kind = Q::Node::Kind::or_;
  n->children = {a.node_, b.node_};
  return Q(std::shared_ptr<const Q::Node>(std::move(n)));
}
Q operator!(const Q& a) {
  auto n = std::make_shared<Q::Node>();
  n->kind = Q::Node::Kind::not_;
  n->children = {a.node_};
  return Q(std::shared_ptr<const Q::Node>(std::move(n)));
}

namespace {
using query::Op;

struct LookupOp {
  const char* name;
  Op op;
};
constexpr LookupOp lookup_ops[] = {
    {"exact", Op::eq}, {"iexact", Op::ilike}, {"ne", Op::ne}, {"gt", Op::gt}, {"gte", Op::gte}, {"lt", Op::lt},
    {"lte", Op::lte}, {"in", Op::in}, {"isnull", Op::is_null}, {"contains", Op::like}, {"icontains", Op::ilike},
    {"startswith", Op::like}, {"istartswith", Op::ilike}, {"endswith", Op::like}, {"iendswith", Op::ilike},
    {"range", Op::between}, {"json_has_key", Op::json_has_key}, {"json_has_any", Op::json_has_any},
    {"json_has_all", Op::json_has_all}, {"json_contains", Op::json_contains},
    {"json_contained_by", Op::json_contained_by}, {"json_key", Op::eq}, {"json_path", Op::eq},
};

using query::Annotation;
using query::ExprKind;

const Annotation* find_annotation(const std::vector<Annotation>* annotations, std::string_view name) {
  if (!annotations) return nullptr;
  for (const auto& a : *annotations)
    if (a.alias == name) return &a;
  return nullptr;
}

Param text_param(const std::string& text, pg::Oid oid = pg::oid::text) {
  Param p;
  pg::Codec<std::string>::to_text(text, p.bytes);  // rejects NUL
  p.oid = oid;
  return p;
}

// The text form a JSON value has under ->> / #>> (what the comparison sees).
std::string json_text_of(const Value& v, const FieldInfo& f, const ModelInfo& m, std::string_view key) {
  if (const auto* s = std::get_if<std::string>(&v.v)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&v.v)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&v.v)) return *b ? "true" : "false";
  if (const auto* d = std::get_if<double>(&v.v)) return nlohmann::json(*d).dump();
  if (const auto* j = std::get_if<nlohmann::json>(&v.v)) return j->is_string() ? j->get<std::string>() : j->dump();
  throw ValidationError(fmt::format("'{}' compares with a string, number, bool or JSON value", key),
                        ErrorContext{.model = m.name, .field = f.name});
}

// json_key / json_path: data ->> key [= expected], data #>> path [= expected].
query::NodePtr resolve_json_text(const Lookup& lookup, std::string_view op_name, std::size_t index, const FieldInfo& f,
                                 const ModelInfo& m) {
  const std::string_view key = lookup.key;
  if (f.kind != ValueKind::json)
    throw ValidationError(fmt::format("'{}' needs a json field", key), ErrorContext{.model = m.name, .field = f.name});
  const bool by_path = op_name == "json_path";
  const auto usage = [&] {
    return ValidationError(
        by_path ? fmt::format("'{}' takes a path (a list of keys) or a list {{path, expected}}", key)
                : fmt::format("'{}' takes a key, or a list {{key, expected}}", key),
        ErrorContext{.model = m.name, .field = f.name});
  };
  const Value* selector = &lookup.value;
  const Value* expected = nullptr;
  const auto* list = std::get_if<Value::List>(&lookup.value.v);
  if (by_path) {
    if (!list || list->empty()) throw usage();
    if (std::holds_alternative<Value::List>((*list)[0].v)) {
      if (list->size() != 2) throw usage();
      selector = &(*list)[0];
      expected = &(*list)[1];
    }
  } else if (list) {
    if (list->size() != 2) throw usage();
    selector = &(*list)[0];
    expected = &(*list)[1];
  }
  auto lhs = std::make_shared<query::Expr>();
  lhs->kind = ExprKind::json_text;
  lhs->name = by_path ? "#>>" : "->>";
  auto column = std::make_shared<query::Expr>();
  column->kind = ExprKind::field;
  column->name = f.name;
  column->field = index;
  auto sel = std::make_shared<query::Expr>();
  sel->kind = ExprKind::value;
  if (by_path) {
    const auto& keys = std::get<Value::List>(selector->v);
    std::vector<std::string> path;
    for (const auto& k : keys) {
      const auto* s = std::get_if<std::string>(&k.v);
      if (!s) throw usage();
      path.push_back(*s);
    }
    if (path.empty()) throw usage();
    Param p;
    pg::Codec<std::vector<std::string>>::to_text(path, p.bytes);
    p.oid = pg::oid::text_array;
    sel->param = std::move(p);
  } else {
    const auto* s = std::get_if<std::string>(&selector->v);
    if (!s) throw usage();
    sel->param = text_param(*s);
  }
  lhs->args = {std::move(column), std::move(sel)};
  auto n = std::make_shared<query::Node>();
  n->lhs = std::move(lhs);
  n->field = index;
  if (!expected || expected->is_null()) {
    n->op = Op::is_not_null;
    if (expected) n->op = Op::is_null;
  } else {
    n->op = Op::eq;
    n->params.push_back(text_param(json_text_of(*expected, f, m, key)));
  }
  return n;
}

// A lookup whose left side is an annotation (its expression inlined) or whose right side is
// an expression.
query::NodePtr resolve_expression_lookup(const Lookup& lookup, std::string_view op_name, Op op, const query::ExprPtr& lhs,
                                         const FieldInfo* field, std::size_t index, const ModelInfo& m,
                                         const std::vector<Annotation>* annotations) {
  static constexpr std::string_view comparisons[] = {"exact", "ne", "gt", "gte", "lt", "lte", "in", "isnull"};
  if (std::find(std::begin(comparisons), std::end(comparisons), op_name) == std::end(comparisons))
    throw QueryError(fmt::format("'{}': only exact, ne, gt, gte, lt, lte, in and isnull work with expressions or annotations", lookup.key),
                     ErrorContext{.model = m.name});
  auto n = std::make_shared<query::Node>();
  n->op = op;
  n->field = index;
  n->lhs = lhs;
  if (op_name == "isnull") {
    const auto* b = std::get_if<bool>(&lookup.value.v);
    if (!b || lookup.expr) throw ValidationError(fmt::format("'{}' takes true or false", lookup.key), ErrorContext{.model = m.name});
    n->op = *b ? Op::is_null : Op::is_not_null;
    return n;
  }
  if (lookup.expr) {
    n->rhs = query::resolve(lookup.expr, m, annotations, field);
    if (op == Op::in && n->rhs->kind != ExprKind::subquery && n->rhs->kind != ExprKind::cte_column)
      throw QueryError(fmt::format("'{}' takes a subquery (QuerySet::as_subquery) or CteValues()", lookup.key),
                       ErrorContext{.model = m.name});
    return n;
  }
  if (lookup.value.is_null()) {
    if (op == Op::eq) n->op = Op::is_null;
    else if (op == Op::ne) n->op = Op::is_not_null;
    else throw ValidationError(fmt::format("'{}' cannot compare with NULL", lookup.key), ErrorContext{.model = m.name});
    return n;
  }
  if (op == Op::in) throw QueryError(fmt::format("'{}': `in` on an annotation takes a subquery", lookup.key), ErrorContext{.model = m.name});
  n->params.push_back(field ? detail::encode_value(lookup.value, *field, m) : detail::encode_untyped(lookup.value));
  return n;
}

// Keys for ?| and ?&: a text[] literal.
Param json_keys(const Value& v, const FieldInfo& f, const ModelInfo& m, std::string_view key) {
  const auto* list = std::get_if<Value::List>(&v.v);
  if (!list || list->empty())
    throw ValidationError(fmt::format("'{}' takes a non-empty list of keys", key), ErrorContext{.model = m.name, .field = f.name});
  std::string literal = "{";
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto* k = std::get_if<std::string>(&(*list)[i].v);
    if (!k) throw ValidationError(fmt::format("'{}' keys must be strings", key), ErrorContext{.model = m.name, .field = f.name});
    if (i) literal.push_back(',');
    pg::detail::append_array_text_element(literal, *k);
  }
  literal.push_back('}');
  return Param{.bytes = std::move(literal), .oid = pg::oid::text_array};
}

query::NodePtr resolve_lookup(const Lookup& lookup, const ModelInfo& m, const std::vector<Annotation>* annotations) {
  std::string_view key = lookup.key;
  std::string_view field_name = key, op_name = "exact";
  if (const auto sep = key.rfind("__"); sep != std::string_view::npos) {
    const std::string_view suffix = key.substr(sep + 2);
    bool is_op = false;
    for (const auto& o : lookup_ops) is_op |= suffix == o.name;
    if (is_op) {
      field_name = key.substr(0, sep);
      op_name = suffix;
    } else if (m.find(key.substr(0, sep)) && !m.find(key)) {
      std::string known;
      for (const auto& o : lookup_ops) known += fmt::format("{}{}", known.empty() ? "" : ", ", o.name);
      throw QueryError(fmt::format("unknown lookup operator '{}' in '{}'", suffix, key),
                       ErrorContext{.model = m.name, .field = std::string(key.substr(0, sep)), .hint = "operators: " + known});
    }
  }
  const auto op = std::find_if(std::begin(lookup_ops), std::end(lookup_ops), [&](auto& o) { return op_name == o.name; })->op;
  if (const Annotation* a = find_annotation(annotations, field_name))
    return resolve_expression_lookup(lookup, op_name, op, a->expr, nullptr, 0, m, annotations);
  const auto index = m.index_of(field_name);
  if (!index) m.field(field_name);  // throws FieldError listing the fields
  const FieldInfo& f = m.fields[*index];
  const Value& v = lookup.value;
  if (op_name == "json_key" || op_name == "json_path") return resolve_json_text(lookup, op_name, *index, f, m);
  if (lookup.expr) {
    auto column = std::make_shared<query::Expr>();
    column->kind = ExprKind::field;
    column->name = f.name;
    column->field = *index;
    return resolve_expression_lookup(lookup, op_name, op, column, &f, *index, m, annotations);
  }

  if (op_name == "isnull") {
    const auto* b = std::get_if<bool>(&v.v);
    if (!b) throw ValidationError(fmt::format("'{}' takes true or false", key), ErrorContext{.model = m.name, .field = f.name});
    return query::make_leaf(*b ? Op::is_null : Op::is_not_null, *index);
  }
  if (v.is_null()) {  // field = NULL never matches: compare with IS [NOT] NULL instead
    if (op_name == "exact") return query::make_leaf(Op::is_null, *index);
    if (op_name == "ne") return query::make_leaf(Op::is_not_null, *index);
    throw ValidationError(fmt::format("'{}' cannot compare with NULL", key), ErrorContext{.model = m.name, .field = f.name});
  }
  if (op_name == "in") {
    const auto* list = std::get_if<Value::List>(&v.v);
    if (!list) throw ValidationError(fmt::format("'{}' takes a list", key), ErrorContext{.model = m.name, .field = f.name});
    if (list->empty()) return query::make_leaf(Op::always_false, *index);
    FieldInfo as_array = f;
    as_array.kind = ValueKind::array;
    as_array.element_kind = f.kind;
    as_array.oid = 0;  // text literal: the server infers the array type from the column
    as_array.nullable = false;
    Param p = detail::encode_value(v, as_array, m);
    return query::make_leaf(Op::in, *index, {std::move(p)});
  }
  if (op_name == "range") {
    const auto* list = std::get_if<Value::List>(&v.v);
    if (!list || list->size() != 2)
      throw ValidationError(fmt::format("'{}' takes a list of two values", key), ErrorContext{.model = m.name, .field = f.name});
    return query::make_leaf(Op::between, *index,
                            {detail::encode_value((*list)[0], f, m), detail::encode_value((*list)[1], f, m)});
  }
  if (op >= Op::json_has_key) {
    if (f.kind != ValueKind::json)
      throw ValidationError(fmt::format("'{}' needs a json field", key), ErrorContext{.model = m.name, .field = f.name});
    if (op == Op::json_has_key) {
      const auto* k = std::get_if<std::string>(&v.v);
      if (!k) throw ValidationError(fmt::format("'{}' takes a key string", key), ErrorContext{.model = m.name, .field = f.name});
      Param p;
      pg::Codec<std::string>::to_text(*k, p.bytes);
      p.oid = pg::oid::text;
      return query::make_leaf(op, *index, {std::move(p)});
    }
    if (op == Op::json_has_any || op == Op::json_has_all) return query::make_leaf(op, *index, {json_keys(v, f, m, key)});
    // json_contains / json_contained_by: a JSON document (or JSON text, parsed to check it).
    nlohmann::json doc;
    if (const auto* j = std::get_if<nlohmann::json>(&v.v)) doc = *j;
    else if (const auto* s = std::get_if<std::string>(&v.v)) {
      try { doc = nlohmann::json::parse(*s); } catch (const nlohmann::json::exception&) {
        throw ValidationError(fmt::format("'{}' takes JSON; '{}' is not valid JSON", key, s->substr(0, 40)),
                              ErrorContext{.model = m.name, .field = f.name});
      }
    } else {
      throw ValidationError(fmt::format("'{}' takes a JSON document", key), ErrorContext{.model = m.name, .field = f.name});
    }
    Param p;
    pg::Codec<nlohmann::json>::to_text(doc, p.bytes);
    p.oid = pg::oid::jsonb;
    return query::make_leaf(op, *index, {std::move(p)});
  }
  if (op == Op::like || op == Op::ilike) {
    const auto* s = std::get_if<std::string>(&v.v);
    if (!s || (f.kind != ValueKind::text && f.kind != ValueKind::enumeration))
      throw ValidationError(fmt::format("'{}' needs a text field and a string value", key),
                            ErrorContext{.model = m.name, .field = f.name});
    std::string pattern = detail::escape_like(*s);
    if (op_name == "contains" || op_name == "icontains") pattern = "%" + pattern + "%";
    else if (op_name == "startswith" || op_name == "istartswith") pattern += "%";
    else if (op_name == "endswith" || op_name == "iendswith") pattern = "%" + pattern;
    Param p;
    pg::Codec<std::string>::to_text(pattern, p.bytes);
    return query::make_leaf(op, *index, {std::move(p)});
  }
  return query::make_leaf(op, *index, {detail::encode_value(v, f, m)});
}

query::NodePtr resolve_node(const Q::Node& n, const ModelInfo& m, const std::vector<Annotation>* a);
}  // namespace

query::NodePtr Q::resolve(const ModelInfo& model, const std::vector<query::Annotation>* annotations) const {
  return resolve_node(*node_, model, annotations);
}

namespace {
query::NodePtr resolve_node(const Q::Node& n, const ModelInfo& m, const std::vector<Annotation>* a) {
  switch (n.kind) {
    case Q::Node::Kind::leaf: {
      if (n.lookups.empty()) return query::make_leaf(Op::always_true, 0);
      query::NodePtr acc;
      for (const auto& l : n.lookups) {
        auto leaf = resolve_lookup(l, m, a);
        acc = acc ? query::make_logical(Op::and_, acc, leaf) : leaf;
      }
      return acc;
    }
    case Q::Node::Kind::and_: return query::make_logical(Op::and_, resolve_node(*n.children[0], m, a), resolve_node(*n.children[1], m, a));
    case Q::Node::Kind::or_: return query::make_logical(Op::or_, resolve_node(*n.children[0], m, a), resolve_node(*n.children[1], m, a));
    case Q::Node::Kind::not_: return query::make_not(resolve_node(*n.children[0], m, a));
    case Q::Node::Kind::condition: {
      auto leaf = std::make_shared<query::Node>();
      leaf->op = Op::condition;
      leaf->lhs = query::resolve(n.condition, m, a);
      return leaf;
    }
  }
  return nullptr;
}
}  // namespace

}  // namespace matrx::orm
