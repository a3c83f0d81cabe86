// Every supported type through the real server: parameters in binary and text form,
// results in binary and text form, NULL, empty, unicode and extremes; values the server
// produces itself decode to what PostgreSQL means; bad values are typed errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "db_fixture.hpp"

using namespace std::chrono;
namespace orm = matrx::orm;
using test::asio::awaitable;
using test::pg::Format;
using test::pg::ParamEncoding;
using test::pg::Params;

namespace {
enum class Mood { happy, sad, meh };
BOOST_DESCRIBE_ENUM(Mood, happy, sad, meh)

constexpr ParamEncoding encodings[] = {ParamEncoding::preferred, ParamEncoding::text};
constexpr Format formats[] = {Format::binary, Format::text};

// SELECT $1::type with every parameter encoding and result format; checks value and NULL.
template <class T>
awaitable<void> round_trip(test::pg::Connection& c, const char* sql_type, const T& value) {
  for (auto enc : encodings)
    for (auto fmt : formats) {
      INFO("type " << sql_type << ", params " << (enc == ParamEncoding::text ? "text" : "preferred") << ", result "
                   << (fmt == Format::text ? "text" : "binary"));
      Params p(enc);
      p.add(value).add(std::optional<T>{});
      const std::string sql = fmt::format("SELECT $1::{0}, $2::{0}", sql_type);
      test::pg::Result r = co_await c.execute(sql, p, fmt);
      CHECK(r.get<T>(0, 0) == value);
      CHECK_FALSE(r.get<std::optional<T>>(0, 1).has_value());
    }
}

// A literal the server parses itself, read in both result formats.
template <class T>
awaitable<void> server_value(test::pg::Connection& c, const std::string& expression, const T& expected) {
  for (auto fmt : formats) {
    INFO(expression << " as " << (fmt == Format::text ? "text" : "binary"));
    test::pg::Result r = co_await c.execute("SELECT " + expression, fmt);
    CHECK(r.get<T>(0, 0) == expected);
  }
}
}  // namespace

TEST_CASE("scalar types round-trip in both formats", "[db][types]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    co_await round_trip(c, "bool", true);
    co_await round_trip(c, "bool", false);
    co_await round_trip<std::int16_t>(c, "int2", std::numeric_limits<std::int16_t>::min());
    co_await round_trip<std::int16_t>(c, "int2", std::numeric_limits<std::int16_t>::max());
    co_await round_trip<std::int32_t>(c, "int4", std::numeric_limits<std::int32_t>::min());
    co_await round_trip<std::int64_t>(c, "int8", std::numeric_limits<std::int64_t>::max());
    co_await round_trip<std::int64_t>(c, "int8", std::numeric_limits<std::int64_t>::min());
    co_await round_trip(c, "float4", 3.4028235e38f);
    co_await round_trip(c, "float4", -1.17549435e-38f);
    co_await round_trip(c, "float8", 0.1);
    co_await round_trip(c, "float8", std::numeric_limits<double>::denorm_min());
    co_await round_trip(c, "float8", -std::numeric_limits<double>::infinity());
    co_await round_trip(c, "text", std::string("héllo wörld ✓ 𝄞 日本"));
    co_await round_trip(c, "text", std::string());
    co_await round_trip(c, "text", std::string("quote' \" back\\slash\nnewline"));
    co_await round_trip(c, "varchar(20)", std::string("short"));
    co_await round_trip(c, "uuid", orm::Uuid::random());
    const auto v1 = orm::Uuid{};
    co_await round_trip(c, "uuid", v1);
    for (const char* n : {"0", "-0.000", "12.3400", "-99999999999999999999.99999999999999999999", "0.00000001",
                          "1000000000000", "NaN", "Infinity", "-Infinity"})
      co_await round_trip(c, "numeric", orm::Numeric(n));
    const auto v2 = orm::Bytes{};
    co_await round_trip(c, "bytea", v2);
    const auto v3 = orm::Bytes{0x00, 0x01, 0xfe, 0xff, 0x5c, 0x27};
    co_await round_trip(c, "bytea", v3);
    orm::Bytes big;
    big.data.resize(1 << 20);
    for (std::size_t i = 0; i < big.data.size(); ++i) big.data[i] = static_cast<std::uint8_t>(i * 31);
    co_await round_trip(c, "bytea", big);
    const auto v4 = orm::Money{123456};
    co_await round_trip(c, "money", v4);
    const auto v5 = orm::Money{-5};
    co_await round_trip(c, "money", v5);
    co_await round_trip(c, "inet", orm::Inet::parse("192.168.10.5/24"));
    co_await round_trip(c, "inet", orm::Inet::parse("2001:db8::ff00:42:8329"));
    co_await round_trip(c, "cidr", orm::Cidr::parse("10.0.0.0/8"));
    co_await round_trip(c, "cidr", orm::Cidr::parse("2001:db8::/32"));
    co_await round_trip(c, "macaddr", orm::MacAddr::parse("08:00:2b:01:02:03"));
    const auto v6 = orm::Point{1.5, -2.25};
    co_await round_trip(c, "point", v6);
    const auto v7 = nlohmann::json{{"a", {1, 2.5, nullptr, "✓"}}};
    co_await round_trip(c, "json", v7);
    const auto v8 = nlohmann::json{{"nested", {{"x", true}}}, {"empty", nlohmann::json::object()}};
    co_await round_trip(c, "jsonb", v8);
    co_await round_trip(c, "jsonb", nlohmann::json("just a string"));
  });
}

