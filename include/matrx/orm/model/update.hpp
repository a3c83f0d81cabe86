// Values for QuerySet::update: plain values or F expressions ("balance = balance - 100").
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "matrx/orm/query/expr.hpp"
#include "matrx/orm/query/value.hpp"

namespace matrx::orm {

/// One "field = value" of an update: {"age", 31} or {"balance", F("balance") - 100}.
struct FieldUpdate {
  std::string field;
  std::variant<Value, Expr> value;
  FieldUpdate(std::string f, Value v) : field(std::move(f)), value(std::move(v)) {}
  FieldUpdate(std::string f, Expr e) : field(std::move(f)), value(std::move(e)) {}
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
