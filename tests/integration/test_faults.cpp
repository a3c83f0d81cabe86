// The fault catalogue of RELIABILITY.md (docs/reliability.md maps each case to its test):
// faults made on this machine with the chaos proxy, pg_terminate_backend and roles with limits.
#include <catch2/catch.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "../support/chaos_proxy.hpp"
#include "db_fixture.hpp"

using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
namespace orm = matrx::orm;
using test::asio::awaitable;
using test::asio::use_awaitable;
using test::pg::Params;

namespace {
test::pg::ConnectOptions through(const test::ChaosProxy& proxy) {
  test::pg::ConnectOptions o;
  o.conninfo = proxy.conninfo();
  o.connect_timeout = 5000ms;
  return o;
}

// Races the statement against a timer of `after`; true when the timer won (the caller gave up).
awaitable<bool> gave_up(test::pg::Connection& c, std::string sql, std::chrono::milliseconds after) {
  test::asio::steady_timer timer(co_await test::asio::this_coro::executor, after);
  auto outcome = co_await (c.execute(sql) || timer.async_wait(use_awaitable));
  co_return outcome.index() == 1;
}

std::string message_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& error) {
    return error.what();
  }
  return {};
}
}  // namespace

// Issue 19, defect 1: libpq 15's PQcancel blocked a thread of a 2-thread pool with no bound;
// two silent paths froze every later cancel (and the next query on a healthy connection).
TEST_CASE("B1/A5: a cancel that gets no answer is bounded, delays no other connection, and discards its connection",
          "[db][faults][cancel]") {
  test::ChaosProxy proxy;
  test::run([&]() -> awaitable<void> {
    auto options = through(proxy);
    options.cancel_timeout = 1500ms;
    auto silent_a = co_await test::pg::Connection::connect(options);
    auto silent_b = co_await test::pg::Connection::connect(options);
    auto healthy = co_await test::pg::Connection::connect(test::db_options());
    proxy.pause();  // both queries and both cancel requests vanish in the proxy
    const bool a_gave_up = co_await gave_up(silent_a, "SELECT 1", 100ms);
    const bool b_gave_up = co_await gave_up(silent_b, "SELECT 1", 100ms);
    CHECK(a_gave_up);
    CHECK(b_gave_up);

    // The healthy connection's cancel runs beside the two stuck ones: its sleep is cancelled
    // and the next query runs while both stuck cancels still wait for their answer.
    const bool healthy_gave_up = co_await gave_up(healthy, "SELECT pg_sleep(2)", 100ms);
    CHECK(healthy_gave_up);
    const auto one = co_await healthy.execute("SELECT 1");
    CHECK(one.get<int>(0, 0) == 1);
    CHECK_FALSE(silent_a.is_broken());
    CHECK_FALSE(silent_b.is_broken());

    // After cancel_timeout each stuck connection is discarded, saying why.
    co_await test::sleep_for(2000ms);
    CHECK(silent_a.is_broken());
    CHECK(silent_b.is_broken());
    CHECK_FALSE(silent_a.is_open());
    std::exception_ptr next;
    try {
      co_await silent_a.execute("SELECT 1");
    } catch (const orm::ConnectionError&) {
      next = std::current_exception();
    }
    REQUIRE(next);
    CHECK_THAT(message_of(next), Catch::Contains("no answer to the cancel request within 1500 ms"));
    CHECK(proxy.connections_accepted() == 4);  // two sessions and two cancel requests
    proxy.resume();
  });
}