TEST_CASE("date and time types round-trip in both formats, also under an odd time zone", "[db][types][temporal]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    for (const char* zone : {"UTC", "Pacific/Chatham", "America/New_York"}) {
      INFO("TimeZone " << zone);
      co_await c.execute(fmt::format("SET TimeZone = '{}'", zone));
      const auto v9 = orm::Timestamp(sys_days{2024y / 2 / 29} + 13h + 5min + 7s + 123456us);
      co_await round_trip(c, "timestamptz", v9);
      const auto v10 = orm::Timestamp(sys_days{1969y / 12 / 31} + 23h + 59min + 59s + 999999us);
      co_await round_trip(c, "timestamptz", v10);
      const auto v11 = orm::Timestamp(sys_days{year(-4712) / 1 / 1});  // 4713 BC
      co_await round_trip(c, "timestamptz", v11);
      const auto v11b = orm::Timestamp(sys_days{year(294246) / 12 / 31});
      co_await round_trip(c, "timestamptz", v11b);
      co_await round_trip(c, "timestamptz", orm::Timestamp::max());
      co_await round_trip(c, "timestamptz", orm::Timestamp::min());
      const auto v12 = orm::LocalTimestamp(local_days{2024y / 3 / 10} + 2h + 30min);
      co_await round_trip(c, "timestamp", v12);
      const auto v13 = orm::LocalTimestamp(local_days{year(-43) / 3 / 15} + 12h);  // 44 BC
      co_await round_trip(c, "timestamp", v13);
      co_await round_trip(c, "timestamp", orm::LocalTimestamp::max());
    }
    co_await round_trip(c, "date", orm::Date(2000y / 1 / 1));
    co_await round_trip(c, "date", orm::Date(1900y / 2 / 28));
    const auto v14 = orm::Date(sys_days{year(-4712) / 1 / 1});
    co_await round_trip(c, "date", v14);
    co_await round_trip(c, "date", orm::Date(days(2147483494 - 1 - 2440588)));  // 5874897-12-31
    co_await round_trip(c, "date", orm::Date::max());
    co_await round_trip(c, "date", orm::Date::min());
    co_await round_trip(c, "time", orm::TimeOfDay(0h, 0min));
    co_await round_trip(c, "time", orm::TimeOfDay(23h, 59min, 59s, 999999us));
    co_await round_trip(c, "time", orm::TimeOfDay(24h, 0min));
    const auto v15 = orm::Interval{14, -3, 4 * 3600'000'000LL + 5'000'001};
    co_await round_trip(c, "interval", v15);
    const auto v16 = orm::Interval{-1, 0, -1};
    co_await round_trip(c, "interval", v16);
    const auto v17 = orm::Interval{};
    co_await round_trip(c, "interval", v17);
    const auto v18 = orm::Interval{0, 0, 1000 * 3600'000'000LL};
    co_await round_trip(c, "interval", v18);
  });
}

