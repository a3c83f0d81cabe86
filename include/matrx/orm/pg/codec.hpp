// Codec<T>: how a C++ type travels to and from PostgreSQL, in text and binary form.
//
// A codec specialization provides:
//   static constexpr Oid  oid;          parameter type (0: let the server infer; text only)
//   static constexpr Oid  array_oid;    array type (0: arrays of T travel as text)
//   static constexpr bool binary_param; preferred parameter format is binary
//   static void to_text(const T&, std::string& out);    append the text form
//   static void to_binary(const T&, std::string& out);  append the binary form
//   static T from_text(std::string_view, Oid column);    throws ParameterError
//   static T from_binary(std::string_view, Oid column);  throws ParameterError
//   static bool accepts(Oid column);                     can this column type be read as T
//
// Scalar codecs are defined in src/pg/codec_*.cpp; only the generic ones (arrays,
// described enums) are templates here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/describe/enum.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/mp11/algorithm.hpp>
#include <nlohmann/json_fwd.hpp>

#include "matrx/orm/pg/oid.hpp"
#include "matrx/orm/pg/types.hpp"

namespace matrx::orm::pg {

enum class Format : int { text = 0, binary = 1 };

template <class T>
struct Codec;  // no codec: the type cannot be sent to or read from PostgreSQL

template <class T>
concept HasCodec = requires { Codec<T>::oid; };

namespace detail {
[[noreturn]] void throw_decode_error(std::string_view cpp_type, Oid column, std::string_view why);
[[noreturn]] void throw_encode_error(std::string_view cpp_type, std::string_view why);
void append_be16(std::string& out, std::uint16_t v);
void append_be32(std::string& out, std::uint32_t v);
void append_be64(std::string& out, std::uint64_t v);
std::uint16_t read_be16(const char* p);
std::uint32_t read_be32(const char* p);
std::uint64_t read_be64(const char* p);
}  // namespace detail

#define MATRX_ORM_SCALAR_CODEC(T, OID, ARRAY_OID, BINARY_PARAM)         \
  template <>                                                           \
  struct Codec<T> {                                                     \
    static constexpr Oid oid = OID;                                     \
    static constexpr Oid array_oid = ARRAY_OID;                         \
    static constexpr bool binary_param = BINARY_PARAM;                  \
    static void to_text(const T& value, std::string& out);              \
    static void to_binary(const T& value, std::string& out);            \
    static T from_text(std::string_view text, Oid column);              \
    static T from_binary(std::string_view data, Oid column);            \
    static bool accepts(Oid column) noexcept;                           \
  };

MATRX_ORM_SCALAR_CODEC(bool, oid::bool_, oid::bool_array, true)
MATRX_ORM_SCALAR_CODEC(std::int16_t, oid::int2, oid::int2_array, true)
MATRX_ORM_SCALAR_CODEC(std::int32_t, oid::int4, oid::int4_array, true)
MATRX_ORM_SCALAR_CODEC(std::int64_t, oid::int8, oid::int8_array, true)
MATRX_ORM_SCALAR_CODEC(float, oid::float4, oid::float4_array, true)
MATRX_ORM_SCALAR_CODEC(double, oid::float8, oid::float8_array, true)
// Strings go untyped (text format, OID 0) so that text, varchar, char, enums and citext
// columns all accept them; the model layer passes the column's OID when it knows it.
MATRX_ORM_SCALAR_CODEC(std::string, oid::unspecified, oid::unspecified, false)
MATRX_ORM_SCALAR_CODEC(Numeric, oid::numeric, oid::numeric_array, true)
MATRX_ORM_SCALAR_CODEC(Uuid, oid::uuid, oid::uuid_array, true)
MATRX_ORM_SCALAR_CODEC(Timestamp, oid::timestamptz, oid::timestamptz_array, true)
MATRX_ORM_SCALAR_CODEC(LocalTimestamp, oid::timestamp, oid::timestamp_array, true)
MATRX_ORM_SCALAR_CODEC(Date, oid::date, oid::date_array, true)
MATRX_ORM_SCALAR_CODEC(TimeOfDay, oid::time, oid::time_array, true)
MATRX_ORM_SCALAR_CODEC(Interval, oid::interval, oid::interval_array, true)
// JSON goes untyped as text so the server picks json or jsonb from the context.
MATRX_ORM_SCALAR_CODEC(nlohmann::json, oid::unspecified, oid::unspecified, false)
MATRX_ORM_SCALAR_CODEC(Bytes, oid::bytea, oid::bytea_array, true)
MATRX_ORM_SCALAR_CODEC(Inet, oid::inet, oid::inet_array, true)
MATRX_ORM_SCALAR_CODEC(Cidr, oid::cidr, oid::cidr_array, true)
MATRX_ORM_SCALAR_CODEC(MacAddr, oid::macaddr, oid::macaddr_array, true)
MATRX_ORM_SCALAR_CODEC(Point, oid::point, oid::point_array, true)
MATRX_ORM_SCALAR_CODEC(Money, oid::money, oid::money_array, true)
// Extension types have no fixed OID: untyped parameters, binary parameters still work
// because the server applies the inferred type's receive function.
MATRX_ORM_SCALAR_CODEC(Vector, oid::unspecified, oid::unspecified, true)
MATRX_ORM_SCALAR_CODEC(Hstore, oid::unspecified, oid::unspecified, true)

#undef MATRX_ORM_SCALAR_CODEC

// long long is a distinct type from int64_t (long) on LP64; it travels as int8.
template <>
struct Codec<long long> {
  static constexpr Oid oid = oid::int8;
  static constexpr Oid array_oid = oid::int8_array;
  static constexpr bool binary_param = true;
  static void to_text(long long v, std::string& out) { Codec<std::int64_t>::to_text(v, out); }
  static void to_binary(long long v, std::string& out) { Codec<std::int64_t>::to_binary(v, out); }
  static long long from_text(std::string_view t, Oid c) { return Codec<std::int64_t>::from_text(t, c); }
  static long long from_binary(std::string_view d, Oid c) { return Codec<std::int64_t>::from_binary(d, c); }
  static bool accepts(Oid c) noexcept { return Codec<std::int64_t>::accepts(c); }
};

// ---------------------------------------------------------------------------------------
// Enums described with BOOST_DESCRIBE_ENUM travel as their enumerator names (PostgreSQL
// enum labels). Untyped, so the server resolves the enum type from the context.

template <class E>
  requires std::is_enum_v<E> && boost::describe::has_describe_enumerators<E>::value
struct Codec<E> {
  static constexpr Oid oid = oid::unspecified;
  static constexpr Oid array_oid = oid::unspecified;
  static constexpr bool binary_param = false;

