// Codecs for timestamptz, timestamp, date, time and interval.
//
// Binary forms count from PostgreSQL's epoch 2000-01-01: microseconds (int64) for
// timestamps and times, days (int32) for dates; INT64/INT32 MAX and MIN are ±infinity,
// mapped to the C++ types' max() and min(). Text forms assume DateStyle ISO (the default)
// and IntervalStyle postgres (the default). Civil-date arithmetic is done by hand with
// 64-bit integers because std::chrono::year stops at ±32767 while PostgreSQL dates go to
// 5874897 AD.
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/codec.hpp"

namespace matrx::orm::pg {

namespace {
using detail::throw_decode_error;
using std::int64_t;

constexpr int64_t us_per_second = 1'000'000;
constexpr int64_t us_per_day = 86'400 * us_per_second;
constexpr int64_t pg_epoch_days = 10'957;                        // 2000-01-01 in Unix days
constexpr int64_t pg_epoch_us = pg_epoch_days * us_per_day;      // … in Unix microseconds
constexpr int64_t min_timestamp_pg = -211'813'488'000'000'000;    // 4714-11-24 BC
constexpr int64_t end_timestamp_pg = 9'223'371'331'200'000'000;  // 294277-01-01
constexpr int64_t min_date_pg = -2'451'545;                      // Julian day 0
constexpr int64_t end_date_pg = 2'147'483'494 - 2'451'545;

// Proleptic Gregorian calendar ↔ days since 1970-01-01 (astronomical years: 1 BC = 0).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
struct Civil { int64_t year; int month; int day; };
Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2), m, d};
}
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void append_date(std::string& out, int64_t unix_days) {
  const Civil c = civil_from_days(unix_days);
  const bool bc = c.year <= 0;
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}", bc ? 1 - c.year : c.year, c.month, c.day);
  if (bc) out.append(" BC");  // callers that add a time append BC after it
}
void append_time(std::string& out, int64_t us) {
  const int64_t s = us / us_per_second, frac = us % us_per_second;
  fmt::format_to(std::back_inserter(out), "{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  if (frac) {
    std::string f = fmt::format("{:06}", frac);
    f.erase(f.find_last_not_of('0') + 1);
    out.push_back('.');
    out.append(f);
  }
}

// Text timestamp: "YYYY-MM-DD[ HH:MM:SS[.ffffff]][±HH[:MM[:SS]]][ BC]" → Unix µs (UTC if an
// offset is given, else the wall-clock reading).
struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  bool eat(char c) { if (peek() == c) { ++i; return true; } return false; }
  bool number(int64_t& v, std::size_t max_digits = 18) {
    const std::size_t start = i;
    v = 0;
    while (!done() && s[i] >= '0' && s[i] <= '9' && i - start < max_digits) v = v * 10 + (s[i++] - '0');
    return i > start;
  }
};

int64_t parse_date_part(Cursor& c, std::string_view type, Oid column) {
  int64_t y, m, d;
  if (!c.number(y, 9) || !c.eat('-') || !c.number(m, 2) || !c.eat('-') || !c.number(d, 2) || m < 1 ||
      m > 12 || d < 1 || d > 31)
    throw_decode_error(type, column, fmt::format("cannot parse '{}'", c.s));
  const bool bc = c.s.size() >= 3 && c.s.substr(c.s.size() - 3) == " BC";
  if (bc) y = 1 - y;
  return days_from_civil(y, m, d);
}

int64_t parse_time_part(Cursor& c, std::string_view type, Oid column) {
  int64_t h, mi, s = 0, frac = 0;
  if (!c.number(h, 2) || !c.eat(':') || !c.number(mi, 2))
    throw_decode_error(type, column, fmt::format("cannot parse '{}'", c.s));
  if (c.eat(':') && !c.number(s, 2)) throw_decode_error(type, column, fmt::format("cannot parse '{}'", c.s));
  if (c.eat('.')) {
    const std::size_t start = c.i;
    if (!c.number(frac, 6)) throw_decode_error(type, column, fmt::format("cannot parse '{}'", c.s));
    for (std::size_t digits = c.i - start; digits < 6; ++digits) frac *= 10;
  }
  return ((h * 60 + mi) * 60 + s) * us_per_second + frac;
}