TEST_CASE("D2: cancel_mode = discard closes the connection instead of sending a cancel request", "[db][faults][cancel]") {
  test::ChaosProxy proxy;
  test::run([&]() -> awaitable<void> {
    auto options = through(proxy);
    options.cancel_mode = test::pg::CancelMode::discard;
    auto c = co_await test::pg::Connection::connect(options);
    const int pid = c.backend_pid();
    const bool abandoned = co_await gave_up(c, "SELECT pg_sleep(30)", 100ms);
    CHECK(abandoned);
    CHECK(c.is_broken());
    CHECK(proxy.connections_accepted() == 1);  // no cancel request was sent
    auto failure = c.failure();
    REQUIRE(failure);
    CHECK_THAT(failure->message(), Catch::Contains("discarded instead of cancelled"));
    // The backend learns that its client is gone and ends (pg_sleep checks for interrupts;
    // the closed socket is noticed once the proxy closes its side).
    auto observer = co_await test::pg::Connection::connect(test::db_options());
    const auto p = Params::of(pid);
    auto r = co_await observer.execute("SELECT pg_terminate_backend($1)", p);  // do not let it sleep 30 s
    CHECK(r.rows() == 1);
  });
}

TEST_CASE("after a terminated backend, every later query on that connection reports 57P01", "[db][faults]") {
  test::run([]() -> awaitable<void> {
    auto victim = co_await test::pg::Connection::connect(test::db_options());
    auto killer = co_await test::pg::Connection::connect(test::db_options());
    const auto p = Params::of(victim.backend_pid());
    auto killed = co_await killer.execute("SELECT pg_terminate_backend($1, 5000)", p);
    CHECK(killed.get<bool>(0, 0));
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::string sqlstate = "no error";
      try {
        co_await victim.execute("SELECT 1");
      } catch (const orm::ConnectionError& e) {
        sqlstate = e.context().sqlstate;
      }
      CHECK(sqlstate == "57P01");
    }
    auto failure = victim.failure();
    REQUIRE(failure);
    CHECK(failure->context().sqlstate == "57P01");
  });
}

TEST_CASE("C2: too many connections is 53300, retried with backoff until the pool's deadline", "[db][faults][pool]") {
  test::run([]() -> awaitable<void> {
    auto admin = co_await test::pg::Connection::connect(test::db_options());
    co_await admin.execute("DROP ROLE IF EXISTS matrx_limited");
    co_await admin.execute("CREATE ROLE matrx_limited LOGIN CONNECTION LIMIT 1");

    // Too many connections for the role: 53300, retried with backoff until the pool's deadline,
    // which the error states truthfully, with the last connect error attached.
    test::pg::ConnectOptions limited;
    limited.keywords = {{"user", "matrx_limited"}};
    auto holder = co_await test::pg::Connection::connect(limited);
    std::string limit_state;
    try {
      co_await test::pg::Connection::connect(limited);
    } catch (const orm::ConnectionError& e) {
      limit_state = e.context().sqlstate;
    }
    CHECK(limit_state == "53300");

    test::pg::PoolConfig patient;
    patient.acquire_timeout = 900ms;
    patient.backoff_initial = 100ms;
    patient.backoff_max = 800ms;
    test::pg::Pool busy_pool(co_await test::asio::this_coro::executor, limited, patient);
    const auto waited_from = std::chrono::steady_clock::now();
    std::string detail;
    try {
      auto c = co_await busy_pool.acquire();
    } catch (const orm::PoolTimeoutError& e) {
      detail = e.context().detail;
    }
    const double waited = test::ms_since(waited_from);
    CHECK_THAT(detail, Catch::Contains("SQLSTATE 53300"));
    CHECK(busy_pool.stats().connect_failures >= 2);
    CHECK(waited >= 880);  // it used to give up at the last backoff step (908 of 1,500 ms)

    // Once the role's one connection is free, the pool gets it.
    holder.close();
    auto c = co_await busy_pool.acquire();
    auto who = co_await c->execute("SELECT current_user", test::pg::Format::text);
    CHECK(who.get<std::string>(0, 0) == "matrx_limited");
    c.release();
    busy_pool.close();
    co_await admin.execute("DROP ROLE matrx_limited");
  });
}

