// Typed columns: orm::col<&User::age> > 18. The value type is checked at compile time —
// a string for an integer column, a narrowing conversion, or a column of another model
// in a filter of this one do not compile.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/model.hpp"
#include "matrx/orm/pg/codec.hpp"
#include "matrx/orm/query/expression.hpp"

namespace matrx::orm {

namespace detail {
template <class P> struct member_pointer_traits;
template <class M, class T> struct member_pointer_traits<T M::*> {
  using model = M;
  using value = T;
};
template <class T> struct unwrap_optional_t { using type = T; };
template <class T> struct unwrap_optional_t<std::optional<T>> { using type = T; };

/// V converts to T without narrowing (brace initialization rules).
template <class V, class T>
concept converts_exactly = requires(V&& v) { T{std::forward<V>(v)}; };

template <class T>
Param encode_typed(const T& value, const FieldInfo& field) {
  Param p;
  p.oid = field.oid;
  if constexpr (pg::Codec<T>::binary_param) {
    if (field.oid != 0 || pg::Codec<T>::oid == 0) {
      p.binary = true;
      pg::Codec<T>::to_binary(value, p.bytes);
      return p;
    }
  }
  pg::Codec<T>::to_text(value, p.bytes);
  return p;
}
}  // namespace detail

/// An ORDER BY term: a field index and a direction, or an annotation alias when `alias`
/// is set.
struct OrderTerm {
  std::size_t field;
  bool descending = false;
  std::string alias{};
};

/// M is the model; it differs from the member's class for a member inherited from an
/// abstract model (col_of<Note, &Note::created_at>).
template <auto Member, class M = typename detail::member_pointer_traits<decltype(Member)>::model>
struct Column {
  using Traits = detail::member_pointer_traits<decltype(Member)>;
  using Model = M;
  static_assert(std::is_base_of_v<typename Traits::model, M>, "the member does not belong to this model");
  using Stored = typename Traits::value;
  using T = typename detail::unwrap_optional_t<Stored>::type;
  static constexpr bool nullable = !std::is_same_v<Stored, T>;

  static std::size_t index() {
    static const std::ptrdiff_t i = field_index<Model>(static_cast<Stored Model::*>(Member));
    if (i < 0)
      throw FieldError(fmt::format("this member of {} is not listed in its MATRX_MODEL", model_info<Model>().name),
                       ErrorContext{.model = model_info<Model>().name});
    return static_cast<std::size_t>(i);
  }
  static const FieldInfo& info() { return model_info<Model>().fields[index()]; }

  static Where<Model> compare(query::Op op, const T& value) {
    return Where<Model>(query::make_leaf(op, index(), {detail::encode_typed(value, info())}));
  }

  template <class V> requires detail::converts_exactly<V, T>
  friend Where<Model> operator==(Column, V&& v) { return compare(query::Op::eq, T{std::forward<V>(v)}); }
  template <class V> requires detail::converts_exactly<V, T>
  friend Where<Model> operator!=(Column, V&& v) { return compare(query::Op::ne, T{std::forward<V>(v)}); }
  template <class V> requires detail::converts_exactly<V, T>
  friend Where<Model> operator<(Column, V&& v) { return compare(query::Op::lt, T{std::forward<V>(v)}); }
  template <class V> requires detail::converts_exactly<V, T>
  friend Where<Model> operator<=(Column, V&& v) { return compare(query::Op::lte, T{std::forward<V>(v)}); }
  template <class V> requires detail::converts_exactly<V, T>
  friend Where<Model> operator>(Column, V&& v) { return compare(query::Op::gt, T{std::forward<V>(v)}); }
  template <class V> requires detail::converts_exactly<V, T>
  friend Where<Model> operator>=(Column, V&& v) { return compare(query::Op::gte, T{std::forward<V>(v)}); }

  /// IS NULL / IS NOT NULL (nullable columns only).
  friend Where<Model> operator==(Column, std::nullopt_t) requires nullable { return is_null(); }
  friend Where<Model> operator!=(Column, std::nullopt_t) requires nullable { return is_not_null(); }
  static Where<Model> is_null() requires nullable { return Where<Model>(query::make_leaf(query::Op::is_null, index())); }
  static Where<Model> is_not_null() requires nullable {
    return Where<Model>(query::make_leaf(query::Op::is_not_null, index()));
  }

