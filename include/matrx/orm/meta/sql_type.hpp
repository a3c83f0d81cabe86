// sql_type<T>: what a C++ member type means as a column (kind, OID, nullability).
// The SQL spelling is finished by finish_sql_type() once the field's options are known.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/core/demangle.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/mp11/algorithm.hpp>
#include <nlohmann/json_fwd.hpp>

#include "matrx/orm/meta/field_info.hpp"
#include "matrx/orm/pg/codec.hpp"
#include "matrx/orm/pg/types.hpp"

namespace matrx::orm {

template <class T, class = void>
struct sql_type;  // no mapping: the member type cannot be a column (see docs/types.md)

#define MATRX_ORM_SQL_TYPE(T, KIND, SQL)                                    \
  template <>                                                               \
  struct sql_type<T> {                                                      \
    static void describe(FieldInfo& f) {                                    \
      f.kind = ValueKind::KIND;                                             \
      if (f.sql_type.empty()) f.sql_type = SQL;                             \
      f.oid = pg::Codec<T>::oid;                                            \
    }                                                                       \
  };

MATRX_ORM_SQL_TYPE(bool, boolean, "boolean")
MATRX_ORM_SQL_TYPE(std::int16_t, int16, "smallint")
MATRX_ORM_SQL_TYPE(std::int32_t, int32, "integer")
MATRX_ORM_SQL_TYPE(std::int64_t, int64, "bigint")
MATRX_ORM_SQL_TYPE(long long, int64, "bigint")
MATRX_ORM_SQL_TYPE(float, float32, "real")
MATRX_ORM_SQL_TYPE(double, float64, "double precision")
MATRX_ORM_SQL_TYPE(Numeric, numeric, "numeric")
MATRX_ORM_SQL_TYPE(Money, money, "money")
MATRX_ORM_SQL_TYPE(std::string, text, "text")
MATRX_ORM_SQL_TYPE(Bytes, bytes, "bytea")
MATRX_ORM_SQL_TYPE(Uuid, uuid, "uuid")
MATRX_ORM_SQL_TYPE(Timestamp, timestamptz, "timestamp with time zone")
MATRX_ORM_SQL_TYPE(LocalTimestamp, timestamp, "timestamp without time zone")
MATRX_ORM_SQL_TYPE(Date, date, "date")
MATRX_ORM_SQL_TYPE(TimeOfDay, time, "time without time zone")
MATRX_ORM_SQL_TYPE(Interval, interval, "interval")
MATRX_ORM_SQL_TYPE(nlohmann::json, json, "jsonb")
MATRX_ORM_SQL_TYPE(Inet, inet, "inet")
MATRX_ORM_SQL_TYPE(Cidr, cidr, "cidr")
MATRX_ORM_SQL_TYPE(MacAddr, macaddr, "macaddr")
MATRX_ORM_SQL_TYPE(Point, point, "point")
MATRX_ORM_SQL_TYPE(Hstore, hstore, "hstore")
MATRX_ORM_SQL_TYPE(Vector, vector, "vector")
#undef MATRX_ORM_SQL_TYPE

template <class T>
struct sql_type<std::optional<T>> {
  static void describe(FieldInfo& f) {
    f.nullable = true;
    sql_type<T>::describe(f);
  }
};

namespace detail {
std::string enum_sql_name(std::string demangled);
}

template <class E>
struct sql_type<E, std::enable_if_t<std::is_enum_v<E> && boost::describe::has_describe_enumerators<E>::value>> {
  static void describe(FieldInfo& f) {
    f.kind = ValueKind::enumeration;
    f.oid = 0;
    if (f.choices.empty())
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) { f.choices.emplace_back(d.name); });
    if (f.enum_type.empty()) f.enum_type = detail::enum_sql_name(boost::core::demangle(typeid(E).name()));
    if (f.sql_type.empty()) f.sql_type = f.enum_type;
  }
};

template <class T>
struct sql_type<std::vector<T>> {
  static void describe(FieldInfo& f) {
    FieldInfo element;
    sql_type<T>::describe(element);
    finish_element(f, element);
    f.oid = pg::Codec<std::vector<T>>::oid;
  }
  static void finish_element(FieldInfo& f, const FieldInfo& element) {
    f.kind = ValueKind::array;
    f.element_kind = element.kind;
    if (f.choices.empty()) f.choices = element.choices;
    if (f.enum_type.empty()) f.enum_type = element.enum_type;
    // An enum_type option on the array field names the element type.
    const std::string element_sql = element.kind == ValueKind::enumeration ? f.enum_type : element.sql_type;
    if (f.sql_type.empty()) f.sql_type = element_sql + "[]";
  }
};

/// Completes the SQL spelling from the options: varchar(n), numeric(p,s), vector(n).
void finish_sql_type(FieldInfo& f);

}  // namespace matrx::orm
