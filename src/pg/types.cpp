// Value types of types.hpp: parsing and formatting that does not depend on a wire format.
#include "matrx/orm/pg/types.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <system_error>

#include <sys/random.h>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/oid.hpp"

namespace matrx::orm {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
[[noreturn]] void bad(std::string_view type, std::string_view text) {
  throw ParameterError(fmt::format("invalid {} value '{}'", type, text.substr(0, 80)));
}
}  // namespace

// ---- Uuid -------------------------------------------------------------------------------

Uuid Uuid::parse(std::string_view text) {
  std::string_view t = text;
  if (t.size() >= 2 && t.front() == '{' && t.back() == '}') t = t.substr(1, t.size() - 2);
  Uuid u;
  std::size_t n = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '-') {
      // hyphens only between groups of four hex digits, as PostgreSQL accepts
      if (n == 0 || n % 2 != 0 || i + 1 == t.size() || t[i + 1] == '-') bad("uuid", text);
      continue;
    }
    if (i + 1 >= t.size() || n >= 16) bad("uuid", text);
    const int hi = hex_value(t[i]), lo = hex_value(t[i + 1]);
    if (hi < 0 || lo < 0) bad("uuid", text);
    u.bytes[n++] = static_cast<std::uint8_t>(hi * 16 + lo);
    ++i;
  }
  if (n != 16) bad("uuid", text);
  return u;
}

namespace {
// The operating system's CSPRNG (getrandom(2)): unpredictable, and nothing to reseed after
// fork(), unlike a per-thread engine whose copies in parent and child would repeat.
void fill_random(std::uint8_t* out, std::size_t n) {
  while (n > 0) {
    const ssize_t got = ::getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    out += got;
    n -= static_cast<std::size_t>(got);
  }
}

Uuid with_version(Uuid u, int version) {
  u.bytes[6] = static_cast<std::uint8_t>((u.bytes[6] & 0x0F) | (version << 4));
  u.bytes[8] = static_cast<std::uint8_t>((u.bytes[8] & 0x3F) | 0x80);  // RFC 9562 variant
  return u;
}
}  // namespace

Uuid Uuid::random() {
  Uuid u;
  fill_random(u.bytes.data(), u.bytes.size());
  return with_version(u, 4);
}

Uuid Uuid::v7() {
  // 48 bits of Unix milliseconds, then 12 bits that count up within a millisecond (RFC 9562
  // §6.2, method 1), so that keys made by this process sort in the order they were made; the
  // remaining 62 bits are random. Past 4,096 keys in one millisecond the clock part runs ahead.
  static std::atomic<std::uint64_t> last{0};
  const auto now_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  std::uint64_t stamp = last.load(std::memory_order_relaxed), next = 0;
  do {
    next = std::max(now_ms << 12, stamp + 1);
  } while (!last.compare_exchange_weak(stamp, next, std::memory_order_relaxed));
  const std::uint64_t ms = next >> 12, counter = next & 0xFFF;
  Uuid u;
  fill_random(u.bytes.data() + 8, 8);
  for (int i = 0; i < 6; ++i) u.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
  u.bytes[6] = static_cast<std::uint8_t>(counter >> 8);
  u.bytes[7] = static_cast<std::uint8_t>(counter & 0xFF);
  return with_version(u, 7);
}

std::string Uuid::to_string() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(digits[bytes[i] >> 4]);
    s.push_back(digits[bytes[i] & 15]);
  }
  return s;
}

bool Uuid::is_nil() const noexcept {
  for (auto b : bytes)
    if (b) return false;
  return true;
}

// ---- Numeric ----------------------------------------------------------------------------

Numeric::Numeric(std::int64_t value) : text_(std::to_string(value)) {}

Numeric::Numeric(std::string_view text) {
  if (text == "NaN" || text == "nan" || text == "NAN") { text_ = "NaN"; return; }
  if (text == "Infinity" || text == "+Infinity" || text == "inf" || text == "+inf") { text_ = "Infinity"; return; }
  if (text == "-Infinity" || text == "-inf") { text_ = "-Infinity"; return; }
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  std::string int_digits, frac_digits;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') int_digits.push_back(text[i++]);
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') frac_digits.push_back(text[i++]);
  }
  if (int_digits.empty() && frac_digits.empty()) bad("numeric", text);
  long exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    auto [p, ec] = std::from_chars(text.data() + i, text.data() + text.size(), exponent);
    if (ec != std::errc{} || p == text.data() + i || std::abs(exponent) > 100000) bad("numeric", text);
    i = static_cast<std::size_t>(p - text.data());
    if (i < text.size() && text[i - 1] == '+') bad("numeric", text);
  }
  if (i != text.size()) bad("numeric", text);
  // Shift the decimal point by the exponent.
  std::string digits = int_digits + frac_digits;
  long point = static_cast<long>(int_digits.size()) + exponent;
  long scale = static_cast<long>(frac_digits.size()) - exponent;
  if (scale < 0) scale = 0;
  if (point < 0) { digits.insert(0, static_cast<std::size_t>(-point), '0'); point = 0; }
  while (static_cast<long>(digits.size()) < point + scale) digits.push_back('0');
  std::string ip = digits.substr(0, static_cast<std::size_t>(point));
  std::string fp = digits.substr(static_cast<std::size_t>(point), static_cast<std::size_t>(scale));
  const auto nz = ip.find_first_not_of('0');
  ip = nz == std::string::npos ? "0" : ip.substr(nz);
  const bool zero = ip == "0" && fp.find_first_not_of('0') == std::string::npos;
  text_ = (negative && !zero ? "-" : "") + ip + (fp.empty() ? "" : "." + fp);
}