TEST_CASE("large values: max_result_bytes stops a result mid-stream; borrowed parameters; the pool drops grown buffers",
          "[db][faults][memory]") {
  test::run([]() -> awaitable<void> {
    // A 4 MB result of 4,000 rows against a 1 MiB limit, over TCP: refused while it streams in
    // (the kernel's received-byte count), connection discarded. Over a Unix socket: refused
    // once complete. Either way the caller never gets it.
    const char* url = std::getenv("DATABASE_URL");
    REQUIRE(url != nullptr);
    const std::string big_query = "SELECT repeat('x', 1000) FROM generate_series(1, 4000)";
    for (const bool tcp : {true, false}) {
      INFO((tcp ? "TCP" : "Unix socket"));
      auto limited_options = test::db_options();
      if (tcp) limited_options.conninfo = url;
      limited_options.max_result_bytes = 1 << 20;
      auto limited = co_await test::pg::Connection::connect(limited_options);
      const auto small = co_await limited.execute("SELECT repeat('x', 1000) FROM generate_series(1, 100)");
      CHECK(small.rows() == 100);
      std::string hint = "no error", sql;
      try {
        co_await limited.execute(big_query);
      } catch (const orm::ResultTooLargeError& e) {
        hint = e.context().hint;
        sql = e.context().sql;
      }
      CHECK_THAT(hint, Catch::Contains("max_result_bytes"));
      CHECK(sql == big_query);
      CHECK(limited.is_broken());
    }

    // A borrowed bytea goes out uncopied and comes back equal.
    auto c = co_await test::pg::Connection::connect(test::db_options());
    std::vector<std::uint8_t> blob(3 << 20);
    for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<std::uint8_t>(i * 7 + 3);
    test::pg::Params p;
    p.add_borrowed(blob);
    CHECK(p.byte_size() == blob.size());
    auto echoed = co_await c.execute("SELECT $1::bytea, length($1::bytea)", p);
    CHECK(echoed.get<std::int32_t>(0, 1) == static_cast<std::int32_t>(blob.size()));
    const auto back = echoed.get<orm::Bytes>(0, 0);
    CHECK(back.data == blob);
    CHECK(c.largest_message() >= blob.size());

    // The pool closes a connection whose libpq buffers grew past max_retained_message.
    test::pg::PoolConfig config;
    config.max_retained_message = 1 << 20;
    test::pg::Pool pool(co_await test::asio::this_coro::executor, test::db_options(), config);
    {
      auto big = co_await pool.acquire();
      co_await big->execute("SELECT repeat('y', 2 << 20)");
    }
    {
      auto modest = co_await pool.acquire();
      co_await modest->execute("SELECT repeat('z', 1000)");
    }
    const auto stats = pool.stats();
    CHECK(stats.closed_large == 1);
    CHECK(stats.idle == 1);  // the modest one was kept
    pool.close();
  });
}

