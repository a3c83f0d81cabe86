// Codecs for bool, integers, floats, strings, bytea, uuid, numeric and money.
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/codec.hpp"

namespace matrx::orm::pg {

std::string describe_type(Oid type) {
  if (const char* n = type_name(type)) return n;
  return fmt::format("oid {}", type);
}

namespace detail {

void throw_decode_error(std::string_view cpp_type, Oid column, std::string_view why) {
  throw ParameterError(fmt::format("cannot read a {} value as {}: {}", describe_type(column), cpp_type, why));
}
void throw_encode_error(std::string_view cpp_type, std::string_view why) {
  throw ParameterError(fmt::format("cannot send {} parameter: {}", cpp_type, why));
}

void append_be16(std::string& out, std::uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 2);
}
void append_be32(std::string& out, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out.append(b, 4);
}
void append_be64(std::string& out, std::uint64_t v) {
  append_be32(out, static_cast<std::uint32_t>(v >> 32));
  append_be32(out, static_cast<std::uint32_t>(v));
}
std::uint16_t read_be16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>((u[0] << 8) | u[1]);
}
std::uint32_t read_be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) | u[3];
}
std::uint64_t read_be64(const char* p) {
  return (std::uint64_t{read_be32(p)} << 32) | read_be32(p + 4);
}

}  // namespace detail

namespace {
using detail::throw_decode_error;

void expect_size(std::string_view data, std::size_t n, std::string_view type, Oid column) {
  if (data.size() != n)
    throw_decode_error(type, column, fmt::format("expected {} bytes, got {}", n, data.size()));
}

// Reads any integer column (int2/int4/int8) and checks that the value fits T:
// a narrowing read that does not fit is an error, never a wrap-around.
template <class T>
T read_integer_binary(std::string_view data, Oid column, std::string_view type) {
  std::int64_t v;
  switch (data.size()) {
    case 2: v = static_cast<std::int16_t>(detail::read_be16(data.data())); break;
    case 4: v = static_cast<std::int32_t>(detail::read_be32(data.data())); break;
    case 8: v = static_cast<std::int64_t>(detail::read_be64(data.data())); break;
    default: throw_decode_error(type, column, fmt::format("unexpected integer size {}", data.size()));
  }
  if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
    throw_decode_error(type, column, fmt::format("value {} is out of range", v));
  return static_cast<T>(v);
}

template <class T>
T read_integer_text(std::string_view text, Oid column, std::string_view type) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range)
    throw_decode_error(type, column, fmt::format("value {} is out of range", text));
  if (ec != std::errc{} || p != text.data() + text.size())
    throw_decode_error(type, column, fmt::format("'{}' is not an integer", text.substr(0, 40)));
  if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
    throw_decode_error(type, column, fmt::format("value {} is out of range", v));
  return static_cast<T>(v);
}

bool is_integer_oid(Oid c) { return c == oid::int2 || c == oid::int4 || c == oid::int8; }

template <class F>
void float_to_text(F v, std::string& out) {
  if (std::isnan(v)) { out.append("NaN"); return; }
  if (std::isinf(v)) { out.append(v > 0 ? "Infinity" : "-Infinity"); return; }
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact round-trip form
  out.append(buf, p);
}

template <class F>
F float_from_text(std::string_view text, Oid column, std::string_view type) {
  if (text == "NaN") return std::numeric_limits<F>::quiet_NaN();
  if (text == "Infinity") return std::numeric_limits<F>::infinity();
  if (text == "-Infinity") return -std::numeric_limits<F>::infinity();
  F v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size())
    throw_decode_error(type, column, fmt::format("'{}' is not a number", text.substr(0, 40)));
  return v;
}
}  // namespace

// ---- bool -------------------------------------------------------------------------------

void Codec<bool>::to_text(const bool& v, std::string& out) { out.push_back(v ? 't' : 'f'); }
void Codec<bool>::to_binary(const bool& v, std::string& out) { out.push_back(v ? 1 : 0); }
bool Codec<bool>::from_text(std::string_view t, Oid c) {
  if (t == "t" || t == "true") return true;
  if (t == "f" || t == "false") return false;
  throw_decode_error("bool", c, fmt::format("'{}' is not a boolean", t.substr(0, 40)));
}
bool Codec<bool>::from_binary(std::string_view d, Oid c) {
  expect_size(d, 1, "bool", c);
  return d[0] != 0;
}
bool Codec<bool>::accepts(Oid c) noexcept { return c == oid::bool_; }

// ---- integers ---------------------------------------------------------------------------

