// Moving values between model structs and statements: decoding rows into members,
// encoding members as parameters, and validating before any SQL is sent.
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/model.hpp"
#include "matrx/orm/model/execute.hpp"
#include "matrx/orm/pg/result.hpp"
#include "matrx/orm/query/column.hpp"

namespace matrx::orm::detail {

template <class T> struct is_std_optional : std::false_type {};
template <class T> struct is_std_optional<std::optional<T>> : std::true_type {};

/// Decodes row `row` into obj; columns[i] is the result column of field i (-1: not selected).
template <Described M>
void hydrate(const pg::Result& r, int row, M& obj, const std::vector<int>& columns) {
  for_each_field<M>([&](const auto& f, std::size_t i) {
    const int c = columns[i];
    if (c < 0) return;
    using T = typename std::remove_cvref_t<decltype(f)>::value_type;
    obj.*(f.member) = r.get<T>(row, c);
  });
}

/// Result column of each field, for a statement that selected `selected` (empty: all, in order).
inline std::vector<int> column_map(const ModelInfo& m, const std::vector<std::size_t>& selected) {
  std::vector<int> columns(m.fields.size(), -1);
  if (selected.empty())
    for (std::size_t i = 0; i < columns.size(); ++i) columns[i] = static_cast<int>(i);
  else
    for (std::size_t k = 0; k < selected.size(); ++k) columns[selected[k]] = static_cast<int>(k);
  return columns;
}

/// Decodes row `row` of a statement that selected every field in declaration order.
template <Described M>
void hydrate_in_order(const pg::Result& r, int row, M& obj) {
  for_each_field<M>([&](const auto& f, std::size_t i) {
    using T = typename std::remove_cvref_t<decltype(f)>::value_type;
    obj.*(f.member) = r.get<T>(row, static_cast<int>(i));
  });
}

template <Described M>
std::vector<M> hydrate_all(const pg::Result& r, const std::vector<std::size_t>& selected = {}) {
  std::vector<M> out(static_cast<std::size_t>(r.rows()));
  if (selected.empty()) {  // the common case needs no column map
    for (int row = 0; row < r.rows(); ++row) hydrate_in_order(r, row, out[static_cast<std::size_t>(row)]);
    return out;
  }
  const auto columns = column_map(model_info<M>(), selected);
  for (int row = 0; row < r.rows(); ++row) hydrate(r, row, out[static_cast<std::size_t>(row)], columns);
  return out;
}

/// One row as an object, decoded in place (get() and friends: no vector, no copy).
template <Described M>
M hydrate_row(const pg::Result& r, int row, const std::vector<std::size_t>& selected = {}) {
  M obj{};
  if (selected.empty()) hydrate_in_order(r, row, obj);
  else hydrate(r, row, obj, column_map(model_info<M>(), selected));
  return obj;
}

template <class T> struct is_std_vector : std::false_type {};
template <class T> struct is_std_vector<std::vector<T>> : std::true_type {};

/// A value as JSON: numbers and booleans as themselves, json as is, enums by label, every
/// other type by its PostgreSQL text form (numeric stays exact as a string, timestamps ISO).
template <class T>
nlohmann::json json_of(const T& value) {
  if constexpr (is_std_optional<T>::value) {
    return value ? json_of(*value) : nlohmann::json(nullptr);
  } else if constexpr (std::is_same_v<T, nlohmann::json> || std::is_same_v<T, std::string> ||
                       std::is_arithmetic_v<T>) {
    return nlohmann::json(value);
  } else if constexpr (is_std_vector<T>::value) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : value) a.push_back(json_of(e));
    return a;
  } else if constexpr (std::is_enum_v<T>) {
    return std::string(pg::Codec<T>::label(value));
  } else {
    std::string text;
    pg::Codec<T>::to_text(value, text);
    return text;
  }
}

/// A member value as a parameter (NULL for an empty optional).
template <class T>
Param encode_member(const T& value, const FieldInfo& field) {
  if constexpr (is_std_optional<T>::value) {
    if (!value) return Param{.oid = field.oid, .null = true};
    return encode_member(*value, field);
  } else {
    return encode_typed(value, field);
  }
}

/// True when a server-defaulted member still holds its default-constructed value, so an
/// INSERT leaves it to the database (0 for identity keys, nil UUID, epoch timestamps).
template <class T>
bool is_unset(const T& value) {
  if constexpr (is_std_optional<T>::value) return !value.has_value();
  else if constexpr (std::equality_comparable<T>) return value == T{};
  else return false;
}

/// Checks max_length, choices and vector dimensions. Throws ValidationError.
template <class T>
void validate_member(const T& value, const FieldInfo& f, const ModelInfo& m) {
  if constexpr (is_std_optional<T>::value) {
    if (value) validate_member(*value, f, m);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (f.max_length && utf8_length(value) > *f.max_length)
      throw ValidationError(fmt::format("{}.{} is longer than {} characters", m.name, f.name, *f.max_length),
                            ErrorContext{.model = m.name, .field = f.name});
    if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), value) == f.choices.end())
      throw ValidationError(fmt::format("{}.{}: '{}' is not one of the allowed values", m.name, f.name, value),
                            ErrorContext{.model = m.name, .field = f.name});
  } else if constexpr (std::is_same_v<T, Vector>) {
    if (f.dimensions && value.values.size() != static_cast<std::size_t>(*f.dimensions))
      throw ValidationError(fmt::format("{}.{} expects {} dimensions, got {}", m.name, f.name, *f.dimensions,
                                        value.values.size()),
                            ErrorContext{.model = m.name, .field = f.name});
  }
}

/// Throws QueryError: a model without a primary key (a view, a table declared
/// without_primary_key) cannot name one object.
[[noreturn]] void throw_no_primary_key(const ModelInfo& m);

/// WHERE primary key = the object's key (composite keys AND each part).
template <Described M>
query::NodePtr primary_key_condition(const M& obj) {
  const ModelInfo& m = model_info<M>();
  if (m.primary_keys.empty()) throw_no_primary_key(m);
  query::NodePtr where;
  for_each_field<M>([&](const auto& f, std::size_t i) {
    if (!m.fields[i].primary_key) return;
    auto leaf = query::make_leaf(query::Op::eq, i, {encode_member(obj.*(f.member), m.fields[i])});
    where = where ? query::make_logical(query::Op::and_, where, leaf) : leaf;
  });
  return where;
}

}  // namespace matrx::orm::detail