  /// field = ANY($1); an empty list matches nothing (and sends no SQL error).
  static Where<Model> in(const std::vector<T>& values) {
    if (values.empty()) return Where<Model>(query::make_leaf(query::Op::always_false, index()));
    Param p;
    p.oid = pg::Codec<std::vector<T>>::oid;
    if (p.oid != 0) {
      p.binary = true;
      pg::Codec<std::vector<T>>::to_binary(values, p.bytes);
    } else {
      pg::Codec<std::vector<T>>::to_text(values, p.bytes);
    }
    return Where<Model>(query::make_leaf(query::Op::in, index(), {std::move(p)}));
  }
  static Where<Model> between(const T& low, const T& high) {
    return Where<Model>(query::make_leaf(query::Op::between, index(),
                                         {detail::encode_typed(low, info()), detail::encode_typed(high, info())}));
  }

  // Text matching; LIKE wildcards in the argument are escaped (they match themselves).
  static Where<Model> contains(std::string_view s) requires std::is_same_v<T, std::string> { return like(false, "%", s, "%"); }
  static Where<Model> icontains(std::string_view s) requires std::is_same_v<T, std::string> { return like(true, "%", s, "%"); }
  static Where<Model> startswith(std::string_view s) requires std::is_same_v<T, std::string> { return like(false, "", s, "%"); }
  static Where<Model> istartswith(std::string_view s) requires std::is_same_v<T, std::string> { return like(true, "", s, "%"); }
  static Where<Model> endswith(std::string_view s) requires std::is_same_v<T, std::string> { return like(false, "%", s, ""); }
  static Where<Model> iendswith(std::string_view s) requires std::is_same_v<T, std::string> { return like(true, "%", s, ""); }

  // JSONB operators (json members only).
  static Where<Model> has_key(std::string_view key) requires std::is_same_v<T, nlohmann::json> {
    Param p;
    pg::Codec<std::string>::to_text(std::string(key), p.bytes);
    p.oid = pg::oid::text;
    return Where<Model>(query::make_leaf(query::Op::json_has_key, index(), {std::move(p)}));
  }
  static Where<Model> has_any_key(const std::vector<std::string>& keys) requires std::is_same_v<T, nlohmann::json> {
    return keys_op(query::Op::json_has_any, keys);
  }
  static Where<Model> has_all_keys(const std::vector<std::string>& keys) requires std::is_same_v<T, nlohmann::json> {
    return keys_op(query::Op::json_has_all, keys);
  }
  static Where<Model> json_contains(const nlohmann::json& doc) requires std::is_same_v<T, nlohmann::json> {
    return json_op(query::Op::json_contains, doc);
  }
  static Where<Model> json_contained_by(const nlohmann::json& doc) requires std::is_same_v<T, nlohmann::json> {
    return json_op(query::Op::json_contained_by, doc);
  }

  static OrderTerm asc() { return OrderTerm{index(), false}; }
  static OrderTerm desc() { return OrderTerm{index(), true}; }

 private:
  static Where<Model> keys_op(query::Op op, const std::vector<std::string>& keys) {
    Param p;
    pg::Codec<std::vector<std::string>>::to_text(keys, p.bytes);
    p.oid = pg::oid::text_array;
    return Where<Model>(query::make_leaf(op, index(), {std::move(p)}));
  }
  static Where<Model> json_op(query::Op op, const nlohmann::json& doc) {
    Param p;
    pg::Codec<nlohmann::json>::to_text(doc, p.bytes);
    p.oid = pg::oid::jsonb;
    return Where<Model>(query::make_leaf(op, index(), {std::move(p)}));
  }
  static Where<Model> like(bool insensitive, const char* before, std::string_view s, const char* after) {
    const std::string pattern = before + detail::escape_like(s) + after;
    Param p;
    pg::Codec<std::string>::to_text(pattern, p.bytes);  // rejects NUL
    return Where<Model>(query::make_leaf(insensitive ? query::Op::ilike : query::Op::like, index(), {std::move(p)}));
  }
};

/// The typed column of a model member: orm::col<&User::age>.
template <auto Member>
inline constexpr Column<Member> col{};
/// The typed column of a member that model M inherits from an abstract model:
/// orm::col_of<Note, &Note::created_at> (&Note::created_at names the base's member).
template <class M, auto Member>
inline constexpr Column<Member, M> col_of{};

}  // namespace matrx::orm