#define MATRX_INTEGER_CODEC(T, NAME, BITS)                                                    \
  void Codec<T>::to_text(const T& v, std::string& out) { fmt::format_to(std::back_inserter(out), "{}", v); } \
  void Codec<T>::to_binary(const T& v, std::string& out) {                                   \
    detail::append_be##BITS(out, static_cast<std::uint##BITS##_t>(v));                       \
  }                                                                                           \
  T Codec<T>::from_text(std::string_view t, Oid c) { return read_integer_text<T>(t, c, NAME); } \
  T Codec<T>::from_binary(std::string_view d, Oid c) { return read_integer_binary<T>(d, c, NAME); } \
  bool Codec<T>::accepts(Oid c) noexcept { return is_integer_oid(c) || c == oid::oid; }

MATRX_INTEGER_CODEC(std::int16_t, "int16_t", 16)
MATRX_INTEGER_CODEC(std::int32_t, "int32_t", 32)
MATRX_INTEGER_CODEC(std::int64_t, "int64_t", 64)
#undef MATRX_INTEGER_CODEC

// ---- float / double ---------------------------------------------------------------------

void Codec<float>::to_text(const float& v, std::string& out) { float_to_text(v, out); }
void Codec<float>::to_binary(const float& v, std::string& out) { detail::append_be32(out, std::bit_cast<std::uint32_t>(v)); }
float Codec<float>::from_text(std::string_view t, Oid c) { return float_from_text<float>(t, c, "float"); }
float Codec<float>::from_binary(std::string_view d, Oid c) {
  if (c == oid::float8) {
    // Narrowing float8 → float: allowed only when no precision is lost.
    const double v = Codec<double>::from_binary(d, c);
    const float f = static_cast<float>(v);
    if (!std::isnan(v) && static_cast<double>(f) != v)
      throw_decode_error("float", c, fmt::format("value {} does not fit a float exactly", v));
    return f;
  }
  expect_size(d, 4, "float", c);
  return std::bit_cast<float>(detail::read_be32(d.data()));
}
bool Codec<float>::accepts(Oid c) noexcept { return c == oid::float4 || c == oid::float8; }

void Codec<double>::to_text(const double& v, std::string& out) { float_to_text(v, out); }
void Codec<double>::to_binary(const double& v, std::string& out) { detail::append_be64(out, std::bit_cast<std::uint64_t>(v)); }
double Codec<double>::from_text(std::string_view t, Oid c) { return float_from_text<double>(t, c, "double"); }
double Codec<double>::from_binary(std::string_view d, Oid c) {
  if (c == oid::float4) {
    expect_size(d, 4, "double", c);
    return std::bit_cast<float>(detail::read_be32(d.data()));
  }
  expect_size(d, 8, "double", c);
  return std::bit_cast<double>(detail::read_be64(d.data()));
}
bool Codec<double>::accepts(Oid c) noexcept { return c == oid::float8 || c == oid::float4; }

// ---- std::string ------------------------------------------------------------------------

void Codec<std::string>::to_text(const std::string& v, std::string& out) {
  // libpq text parameters are C strings: an embedded NUL would silently cut the value.
  if (v.find('\0') != std::string::npos)
    detail::throw_encode_error("text", "the string contains a NUL byte, which PostgreSQL text cannot store");
  out.append(v);
}
void Codec<std::string>::to_binary(const std::string& v, std::string& out) { to_text(v, out); }
std::string Codec<std::string>::from_text(std::string_view t, Oid) { return std::string(t); }
std::string Codec<std::string>::from_binary(std::string_view d, Oid c) {
  if (c == oid::jsonb) {  // binary jsonb = version byte 1 + text
    if (d.empty() || d[0] != 1) throw_decode_error("std::string", c, "unsupported jsonb version");
    return std::string(d.substr(1));
  }
  return std::string(d);
}
bool Codec<std::string>::accepts(Oid c) noexcept {
  switch (c) {
    case oid::text: case oid::varchar: case oid::bpchar: case oid::name: case oid::char_:
    case oid::json: case oid::jsonb: case oid::xml: case oid::unknown: case oid::unspecified:
      return true;
    default:
      return c >= 16384;  // user-defined: enums, domains over text, citext
  }
}

// ---- bytea ------------------------------------------------------------------------------