  static std::string_view label(E value) {
    std::string_view found;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
      if (d.value == value) found = d.name;
    });
    if (found.empty()) detail::throw_encode_error("enum", "value has no described enumerator");
    return found;
  }
  static void to_text(E value, std::string& out) { out.append(label(value)); }
  static void to_binary(E value, std::string& out) { out.append(label(value)); }
  static E from_text(std::string_view text, Oid column) {
    std::optional<E> found;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
      if (text == d.name) found = d.value;
    });
    if (!found)
      detail::throw_decode_error("enum", column,
                                 "label '" + std::string(text) + "' is not an enumerator");
    return *found;
  }
  static E from_binary(std::string_view data, Oid column) { return from_text(data, column); }
  static bool accepts(Oid column) noexcept {
    return column == oid::text || column == oid::varchar || column >= 16384;
  }
};

// ---------------------------------------------------------------------------------------
// One-dimensional arrays: std::vector<T> and std::vector<std::optional<T>> (NULL elements).

namespace detail {
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct unwrap_optional { using type = T; };
template <class T> struct unwrap_optional<std::optional<T>> { using type = T; };

/// Splits a one-dimensional array literal into its elements (nullopt for NULL).
std::vector<std::optional<std::string>> parse_array_text(std::string_view text);
/// Appends an element to an array literal, quoting it when needed.
void append_array_text_element(std::string& out, std::string_view element);

struct BinaryArrayHeader {
  Oid element_oid;
  std::int32_t count;
  const char* elements;  // start of (length, bytes) pairs
  const char* end;
};
BinaryArrayHeader parse_array_binary(std::string_view data, Oid column);
}  // namespace detail

template <class E>
  requires HasCodec<typename detail::unwrap_optional<E>::type>
struct Codec<std::vector<E>> {
  using Element = typename detail::unwrap_optional<E>::type;
  using ElementCodec = Codec<Element>;
  static constexpr bool nullable = detail::is_optional<E>::value;
  static constexpr Oid oid = ElementCodec::array_oid;
  static constexpr Oid array_oid = oid::unspecified;  // no multi-dimensional arrays
  static constexpr bool binary_param = ElementCodec::array_oid != oid::unspecified;

