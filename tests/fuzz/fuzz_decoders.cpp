// Every binary and text decoder on arbitrary bytes (RELIABILITY E10): a value comes back or
// a ParameterError is thrown; nothing else (no crash, no other exception, no sanitizer report).
// The first byte picks the decoder, the rest is the value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/codec.hpp"

namespace pg = matrx::orm::pg;

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
    case 7: both<pg::Numeric>(data, binary); break;
    case 8: both<pg::Uuid>(data, binary); break;
    case 9: both<pg::Timestamp>(data, binary); break;
    case 10: both<pg::LocalTimestamp>(data, binary); break;
    case 11: both<pg::Date>(data, binary); break;
    case 12: both<pg::TimeOfDay>(data, binary); break;
    case 13: both<pg::Interval>(data, binary); break;
    case 14: decode<nlohmann::json>(data, binary); break;
    case 15: both<pg::Bytes>(data, binary); break;
    case 16: both<pg::Inet>(data, binary); break;
    case 17: both<pg::Cidr>(data, binary); break;
    case 18: both<pg::MacAddr>(data, binary); break;
    case 19: both<pg::Point>(data, binary); break;
    case 20: both<pg::Money>(data, binary); break;
    case 21: decode<pg::Vector>(data, binary); break;
    case 22: decode<pg::Hstore>(data, binary); break;
    default: break;
  }
  return 0;
}