void Codec<Bytes>::to_text(const Bytes& v, std::string& out) {
  static constexpr char digits[] = "0123456789abcdef";
  out.reserve(out.size() + 2 + v.data.size() * 2);
  out.append("\\x");
  for (auto b : v.data) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
}
void Codec<Bytes>::to_binary(const Bytes& v, std::string& out) {
  out.append(reinterpret_cast<const char*>(v.data.data()), v.data.size());
}
Bytes Codec<Bytes>::from_text(std::string_view t, Oid c) {
  if (t.size() < 2 || t[0] != '\\' || t[1] != 'x' || t.size() % 2)
    throw_decode_error("Bytes", c, "expected hex format (bytea_output = 'hex')");
  Bytes b;
  b.data.resize((t.size() - 2) / 2);
  for (std::size_t i = 0; i < b.data.size(); ++i) {
    auto [p, ec] = std::from_chars(t.data() + 2 + i * 2, t.data() + 4 + i * 2, b.data[i], 16);
    if (ec != std::errc{} || p != t.data() + 4 + i * 2) throw_decode_error("Bytes", c, "bad hex digit");
  }
  return b;
}
Bytes Codec<Bytes>::from_binary(std::string_view d, Oid) { return Bytes(d); }
bool Codec<Bytes>::accepts(Oid c) noexcept { return c == oid::bytea; }

// ---- uuid -------------------------------------------------------------------------------

void Codec<Uuid>::to_text(const Uuid& v, std::string& out) { out.append(v.to_string()); }
void Codec<Uuid>::to_binary(const Uuid& v, std::string& out) {
  out.append(reinterpret_cast<const char*>(v.bytes.data()), 16);
}
Uuid Codec<Uuid>::from_text(std::string_view t, Oid) { return Uuid::parse(t); }
Uuid Codec<Uuid>::from_binary(std::string_view d, Oid c) {
  expect_size(d, 16, "Uuid", c);
  Uuid u;
  std::memcpy(u.bytes.data(), d.data(), 16);
  return u;
}
bool Codec<Uuid>::accepts(Oid c) noexcept { return c == oid::uuid; }

// ---- numeric ----------------------------------------------------------------------------
// Binary form: ndigits, weight, sign, dscale (int16 each), then base-10000 digits.

namespace {
constexpr std::uint16_t numeric_pos = 0x0000, numeric_neg = 0x4000, numeric_nan = 0xC000,
                        numeric_pinf = 0xD000, numeric_ninf = 0xF000;
}

void Codec<Numeric>::to_text(const Numeric& v, std::string& out) { out.append(v.str()); }

void Codec<Numeric>::to_binary(const Numeric& v, std::string& out) {
  const std::string& s = v.str();
  auto special = [&](std::uint16_t sign) {
    detail::append_be16(out, 0); detail::append_be16(out, 0);
    detail::append_be16(out, sign); detail::append_be16(out, 0);
  };
  if (s == "NaN") return special(numeric_nan);
  if (s == "Infinity") return special(numeric_pinf);
  if (s == "-Infinity") return special(numeric_ninf);
  const bool negative = s[0] == '-';
  std::string_view body = std::string_view(s).substr(negative ? 1 : 0);
  const auto dot = body.find('.');
  std::string int_part(body.substr(0, dot));
  std::string frac_part(dot == std::string_view::npos ? "" : body.substr(dot + 1));
  const auto dscale = static_cast<std::uint16_t>(frac_part.size());
  if (int_part == "0") int_part.clear();
  // Pad to whole base-10000 groups: integer part on the left, fraction on the right.
  int_part.insert(0, (4 - int_part.size() % 4) % 4, '0');
  frac_part.append((4 - frac_part.size() % 4) % 4, '0');
  std::vector<std::int16_t> groups;
  for (std::size_t i = 0; i < int_part.size(); i += 4) groups.push_back(static_cast<std::int16_t>(std::stoi(int_part.substr(i, 4))));
  for (std::size_t i = 0; i < frac_part.size(); i += 4) groups.push_back(static_cast<std::int16_t>(std::stoi(frac_part.substr(i, 4))));
  int weight = static_cast<int>(int_part.size() / 4) - 1;
  std::size_t first = 0;
  while (first < groups.size() && groups[first] == 0) { ++first; --weight; }
  std::size_t last = groups.size();
  while (last > first && groups[last - 1] == 0) --last;
  if (first == last) weight = 0;
  detail::append_be16(out, static_cast<std::uint16_t>(last - first));
  detail::append_be16(out, static_cast<std::uint16_t>(static_cast<std::int16_t>(weight)));
  detail::append_be16(out, negative ? numeric_neg : numeric_pos);
  detail::append_be16(out, dscale);
  for (std::size_t i = first; i < last; ++i) detail::append_be16(out, static_cast<std::uint16_t>(groups[i]));
}