TEST_CASE("arrays with NULL elements, quoting and empties round-trip", "[db][types][array]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    using Strings = std::vector<std::optional<std::string>>;
    const auto v19 = Strings{"a", "with space", "quo\"te", "back\\slash", "", "NULL", std::nullopt, "{}", "ü,✓"};
    co_await round_trip(c, "text[]", v19);
    const auto v20 = std::vector<std::string>{};
    co_await round_trip(c, "text[]", v20);
    const auto v21 = std::vector<std::int32_t>{1, -2, std::numeric_limits<std::int32_t>::max()};
    co_await round_trip(c, "int4[]", v21);
    const auto v22 = std::vector<std::optional<std::int64_t>>{std::nullopt, 5};
    co_await round_trip(c, "int8[]", v22);
    const auto v23 = std::vector<std::int16_t>{};
    co_await round_trip(c, "int2[]", v23);
    const auto v24 = std::vector<bool>{true, false};
    co_await round_trip(c, "bool[]", v24);
    const auto v25 = std::vector<double>{0.5, -1e300};
    co_await round_trip(c, "float8[]", v25);
    const auto v26 = std::vector<orm::Numeric>{orm::Numeric("1.50"), orm::Numeric("-7")};
    co_await round_trip(c, "numeric[]", v26);
    const auto v27 = std::vector<orm::Uuid>{orm::Uuid::random(), orm::Uuid::random()};
    co_await round_trip(c, "uuid[]", v27);
    const auto v28 = std::vector<orm::Timestamp>{orm::Timestamp(sys_days{2020y / 1 / 1}), orm::Timestamp::max()};
    co_await round_trip(c, "timestamptz[]", v28);
    const auto v29 = std::vector<orm::Date>{orm::Date(2020y / 1 / 1)};
    co_await round_trip(c, "date[]", v29);
    const auto v30 = std::vector<orm::Interval>{{1, 2, 3}};
    co_await round_trip(c, "interval[]", v30);
    const auto v31 = std::vector<nlohmann::json>{nlohmann::json{{"a", 1}}, nlohmann::json::array()};
    co_await round_trip(c, "jsonb[]", v31);
    const auto v32 = std::vector<orm::Bytes>{orm::Bytes{1, 2}, orm::Bytes{}};
    co_await round_trip(c, "bytea[]", v32);
    const auto v33 = std::vector<orm::Inet>{orm::Inet::parse("::1")};
    co_await round_trip(c, "inet[]", v33);
    const auto v34 = std::vector<orm::Point>{{1, 2}, {-3, 4.5}};
    co_await round_trip(c, "point[]", v34);
    const auto v35 = std::vector<orm::Money>{{100}, {-1}};
    co_await round_trip(c, "money[]", v35);
  });
}

TEST_CASE("enums and hstore (types without fixed OIDs) round-trip", "[db][types]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    co_await c.execute("DROP TYPE IF EXISTS mood_rt CASCADE");
    co_await c.execute("CREATE TYPE mood_rt AS ENUM ('happy', 'sad', 'meh')");
    co_await round_trip(c, "mood_rt", Mood::meh);
    const auto v36 = std::vector<Mood>{Mood::happy, Mood::sad};
    co_await round_trip(c, "mood_rt[]", v36);
    co_await round_trip(c, "mood_rt", std::string("sad"));  // plain strings also fit enum columns
    co_await c.execute("CREATE EXTENSION IF NOT EXISTS hstore");
    const auto v37 = orm::Hstore{{"a", "1"}, {"quo\"te", "back\\slash ✓"}, {"n", std::nullopt}, {"", ""}};
    co_await round_trip(c, "hstore", v37);
    const auto v38 = orm::Hstore{};
    co_await round_trip(c, "hstore", v38);
    co_await c.execute("DROP TYPE mood_rt");
  });
}