  static void to_text(const std::vector<E>& values, std::string& out) {
    out.push_back('{');
    std::string element;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i) out.push_back(',');
      if constexpr (nullable) {
        if (!values[i]) { out.append("NULL"); continue; }
        element.clear();
        ElementCodec::to_text(*values[i], element);
      } else {
        element.clear();
        ElementCodec::to_text(values[i], element);
      }
      detail::append_array_text_element(out, element);
    }
    out.push_back('}');
  }

  static void to_binary(const std::vector<E>& values, std::string& out) {
    bool has_null = false;
    if constexpr (nullable)
      for (const auto& v : values) has_null |= !v.has_value();
    detail::append_be32(out, values.empty() ? 0 : 1);  // dimensions
    detail::append_be32(out, has_null ? 1 : 0);
    detail::append_be32(out, ElementCodec::oid);
    if (values.empty()) return;
    detail::append_be32(out, static_cast<std::uint32_t>(values.size()));
    detail::append_be32(out, 1);  // lower bound
    for (const auto& v : values) {
      const Element* element;
      if constexpr (nullable) {
        if (!v) { detail::append_be32(out, 0xFFFFFFFFu); continue; }
        element = &*v;
      } else {
        element = &v;
      }
      const std::size_t length_at = out.size();
      out.append(4, '\0');
      ElementCodec::to_binary(*element, out);
      const auto length = static_cast<std::uint32_t>(out.size() - length_at - 4);
      std::string be;
      detail::append_be32(be, length);
      out.replace(length_at, 4, be);
    }
  }

  static std::vector<E> from_text(std::string_view text, Oid column) {
    auto parts = detail::parse_array_text(text);
    std::vector<E> result;
    result.reserve(parts.size());
    const Oid element_type = element_oid_of(column);
    for (auto& p : parts) {
      if (!p) {
        if constexpr (nullable) { result.emplace_back(std::nullopt); continue; }
        else detail::throw_decode_error("std::vector<T>", column,
                                        "array has a NULL element; read it as std::vector<std::optional<T>>");
      } else {
        result.push_back(ElementCodec::from_text(*p, element_type));
      }
    }
    return result;
  }

  static std::vector<E> from_binary(std::string_view data, Oid column) {
    auto header = detail::parse_array_binary(data, column);
    if (!ElementCodec::accepts(header.element_oid))
      detail::throw_decode_error("std::vector<T>", column, "array element type does not match T");
    std::vector<E> result;
    result.reserve(static_cast<std::size_t>(header.count));
    const char* p = header.elements;
    for (std::int32_t i = 0; i < header.count; ++i) {
      if (header.end - p < 4) detail::throw_decode_error("std::vector<T>", column, "truncated array");
      const auto length = static_cast<std::int32_t>(detail::read_be32(p));
      p += 4;
      if (length < 0) {
        if constexpr (nullable) { result.emplace_back(std::nullopt); continue; }
        else detail::throw_decode_error("std::vector<T>", column,
                                        "array has a NULL element; read it as std::vector<std::optional<T>>");
      } else {
        if (header.end - p < length) detail::throw_decode_error("std::vector<T>", column, "truncated array");
        result.push_back(ElementCodec::from_binary(std::string_view(p, static_cast<std::size_t>(length)),
                                                   header.element_oid));
        p += length;
      }
    }
    return result;
  }

  static bool accepts(Oid column) noexcept {
    return ElementCodec::array_oid == oid::unspecified ? true : column == ElementCodec::array_oid ||
                                                                    accepts_related(column);
  }

 private:
  // Arrays whose element codec accepts several column types (int2[] read as int64 …).
  static bool accepts_related(Oid column) noexcept {
    const Oid e = element_oid_of(column);
    return e != oid::unspecified && ElementCodec::accepts(e);
  }
  static Oid element_oid_of(Oid array_column) noexcept;
};

namespace detail {
/// Element type of a built-in array type, or 0.
Oid array_element_oid(Oid array_type) noexcept;
}  // namespace detail

template <class E>
  requires HasCodec<typename detail::unwrap_optional<E>::type>
Oid Codec<std::vector<E>>::element_oid_of(Oid array_column) noexcept {
  return detail::array_element_oid(array_column);
}

}  // namespace matrx::orm::pg
