// Codecs for json/jsonb, point, pgvector's vector and hstore, and the array helpers.
#include <bit>
#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/codec.hpp"

namespace matrx::orm::pg {

using detail::throw_decode_error;

// ---- json / jsonb -----------------------------------------------------------------------

void Codec<nlohmann::json>::to_text(const nlohmann::json& v, std::string& out) {
  try {
    // strict: invalid UTF-8 inside a string is an error, not silently replaced
    out.append(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict));
  } catch (const nlohmann::json::exception& e) {
    detail::throw_encode_error("json", e.what());
  }
}
void Codec<nlohmann::json>::to_binary(const nlohmann::json& v, std::string& out) { to_text(v, out); }
nlohmann::json Codec<nlohmann::json>::from_text(std::string_view t, Oid c) {
  try {
    return nlohmann::json::parse(t);
  } catch (const nlohmann::json::exception& e) {
    throw_decode_error("nlohmann::json", c, fmt::format("malformed JSON: {}", e.what()));
  }
}
nlohmann::json Codec<nlohmann::json>::from_binary(std::string_view d, Oid c) {
  if (c == oid::jsonb) {
    if (d.empty() || d[0] != 1) throw_decode_error("nlohmann::json", c, "unsupported jsonb version");
    d.remove_prefix(1);
  }
  return from_text(d, c);
}
bool Codec<nlohmann::json>::accepts(Oid c) noexcept {
  return c == oid::json || c == oid::jsonb || c == oid::text || c == oid::varchar || c == oid::unknown;
}

// ---- point ------------------------------------------------------------------------------

void Codec<Point>::to_text(const Point& v, std::string& out) {
  out.push_back('(');
  Codec<double>::to_text(v.x, out);
  out.push_back(',');
  Codec<double>::to_text(v.y, out);
  out.push_back(')');
}
void Codec<Point>::to_binary(const Point& v, std::string& out) {
  Codec<double>::to_binary(v.x, out);
  Codec<double>::to_binary(v.y, out);
}
Point Codec<Point>::from_text(std::string_view t, Oid c) {
  const auto comma = t.find(',');
  if (t.size() < 5 || t.front() != '(' || t.back() != ')' || comma == std::string_view::npos)
    throw_decode_error("Point", c, fmt::format("cannot parse '{}'", t));
  return Point{Codec<double>::from_text(t.substr(1, comma - 1), oid::float8),
               Codec<double>::from_text(t.substr(comma + 1, t.size() - comma - 2), oid::float8)};
}
Point Codec<Point>::from_binary(std::string_view d, Oid c) {
  if (d.size() != 16) throw_decode_error("Point", c, "expected 16 bytes");
  return Point{Codec<double>::from_binary(d.substr(0, 8), oid::float8),
               Codec<double>::from_binary(d.substr(8), oid::float8)};
}
bool Codec<Point>::accepts(Oid c) noexcept { return c == oid::point; }

// ---- vector (pgvector) ------------------------------------------------------------------
// Binary: uint16 dimensions, uint16 unused, float4 × dimensions. Text: "[1,2.5,3]".

void Codec<Vector>::to_text(const Vector& v, std::string& out) {
  out.push_back('[');
  for (std::size_t i = 0; i < v.values.size(); ++i) {
    if (i) out.push_back(',');
    if (!std::isfinite(v.values[i])) detail::throw_encode_error("Vector", "NaN and infinity are not allowed in vector");
    Codec<float>::to_text(v.values[i], out);
  }
  out.push_back(']');
}
void Codec<Vector>::to_binary(const Vector& v, std::string& out) {
  if (v.values.size() > 16000) detail::throw_encode_error("Vector", "more than 16000 dimensions");
  detail::append_be16(out, static_cast<std::uint16_t>(v.values.size()));
  detail::append_be16(out, 0);
  for (float f : v.values) {
    if (!std::isfinite(f)) detail::throw_encode_error("Vector", "NaN and infinity are not allowed in vector");
    Codec<float>::to_binary(f, out);
  }
}
Vector Codec<Vector>::from_text(std::string_view t, Oid c) {
  if (t.size() < 2 || t.front() != '[' || t.back() != ']') throw_decode_error("Vector", c, fmt::format("cannot parse '{}'", t.substr(0, 40)));
  Vector v;
  t = t.substr(1, t.size() - 2);
  while (!t.empty()) {
    const auto comma = t.find(',');
    auto part = t.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    v.values.push_back(Codec<float>::from_text(part, oid::float4));
    if (comma == std::string_view::npos) break;
    t.remove_prefix(comma + 1);
  }
  return v;
}
Vector Codec<Vector>::from_binary(std::string_view d, Oid c) {
  if (d.size() < 4) throw_decode_error("Vector", c, "truncated vector");
  const std::size_t dims = detail::read_be16(d.data());
  if (d.size() != 4 + dims * 4) throw_decode_error("Vector", c, "malformed vector");
  Vector v;
  v.values.resize(dims);
  for (std::size_t i = 0; i < dims; ++i) v.values[i] = std::bit_cast<float>(detail::read_be32(d.data() + 4 + i * 4));
  return v;
}
bool Codec<Vector>::accepts(Oid c) noexcept { return c >= 16384 || c == oid::text; }