TEST_CASE("pgvector's vector round-trips", "[db][types][vector]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    // run.sh test installs pgvector (tools/install-pgvector.sh).
    co_await c.execute("CREATE EXTENSION IF NOT EXISTS vector");
    const auto v39 = orm::Vector{{1.0f, -2.5f, 3.25f}};
    co_await round_trip(c, "vector", v39);
    const auto v40 = orm::Vector{{0.0f, 1e-3f}};
    co_await round_trip(c, "vector(2)", v40);
    // A bound vector (binary, type inferred from the operator) drives a nearest-neighbour query.
    co_await c.execute("CREATE TEMP TABLE items (id int, e vector(3))");
    co_await c.execute("INSERT INTO items VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0.9,0.1,0]')");
    const auto probe = orm::Vector{{1.0f, 0.05f, 0.0f}};
    auto p = Params::of(probe);
    auto r = co_await c.execute("SELECT id FROM items ORDER BY e <=> $1 LIMIT 2", p);
    REQUIRE(r.rows() == 2);
    CHECK(r.get<int>(0, 0) == 1);
    CHECK(r.get<int>(1, 0) == 3);
    const auto wrong = orm::Vector{{1.0f, 2.0f}};
    auto bad = Params::of(wrong);
    CHECK_THROWS_AS(co_await c.execute("INSERT INTO items VALUES (4, $1)", bad), orm::ParameterError);  // 22000: wrong dimensions
  });
}

TEST_CASE("values the server writes decode to what PostgreSQL means", "[db][types]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    co_await c.execute("SET TimeZone = 'Asia/Kolkata'");
    const auto v41 = orm::Timestamp(sys_days{2024y / 2 / 29} + 13h + 5min + 7s + 123456us);
    co_await server_value(c, "'2024-02-29 18:35:07.123456+05:30'::timestamptz", v41);
    co_await server_value(c, "'infinity'::timestamptz", orm::Timestamp::max());
    co_await server_value(c, "'-infinity'::date", orm::Date::min());
    const auto v42 = orm::Date(sys_days{year(-43) / 3 / 15});
    co_await server_value(c, "'0044-03-15 BC'::date", v42);
    const auto v43 = orm::Interval{14, -3, ((4 * 60 + 5) * 60 + 6) * 1'000'000LL + 789'000};
    co_await server_value(c, "'1 year 2 mons -3 days 04:05:06.789'::interval", v43);
    co_await server_value(c, "'12345678901234567890.000100'::numeric", orm::Numeric("12345678901234567890.000100"));
    const auto v44 = std::vector<std::optional<int>>{1, std::nullopt, 3};
    co_await server_value(c, "'{1,NULL,3}'::int4[]", v44);
    const auto v45 = std::vector<int>{7, 8};
    co_await server_value(c, "'[5:6]={7,8}'::int4[]", v45);
    const auto v46 = orm::Money{123456};
    co_await server_value(c, "'$1,234.56'::money", v46);
    co_await server_value(c, "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
                          orm::Uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
    const auto v47 = orm::Bytes{0xde, 0xad, 0xbe, 0xef};
    co_await server_value(c, "'\\xdeadbeef'::bytea", v47);
    const auto v48 = orm::Point{1.5, 2};
    co_await server_value(c, "'(1.5,2)'::point", v48);
    const auto v49 = nlohmann::json{{"b", {1, 2}}};
    co_await server_value(c, "'{\"b\": [1, 2]}'::jsonb", v49);
    co_await server_value(c, "'12:34:56.5'::time", orm::TimeOfDay(12h, 34min, 56s, 500000us));
    co_await server_value(c, "'x'::char(3)", std::string("x  "));
    const auto v50 = std::int64_t{42};  // widening reads are fine
    co_await server_value(c, "42::int2", v50);
  });
}

