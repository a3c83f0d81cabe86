// PostgreSQL built-in type OIDs used by the codecs (pg_type.dat, stable across versions).
#pragma once

#include <string>

namespace matrx::orm::pg {

using Oid = unsigned int;

namespace oid {
inline constexpr Oid unspecified = 0;  // let the server infer the type (text parameters only)
inline constexpr Oid bool_ = 16, bytea = 17, char_ = 18, name = 19, int8 = 20, int2 = 21,
                     int4 = 23, text = 25, oid = 26, json = 114, xml = 142, point = 600,
                     cidr = 650, float4 = 700, float8 = 701, unknown = 705, money = 790,
                     macaddr = 829, inet = 869, bpchar = 1042, varchar = 1043, date = 1082,
                     time = 1083, timestamp = 1114, timestamptz = 1184, interval = 1186,
                     timetz = 1266, numeric = 1700, regclass = 2205, uuid = 2950, jsonb = 3802;
// Array types.
inline constexpr Oid json_array = 199, xml_array = 143, point_array = 1017, cidr_array = 651,
                     bool_array = 1000, bytea_array = 1001, int2_array = 1005,
                     int4_array = 1007, text_array = 1009, bpchar_array = 1014,
                     varchar_array = 1015, int8_array = 1016, float4_array = 1021,
                     float8_array = 1022, macaddr_array = 1040, inet_array = 1041,
                     money_array = 791, timestamp_array = 1115, date_array = 1182,
                     time_array = 1183, timestamptz_array = 1185, interval_array = 1187,
                     numeric_array = 1231, uuid_array = 2951, jsonb_array = 3807;
}  // namespace oid

/// Name of a built-in type for error messages ("int8"), or nullptr for other OIDs.
const char* type_name(Oid type) noexcept;
/// "int8" for built-in types, "oid 16385" for others.
std::string describe_type(Oid type);

}  // namespace matrx::orm::pg