// Returns Unix microseconds; `utc` converts by the offset if present.
int64_t parse_timestamp(std::string_view text, std::string_view type, Oid column) {
  Cursor c{text};
  const int64_t days = parse_date_part(c, type, column);
  int64_t us = 0;
  if (c.eat(' ') || c.eat('T')) us = parse_time_part(c, type, column);
  if (c.peek() == '+' || c.peek() == '-') {
    const bool minus = c.peek() == '-';
    ++c.i;
    int64_t oh = 0, om = 0, os = 0;
    if (!c.number(oh, 2)) throw_decode_error(type, column, fmt::format("bad offset in '{}'", text));
    if (c.eat(':')) c.number(om, 2);
    if (c.eat(':')) c.number(os, 2);
    const int64_t offset = ((oh * 60 + om) * 60 + os) * us_per_second;
    us -= minus ? -offset : offset;
  }
  if (c.s.substr(c.i) != "" && c.s.substr(c.i) != " BC")
    throw_decode_error(type, column, fmt::format("cannot parse '{}'", text));
  return days * us_per_day + us;
}

void format_timestamp(std::string& out, int64_t unix_us, bool with_zone) {
  const int64_t days = floor_div(unix_us, us_per_day);
  const int64_t us = unix_us - days * us_per_day;
  const Civil civil = civil_from_days(days);
  const bool bc = civil.year <= 0;
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02} ", bc ? 1 - civil.year : civil.year, civil.month, civil.day);
  append_time(out, us);
  if (with_zone) out.append("+00");
  if (bc) out.append(" BC");
}

// Timestamp payload shared by timestamptz and timestamp (same binary format).
int64_t unix_to_pg_checked(int64_t unix_us, std::string_view type) {
  if (unix_us == std::numeric_limits<int64_t>::max()) return unix_us;  // infinity
  if (unix_us == std::numeric_limits<int64_t>::min()) return unix_us;  // -infinity
  if (unix_us < min_timestamp_pg + pg_epoch_us)
    detail::throw_encode_error(type, "value is before 4714-11-24 BC, PostgreSQL's earliest timestamp");
  const int64_t pg = unix_us - pg_epoch_us;
  if (pg >= end_timestamp_pg) detail::throw_encode_error(type, "value is after PostgreSQL's latest timestamp");
  return pg;
}
int64_t pg_to_unix_checked(int64_t pg, std::string_view type, Oid column) {
  if (pg == std::numeric_limits<int64_t>::max() || pg == std::numeric_limits<int64_t>::min()) return pg;
  if (pg > std::numeric_limits<int64_t>::max() - pg_epoch_us)
    throw_decode_error(type, column, "value is after 294247-01-10, the latest instant a 64-bit microsecond clock since 1970 can hold");
  return pg + pg_epoch_us;
}
int64_t timestamp_from_text(std::string_view t, std::string_view type, Oid column) {
  if (t == "infinity") return std::numeric_limits<int64_t>::max();
  if (t == "-infinity") return std::numeric_limits<int64_t>::min();
  return parse_timestamp(t, type, column);
}
void timestamp_to_text(int64_t unix_us, bool with_zone, std::string& out, std::string_view type) {
  if (unix_us == std::numeric_limits<int64_t>::max()) { out.append("infinity"); return; }
  if (unix_us == std::numeric_limits<int64_t>::min()) { out.append("-infinity"); return; }
  unix_to_pg_checked(unix_us, type);  // range check
  format_timestamp(out, unix_us, with_zone);
}
bool is_timestamp_oid(Oid c) { return c == oid::timestamptz || c == oid::timestamp; }
}  // namespace

// ---- timestamptz ------------------------------------------------------------------------

void Codec<Timestamp>::to_text(const Timestamp& v, std::string& out) {
  timestamp_to_text(v.time_since_epoch().count(), true, out, "Timestamp");
}
void Codec<Timestamp>::to_binary(const Timestamp& v, std::string& out) {
  detail::append_be64(out, static_cast<std::uint64_t>(unix_to_pg_checked(v.time_since_epoch().count(), "Timestamp")));
}
Timestamp Codec<Timestamp>::from_text(std::string_view t, Oid c) {
  return Timestamp(std::chrono::microseconds(timestamp_from_text(t, "Timestamp", c)));
}
Timestamp Codec<Timestamp>::from_binary(std::string_view d, Oid c) {
  if (d.size() != 8) throw_decode_error("Timestamp", c, "expected 8 bytes");
  const auto pg = static_cast<int64_t>(detail::read_be64(d.data()));
  return Timestamp(std::chrono::microseconds(pg_to_unix_checked(pg, "Timestamp", c)));
}
bool Codec<Timestamp>::accepts(Oid c) noexcept { return is_timestamp_oid(c); }

// ---- timestamp --------------------------------------------------------------------------

