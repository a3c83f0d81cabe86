// Values for QuerySet::update: plain values or F expressions ("balance = balance - 100").
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "matrx/orm/query/value.hpp"

namespace matrx::orm {

/// A reference to a column's current value in an update: F("balance") - 100.
struct F {
  std::string field;
  explicit F(std::string f) : field(std::move(f)) {}
};
struct FExpr {
  std::string field;
  char op;
  Value operand;
};
inline FExpr operator+(F f, Value v) { return {std::move(f.field), '+', std::move(v)}; }
inline FExpr operator-(F f, Value v) { return {std::move(f.field), '-', std::move(v)}; }
inline FExpr operator*(F f, Value v) { return {std::move(f.field), '*', std::move(v)}; }
inline FExpr operator/(F f, Value v) { return {std::move(f.field), '/', std::move(v)}; }

/// One "field = value" of an update: {"age", 31} or {"balance", F("balance") - 100}.
struct FieldUpdate {
  std::string field;
  std::variant<Value, FExpr> value;
  FieldUpdate(std::string f, Value v) : field(std::move(f)), value(std::move(v)) {}
  FieldUpdate(std::string f, FExpr e) : field(std::move(f)), value(std::move(e)) {}
  template <class T>
    requires std::is_constructible_v<Value, T>
  FieldUpdate(std::string f, T v) : field(std::move(f)), value(Value(std::move(v))) {}
};

template <class M>
struct UpdateResult {
  std::int64_t rows_affected = 0;
  std::vector<M> rows{};  ///< the updated rows, as the database holds them now
};

}  // namespace matrx::orm