TEST_CASE("bad values are typed errors: NUL, overflow, narrowing, malformed JSON", "[db][types][errors]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    co_await c.execute("CREATE TEMP TABLE bad (i int4, j jsonb, t text)");
    // Rejected before reaching the server.
    Params nul;
    CHECK_THROWS_AS(nul.add(std::string("a\0b", 3)), orm::ParameterError);
    CHECK_THROWS_AS(Params::of(nlohmann::json("\xff")), orm::ParameterError);
    // The server range-checks a wider value bound to a narrower column: 22003.
    auto wide = Params::of(std::numeric_limits<std::int64_t>::max());
    CHECK_THROWS_MATCHES(co_await c.execute("INSERT INTO bad (i) VALUES ($1)", wide), orm::ParameterError,
                         Catch::Predicate<orm::ParameterError>([](const auto& e) { return e.context().sqlstate == "22003"; }));
    // Narrowing reads that do not fit throw instead of wrapping, in both formats.
    for (auto fmt : formats) {
      auto r = co_await c.execute("SELECT (2^40)::int8", fmt);
      CHECK_THROWS_WITH(r.get<std::int32_t>(0, 0), Catch::Contains("out of range"));
      CHECK(r.get<std::int64_t>(0, 0) == (1LL << 40));
    }
    // Malformed JSON: from the server's parser (22P02) and from our decoder.
    auto broken = Params::of(std::string("{\"a\":"));
    CHECK_THROWS_MATCHES(co_await c.execute("INSERT INTO bad (j) VALUES ($1)", broken), orm::ParameterError,
                         Catch::Predicate<orm::ParameterError>([](const auto& e) { return e.context().sqlstate == "22P02"; }));
    auto as_text = co_await c.execute("SELECT '{\"a\":'::text", Format::text);
    CHECK_THROWS_WITH(as_text.get<nlohmann::json>(0, 0), Catch::Contains("malformed JSON"));
    // \u0000 cannot be stored in jsonb: 22P05.
    auto nul_json = Params::of(nlohmann::json{{"k", std::string("a\0b", 3)}});
    CHECK_THROWS_AS(co_await c.execute("INSERT INTO bad (j) VALUES ($1)", nul_json), orm::ParameterError);
    // Invalid UTF-8 in text: 22021.
    auto bad_utf8 = Params::of(std::string("\xC3\x28"));
    CHECK_THROWS_MATCHES(co_await c.execute("INSERT INTO bad (t) VALUES ($1)", bad_utf8), orm::ParameterError,
                         Catch::Predicate<orm::ParameterError>([](const auto& e) { return e.context().sqlstate == "22021"; }));
    // Reading NULL or a wrong type is a clear error naming the column.
    auto r = co_await c.execute("SELECT NULL::int4 AS maybe, 1.5::float8 AS f");
    CHECK_THROWS_WITH(r.get<int>(0, "maybe"), Catch::Contains("\"maybe\"") && Catch::Contains("std::optional"));
    CHECK_THROWS_WITH(r.get<int>(0, "f"), Catch::Contains("\"f\" (float8)"));
    // Timestamps beyond what the C++ type holds are errors, not garbage.
    auto far = co_await c.execute("SELECT '294276-12-31 23:59:59'::timestamptz");
    CHECK_THROWS_AS(far.get<orm::Timestamp>(0, 0), orm::ParameterError);
    // The connection is fine after all of it.
    const auto awaited_304 = co_await c.execute("SELECT 1");
    CHECK(awaited_304.get<int>(0, 0) == 1);
  });
}
