// Every binary and text decoder on arbitrary bytes (RELIABILITY E10): a value comes back or
// a ParameterError is thrown; nothing else (no crash, no other exception, no sanitizer report).
// The first byte picks the decoder, the rest is the value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "matrx/orm/errors.hpp"
#include <nlohmann/json.hpp>

#include "matrx/orm/pg/codec.hpp"

namespace pg = matrx::orm::pg;
namespace orm = matrx::orm;

namespace {
template <class T>
void decode(std::string_view data, bool binary) {
  try {
    if (binary) (void)pg::Codec<T>::from_binary(data, pg::Codec<T>::oid);
    else (void)pg::Codec<T>::from_text(data, pg::Codec<T>::oid);
  } catch (const matrx::orm::ParameterError&) {
  }
}

template <class T>
void both(std::string_view data, bool binary) {
  decode<T>(data, binary);
  decode<std::vector<T>>(data, binary);  // arrays of it: dimensions, NULLs, element lengths
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view data(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  const bool binary = bytes[0] & 0x80;
  switch (bytes[0] & 0x7f) {
    case 0: both<bool>(data, binary); break;
    case 1: both<std::int16_t>(data, binary); break;
    case 2: both<std::int32_t>(data, binary); break;
    case 3: both<std::int64_t>(data, binary); break;
    case 4: both<float>(data, binary); break;
    case 5: both<double>(data, binary); break;
    case 6: both<std::string>(data, binary); break;
    case 7: both<orm::Numeric>(data, binary); break;
    case 8: both<orm::Uuid>(data, binary); break;
    case 9: both<orm::Timestamp>(data, binary); break;
    case 10: both<orm::LocalTimestamp>(data, binary); break;
    case 11: both<orm::Date>(data, binary); break;
    case 12: both<orm::TimeOfDay>(data, binary); break;
    case 13: both<orm::Interval>(data, binary); break;
    case 14: decode<nlohmann::json>(data, binary); break;
    case 15: both<orm::Bytes>(data, binary); break;
    case 16: both<orm::Inet>(data, binary); break;
    case 17: both<orm::Cidr>(data, binary); break;
    case 18: both<orm::MacAddr>(data, binary); break;
    case 19: both<orm::Point>(data, binary); break;
    case 20: both<orm::Money>(data, binary); break;
    case 21: decode<orm::Vector>(data, binary); break;
    case 22: decode<orm::Hstore>(data, binary); break;
    default: break;
  }
  return 0;
}
