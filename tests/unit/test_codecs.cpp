// Codecs without a server: exact wire forms, round trips, and typed errors for bad values.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/codec.hpp"
#include "matrx/orm/pg/params.hpp"

using namespace matrx::orm;
using namespace matrx::orm::pg;
using namespace std::chrono;

namespace {
template <class T>
std::string text_of(const T& v) {
  std::string s;
  Codec<T>::to_text(v, s);
  return s;
}
template <class T>
std::string binary_of(const T& v) {
  std::string s;
  Codec<T>::to_binary(v, s);
  return s;
}
// Encodes in both forms and decodes again as if the server sent column type `column`.
template <class T>
void round_trip(const T& v, Oid column = Codec<T>::oid) {
  CHECK(Codec<T>::from_text(text_of(v), column) == v);
  CHECK(Codec<T>::from_binary(binary_of(v), column) == v);
}
std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}
enum class Mood { happy, sad, meh };
BOOST_DESCRIBE_ENUM(Mood, happy, sad, meh)
}  // namespace

TEST_CASE("integers: big-endian binary, decimal text, ranges checked", "[codec]") {
  CHECK(binary_of<std::int32_t>(42) == bytes({0, 0, 0, 42}));
  CHECK(binary_of<std::int16_t>(-2) == bytes({0xff, 0xfe}));
  CHECK(text_of<std::int64_t>(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
  round_trip<std::int16_t>(std::numeric_limits<std::int16_t>::min());
  round_trip<std::int32_t>(std::numeric_limits<std::int32_t>::max());
  round_trip<std::int64_t>(std::numeric_limits<std::int64_t>::min());
  // A narrowing read that fits is fine; one that does not is an error, never a wrap.
  CHECK(Codec<std::int32_t>::from_binary(binary_of<std::int64_t>(7), oid::int8) == 7);
  CHECK_THROWS_WITH(Codec<std::int32_t>::from_binary(binary_of<std::int64_t>(1LL << 40), oid::int8),
                    Catch::Contains("out of range"));
  CHECK_THROWS_AS(Codec<std::int16_t>::from_text("40000", oid::int4), ParameterError);
  CHECK_THROWS_AS(Codec<std::int32_t>::from_text("12a", oid::int4), ParameterError);
  CHECK(Codec<std::int64_t>::accepts(oid::int2));
  CHECK_FALSE(Codec<std::int64_t>::accepts(oid::float8));
}

TEST_CASE("floats keep every bit, including specials", "[codec]") {
  round_trip(0.1);
  round_trip(-1.5e300);
  round_trip(std::numeric_limits<double>::denorm_min());
  round_trip(3.25f);
  CHECK(text_of(std::numeric_limits<double>::infinity()) == "Infinity");
  CHECK(text_of(-std::numeric_limits<double>::infinity()) == "-Infinity");
  CHECK(std::isnan(Codec<double>::from_text("NaN", oid::float8)));
  CHECK(std::isnan(Codec<double>::from_binary(binary_of(std::nan("")), oid::float8)));
  CHECK(Codec<double>::from_binary(binary_of(2.5f), oid::float4) == 2.5);
  CHECK_THROWS_AS(Codec<float>::from_binary(binary_of(0.1), oid::float8), ParameterError);  // would lose precision
}

TEST_CASE("bool, text and bytea", "[codec]") {
  round_trip(true);
  round_trip(false);
  CHECK_THROWS_AS(Codec<bool>::from_text("yes", oid::bool_), ParameterError);
  round_trip(std::string("héllo, wörld ✓"), oid::text);
  round_trip(std::string(), oid::text);
  CHECK_THROWS_WITH(text_of(std::string("a\0b", 3)), Catch::Contains("NUL byte"));
  Bytes b{0x00, 0xff, 0x10};
  CHECK(text_of(b) == "\\x00ff10");
  round_trip(b);
  round_trip(Bytes{});
  CHECK_THROWS_AS(Codec<Bytes>::from_text("abc", oid::bytea), ParameterError);
}

TEST_CASE("a NUL byte in a string parameter is rejected before sending", "[codec][params]") {
  Params p;
  CHECK_THROWS_AS(p.add(std::string("a\0b", 3)), ParameterError);
  CHECK_THROWS_AS(p.add(std::string_view("x\0", 2)), ParameterError);
  CHECK(p.size() == 0);
  p.add("plain").add(std::optional<std::string>{}).add(7);
  REQUIRE(p.size() == 3);
  std::vector<const char*> values;
  p.value_pointers(values);
  CHECK(p.lengths()[1] == -1);
  CHECK(values[1] == nullptr);
  CHECK(p.types()[2] == oid::int4);
  CHECK(p.formats()[2] == 1);
  CHECK(std::string(values[0]) == "plain");
  Params text(ParamEncoding::text);
  text.add(7);
  text.value_pointers(values);
  CHECK(text.formats()[0] == 0);
  CHECK(std::string(values[0]) == "7");
}

TEST_CASE("uuid", "[codec]") {
  const auto u = Uuid::parse("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11");
  CHECK(u.to_string() == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  CHECK(Uuid::parse("{a0eebc999c0b4ef8bb6d6bb9bd380a11}") == u);
  round_trip(u);
  CHECK_THROWS_AS(Uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"), ParameterError);
  CHECK_THROWS_AS(Uuid::parse("g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), ParameterError);
  const auto r = Uuid::random();
  CHECK((r.bytes[6] >> 4) == 4);
  CHECK((r.bytes[8] >> 6) == 2);
  CHECK(r != Uuid::random());
}

TEST_CASE("uuid v4 comes from the OS after fork(), v7 sorts in creation order and carries the time",
          "[codec][uuid]") {
  // A per-thread engine copied into a child repeats the parent's next values: the OS's CSPRNG
  // does not. The child sends its UUID through a pipe.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const auto u = Uuid::random();
    const auto written = ::write(fds[1], u.bytes.data(), u.bytes.size());
    ::_exit(written == 16 ? 0 : 1);
  }
  const auto parent = Uuid::random();
  Uuid from_child;
  REQUIRE(::read(fds[0], from_child.bytes.data(), 16) == 16);
  ::waitpid(child, nullptr, 0);
  ::close(fds[0]);
  ::close(fds[1]);
  CHECK(parent != from_child);

  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<Uuid> keys;
  for (int i = 0; i < 10'000; ++i) keys.push_back(Uuid::v7());  // more than 4,096 in some milliseconds
  CHECK(std::is_sorted(keys.begin(), keys.end()));
  CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
  std::int64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | keys.front().bytes[static_cast<std::size_t>(i)];
  CHECK(ms >= before);
  CHECK(ms - before < 1000);
  CHECK((keys.front().bytes[6] >> 4) == 7);
  CHECK((keys.front().bytes[8] >> 6) == 2);
}

TEST_CASE("numeric is exact in both forms", "[codec][numeric]") {
  CHECK(Numeric("1e3").str() == "1000");
  CHECK(Numeric("-0012.3400").str() == "-12.3400");
  CHECK(Numeric("1.5e-3").str() == "0.0015");
  CHECK(Numeric("-0.000").str() == "0.000");
  CHECK(Numeric(std::int64_t{-42}).str() == "-42");
  CHECK_THROWS_AS(Numeric("12.3.4"), ParameterError);
  CHECK_THROWS_AS(Numeric(""), ParameterError);
  // 12.34 = digits [12, 3400], weight 0, positive, dscale 2
  CHECK(binary_of(Numeric("12.34")) == bytes({0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 0x0d, 0x48}));
  for (const char* v : {"0", "0.00", "1", "-1", "10000", "12345678901234567890.123456789", "0.0001", "0.00001",
                        "-99999999.99999999", "100000000", "1e-20", "NaN", "Infinity", "-Infinity"})
    round_trip(Numeric(v));
  CHECK(Codec<Numeric>::from_binary(binary_of(Numeric("100.000")), oid::numeric).str() == "100.000");
}

TEST_CASE("timestamps, dates, times and intervals", "[codec][temporal]") {
  const Timestamp t = sys_days{2024y / 2 / 29} + 13h + 5min + 7s + 123456us;
  CHECK(text_of(t) == "2024-02-29 13:05:07.123456+00");
  round_trip(t);
  // PostgreSQL epoch: 2000-01-01 is zero in binary.
  CHECK(binary_of(Timestamp(sys_days{2000y / 1 / 1})) == std::string(8, '\0'));
  CHECK(Codec<Timestamp>::from_text("2024-02-29 18:35:07.5+05:30", oid::timestamptz) ==
        sys_days{2024y / 2 / 29} + 13h + 5min + 7s + 500000us);
  CHECK(Codec<Timestamp>::from_text("1969-12-31 23:59:59-00:00:30", oid::timestamptz) ==
        Timestamp(seconds(-1) + seconds(30)));
  // before 1970, before year 1, and the infinities
  round_trip(Timestamp(sys_days{1900y / 3 / 1}) + 1us);
  const Timestamp bc = sys_days{year(-43) / 3 / 15} + 12h;  // 44 BC
  CHECK(text_of(bc) == "0044-03-15 12:00:00+00 BC");
  round_trip(bc);
  CHECK(text_of(Timestamp::max()) == "infinity");
  round_trip(Timestamp::max());
  round_trip(Timestamp::min());
  CHECK(binary_of(Timestamp::max()) == bytes({0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  CHECK_THROWS_AS(binary_of(Timestamp(sys_days{year(-5000) / 1 / 1})), ParameterError);
  // 294276 AD exists in PostgreSQL but not in a signed 64-bit µs count since 1970.
  CHECK_THROWS_WITH(Codec<Timestamp>::from_binary(bytes({0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0}), oid::timestamptz),
                    Catch::Contains("294247"));

  const LocalTimestamp lt = local_days{2023y / 12 / 31} + 23h + 59min + 59s;
  CHECK(text_of(lt) == "2023-12-31 23:59:59");
  round_trip(lt);

  round_trip(Date(2024y / 2 / 29));
  round_trip(Date(1583y / 1 / 1));
  CHECK(text_of(Date(sys_days{year(0) / 2 / 29})) == "0001-02-29 BC");
  round_trip(Date::max());
  round_trip(Date::min());
  CHECK(Codec<Date>::from_text("5874897-12-31", oid::date) == Date(days(2147483494 - 1 - 2440588)));  // last day before DATE_END_JULIAN

  round_trip(TimeOfDay(23h, 59min, 59s, 999999us));
  round_trip(TimeOfDay(24h, 0min));
  CHECK(text_of(TimeOfDay(1h, 2min, 3s, 400000us)) == "01:02:03.4");
  CHECK_THROWS_AS(binary_of(TimeOfDay(25h, 0min)), ParameterError);

  round_trip(Interval{14, -3, 4 * 3600'000'000LL + 5'000'000});
  round_trip(Interval{0, 0, -1});
  round_trip(Interval{});
  CHECK(Codec<Interval>::from_text("1 year 2 mons -3 days +04:05:06.5", oid::interval) ==
        Interval{14, -3, ((4 * 60 + 5) * 60 + 6) * 1'000'000LL + 500'000});
  CHECK(Codec<Interval>::from_text("-1 days -00:00:01", oid::interval) == Interval{0, -1, -1'000'000});
  CHECK(Codec<Interval>::from_text("100:00:00", oid::interval) == Interval{0, 0, 360'000'000'000LL});
  CHECK_THROWS_AS(Codec<Interval>::from_text("P1Y", oid::interval), ParameterError);
}

TEST_CASE("json: strict UTF-8 out, typed errors in", "[codec][json]") {
  nlohmann::json j = {{"a", {1, 2, nullptr}}, {"ü", "✓"}};
  round_trip(j, oid::json);
  CHECK(Codec<nlohmann::json>::from_binary(std::string("\x01{\"x\":1}"), oid::jsonb) == nlohmann::json{{"x", 1}});
  CHECK_THROWS_WITH(Codec<nlohmann::json>::from_text("{\"a\":", oid::json), Catch::Contains("malformed JSON"));
  CHECK_THROWS_AS(Codec<nlohmann::json>::from_binary(std::string("\x02{}"), oid::jsonb), ParameterError);
  CHECK_THROWS_AS(text_of(nlohmann::json("\xC3\x28")), ParameterError);  // invalid UTF-8
}

TEST_CASE("network types, point, money", "[codec]") {
  round_trip(Inet::parse("192.168.1.5"));
  round_trip(Inet::parse("10.0.0.1/8"));
  round_trip(Inet::parse("2001:db8::1/64"));
  CHECK(Inet::parse("192.168.1.5/32").to_string() == "192.168.1.5");
  CHECK(binary_of(Inet::parse("10.1.2.3/8")) == bytes({2, 8, 0, 4, 10, 1, 2, 3}));
  round_trip(Cidr::parse("10.0.0.0/8"));
  CHECK(Cidr::parse("::1").to_string() == "::1/128");
  CHECK_THROWS_AS(Inet::parse("300.1.1.1"), ParameterError);
  CHECK_THROWS_AS(Inet::parse("1.2.3.4/33"), ParameterError);
  round_trip(MacAddr::parse("08:00:2B:01:02:03"));
  CHECK(MacAddr::parse("08-00-2b-01-02-03").to_string() == "08:00:2b:01:02:03");
  CHECK_THROWS_AS(MacAddr::parse("08:00:2b:01:02"), ParameterError);
  round_trip(Point{1.5, -2.25});
  CHECK(text_of(Point{1, 2}) == "(1,2)");
  round_trip(Money{-123456});
  CHECK(text_of(Money{-5}) == "-0.05");
  CHECK(Codec<Money>::from_text("-$1,234.56", oid::money) == Money{-123456});
  CHECK(Codec<Money>::from_text("$0.10", oid::money) == Money{10});
}

TEST_CASE("pgvector vector and hstore", "[codec]") {
  Vector v{{1.0f, -2.5f, 3.25f}};
  CHECK(text_of(v) == "[1,-2.5,3.25]");
  CHECK(binary_of(v).size() == 4 + 3 * 4);
  round_trip(v, 16400);
  CHECK(Codec<Vector>::from_text("[1, 2,3]", 16400) == Vector{{1, 2, 3}});
  CHECK_THROWS_AS(text_of(Vector{{std::nanf("")}}), ParameterError);

  Hstore h{{"a", "1"}, {"quote\"d", "back\\slash"}, {"n", std::nullopt}, {"", ""}};
  round_trip(h, 16401);
  CHECK(text_of(Hstore{{"k", std::nullopt}}) == "\"k\"=>NULL");
  CHECK(Codec<Hstore>::from_text("\"a\"=>\"1\", \"b\"=>NULL", 16401) == Hstore{{"a", "1"}, {"b", std::nullopt}});
}

TEST_CASE("arrays: NULL elements, quoting, element types checked", "[codec][array]") {
  using Strings = std::vector<std::optional<std::string>>;
  Strings s{"plain", "with space", "quote\"d", "back\\slash", "", "NULL", std::nullopt, "{braces}", "a,b"};
  CHECK(text_of(s) == R"({plain,"with space","quote\"d","back\\slash","","NULL",NULL,"{braces}","a,b"})");
  CHECK(Codec<Strings>::from_text(text_of(s), oid::text_array) == s);
  CHECK(Codec<Strings>::from_text("[0:1]={a,b}", oid::text_array) == Strings{"a", "b"});

  std::vector<std::int32_t> ints{1, -2, 3};
  round_trip(ints, oid::int4_array);
  round_trip(std::vector<std::int32_t>{}, oid::int4_array);
  std::vector<std::optional<double>> ds{1.5, std::nullopt};
  round_trip(ds, oid::float8_array);
  // A NULL element cannot go into a non-optional vector.
  CHECK_THROWS_WITH(Codec<std::vector<double>>::from_binary(binary_of(ds), oid::float8_array),
                    Catch::Contains("std::optional"));
  CHECK_THROWS_WITH(Codec<std::vector<int>>::from_text("{{1,2},{3,4}}", oid::int4_array),
                    Catch::Contains("multi-dimensional"));
  // int2[] read as int64 works; float8[] read as ints does not
  std::string int2s;
  Codec<std::vector<std::int16_t>>::to_binary({5, 6}, int2s);
  CHECK(Codec<std::vector<std::int64_t>>::from_binary(int2s, oid::int2_array) == std::vector<std::int64_t>{5, 6});
  CHECK_FALSE(Codec<std::vector<std::int64_t>>::accepts(oid::float8_array));
  round_trip(std::vector<Uuid>{Uuid::random(), Uuid::random()}, oid::uuid_array);
  round_trip(std::vector<Point>{{1, 2}, {3, 4}}, oid::point_array);
  round_trip(std::vector<Numeric>{Numeric("1.50"), Numeric("-2")}, oid::numeric_array);
}

TEST_CASE("described enums travel as their labels", "[codec][enum]") {
  CHECK(text_of(Mood::sad) == "sad");
  CHECK(Codec<Mood>::from_text("meh", 16500) == Mood::meh);
  CHECK_THROWS_WITH(Codec<Mood>::from_text("angry", 16500), Catch::Contains("'angry'"));
  // Arrays of extension/enum types have no fixed OID and travel as text.
  using Moods = std::vector<Mood>;
  static_assert(!Codec<Moods>::binary_param);
  CHECK(Codec<Moods>::from_text(text_of(Moods{Mood::happy, Mood::meh}), 16501) == Moods{Mood::happy, Mood::meh});
}

TEST_CASE("decoders never crash on garbage", "[codec][fuzz]") {
  // Every prefix of valid encodings, plus random bytes: each must decode or throw ParameterError.
  std::vector<std::string> samples = {binary_of(Numeric("12345.678")), binary_of(std::vector<std::int32_t>{1, 2, 3}),
                                      binary_of(Hstore{{"a", "b"}}), binary_of(Inet::parse("::1")),
                                      binary_of(Vector{{1, 2}}), binary_of(Interval{1, 2, 3})};
  std::uint64_t seed = 12345;
  for (int i = 0; i < 200; ++i) {
    std::string r;
    for (int k = 0; k < i % 40; ++k) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      r.push_back(static_cast<char>(seed >> 56));
    }
    samples.push_back(r);
  }
  std::size_t decoded = 0;
  for (const auto& full : samples)
    for (std::size_t n = 0; n <= full.size(); ++n) {
      const std::string s = full.substr(0, n);
      auto attempt = [&](auto decode) {
        try { decode(); ++decoded; } catch (const ParameterError&) {}
      };
      attempt([&] { Codec<Numeric>::from_binary(s, oid::numeric); });
      attempt([&] { Codec<std::vector<std::int32_t>>::from_binary(s, oid::int4_array); });
      attempt([&] { Codec<Hstore>::from_binary(s, 16401); });
      attempt([&] { Codec<Inet>::from_binary(s, oid::inet); });
      attempt([&] { Codec<Vector>::from_binary(s, 16400); });
      attempt([&] { Codec<Interval>::from_binary(s, oid::interval); });
      attempt([&] { Codec<std::vector<std::string>>::from_text(s, oid::text_array); });
      attempt([&] { Codec<Timestamp>::from_text(s, oid::timestamptz); });
      attempt([&] { Codec<Hstore>::from_text(s, 16401); });
    }
  CHECK(decoded > 0);  // the valid full encodings decoded
}

TEST_CASE("Params::add_borrowed points libpq at the caller's bytes instead of copying them", "[params]") {
  const std::vector<std::uint8_t> blob{0, 1, 2, 0xff};
  matrx::orm::pg::Params p;
  p.add(7).add_borrowed(blob).add(std::string("tail"));
  std::vector<const char*> values;
  p.value_pointers(values);
  REQUIRE(values.size() == 3);
  CHECK(values[1] == reinterpret_cast<const char*>(blob.data()));
  CHECK(p.lengths()[1] == 4);
  CHECK(p.formats()[1] == 1);
  CHECK(p.types()[1] == matrx::orm::pg::oid::bytea);
  CHECK(std::string(values[2]) == "tail");
  CHECK(p.byte_size() == 4 + 4 + 5);  // int4, the borrowed bytes, "tail" with its NUL
}

TEST_CASE("a binary array whose element count its data cannot hold is refused before allocating", "[codec][array]") {
  // Found by fuzz_decoders: a 33-byte int4[] claiming 0x2c7a0002 elements reserved 3 GB.
  const std::string data("\x00\x00\x00\x01\x29\x00\x00\x00\x00\x00\x00\x17\x2c\x7a\x00\x02\x00\x21\x00\x00"
                         "\x00\x00\x00\x00\x00\x00\x00\x00\x07\xff\xff\xff\xff", 33);
  CHECK_THROWS_WITH(Codec<std::vector<std::int32_t>>::from_binary(data, oid::int4_array),
                    Catch::Contains("more elements than its data holds"));
}

TEST_CASE("interval text whose fields overflow is a range error, not a wrapped value", "[codec][interval]") {
  // Found by fuzz_decoders (signed overflow, undefined behaviour, before the check existed).
  CHECK_THROWS_WITH(Codec<Interval>::from_text("99999999999:99:99", oid::interval), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(Codec<Interval>::from_text("999999999999 years", oid::interval), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(Codec<Interval>::from_text("3000000000 days", oid::interval), Catch::Contains("out of range"));
  const auto ok = Codec<Interval>::from_text("1 year 2 mons -3 days +04:05:06.5", oid::interval);
  CHECK(ok.months == 14);
  CHECK(ok.days == -3);
  CHECK(ok.microseconds == ((4 * 60 + 5) * 60 + 6) * 1'000'000LL + 500'000);
}
