// C++ value types for PostgreSQL types that have no standard C++ equivalent.
// The full mapping (including std:: types) is in docs/types.md.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace matrx::orm {

/// timestamptz: microseconds since the Unix epoch, UTC. `Timestamp::max()` / `min()` stand
/// for PostgreSQL's 'infinity' / '-infinity'.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;
/// timestamp (without time zone): a wall-clock reading. max()/min() are ±infinity.
using LocalTimestamp = std::chrono::local_time<std::chrono::microseconds>;
/// date. `Date::max()` / `min()` stand for 'infinity' / '-infinity'.
using Date = std::chrono::sys_days;

/// time (without time zone): microseconds since midnight, 00:00:00 … 24:00:00.
struct TimeOfDay {
  std::chrono::microseconds since_midnight{0};
  constexpr TimeOfDay() = default;
  constexpr explicit TimeOfDay(std::chrono::microseconds us) : since_midnight(us) {}
  constexpr TimeOfDay(std::chrono::hours h, std::chrono::minutes m, std::chrono::seconds s = {},
                      std::chrono::microseconds us = {})
      : since_midnight(h + m + s + us) {}
  auto operator<=>(const TimeOfDay&) const = default;
};

/// interval: PostgreSQL keeps months, days and microseconds apart (a month is not 30 days).
struct Interval {
  std::int32_t months = 0;
  std::int32_t days = 0;
  std::int64_t microseconds = 0;
  auto operator<=>(const Interval&) const = default;
};

/// uuid.
struct Uuid {
  std::array<std::uint8_t, 16> bytes{};
  /// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case, hyphens optional, braces
  /// allowed). Throws ParameterError on anything else.
  static Uuid parse(std::string_view text);
  /// A random version-4 UUID, from the operating system's CSPRNG (getrandom).
  static Uuid random();
  /// A version-7 UUID: Unix milliseconds first, so keys made later sort later (within this
  /// process strictly, by a counter inside each millisecond); 62 random bits.
  static Uuid v7();
  std::string to_string() const;  ///< lower-case, hyphenated
  bool is_nil() const noexcept;
  auto operator<=>(const Uuid&) const = default;
};

/// numeric: an exact decimal kept as its canonical text (never a double on the way).
class Numeric {
 public:
  Numeric() : text_("0") {}
  /// Parses "-12.3400", "1e-3", "NaN", "Infinity", "-Infinity". Throws ParameterError.
  explicit Numeric(std::string_view text);
  explicit Numeric(std::int64_t value);
  /// Plain decimal notation, scale preserved ("12.3400"), or NaN / Infinity / -Infinity.
  const std::string& str() const noexcept { return text_; }
  bool is_nan() const noexcept { return text_ == "NaN"; }
  bool is_infinite() const noexcept { return text_ == "Infinity" || text_ == "-Infinity"; }
  /// Exact comparison of the text form: 1.5 and 1.50 differ (PostgreSQL keeps the scale).
  bool operator==(const Numeric&) const = default;

 private:
  std::string text_;
};

/// money: amount in minor units (cents). Text I/O assumes lc_monetary with 2 decimals.
struct Money {
  std::int64_t cents = 0;
  auto operator<=>(const Money&) const = default;
};

/// bytea.
struct Bytes {
  std::vector<std::uint8_t> data;
  Bytes() = default;
  Bytes(std::initializer_list<std::uint8_t> init) : data(init) {}
  explicit Bytes(std::vector<std::uint8_t> d) : data(std::move(d)) {}
  explicit Bytes(std::string_view raw) : data(raw.begin(), raw.end()) {}
  bool operator==(const Bytes&) const = default;
};

namespace detail {
struct IpNetwork {
  std::uint8_t family = 4;  ///< 4 or 6
  std::array<std::uint8_t, 16> address{};
  std::uint8_t prefix_length = 32;
  bool operator==(const IpNetwork&) const = default;
};
}  // namespace detail

/// inet: a host address with optional netmask ("192.168.0.1/24", "::1").
struct Inet : detail::IpNetwork {
  static Inet parse(std::string_view text);  ///< throws ParameterError
  std::string to_string() const;
  bool operator==(const Inet&) const = default;
};
/// cidr: a network; host bits right of the prefix must be zero (the server checks).
struct Cidr : detail::IpNetwork {
  static Cidr parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const Cidr&) const = default;
};

/// macaddr.
struct MacAddr {
  std::array<std::uint8_t, 6> bytes{};
  static MacAddr parse(std::string_view text);  ///< "08:00:2b:01:02:03" (also '-' separated)
  std::string to_string() const;
  auto operator<=>(const MacAddr&) const = default;
};

/// point.
struct Point {
  double x = 0;
  double y = 0;
  bool operator==(const Point&) const = default;
};

/// pgvector's vector(n).
struct Vector {
  std::vector<float> values;
  bool operator==(const Vector&) const = default;
};

/// hstore: keys are never NULL, values may be.
using Hstore = std::map<std::string, std::optional<std::string>>;

}  // namespace matrx::orm
