// Value: a dynamically typed value for Django-style lookups ({"age__gt", 18}) and dynamic
// updates. It is checked against the field's type and encoded when the filter is built.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "matrx/orm/pg/codec.hpp"
#include "matrx/orm/pg/types.hpp"

namespace matrx::orm {

namespace query {
struct Expr;
}

/// An encoded parameter value.
struct Param {
  std::string bytes{};
  pg::Oid oid = 0;
  bool binary = false;
  bool null = false;
};

struct Value {
  using List = std::vector<Value>;
  using Storage = std::variant<std::monostate, bool, std::int64_t, double, std::string, Numeric, Uuid, Timestamp,
                               LocalTimestamp, Date, TimeOfDay, Interval, nlohmann::json, Bytes, List>;
  Storage v;

  Value() = default;  // NULL
  Value(std::nullptr_t) {}
  Value(std::nullopt_t) {}
  Value(bool b) : v(b) {}
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, char>)
  Value(I i) : v(static_cast<std::int64_t>(i)) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t))
      if (i > static_cast<I>(INT64_MAX)) v = static_cast<double>(i);  // flagged as out of range later
  }
  Value(float f) : v(static_cast<double>(f)) {}
  Value(double d) : v(d) {}
  Value(const char* s) : v(std::string(s)) {}
  Value(std::string_view s) : v(std::string(s)) {}
  Value(std::string s) : v(std::move(s)) {}
  Value(Numeric n) : v(std::move(n)) {}
  Value(Uuid u) : v(u) {}
  Value(Timestamp t) : v(t) {}
  Value(LocalTimestamp t) : v(t) {}
  Value(Date d) : v(d) {}
  Value(TimeOfDay t) : v(t) {}
  Value(Interval i) : v(i) {}
  Value(nlohmann::json j) : v(std::move(j)) {}
  Value(Bytes b) : v(std::move(b)) {}
  Value(List l) : v(std::move(l)) {}
  template <class T>
  Value(const std::vector<T>& items) : v(List(items.begin(), items.end())) {}
  template <class T>
  Value(const std::optional<T>& o) { if (o) *this = Value(*o); }
  template <class E>
    requires std::is_enum_v<E> && boost::describe::has_describe_enumerators<E>::value
  Value(E e) : v(std::string(pg::Codec<E>::label(e))) {}

  bool is_null() const noexcept { return std::holds_alternative<std::monostate>(v); }
  /// "int", "string", … for error messages.
  const char* type_name() const noexcept;
};

/// One Django-style lookup: {"age__gt", 18}.
/// With `expr` set, the right-hand side is that expression instead of `value`
/// (Q("balance__gt", F("credit_limit"))).
struct Lookup {
  std::string key;
  Value value{};
  std::shared_ptr<const query::Expr> expr{};
};
using Lookups = std::vector<Lookup>;

}  // namespace matrx::orm