// ---- hstore -----------------------------------------------------------------------------
// Binary: int32 count, then per pair: int32 key length, key, int32 value length (-1 NULL), value.
// Text: "a"=>"1", "b"=>NULL with backslash escapes inside the quotes.

namespace {
void check_hstore_text(const std::string& s) {
  if (s.find('\0') != std::string::npos) detail::throw_encode_error("Hstore", "a key or value contains a NUL byte");
}
void append_hstore_quoted(std::string& out, const std::string& s) {
  out.push_back('"');
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('"');
}
}  // namespace

void Codec<Hstore>::to_text(const Hstore& v, std::string& out) {
  bool first = true;
  for (const auto& [key, value] : v) {
    check_hstore_text(key);
    if (!first) out.append(", ");
    first = false;
    append_hstore_quoted(out, key);
    out.append("=>");
    if (!value) { out.append("NULL"); continue; }
    check_hstore_text(*value);
    append_hstore_quoted(out, *value);
  }
}
void Codec<Hstore>::to_binary(const Hstore& v, std::string& out) {
  detail::append_be32(out, static_cast<std::uint32_t>(v.size()));
  for (const auto& [key, value] : v) {
    check_hstore_text(key);
    detail::append_be32(out, static_cast<std::uint32_t>(key.size()));
    out.append(key);
    if (!value) { detail::append_be32(out, 0xFFFFFFFFu); continue; }
    check_hstore_text(*value);
    detail::append_be32(out, static_cast<std::uint32_t>(value->size()));
    out.append(*value);
  }
}
Hstore Codec<Hstore>::from_text(std::string_view t, Oid c) {
  Hstore h;
  std::size_t i = 0;
  auto fail = [&] { throw_decode_error("Hstore", c, fmt::format("cannot parse '{}'", t.substr(0, 60))); };
  auto skip_spaces = [&] { while (i < t.size() && (t[i] == ' ' || t[i] == ',')) ++i; };
  auto quoted = [&]() -> std::string {
    if (i >= t.size() || t[i] != '"') fail();
    ++i;
    std::string s;
    while (i < t.size() && t[i] != '"') {
      if (t[i] == '\\' && i + 1 < t.size()) ++i;
      s.push_back(t[i++]);
    }
    if (i >= t.size()) fail();
    ++i;
    return s;
  };
  skip_spaces();
  while (i < t.size()) {
    std::string key = quoted();
    if (t.substr(i, 2) != "=>") fail();
    i += 2;
    if (t.substr(i, 4) == "NULL") { h.emplace(std::move(key), std::nullopt); i += 4; }
    else h.emplace(std::move(key), quoted());
    skip_spaces();
  }
  return h;
}
Hstore Codec<Hstore>::from_binary(std::string_view d, Oid c) {
  auto fail = [&] { throw_decode_error("Hstore", c, "malformed hstore"); };
  if (d.size() < 4) fail();
  const auto count = static_cast<std::int32_t>(detail::read_be32(d.data()));
  std::size_t i = 4;
  Hstore h;
  auto read_string = [&](bool allow_null) -> std::optional<std::string> {
    if (d.size() - i < 4) fail();
    const auto len = static_cast<std::int32_t>(detail::read_be32(d.data() + i));
    i += 4;
    if (len < 0) { if (!allow_null) fail(); return std::nullopt; }
    if (d.size() - i < static_cast<std::size_t>(len)) fail();
    std::string s(d.substr(i, static_cast<std::size_t>(len)));
    i += static_cast<std::size_t>(len);
    return s;
  };
  for (std::int32_t n = 0; n < count; ++n) {
    auto key = read_string(false);
    auto value = read_string(true);
    h.emplace(std::move(*key), std::move(value));
  }
  if (i != d.size()) fail();
  return h;
}
bool Codec<Hstore>::accepts(Oid c) noexcept { return c >= 16384; }

// ---- arrays -----------------------------------------------------------------------------