void Codec<LocalTimestamp>::to_text(const LocalTimestamp& v, std::string& out) {
  timestamp_to_text(v.time_since_epoch().count(), false, out, "LocalTimestamp");
}
void Codec<LocalTimestamp>::to_binary(const LocalTimestamp& v, std::string& out) {
  detail::append_be64(out, static_cast<std::uint64_t>(unix_to_pg_checked(v.time_since_epoch().count(), "LocalTimestamp")));
}
LocalTimestamp Codec<LocalTimestamp>::from_text(std::string_view t, Oid c) {
  return LocalTimestamp(std::chrono::microseconds(timestamp_from_text(t, "LocalTimestamp", c)));
}
LocalTimestamp Codec<LocalTimestamp>::from_binary(std::string_view d, Oid c) {
  if (d.size() != 8) throw_decode_error("LocalTimestamp", c, "expected 8 bytes");
  const auto pg = static_cast<int64_t>(detail::read_be64(d.data()));
  return LocalTimestamp(std::chrono::microseconds(pg_to_unix_checked(pg, "LocalTimestamp", c)));
}
bool Codec<LocalTimestamp>::accepts(Oid c) noexcept { return is_timestamp_oid(c); }

// ---- date -------------------------------------------------------------------------------

namespace {
constexpr int64_t date_inf = std::numeric_limits<std::int32_t>::max();
constexpr int64_t date_ninf = std::numeric_limits<std::int32_t>::min();
}  // namespace

void Codec<Date>::to_text(const Date& v, std::string& out) {
  if (v == Date::max()) { out.append("infinity"); return; }
  if (v == Date::min()) { out.append("-infinity"); return; }
  std::string ignored;
  to_binary(v, ignored);  // range check
  append_date(out, v.time_since_epoch().count());
}
void Codec<Date>::to_binary(const Date& v, std::string& out) {
  int64_t pg;
  if (v == Date::max()) pg = date_inf;
  else if (v == Date::min()) pg = date_ninf;
  else {
    const int64_t unix_days = v.time_since_epoch().count();
    if (unix_days < min_date_pg + pg_epoch_days || unix_days >= end_date_pg + pg_epoch_days)
      detail::throw_encode_error("Date", "value is outside PostgreSQL's date range (4714-11-24 BC to 5874897-12-31)");
    pg = unix_days - pg_epoch_days;
  }
  detail::append_be32(out, static_cast<std::uint32_t>(static_cast<std::int32_t>(pg)));
}
Date Codec<Date>::from_text(std::string_view t, Oid c) {
  if (t == "infinity") return Date::max();
  if (t == "-infinity") return Date::min();
  Cursor cur{t};
  const int64_t days = parse_date_part(cur, "Date", c);
  if (t.substr(cur.i) != "" && t.substr(cur.i) != " BC") throw_decode_error("Date", c, fmt::format("cannot parse '{}'", t));
  return Date(std::chrono::days(days));
}
Date Codec<Date>::from_binary(std::string_view d, Oid c) {
  if (d.size() != 4) throw_decode_error("Date", c, "expected 4 bytes");
  const int64_t pg = static_cast<std::int32_t>(detail::read_be32(d.data()));
  if (pg == date_inf) return Date::max();
  if (pg == date_ninf) return Date::min();
  return Date(std::chrono::days(pg + pg_epoch_days));
}
bool Codec<Date>::accepts(Oid c) noexcept { return c == oid::date; }

// ---- time -------------------------------------------------------------------------------

void Codec<TimeOfDay>::to_text(const TimeOfDay& v, std::string& out) {
  std::string ignored;
  to_binary(v, ignored);
  append_time(out, v.since_midnight.count());
}
void Codec<TimeOfDay>::to_binary(const TimeOfDay& v, std::string& out) {
  const int64_t us = v.since_midnight.count();
  if (us < 0 || us > us_per_day) detail::throw_encode_error("TimeOfDay", "value is outside 00:00:00 … 24:00:00");
  detail::append_be64(out, static_cast<std::uint64_t>(us));
}
TimeOfDay Codec<TimeOfDay>::from_text(std::string_view t, Oid c) {
  Cursor cur{t};
  const int64_t us = parse_time_part(cur, "TimeOfDay", c);
  if (!cur.done()) throw_decode_error("TimeOfDay", c, fmt::format("cannot parse '{}'", t));
  return TimeOfDay(std::chrono::microseconds(us));
}
TimeOfDay Codec<TimeOfDay>::from_binary(std::string_view d, Oid c) {
  if (d.size() != 8) throw_decode_error("TimeOfDay", c, "expected 8 bytes");
  return TimeOfDay(std::chrono::microseconds(static_cast<int64_t>(detail::read_be64(d.data()))));
}
bool Codec<TimeOfDay>::accepts(Oid c) noexcept { return c == oid::time; }

// ---- interval ---------------------------------------------------------------------------

