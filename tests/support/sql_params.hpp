// Statement parameters as readable strings, for exact-SQL tests: text values verbatim,
// binary integers, bools, floats, uuids and numerics decoded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "matrx/orm.hpp"

namespace testsupport {
using namespace matrx::orm;

// Parameters as readable strings: text values verbatim, binary integers/bools decoded.
inline std::vector<std::string> params_of(const Statement& s) {
  std::vector<const char*> values;
  s.params.value_pointers(values);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.params.size(); ++i) {
    const int len = s.params.lengths()[i];
    if (len < 0) { out.push_back("NULL"); continue; }
    const std::string_view bytes(values[i], static_cast<std::size_t>(len));
    if (s.params.formats()[i] == 0) { out.emplace_back(bytes); continue; }
    switch (s.params.types()[i]) {
      case pg::oid::int2: out.push_back(std::to_string(pg::Codec<std::int16_t>::from_binary(bytes, pg::oid::int2))); break;
      case pg::oid::int4: out.push_back(std::to_string(pg::Codec<std::int32_t>::from_binary(bytes, pg::oid::int4))); break;
      case pg::oid::int8: out.push_back(std::to_string(pg::Codec<std::int64_t>::from_binary(bytes, pg::oid::int8))); break;
      case pg::oid::bool_: out.push_back(bytes[0] ? "true" : "false"); break;
      case pg::oid::float8: out.push_back(std::to_string(pg::Codec<double>::from_binary(bytes, pg::oid::float8))); break;
      case pg::oid::uuid: out.push_back(pg::Codec<Uuid>::from_binary(bytes, pg::oid::uuid).to_string()); break;
      case pg::oid::numeric: out.push_back(pg::Codec<Numeric>::from_binary(bytes, pg::oid::numeric).str()); break;
      case pg::oid::int4_array: {
        std::string t;
        pg::Codec<std::vector<int>>::to_text(pg::Codec<std::vector<int>>::from_binary(bytes, pg::oid::int4_array), t);
        out.push_back(t);
        break;
      }
      default: out.push_back("<binary>");
    }
  }
  return out;
}
}  // namespace testsupport