// ---- Inet / Cidr / MacAddr ---------------------------------------------------------------

namespace {
detail::IpNetwork parse_ip(std::string_view text, bool cidr) {
  const char* type = cidr ? "cidr" : "inet";
  detail::IpNetwork n;
  std::string addr(text.substr(0, text.find('/')));
  const bool has_prefix = text.find('/') != std::string_view::npos;
  if (addr.find(':') != std::string::npos) {
    n.family = 6;
    if (inet_pton(AF_INET6, addr.c_str(), n.address.data()) != 1) bad(type, text);
  } else {
    n.family = 4;
    if (inet_pton(AF_INET, addr.c_str(), n.address.data()) != 1) bad(type, text);
  }
  const int max_prefix = n.family == 4 ? 32 : 128;
  int prefix = max_prefix;
  if (has_prefix) {
    auto p = text.substr(text.find('/') + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc{} || end != p.data() + p.size() || prefix < 0 || prefix > max_prefix) bad(type, text);
  }
  n.prefix_length = static_cast<std::uint8_t>(prefix);
  return n;
}
std::string format_ip(const detail::IpNetwork& n, bool always_prefix) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(n.family == 6 ? AF_INET6 : AF_INET, n.address.data(), buf, sizeof buf);
  const int max_prefix = n.family == 4 ? 32 : 128;
  if (!always_prefix && n.prefix_length == max_prefix) return buf;
  return fmt::format("{}/{}", buf, n.prefix_length);
}
}  // namespace

Inet Inet::parse(std::string_view text) { Inet i; static_cast<detail::IpNetwork&>(i) = parse_ip(text, false); return i; }
Cidr Cidr::parse(std::string_view text) { Cidr c; static_cast<detail::IpNetwork&>(c) = parse_ip(text, true); return c; }
std::string Inet::to_string() const { return format_ip(*this, false); }
std::string Cidr::to_string() const { return format_ip(*this, true); }

MacAddr MacAddr::parse(std::string_view text) {
  MacAddr m;
  if (text.size() != 17) bad("macaddr", text);
  for (std::size_t i = 0; i < 6; ++i) {
    const int hi = hex_value(text[i * 3]), lo = hex_value(text[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-')) bad("macaddr", text);
    m.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return m;
}

std::string MacAddr::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2],
                     bytes[3], bytes[4], bytes[5]);
}

}  // namespace matrx::orm

namespace matrx::orm::pg {

const char* type_name(Oid type) noexcept {
  switch (type) {
    case oid::bool_: return "bool";
    case oid::bytea: return "bytea";
    case oid::char_: return "char";
    case oid::name: return "name";
    case oid::int8: return "int8";
    case oid::int2: return "int2";
    case oid::int4: return "int4";
    case oid::text: return "text";
    case oid::oid: return "oid";
    case oid::json: return "json";
    case oid::xml: return "xml";
    case oid::point: return "point";
    case oid::cidr: return "cidr";
    case oid::float4: return "float4";
    case oid::float8: return "float8";
    case oid::unknown: return "unknown";
    case oid::money: return "money";
    case oid::macaddr: return "macaddr";
    case oid::inet: return "inet";
    case oid::bpchar: return "bpchar";
    case oid::varchar: return "varchar";
    case oid::date: return "date";
    case oid::time: return "time";
    case oid::timestamp: return "timestamp";
    case oid::timestamptz: return "timestamptz";
    case oid::interval: return "interval";
    case oid::timetz: return "timetz";
    case oid::numeric: return "numeric";
    case oid::uuid: return "uuid";
    case oid::jsonb: return "jsonb";
    case oid::bool_array: return "bool[]";
    case oid::int2_array: return "int2[]";
    case oid::int4_array: return "int4[]";
    case oid::int8_array: return "int8[]";
    case oid::text_array: return "text[]";
    case oid::varchar_array: return "varchar[]";
    case oid::float4_array: return "float4[]";
    case oid::float8_array: return "float8[]";
    case oid::uuid_array: return "uuid[]";
    case oid::numeric_array: return "numeric[]";
    case oid::jsonb_array: return "jsonb[]";
    case oid::timestamptz_array: return "timestamptz[]";
    default: return nullptr;
  }
}

}  // namespace matrx::orm::pg