void Codec<Interval>::to_text(const Interval& v, std::string& out) {
  fmt::format_to(std::back_inserter(out), "{} mons {} days ", v.months, v.days);
  const bool negative = v.microseconds < 0;
  // magnitude without overflow for INT64_MIN
  const auto magnitude = negative ? 0 - static_cast<std::uint64_t>(v.microseconds) : static_cast<std::uint64_t>(v.microseconds);
  const std::uint64_t s = magnitude / us_per_second, frac = magnitude % us_per_second;
  fmt::format_to(std::back_inserter(out), "{}{}:{:02}:{:02}.{:06}", negative ? "-" : "", s / 3600, s / 60 % 60, s % 60, frac);
}
void Codec<Interval>::to_binary(const Interval& v, std::string& out) {
  detail::append_be64(out, static_cast<std::uint64_t>(v.microseconds));
  detail::append_be32(out, static_cast<std::uint32_t>(v.days));
  detail::append_be32(out, static_cast<std::uint32_t>(v.months));
}
Interval Codec<Interval>::from_text(std::string_view t, Oid c) {
  // IntervalStyle 'postgres': "1 year 2 mons -3 days +04:05:06.5", "00:00:00", "-1 days".
  Interval r;
  Cursor cur{t};
  auto fail = [&] { throw_decode_error("Interval", c, fmt::format("cannot parse '{}' (IntervalStyle must be postgres)", t)); };
  auto out_of_range = [&] { throw_decode_error("Interval", c, fmt::format("'{}' is out of range", t)); };
  while (!cur.done()) {
    while (cur.eat(' ')) {}
    if (cur.done()) break;
    const std::size_t start = cur.i;
    bool negative = false;
    if (cur.peek() == '-' || cur.peek() == '+') negative = t[cur.i++] == '-';
    int64_t n;
    if (!cur.number(n)) fail();
    if (cur.peek() == ':') {  // time part
      cur.i = start + (t[start] == '-' || t[start] == '+' ? 1 : 0);
      int64_t h, mi, s = 0, frac = 0;
      if (!cur.number(h) || !cur.eat(':') || !cur.number(mi, 2)) fail();
      if (cur.eat(':') && !cur.number(s, 2)) fail();
      if (cur.eat('.')) {
        const std::size_t fs = cur.i;
        if (!cur.number(frac, 6)) fail();
        for (std::size_t digits = cur.i - fs; digits < 6; ++digits) frac *= 10;
      }
      int64_t us = 0;
      if (__builtin_mul_overflow(h, 60, &us) || __builtin_add_overflow(us, mi, &us) ||
          __builtin_mul_overflow(us, 60, &us) || __builtin_add_overflow(us, s, &us) ||
          __builtin_mul_overflow(us, us_per_second, &us) || __builtin_add_overflow(us, frac, &us) ||
          __builtin_add_overflow(r.microseconds, negative ? -us : us, &r.microseconds))
        out_of_range();
      continue;
    }
    if (!cur.eat(' ')) fail();
    const std::size_t unit_start = cur.i;
    while (!cur.done() && cur.peek() != ' ') ++cur.i;
    const std::string_view unit = t.substr(unit_start, cur.i - unit_start);
    const int64_t value = negative ? -n : n;
    // Checked: a field past int32 is an error, never a wrapped value (fuzz_decoders found the
    // overflow, undefined behaviour, in "99999999999:…").
    auto add_to = [&](std::int32_t& field, int64_t amount) {
      const int64_t sum = static_cast<int64_t>(field) + amount;
      if (amount > INT32_MAX || amount < INT32_MIN || sum > INT32_MAX || sum < INT32_MIN) out_of_range();
      field = static_cast<std::int32_t>(sum);
    };
    int64_t months_of_years = 0;
    if (unit == "year" || unit == "years") {
      if (__builtin_mul_overflow(value, 12, &months_of_years)) out_of_range();
      add_to(r.months, months_of_years);
    } else if (unit == "mon" || unit == "mons") add_to(r.months, value);
    else if (unit == "day" || unit == "days") add_to(r.days, value);
    else fail();
  }
  return r;
}
Interval Codec<Interval>::from_binary(std::string_view d, Oid c) {
  if (d.size() != 16) throw_decode_error("Interval", c, "expected 16 bytes");
  Interval r;
  r.microseconds = static_cast<int64_t>(detail::read_be64(d.data()));
  r.days = static_cast<std::int32_t>(detail::read_be32(d.data() + 8));
  r.months = static_cast<std::int32_t>(detail::read_be32(d.data() + 12));
  return r;
}
bool Codec<Interval>::accepts(Oid c) noexcept { return c == oid::interval; }

}  // namespace matrx::orm::pg
