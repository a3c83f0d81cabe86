// Expression builders, resolution against a model, and untyped literal encoding.
#include "matrx/orm/query/expr.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/query/expression.hpp"

namespace matrx::orm {

namespace {
using query::ExprKind;
using query::ExprPtr;

std::shared_ptr<query::Expr> node(ExprKind kind, std::string name = {}) {
  auto e = std::make_shared<query::Expr>();
  e->kind = kind;
  e->name = std::move(name);
  return e;
}
Expr make(std::shared_ptr<query::Expr> e) { return Expr(std::move(e)); }

Expr call(std::string name, std::vector<Expr> args) {
  auto e = node(ExprKind::call, std::move(name));
  for (auto& a : args) e->args.push_back(a.node());
  return make(std::move(e));
}
Expr binary(ExprKind kind, std::string op, const Expr& a, const Expr& b) {
  auto e = node(kind, std::move(op));
  e->args = {a.node(), b.node()};
  return make(std::move(e));
}
Expr aggregate(std::string name, Expr arg, bool distinct) {
  auto e = node(ExprKind::aggregate, std::move(name));
  e->args.push_back(arg.node());
  e->distinct = distinct;
  return make(std::move(e));
}
// An int4 parameter (NTILE, LAG offsets, ROUND digits take integer, not bigint).
Expr int_literal(int v) {
  auto e = node(ExprKind::value);
  Param p;
  p.oid = pg::oid::int4;
  p.binary = true;
  pg::Codec<std::int32_t>::to_binary(v, p.bytes);
  e->param = std::move(p);
  return make(std::move(e));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// CAST target: words of letters/digits/underscores separated by single spaces, an optional
// (p) or (p,s), and optional [] suffixes — nothing that can end the expression.
bool valid_type_name(std::string_view t) {
  std::size_t i = 0;
  auto word = [&] {
    const std::size_t start = i;
    while (i < t.size() && (std::isalnum(static_cast<unsigned char>(t[i])) || t[i] == '_')) ++i;
    return i > start && !std::isdigit(static_cast<unsigned char>(t[start]));
  };
  if (!word()) return false;
  while (i < t.size() && t[i] == ' ') {
    ++i;
    if (!word()) return false;
  }
  if (i < t.size() && t[i] == '(') {
    ++i;
    auto digits = [&] {
      const std::size_t start = i;
      while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
      return i > start;
    };
    if (!digits()) return false;
    if (i < t.size() && t[i] == ',') {
      ++i;
      if (!digits()) return false;
    }
    if (i >= t.size() || t[i++] != ')') return false;
  }
  while (i + 1 < t.size() && t[i] == '[' && t[i + 1] == ']') i += 2;
  return i == t.size();
}

bool valid_frame(std::string_view frame) {
  static constexpr std::array<std::string_view, 16> words = {"ROWS", "RANGE", "GROUPS", "BETWEEN", "AND",
                                                            "UNBOUNDED", "PRECEDING", "FOLLOWING", "CURRENT",
                                                            "ROW", "EXCLUDE", "NO", "OTHERS", "TIES", "GROUP",
                                                            "TIES"};
  std::size_t i = 0;
  bool any = false;
  while (i < frame.size()) {
    if (frame[i] == ' ') { ++i; continue; }
    std::size_t j = i;
    while (j < frame.size() && frame[j] != ' ') ++j;
    std::string w(frame.substr(i, j - i));
    for (auto& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const bool number = std::all_of(w.begin(), w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (!number && std::find(words.begin(), words.end(), w) == words.end()) return false;
    any = true;
    i = j;
  }
  return any;
}

[[noreturn]] void bad(const std::string& what, const std::string& hint = {}) {
  throw QueryError(what, ErrorContext{.hint = hint});
}
}  // namespace

Expr F(std::string field) { return make(node(ExprKind::field, std::move(field))); }
Expr OuterRef(std::string field) { return make(node(ExprKind::outer_field, std::move(field))); }
Expr Val(Value value) {
  auto e = node(ExprKind::value);
  e->literal = std::move(value);
  return make(std::move(e));
}

Expr operator+(const Expr& a, const Expr& b) { return binary(ExprKind::binary, "+", a, b); }
Expr operator-(const Expr& a, const Expr& b) { return binary(ExprKind::binary, "-", a, b); }
Expr operator*(const Expr& a, const Expr& b) { return binary(ExprKind::binary, "*", a, b); }
Expr operator/(const Expr& a, const Expr& b) { return binary(ExprKind::binary, "/", a, b); }
Expr operator+(const Expr& a, Value b) { return a + Val(std::move(b)); }
Expr operator-(const Expr& a, Value b) { return a - Val(std::move(b)); }
Expr operator*(const Expr& a, Value b) { return a * Val(std::move(b)); }
Expr operator/(const Expr& a, Value b) { return a / Val(std::move(b)); }
Expr operator+(Value a, const Expr& b) { return Val(std::move(a)) + b; }
Expr operator-(Value a, const Expr& b) { return Val(std::move(a)) - b; }
Expr operator*(Value a, const Expr& b) { return Val(std::move(a)) * b; }
Expr operator/(Value a, const Expr& b) { return Val(std::move(a)) / b; }

Expr operator==(const Expr& a, const Expr& b) { return binary(ExprKind::compare, "=", a, b); }
Expr operator!=(const Expr& a, const Expr& b) { return binary(ExprKind::compare, "IS DISTINCT FROM", a, b); }
Expr operator<(const Expr& a, const Expr& b) { return binary(ExprKind::compare, "<", a, b); }
Expr operator<=(const Expr& a, const Expr& b) { return binary(ExprKind::compare, "<=", a, b); }
Expr operator>(const Expr& a, const Expr& b) { return binary(ExprKind::compare, ">", a, b); }
Expr operator>=(const Expr& a, const Expr& b) { return binary(ExprKind::compare, ">=", a, b); }
Expr operator==(const Expr& a, Value b) { return a == Val(std::move(b)); }
Expr operator!=(const Expr& a, Value b) { return a != Val(std::move(b)); }
Expr operator<(const Expr& a, Value b) { return a < Val(std::move(b)); }
Expr operator<=(const Expr& a, Value b) { return a <= Val(std::move(b)); }
Expr operator>(const Expr& a, Value b) { return a > Val(std::move(b)); }
Expr operator>=(const Expr& a, Value b) { return a >= Val(std::move(b)); }

Expr Coalesce(std::vector<Expr> args) {
  if (args.size() < 2) bad("Coalesce() needs at least two arguments");
  return call("COALESCE", std::move(args));
}
Expr Lower(Expr e) { return call("LOWER", {std::move(e)}); }
Expr Upper(Expr e) { return call("UPPER", {std::move(e)}); }
Expr Length(Expr e) { return call("LENGTH", {std::move(e)}); }
Expr Trim(Expr e) { return call("TRIM", {std::move(e)}); }
Expr Concat(std::vector<Expr> args) {
  if (args.empty()) bad("Concat() needs at least one argument");
  return call("CONCAT", std::move(args));
}
Expr Greatest(std::vector<Expr> args) {
  if (args.empty()) bad("Greatest() needs at least one argument");
  return call("GREATEST", std::move(args));
}
Expr Least(std::vector<Expr> args) {
  if (args.empty()) bad("Least() needs at least one argument");
  return call("LEAST", std::move(args));
}
Expr Abs(Expr e) { return call("ABS", {std::move(e)}); }
Expr Round(Expr e, std::optional<int> digits) {
  if (!digits) return call("ROUND", {std::move(e)});
  return call("ROUND", {std::move(e), int_literal(*digits)});
}
Expr Now() { return call("NOW", {}); }
Expr Cast(Expr e, std::string type) {
  if (!valid_type_name(type))
    bad(fmt::format("Cast(): '{}' is not a type name", type), "e.g. \"numeric(10,2)\", \"text\", \"bigint[]\"");
  auto n = node(ExprKind::cast, std::move(type));
  n->args.push_back(e.node());
  return make(std::move(n));
}
Expr Extract(std::string part, Expr e) {
  static constexpr std::array<std::string_view, 18> parts = {
      "year", "month", "day", "hour", "minute", "second", "epoch", "dow", "doy", "week", "quarter", "isodow",
      "isoyear", "decade", "century", "millennium", "microseconds", "milliseconds"};
  const std::string p = lower(part);
  if (std::find(parts.begin(), parts.end(), p) == parts.end()) bad(fmt::format("Extract(): unknown part '{}'", part));
  auto n = node(ExprKind::extract, p);
  n->args.push_back(e.node());
  return make(std::move(n));
}
Expr DateTrunc(std::string precision, Expr e) { return call("date_trunc", {Val(std::move(precision)), std::move(e)}); }
Expr JsonKey(Expr json, std::string key) {
  auto n = node(ExprKind::json_text, "->>");
  n->args = {json.node(), Val(std::move(key)).node()};
  return make(std::move(n));
}
Expr JsonPath(Expr json, std::vector<std::string> path) {
  if (path.empty()) bad("JsonPath() needs at least one key");
  auto n = node(ExprKind::json_text, "#>>");
  Param p;
  pg::Codec<std::vector<std::string>>::to_text(path, p.bytes);
  p.oid = pg::oid::text_array;
  auto literal = node(ExprKind::value);
  literal->param = std::move(p);
  n->args = {json.node(), std::move(literal)};
  return make(std::move(n));
}

Expr Count(std::string field, bool distinct) {
  if (field.empty()) {
    if (distinct) bad("Count(distinct) needs a field");
    return aggregate("COUNT", make(node(ExprKind::star)), false);
  }
  return aggregate("COUNT", F(std::move(field)), distinct);
}
Expr Count(Expr e, bool distinct) { return aggregate("COUNT", std::move(e), distinct); }
Expr Sum(std::string field, bool distinct) { return aggregate("SUM", F(std::move(field)), distinct); }
Expr Sum(Expr e, bool distinct) { return aggregate("SUM", std::move(e), distinct); }
Expr Avg(std::string field, bool distinct) { return aggregate("AVG", F(std::move(field)), distinct); }
Expr Avg(Expr e, bool distinct) { return aggregate("AVG", std::move(e), distinct); }
Expr Min(std::string field) { return aggregate("MIN", F(std::move(field)), false); }
Expr Min(Expr e) { return aggregate("MIN", std::move(e), false); }
Expr Max(std::string field) { return aggregate("MAX", F(std::move(field)), false); }
Expr Max(Expr e) { return aggregate("MAX", std::move(e), false); }
Expr StdDev(std::string field) { return aggregate("STDDEV", F(std::move(field)), false); }
Expr StdDev(Expr e) { return aggregate("STDDEV", std::move(e), false); }
Expr Variance(std::string field) { return aggregate("VARIANCE", F(std::move(field)), false); }
Expr Variance(Expr e) { return aggregate("VARIANCE", std::move(e), false); }

namespace {
Expr window_fn(std::string name, std::vector<Expr> args = {}) {
  auto e = node(ExprKind::call, std::move(name));
  for (auto& a : args) e->args.push_back(a.node());
  e->distinct = true;  // marks a window-only function (rendered like a call)
  return make(std::move(e));
}
Expr offset_fn(std::string name, std::string field, int offset, std::optional<Value> fallback) {
  if (offset < 0) bad(fmt::format("{}(): offset must not be negative", name));
  std::vector<Expr> args{F(std::move(field)), int_literal(offset)};
  if (fallback) args.push_back(Val(std::move(*fallback)));
  return window_fn(std::move(name), std::move(args));
}
}  // namespace

Expr RowNumber() { return window_fn("ROW_NUMBER"); }
Expr Rank() { return window_fn("RANK"); }
Expr DenseRank() { return window_fn("DENSE_RANK"); }
Expr CumeDist() { return window_fn("CUME_DIST"); }
Expr PercentRank() { return window_fn("PERCENT_RANK"); }
Expr Ntile(int buckets) {
  if (buckets <= 0) bad("Ntile() needs a positive number of buckets");
  return window_fn("NTILE", {int_literal(buckets)});
}
Expr Lag(std::string field, int offset, std::optional<Value> fallback) {
  return offset_fn("LAG", std::move(field), offset, std::move(fallback));
}
Expr Lead(std::string field, int offset, std::optional<Value> fallback) {
  return offset_fn("LEAD", std::move(field), offset, std::move(fallback));
}
Expr FirstValue(std::string field) { return window_fn("FIRST_VALUE", {F(std::move(field))}); }
Expr LastValue(std::string field) { return window_fn("LAST_VALUE", {F(std::move(field))}); }
Expr NthValue(std::string field, int n) {
  if (n <= 0) bad("NthValue() needs a positive position");
  return window_fn("NTH_VALUE", {F(std::move(field)), int_literal(n)});
}

Expr Window(Expr fn, std::vector<std::string> partition_by, std::vector<std::string> order_by, std::string frame) {
  const auto& f = *fn.node();
  if (!(f.kind == ExprKind::aggregate || (f.kind == ExprKind::call && f.distinct)))
    bad("Window() takes a window function (RowNumber(), Rank(), Lag(), …) or an aggregate");
  if (!frame.empty() && !valid_frame(frame))
    bad(fmt::format("Window(): '{}' is not a frame clause", frame), "e.g. \"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW\"");
  auto e = node(ExprKind::window);
  e->args.push_back(fn.node());
  for (auto& p : partition_by) e->partition_by.push_back(F(std::move(p)).node());
  for (auto& o : order_by) {
    const bool desc = !o.empty() && o.front() == '-';
    e->order_by.push_back(F(desc ? o.substr(1) : o).node());
    e->order_descending.push_back(desc);
  }
  e->frame = std::move(frame);
  return make(std::move(e));
}

Expr CteValues(std::string cte, std::string column) {
  auto e = node(ExprKind::cte_column, std::move(cte));
  e->column = std::move(column);
  return make(std::move(e));
}

namespace detail {

Param encode_untyped(const Value& value) {
  Param p;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          p.null = true;
        } else if constexpr (std::is_same_v<T, Value::List>) {
          throw ValidationError("a list value needs a field to give it a type (use it in a lookup such as field__in)");
        } else if constexpr (std::is_same_v<T, std::string>) {
          pg::Codec<std::string>::to_text(v, p.bytes);  // rejects NUL
          p.oid = pg::oid::text;  // typed: CONCAT and other variadic functions cannot infer unknown
        } else if constexpr (std::is_same_v<T, nlohmann::json>) {
          pg::Codec<nlohmann::json>::to_text(v, p.bytes);
          p.oid = pg::oid::jsonb;
        } else {
          p.oid = pg::Codec<T>::oid;
          if constexpr (pg::Codec<T>::binary_param) {
            p.binary = true;
            pg::Codec<T>::to_binary(v, p.bytes);
          } else {
            pg::Codec<T>::to_text(v, p.bytes);
          }
        }
      },
      value.v);
  return p;
}

std::string default_alias(const Expr& e) {
  if (!e.alias().empty()) return e.alias();
  const auto& n = *e.node();
  if (n.kind == ExprKind::aggregate && n.args.size() == 1) {
    if (n.args[0]->kind == ExprKind::star) return "count";
    if (n.args[0]->kind == ExprKind::field) return n.args[0]->name + "__" + lower(n.name);
  }
  throw QueryError("this expression needs a name: add .as(\"name\")");
}

}  // namespace detail

namespace query {

bool contains_aggregate(const Expr& e) noexcept {
  if (e.kind == ExprKind::aggregate) return true;
  if (e.kind == ExprKind::window || e.kind == ExprKind::subquery || e.kind == ExprKind::exists) return false;
  return std::any_of(e.args.begin(), e.args.end(), [](const ExprPtr& a) { return contains_aggregate(*a); });
}
bool contains_window(const Expr& e) noexcept {
  if (e.kind == ExprKind::window || (e.kind == ExprKind::call && e.distinct)) return true;
  if (e.kind == ExprKind::subquery || e.kind == ExprKind::exists) return false;
  return std::any_of(e.args.begin(), e.args.end(), [](const ExprPtr& a) { return contains_window(*a); });
}

namespace {
const FieldInfo* field_of(const Expr& e, const ModelInfo& m) {
  return e.kind == ExprKind::field && e.field ? &m.fields[*e.field] : nullptr;
}
}  // namespace

ExprPtr resolve(const ExprPtr& expr, const ModelInfo& m, const std::vector<Annotation>* annotations,
                const FieldInfo* context) {
  const Expr& e = *expr;
  switch (e.kind) {
    case ExprKind::field: {
      if (e.field) return expr;
      if (annotations)
        for (const auto& a : *annotations)
          if (a.alias == e.name) return a.expr;  // already resolved
      if (auto i = m.index_of(e.name)) {
        auto out = std::make_shared<Expr>(e);
        out->field = *i;
        return out;
      }
      m.field(e.name);  // throws FieldError listing the fields
      return expr;
    }
    case ExprKind::value: {
      if (e.param) return expr;
      auto out = std::make_shared<Expr>(e);
      out->param = context ? orm::detail::encode_value(*e.literal, *context, m) : orm::detail::encode_untyped(*e.literal);
      return out;
    }
    case ExprKind::outer_field:
    case ExprKind::star:
    case ExprKind::subquery:
    case ExprKind::exists:
    case ExprKind::cte_column:
      return expr;
    case ExprKind::binary:
    case ExprKind::compare:
    case ExprKind::call: {
      auto out = std::make_shared<Expr>(e);
      // Resolve columns first; a literal next to a column takes the column's type
      // (F("age") + 1 binds 1 as the age column's integer type, range-checked).
      const FieldInfo* typed = nullptr;
      for (auto& a : out->args) {
        if (a->kind == ExprKind::value) continue;
        a = resolve(a, m, annotations, nullptr);
        if (!typed) typed = field_of(*a, m);
      }
      if (e.kind == ExprKind::call && e.name == "date_trunc") typed = nullptr;
      for (auto& a : out->args) {
        if (a->kind != ExprKind::value) continue;
        a = resolve(a, m, annotations, typed ? typed : context);
        if (e.name == "CONCAT" && a->param && a->param->oid == 0 && !a->param->null) {
          // CONCAT takes "any": an untyped parameter has no type to resolve to.
          auto typed_text = std::make_shared<Expr>(*a);
          typed_text->param->oid = pg::oid::text;
          a = typed_text;
        }
      }
      return out;
    }
    case ExprKind::aggregate:
    case ExprKind::cast:
    case ExprKind::extract:
    case ExprKind::json_text: {
      auto out = std::make_shared<Expr>(e);
      for (auto& a : out->args) a = resolve(a, m, annotations, nullptr);
      if (e.kind == ExprKind::aggregate && contains_aggregate(*out->args.at(0)))
        throw QueryError(fmt::format("{}(): aggregates cannot be nested", e.name), ErrorContext{.model = m.name});
      if (e.kind == ExprKind::json_text) {
        const FieldInfo* f = field_of(*out->args[0], m);
        if (f && f->kind != ValueKind::json)
          throw ValidationError(fmt::format("{}.{} is not a json field", m.name, f->name), ErrorContext{.model = m.name, .field = f->name});
      }
      return out;
    }
    case ExprKind::window: {
      auto out = std::make_shared<Expr>(e);
      for (auto& a : out->args) a = resolve(a, m, annotations, nullptr);
      for (auto& a : out->partition_by) a = resolve(a, m, nullptr, nullptr);
      for (auto& a : out->order_by) a = resolve(a, m, nullptr, nullptr);
      return out;
    }
  }
  return expr;
}

}  // namespace query

}  // namespace matrx::orm