Numeric Codec<Numeric>::from_text(std::string_view t, Oid) { return Numeric(t); }

Numeric Codec<Numeric>::from_binary(std::string_view d, Oid c) {
  if (d.size() < 8) throw_decode_error("Numeric", c, "truncated numeric");
  const int ndigits = static_cast<std::int16_t>(detail::read_be16(d.data()));
  const int weight = static_cast<std::int16_t>(detail::read_be16(d.data() + 2));
  const std::uint16_t sign = detail::read_be16(d.data() + 4);
  const int dscale = static_cast<std::int16_t>(detail::read_be16(d.data() + 6));
  if (sign == numeric_nan) return Numeric("NaN");
  if (sign == numeric_pinf) return Numeric("Infinity");
  if (sign == numeric_ninf) return Numeric("-Infinity");
  if (ndigits < 0 || dscale < 0 || d.size() != 8 + static_cast<std::size_t>(ndigits) * 2 ||
      (sign != numeric_pos && sign != numeric_neg))
    throw_decode_error("Numeric", c, "malformed numeric");
  auto digit = [&](int i) -> int {  // base-10000 digit at position i (0 = weight)
    if (i < 0 || i >= ndigits) return 0;
    const int g = static_cast<std::int16_t>(detail::read_be16(d.data() + 8 + i * 2));
    if (g < 0 || g > 9999) throw_decode_error("Numeric", c, "malformed numeric digit");
    return g;
  };
  std::string out;
  if (sign == numeric_neg) out.push_back('-');
  if (weight < 0) {
    out.push_back('0');
  } else {
    for (int i = 0; i <= weight; ++i) {
      const int g = digit(i);
      if (i == 0) fmt::format_to(std::back_inserter(out), "{}", g);
      else fmt::format_to(std::back_inserter(out), "{:04}", g);
    }
  }
  if (dscale > 0) {
    out.push_back('.');
    std::string frac;
    for (int i = weight + 1; static_cast<int>(frac.size()) < dscale; ++i)
      fmt::format_to(std::back_inserter(frac), "{:04}", digit(i));
    out.append(frac, 0, static_cast<std::size_t>(dscale));
  }
  if (out == "-0" || (out.rfind("-0.", 0) == 0 && out.find_first_not_of("0.", 1) == std::string::npos))
    out.erase(0, 1);
  return Numeric(out);
}
bool Codec<Numeric>::accepts(Oid c) noexcept { return c == oid::numeric || is_integer_oid(c); }

// ---- money ------------------------------------------------------------------------------

void Codec<Money>::to_text(const Money& v, std::string& out) {
  const auto magnitude = v.cents < 0 ? -static_cast<unsigned long long>(v.cents) : static_cast<unsigned long long>(v.cents);
  fmt::format_to(std::back_inserter(out), "{}{}.{:02}", v.cents < 0 ? "-" : "", magnitude / 100, magnitude % 100);
}
void Codec<Money>::to_binary(const Money& v, std::string& out) { detail::append_be64(out, static_cast<std::uint64_t>(v.cents)); }
Money Codec<Money>::from_text(std::string_view t, Oid c) {
  // lc_monetary 'C' output: "$1,234.56", "-$1,234.56"; also accept "(…)" for negatives.
  bool negative = false;
  std::string digits;
  int after_point = -1;
  for (char ch : t) {
    if (ch == '-' || ch == '(') negative = true;
    else if (ch >= '0' && ch <= '9') { digits.push_back(ch); if (after_point >= 0) ++after_point; }
    else if (ch == '.') after_point = 0;
    else if (ch == ',' || ch == '$' || ch == ' ' || ch == ')') continue;
    else throw_decode_error("Money", c, fmt::format("unexpected character in '{}'", t));
  }
  if (digits.empty() || after_point > 2) throw_decode_error("Money", c, fmt::format("cannot parse '{}'", t));
  for (int i = std::max(after_point, 0); i < 2; ++i) digits.push_back('0');
  unsigned long long magnitude = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  if (ec != std::errc{} || magnitude > 9223372036854775808ull) throw_decode_error("Money", c, "out of range");
  return Money{negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude)};
}
Money Codec<Money>::from_binary(std::string_view d, Oid c) {
  expect_size(d, 8, "Money", c);
  return Money{static_cast<std::int64_t>(detail::read_be64(d.data()))};
}
bool Codec<Money>::accepts(Oid c) noexcept { return c == oid::money; }

}  // namespace matrx::orm::pg