namespace detail {

std::vector<std::optional<std::string>> parse_array_text(std::string_view t) {
  auto fail = [&](std::string_view why) {
    throw ParameterError(fmt::format("cannot parse array literal '{}': {}", t.substr(0, 60), why));
  };
  std::size_t i = 0;
  if (!t.empty() && t[0] == '[') {  // explicit bounds "[0:2]={…}"
    i = t.find('=');
    if (i == std::string_view::npos) fail("bad dimension decoration");
    ++i;
  }
  if (i >= t.size() || t[i] != '{' || t.back() != '}') fail("expected {…}");
  ++i;
  std::vector<std::optional<std::string>> out;
  if (t[i] == '}' && i + 1 == t.size()) return out;
  while (i < t.size()) {
    if (t[i] == '{') fail("multi-dimensional arrays are not supported");
    if (t[i] == '"') {
      ++i;
      std::string s;
      while (i < t.size() && t[i] != '"') {
        if (t[i] == '\\' && i + 1 < t.size()) ++i;
        s.push_back(t[i++]);
      }
      if (i >= t.size()) fail("unterminated quote");
      ++i;
      out.emplace_back(std::move(s));
    } else {
      const std::size_t start = i;
      while (i < t.size() && t[i] != ',' && t[i] != '}') ++i;
      std::string_view raw = t.substr(start, i - start);
      if (raw == "NULL") out.emplace_back(std::nullopt);
      else out.emplace_back(std::string(raw));
    }
    if (i >= t.size()) fail("unterminated array");
    if (t[i] == '}') {
      if (i + 1 != t.size()) fail("trailing characters");
      return out;
    }
    ++i;  // ','
  }
  fail("unterminated array");
  return out;  // not reached: fail() throws
}

void append_array_text_element(std::string& out, std::string_view e) {
  // NULL in any letter case would read back as a NULL element.
  bool quote = e.empty() || (e.size() == 4 && (e[0] == 'N' || e[0] == 'n') && (e[1] == 'U' || e[1] == 'u') &&
                             (e[2] == 'L' || e[2] == 'l') && (e[3] == 'L' || e[3] == 'l'));
  if (!quote)
    for (char ch : e)
      if (ch == ',' || ch == '{' || ch == '}' || ch == '"' || ch == '\\' || ch == ' ' || ch == '\t' ||
          ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f') { quote = true; break; }
  if (e.find('\0') != std::string_view::npos)
    throw_encode_error("array", "an element contains a NUL byte");
  if (!quote) { out.append(e); return; }
  out.push_back('"');
  for (char ch : e) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('"');
}

BinaryArrayHeader parse_array_binary(std::string_view d, Oid column) {
  if (d.size() < 12) throw_decode_error("std::vector<T>", column, "truncated array");
  const auto ndim = static_cast<std::int32_t>(read_be32(d.data()));
  const Oid element = read_be32(d.data() + 8);
  if (ndim == 0) return {element, 0, d.data() + 12, d.data() + d.size()};
  if (ndim != 1) throw_decode_error("std::vector<T>", column, "multi-dimensional arrays are not supported");
  if (d.size() < 20) throw_decode_error("std::vector<T>", column, "truncated array");
  const auto count = static_cast<std::int32_t>(read_be32(d.data() + 12));
  if (count < 0) throw_decode_error("std::vector<T>", column, "negative array size");
  // Every element takes at least its 4-byte length: a count the data cannot hold is refused
  // before anything is reserved for it (fuzz_decoders: a 3 GB reserve from a 33-byte value).
  if (static_cast<std::size_t>(count) > (d.size() - 20) / 4)
    throw_decode_error("std::vector<T>", column, "array claims more elements than its data holds");
  return {element, count, d.data() + 20, d.data() + d.size()};
}

Oid array_element_oid(Oid a) noexcept {
  switch (a) {
    case oid::bool_array: return oid::bool_;
    case oid::bytea_array: return oid::bytea;
    case oid::int2_array: return oid::int2;
    case oid::int4_array: return oid::int4;
    case oid::int8_array: return oid::int8;
    case oid::text_array: return oid::text;
    case oid::bpchar_array: return oid::bpchar;
    case oid::varchar_array: return oid::varchar;
    case oid::float4_array: return oid::float4;
    case oid::float8_array: return oid::float8;
    case oid::json_array: return oid::json;
    case oid::jsonb_array: return oid::jsonb;
    case oid::xml_array: return oid::xml;
    case oid::point_array: return oid::point;
    case oid::cidr_array: return oid::cidr;
    case oid::inet_array: return oid::inet;
    case oid::macaddr_array: return oid::macaddr;
    case oid::money_array: return oid::money;
    case oid::timestamp_array: return oid::timestamp;
    case oid::timestamptz_array: return oid::timestamptz;
    case oid::date_array: return oid::date;
    case oid::time_array: return oid::time;
    case oid::interval_array: return oid::interval;
    case oid::numeric_array: return oid::numeric;
    case oid::uuid_array: return oid::uuid;
    default: return oid::unspecified;
  }
}

}  // namespace detail
}  // namespace matrx::orm::pg