namespace {
struct Outcome {
  std::string kind, sqlstate, message;
};

// Runs `sql` and reports how it failed: error type, SQLSTATE and text.
awaitable<Outcome> failure_of(test::pg::Connection& c, std::string sql) {
  try {
    co_await c.execute(sql);
  } catch (const orm::OrmError& e) {
    co_return Outcome{e.kind(), e.context().sqlstate, e.message()};
  }
  co_return Outcome{"no error", "", ""};
}

// The same faults, each classified: constraint, syntax, data, cancel, aborted transaction,
// stale plan (re-sent outside a transaction), terminated backend (a FATAL while idle).
awaitable<std::vector<Outcome>> classify_faults(std::string lc_messages) {
  auto options = test::db_options();
  options.keywords = {{"options", "-c lc_messages=" + lc_messages}};
  auto c = co_await test::pg::Connection::connect(options);
  std::vector<Outcome> out;
  co_await c.execute("CREATE TEMP TABLE a7 (id int PRIMARY KEY, n int)");
  co_await c.execute("INSERT INTO a7 VALUES (1, 1)");
  out.push_back(co_await failure_of(c, "INSERT INTO a7 VALUES (1, 2)"));
  out.push_back(co_await failure_of(c, "SELEC 1"));
  out.push_back(co_await failure_of(c, "SELECT 1 / (n - 1) FROM a7"));
  out.push_back(co_await failure_of(c, "SELECT * FROM a7_missing"));
  co_await c.execute("SET statement_timeout = '30ms'");
  out.push_back(co_await failure_of(c, "SELECT pg_sleep(1)"));
  co_await c.execute("RESET statement_timeout");
  co_await c.execute("BEGIN");
  out.push_back(co_await failure_of(c, "SELECT x"));
  out.push_back(co_await failure_of(c, "SELECT 1"));
  co_await c.execute("ROLLBACK");
  // A prepared plan made stale by ALTER TABLE is prepared again and re-sent, whatever the language.
  for (int i = 0; i < 2; ++i) co_await c.execute("SELECT * FROM a7");
  co_await c.execute("ALTER TABLE a7 ALTER COLUMN n TYPE bigint");
  out.push_back(co_await failure_of(c, "SELECT * FROM a7"));
  auto killer = co_await test::pg::Connection::connect(test::db_options());
  const auto p = Params::of(c.backend_pid());
  co_await killer.execute("SELECT pg_terminate_backend($1, 5000)", p);
  out.push_back(co_await failure_of(c, "SELECT 1"));
  co_return out;
}
}  // namespace

TEST_CASE("A7: with the server's messages in German every fault has the same type, SQLSTATE and handling",
          "[db][faults][locale]") {
  const char* locale = std::getenv("TESTDB_MESSAGES_LOCALE");
  REQUIRE(locale != nullptr);  // tools/testdb.sh compiles de_DE.UTF-8 for the server
  test::run([locale]() -> awaitable<void> {
    const auto english = co_await classify_faults("C");
    const auto german = co_await classify_faults(locale);
    REQUIRE(english.size() == german.size());
    const std::vector<std::string> expected_states{"23505", "42601", "22012", "42P01", "57014", "42703", "25P02", "", "57P01"};
    REQUIRE(english.size() == expected_states.size());
    for (std::size_t i = 0; i < english.size(); ++i) {
      INFO("fault " << i << ": " << english[i].message << " / " << german[i].message);
      CHECK(english[i].sqlstate == expected_states[i]);
      CHECK(german[i].kind == english[i].kind);
      CHECK(german[i].sqlstate == english[i].sqlstate);
    }
    CHECK(english[7].kind == "no error");  // the stale plan was re-sent in both languages
    // Not vacuous: the server really spoke German.
    CHECK_THAT(german[0].message, Catch::Contains("doppelter Schlüsselwert"));
    CHECK_THAT(english[0].message, Catch::Contains("duplicate key value"));
  });
}

// pgjdbc's ParameterInjectionTest (CVE-2024-1597): a negative value after a minus sign, then
// a string that would end the statement if it were pasted in. Bound parameters cannot do that.
TEST_CASE("E1: SELECT -$1, $2 with negative numbers and a comment-starting string stays one row of two values",
          "[db][faults][injection]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    const std::string tail = "\nWHERE false --";
    for (const char* type : {"int2", "int4", "int8", "numeric", "float8"}) {
      INFO(type);
      const auto sql = fmt::format("SELECT -$1::{}, $2::text", type);
      const auto p = Params::of(-1, tail);
      auto r = co_await c.execute(sql, p, test::pg::Format::text);
      REQUIRE(r.rows() == 1);
      REQUIRE(r.columns() == 2);
      CHECK(r.get<std::string>(0, 0) == "1");
      CHECK(r.get<std::string>(0, 1) == tail);
    }
    // In binary result format too.
    const auto q = Params::of(std::int64_t{-1}, tail);
    auto r = co_await c.execute("SELECT -$1::int8 AS a, $2::text AS b", q);
    CHECK(r.get<std::int64_t>(0, 0) == 1);
    CHECK(r.get<std::string>(0, 1) == tail);
  });
}
