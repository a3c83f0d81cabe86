// Connection against the real server: pipelining, cancellation, faults, error mapping.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "db_fixture.hpp"

using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
namespace orm = matrx::orm;
using test::asio::awaitable;
using test::asio::use_awaitable;
using test::pg::Params;
using test::sleep_for;

namespace {
// Runs body(k) for k = 0 … n-1 as concurrent coroutines on the caller's executor and
// waits for all of them; the first exception to escape a body is rethrown. (By value:
// a coroutine's reference parameter must not bind a temporary with g++ 12.)
awaitable<void> concurrently(int n, std::function<awaitable<void>(int)> body) {
  auto ex = co_await test::asio::this_coro::executor;
  int remaining = n;
  std::exception_ptr first;
  test::asio::steady_timer done(ex, std::chrono::steady_clock::time_point::max());
  for (int k = 0; k < n; ++k)
    test::asio::co_spawn(ex, body(k), [&](std::exception_ptr e) {
      if (e && !first) first = e;
      if (--remaining == 0) done.cancel();
    });
  boost::system::error_code ec;
  co_await done.async_wait(test::asio::redirect_error(use_awaitable, ec));
  if (first) std::rethrow_exception(first);
}
}  // namespace

TEST_CASE("queries return typed rows, command tags and affected-row counts", "[db][connection]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    CHECK(c.server_parameter("client_encoding") == "UTF8");
    CHECK(c.backend_pid() > 0);
    co_await c.execute("CREATE TEMP TABLE t (id int PRIMARY KEY, name text)");
    auto p = Params::of(1, "one");
    auto ins = co_await c.execute("INSERT INTO t VALUES ($1, $2), ($1 + 1, $2 || '!')", p);
    CHECK(ins.command_tag() == "INSERT 0 2");
    CHECK(ins.affected_rows() == 2);
    auto upd = co_await c.execute("UPDATE t SET name = upper(name)");
    CHECK(upd.affected_rows() == 2);
    auto r = co_await c.execute("SELECT id, name FROM t ORDER BY id", test::pg::Format::text);
    REQUIRE(r.rows() == 2);
    CHECK(r.get<int>(1, "id") == 2);
    CHECK(r.get<std::string>(1, "name") == "ONE!");
    CHECK(r[0].get<std::string>(0) == "1");  // text format reads anything as a string
    CHECK_THROWS_WITH(r.get<int>(0, "nope"), Catch::Contains("no column named \"nope\""));
    auto del = co_await c.execute("DELETE FROM t");
    CHECK(del.affected_rows() == 2);
    CHECK(c.transaction_state() == test::pg::TransactionState::idle);
  });
}

TEST_CASE("server errors map to typed exceptions with constraint, SQL and redacted params", "[db][connection][errors]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    co_await c.execute("CREATE TEMP TABLE parent (id int PRIMARY KEY)");
    co_await c.execute("CREATE TEMP TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent(id), "
                       "n int NOT NULL CHECK (n > 0))");
    co_await c.execute("INSERT INTO parent VALUES (1)");
    auto dup = Params::of(1);
    try {
      co_await c.execute("INSERT INTO parent VALUES ($1)", dup);
      FAIL("expected IntegrityError");
    } catch (const orm::IntegrityError& e) {
      CHECK(e.context().sqlstate == "23505");
      CHECK(e.context().constraint == "parent_pkey");
      CHECK(e.context().sql == "INSERT INTO parent VALUES ($1)");
      REQUIRE(e.context().params.size() == 1);
      CHECK(e.context().params[0] == "<int4, 4 bytes>");
      CHECK(e.context().detail.find("already exists") != std::string::npos);
    }
    auto fk = Params::of(1, 99, 1);
    try {
      co_await c.execute("INSERT INTO child VALUES ($1, $2, $3)", fk);
      FAIL("expected IntegrityError");
    } catch (const orm::IntegrityError& e) {
      CHECK(e.context().sqlstate == "23503");
      CHECK(e.context().constraint == "child_parent_id_fkey");
    }
    auto nn = Params::of(1, 1, std::optional<int>{});
    CHECK_THROWS_MATCHES(co_await c.execute("INSERT INTO child VALUES ($1, $2, $3)", nn), orm::IntegrityError,
                         Catch::Predicate<orm::IntegrityError>([](const auto& e) { return e.context().sqlstate == "23502"; }));
    auto ck = Params::of(1, 1, -5);
    CHECK_THROWS_MATCHES(co_await c.execute("INSERT INTO child VALUES ($1, $2, $3)", ck), orm::IntegrityError,
                         Catch::Predicate<orm::IntegrityError>([](const auto& e) { return e.context().constraint == "child_n_check"; }));
    CHECK_THROWS_AS(co_await c.execute("SELEC 1"), orm::QueryError);
    CHECK_THROWS_AS(co_await c.execute("SELECT * FROM no_such_table"), orm::QueryError);
    CHECK_THROWS_AS(co_await c.execute("SELECT 1 / 0"), orm::ParameterError);
    // After all these errors the connection still works.
    auto r = co_await c.execute("SELECT 41 + 1");
    CHECK(r.get<int>(0, 0) == 42);
  });
}

TEST_CASE("64 coroutines x 100 queries pipeline on one connection, one failure fails only itself", "[db][pipeline]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    constexpr int coroutines = 64, per = 100, bad_coroutine = 31, bad_index = 50;
    int correct = 0, failed = 0, wrong = 0;
    std::size_t max_pending = 0;
    std::function<awaitable<void>(int)> body = [&](int k) -> awaitable<void> {
      for (int i = 0; i < per; ++i) {
        const std::int64_t id = k * 1000 + i;
        auto p = Params::of(id, fmt::format("c{}-{}", k, i));
        const bool bad = k == bad_coroutine && i == bad_index;
        try {
          auto r = co_await c.execute(bad ? "SELECT $1::int8 / 0, $2::text" : "SELECT $1::int8 * 2, $2::text", p);
          max_pending = std::max(max_pending, c.pending());
          if (r.get<std::int64_t>(0, 0) == id * 2 && r.get<std::string>(0, 1) == fmt::format("c{}-{}", k, i)) ++correct;
          else ++wrong;
        } catch (const orm::ParameterError& e) {
          if (bad && e.context().sqlstate == "22012") ++failed;
          else ++wrong;
        }
      }
    };
    co_await concurrently(coroutines, std::move(body));
    CHECK(correct == coroutines * per - 1);
    CHECK(failed == 1);
    CHECK(wrong == 0);
    CHECK(max_pending > 1);  // queries really were in flight together
    CHECK(c.pending() == 0);
  });
}

// The connection serializes callers with a lock, not a strand: queries are sent from the
// caller's thread and results resume coroutines inline on whichever thread read them.
TEST_CASE("one connection shared by coroutines on 3 threads: every answer reaches its caller, with cancels and NOTIFY",
          "[db][pipeline][threads]") {
  test::asio::io_context io(3);
  auto work = test::asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back([&] { io.run(); });
  auto c = test::asio::co_spawn(io, test::pg::Connection::connect(test::db_options()), test::asio::use_future).get();
  std::atomic<int> notified{0}, expected_notifies{0}, correct{0}, wrong{0}, cancelled{0}, finished{0};
  c.on_notification([&](std::string_view channel, std::string_view, int) {
    if (channel == "mt_chan") ++notified;
  });
  test::asio::co_spawn(io, c.execute("LISTEN mt_chan"), test::asio::use_future).get();
  constexpr int coroutines = 24, per = 200;
  for (int k = 0; k < coroutines; ++k) {
    // Each coroutine on a strand of its own: Asio's cancellation slots are not thread-safe,
    // so a `||` needs its branches' completions serialized (they still run on 3 threads
    // against one connection). Without it ThreadSanitizer reports Asio's own slot handling.
    test::asio::co_spawn(test::asio::make_strand(io), [&, k]() -> awaitable<void> {
      auto ex = co_await test::asio::this_coro::executor;
      for (int i = 0; i < per; ++i) {
        try {
          if (i % 20 == 3) {  // a query that may lose against a timer: abandoned, cancelled on the server
            test::asio::steady_timer t(ex, std::chrono::microseconds(i % 3 * 500));
            auto r = co_await (c.execute("SELECT pg_sleep(0.002)") || t.async_wait(use_awaitable));
            if (r.index() == 1) ++cancelled;
            continue;
          }
          if (i % 50 == 10) {
            co_await c.execute("NOTIFY mt_chan");
            ++expected_notifies;
            continue;
          }
          const std::int64_t id = k * 1000 + i;
          auto p = Params::of(id, fmt::format("t{}-{}", k, i));
          auto r = co_await c.execute("SELECT $1::int8 * 2, $2::text", p);
          if (r.get<std::int64_t>(0, 0) == id * 2 && r.get<std::string>(0, 1) == fmt::format("t{}-{}", k, i)) ++correct;
          else ++wrong;
        } catch (const std::exception&) {
          ++wrong;
        }
      }
      ++finished;
    }, test::asio::detached);
  }
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while ((finished < coroutines || notified < expected_notifies || c.pending() != 0) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  const bool broken = c.is_broken();
  const std::size_t pending = c.pending();
  c.close();
  work.reset();
  for (auto& t : threads) t.join();
  CHECK(finished == coroutines);
  CHECK(wrong == 0);
  CHECK(correct == coroutines * (per - per / 20 - per / 50));
  CHECK(expected_notifies == coroutines * (per / 50));
  CHECK(notified == expected_notifies);
  CHECK(cancelled > 0);
  CHECK_FALSE(broken);
  CHECK(pending == 0);
}

TEST_CASE("a query raced against a timer returns with the timer and is cancelled on the server", "[db][cancel]") {
  test::run([]() -> awaitable<void> {
    auto ex = co_await test::asio::this_coro::executor;
    auto c = co_await test::pg::Connection::connect(test::db_options());
    test::asio::steady_timer timer(ex, 100ms);
    const auto start = std::chrono::steady_clock::now();
    auto outcome = co_await (c.execute("SELECT pg_sleep(5)") || timer.async_wait(use_awaitable));
    const double elapsed = test::ms_since(start);
    CHECK(outcome.index() == 1);
    CHECK(elapsed >= 95);
    CHECK(elapsed < 300);
    // The server cancelled the sleep: the next query does not wait for it to end.
    const auto next = std::chrono::steady_clock::now();
    auto r = co_await c.execute("SELECT 7");
    CHECK(r.get<int>(0, 0) == 7);
    CHECK(test::ms_since(next) < 2000);
    CHECK_FALSE(c.is_broken());
  });
}

TEST_CASE("a late cancel never hits the next query (500 timeout races)", "[db][cancel]") {
  test::run([]() -> awaitable<void> {
    auto ex = co_await test::asio::this_coro::executor;
    auto c = co_await test::pg::Connection::connect(test::db_options());
    int timed_out = 0;
    for (int i = 0; i < 500; ++i) {
      test::asio::steady_timer timer(ex, std::chrono::microseconds(i % 7 * 150));
      auto outcome = co_await (c.execute("SELECT pg_sleep(0.0005)") || timer.async_wait(use_awaitable));
      if (outcome.index() == 1) ++timed_out;
      auto r = co_await c.execute("SELECT 1");  // must never see 57014
      REQUIRE(r.get<int>(0, 0) == 1);
    }
    CHECK(timed_out > 0);
    CHECK(c.pending() == 0);
  }, std::chrono::seconds(120));
}

TEST_CASE("statement_timeout is a QueryCanceledError and the connection stays usable", "[db][cancel]") {
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    co_await c.execute("BEGIN");
    co_await c.execute("SET LOCAL statement_timeout = '50ms'");
    CHECK_THROWS_MATCHES(co_await c.execute("SELECT pg_sleep(1)"), orm::QueryCanceledError,
                         Catch::Predicate<orm::QueryCanceledError>([](const auto& e) { return e.context().sqlstate == "57014"; }));
    CHECK(c.transaction_state() == test::pg::TransactionState::in_error);
    CHECK_THROWS_AS(co_await c.execute("SELECT 1"), orm::TransactionError);  // 25P02
    co_await c.execute("ROLLBACK");
    CHECK(c.transaction_state() == test::pg::TransactionState::idle);
    const auto awaited_179 = co_await c.execute("SELECT 2");
    CHECK(awaited_179.get<int>(0, 0) == 2);
  });
}

TEST_CASE("a terminated backend fails the in-flight query with ConnectionError, without retry", "[db][faults]") {
  test::run([]() -> awaitable<void> {
    auto victim = co_await test::pg::Connection::connect(test::db_options());
    auto killer = co_await test::pg::Connection::connect(test::db_options());
    const int pid = victim.backend_pid();
    test::asio::co_spawn(co_await test::asio::this_coro::executor, [&]() -> awaitable<void> {
      co_await sleep_for(150ms);
      auto p = Params::of(pid);
      co_await killer.execute("SELECT pg_terminate_backend($1)", p);
    }, test::asio::detached);
    const auto start = std::chrono::steady_clock::now();
    try {
      co_await victim.execute("SELECT pg_sleep(10)");
      FAIL("expected ConnectionError");
    } catch (const orm::ConnectionError& e) {
      CHECK(e.context().sqlstate == "57P01");
      CHECK(e.context().sql == "SELECT pg_sleep(10)");
    }
    CHECK(test::ms_since(start) < 3000);
    CHECK(victim.is_broken());
    CHECK_THROWS_AS(co_await victim.execute("SELECT 1"), orm::ConnectionError);
  });
}

TEST_CASE("server notices reach the log hook", "[db][connection]") {
  std::mutex m;
  std::vector<std::string> seen;
  orm::set_log_handler([&](orm::LogLevel level, std::string_view message) {
    std::lock_guard lock(m);
    if (level == orm::LogLevel::notice) seen.emplace_back(message);
  });
  test::run([]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    co_await c.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$");
  });
  orm::set_log_handler(nullptr);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].find("hello 42") != std::string::npos);
}

// Notices are parsed while the connection's lock is held and logged after it is released:
// a hook that calls back into the same connection must not deadlock (it did before).
TEST_CASE("a log hook may call into the connection that raised the notice", "[db][connection]") {
  std::atomic<test::pg::Connection*> current{nullptr};
  std::string version_seen;
  orm::set_log_handler([&](orm::LogLevel level, std::string_view) {
    if (auto* c = current.load(); c && level == orm::LogLevel::notice) version_seen = c->server_parameter("server_version");
  });
  test::run([&]() -> awaitable<void> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    current = &c;
    co_await c.execute("DO $$ BEGIN RAISE NOTICE 'hook'; END $$");
    current = nullptr;
  });
  orm::set_log_handler(nullptr);
  CHECK(version_seen.starts_with("15"));
}

TEST_CASE("connect failures are ConnectionErrors that never show the password", "[db][connection][secrets]") {
  test::run([]() -> awaitable<void> {
    test::pg::ConnectOptions o;
    o.conninfo = "postgresql://someone:supersecretpw@127.0.0.1:1/db";
    o.connect_timeout = 2000ms;
    try {
      co_await test::pg::Connection::connect(o);
      FAIL("expected ConnectionError");
    } catch (const orm::ConnectionError& e) {
      const std::string w = e.what();
      CHECK(w.find("supersecretpw") == std::string::npos);
      CHECK(w.find("could not connect") != std::string::npos);
    }
    test::pg::ConnectOptions bad;
    bad.conninfo = "host=x password=hunter2 nonsense=1";
    try {
      co_await test::pg::Connection::connect(bad);
      FAIL("expected ConfigurationError");
    } catch (const orm::ConfigurationError& e) {
      CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    }
  });
}

TEST_CASE("pooler mode works through PgBouncer in transaction pooling mode", "[db][pooler]") {
  const char* url = std::getenv("PGBOUNCER_URL");
  REQUIRE(url != nullptr);  // tools/testdb.sh starts PgBouncer
  test::run([url]() -> awaitable<void> {
    test::pg::ConnectOptions o;
    o.conninfo = url;
    o.pooler_mode = test::pg::PoolerMode::transaction;
    auto c = co_await test::pg::Connection::connect(o);
    CHECK(c.pooler_mode() == test::pg::PoolerMode::transaction);
    int correct = 0;
    std::function<awaitable<void>(int)> body = [&](int k) -> awaitable<void> {
      for (int i = 0; i < 50; ++i) {
        auto p = Params::of(k * 100 + i);
        auto r = co_await c.execute("SELECT $1::int4 + 1", p);
        if (r.get<int>(0, 0) == k * 100 + i + 1) ++correct;
      }
    };
    co_await concurrently(4, std::move(body));
    CHECK(correct == 200);
    // A transaction's statements stay on one server connection.
    co_await c.execute("BEGIN");
    auto pid1 = (co_await c.execute("SELECT pg_backend_pid()")).get<int>(0, 0);
    auto pid2 = (co_await c.execute("SELECT pg_backend_pid()")).get<int>(0, 0);
    co_await c.execute("COMMIT");
    CHECK(pid1 == pid2);
  });
}

TEST_CASE("orm::sync runs an operation from plain code and refuses inside an io_context", "[db][sync]") {
  auto value = orm::sync([]() -> awaitable<int> {
    auto c = co_await test::pg::Connection::connect(test::db_options());
    co_return (co_await c.execute("SELECT 40 + 2")).get<int>(0, 0);
  }());
  CHECK(value == 42);
  // Inside the runtime's own thread (a running io_context) sync() must refuse, not deadlock.
  const bool refused = orm::sync([]() -> awaitable<bool> {
    bool threw = false;
    try {
      orm::sync([]() -> awaitable<int> { co_return 1; }());
    } catch (const orm::StateError&) {
      threw = true;
    }
    co_return threw;
  }());
  CHECK(refused);
}

TEST_CASE("password authentication: wrong password is typed, .pgpass and service files are libpq's, sslmode passes through",
          "[db][connection][auth]") {
  const char* port = std::getenv("PGPORT");
  REQUIRE(port != nullptr);
  test::run([port]() -> awaitable<void> {
    auto admin = co_await test::pg::Connection::connect(test::db_options());
    co_await admin.execute("DROP ROLE IF EXISTS matrx_pw");
    co_await admin.execute("SET password_encryption = 'scram-sha-256'");
    co_await admin.execute("CREATE ROLE matrx_pw LOGIN PASSWORD 'right-horse-battery'");

    test::pg::ConnectOptions o;
    o.keywords = {{"host", "127.0.0.1"}, {"port", port}, {"user", "matrx_pw"}, {"dbname", "postgres"}};
    o.password = "wrong-staple";
    try {
      co_await test::pg::Connection::connect(o);
      FAIL("expected AuthenticationError");
    } catch (const orm::AuthenticationError& e) {
      const std::string w = e.what();
      CHECK(e.context().sqlstate == "28P01");
      CHECK(w.find("password authentication failed") != std::string::npos);
      CHECK(w.find("LOCATION") == std::string::npos);  // asked for to read the SQLSTATE, not shown
      CHECK(w.find("wrong-staple") == std::string::npos);
    }
    // A pool does not retry it: one failed login, reported at once as the same type.
    test::pg::PoolConfig quick;
    quick.acquire_timeout = 3000ms;
    test::pg::Pool auth_pool(co_await test::asio::this_coro::executor, o, quick);
    const auto start = std::chrono::steady_clock::now();
    bool typed = false;
    try {
      auto pooled = co_await auth_pool.acquire();
    } catch (const orm::AuthenticationError&) {
      typed = true;
    }
    CHECK(typed);
    CHECK(auth_pool.stats().connect_failures == 1);
    CHECK(test::ms_since(start) < 2500);  // it did not wait out acquire_timeout
    auth_pool.close();

    // No password given: libpq reads it from the file PGPASSFILE names (mode 0600).
    char path[] = "/tmp/matrx_pgpass_XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    const std::string line = fmt::format("127.0.0.1:{}:postgres:matrx_pw:right-horse-battery\n", port);
    REQUIRE(write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
    close(fd);
    o.password.clear();
    o.keywords.emplace_back("passfile", path);
    auto c = co_await test::pg::Connection::connect(o);
    const auto awaited_331 = co_await c.execute("SELECT current_user", test::pg::Format::text);
    CHECK(awaited_331.get<std::string>(0, 0) == "matrx_pw");
    c.close();

    // D4: libpq ignores a password file that others may read (it warns on stderr), so the
    // same login has no password; the config layer adds none of its own.
    REQUIRE(chmod(path, 0644) == 0);
    CHECK_THROWS_WITH(co_await test::pg::Connection::connect(o), Catch::Contains("no password supplied"));
    REQUIRE(chmod(path, 0600) == 0);

    // D4: a service file (PGSERVICEFILE) names host, port, user and database; a config that
    // gives only `service=` reaches them unchanged, and the password still comes from the file.
    char services[] = "/tmp/matrx_pgservice_XXXXXX";
    const int sfd = mkstemp(services);
    REQUIRE(sfd >= 0);
    const std::string section =
        fmt::format("[matrx_d4]\nhost=127.0.0.1\nport={}\nuser=matrx_pw\ndbname=postgres\npassfile={}\n", port, path);
    REQUIRE(write(sfd, section.data(), section.size()) == static_cast<ssize_t>(section.size()));
    close(sfd);
    ::setenv("PGSERVICEFILE", services, 1);
    auto by_service = test::pg::DatabaseConfig::from_url("d4", "service=matrx_d4");
    auto s = co_await test::pg::Connection::connect(by_service.connect_options());
    const auto who = co_await s.execute("SELECT current_user, inet_server_port()", test::pg::Format::text);
    CHECK(who.get<std::string>(0, 0) == "matrx_pw");
    CHECK(who.get<std::string>(0, 1) == port);
    s.close();
    ::unsetenv("PGSERVICEFILE");
    std::remove(services);
    std::remove(path);

    // sslmode reaches libpq: the throwaway server has no TLS, so "require" must fail.
    test::pg::ConnectOptions tls;
    tls.keywords = {{"host", "127.0.0.1"}, {"port", port}, {"sslmode", "require"}};
    CHECK_THROWS_WITH(co_await test::pg::Connection::connect(tls), Catch::Contains("SSL"));
    co_await admin.execute("DROP ROLE matrx_pw");
  });
}

namespace {
awaitable<std::vector<std::string>> prepared_statements(test::pg::Connection& c) {
  // Text results: this query is itself prepared, and listed.
  auto r = co_await c.execute("SELECT statement FROM pg_prepared_statements WHERE name LIKE 'matrx_s%' ORDER BY statement");
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.get<std::string>(i, 0));
  co_return out;
}
std::string sqlstate_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const orm::OrmError& error) {
    return error.context().sqlstate;
  } catch (...) {
  }
  return "not an OrmError";
}
}  // namespace

TEST_CASE("statements are prepared once per connection, eviction, stale plans, DISCARD and Parse errors",
          "[db][prepared]") {
  test::run([]() -> awaitable<void> {
    auto options = test::db_options();
    options.statement_cache_size = 3;
    auto c = co_await test::pg::Connection::connect(options);
    co_await c.execute("CREATE TEMP TABLE prep_t (a int4)");
    co_await c.execute("INSERT INTO prep_t VALUES (41)");
    const std::string q = "SELECT a + 1 FROM prep_t";
    for (int i = 0; i < 3; ++i) {
      auto r = co_await c.execute(q);
      CHECK(r.get<int>(0, 0) == 42);
    }
    auto listed = co_await prepared_statements(c);
    CHECK(std::count(listed.begin(), listed.end(), q) == 1);

    // At most 3 statements stay prepared, however many shapes run.
    for (int k = 0; k < 6; ++k) {
      auto p = Params::of(k);
      const std::string shape = fmt::format("SELECT $1::int4 + {}", k);
      auto r = co_await c.execute(shape, p);
      CHECK(r.get<int>(0, 0) == 2 * k);
      r = co_await c.execute(shape, p);
      CHECK(r.get<int>(0, 0) == 2 * k);
    }
    listed = co_await prepared_statements(c);
    CHECK(listed.size() <= 3);

    // A plan whose result type changed (0A000) outside a transaction block did nothing: it
    // is prepared afresh and sent again, and the caller gets the rows in the new type.
    for (int i = 0; i < 2; ++i) co_await c.execute(q);
    co_await c.execute("ALTER TABLE prep_t ALTER a TYPE int8");
    auto fresh = co_await c.execute(q);
    CHECK(fresh.get<std::int64_t>(0, 0) == 42);
    // Prepared again (not served unnamed), and the stale statement deallocated.
    listed = co_await prepared_statements(c);
    CHECK(std::count(listed.begin(), listed.end(), q) == 1);

    // Eight callers pipelined behind one another on the stale statement: each is sent again.
    co_await c.execute("ALTER TABLE prep_t ALTER a TYPE int4");
    {
      int correct = 0;
      std::function<awaitable<void>(int)> call = [&](int) -> awaitable<void> {
        auto r = co_await c.execute(q);
        if (r.get<int>(0, 0) == 42) ++correct;
      };
      co_await concurrently(8, std::move(call));  // a stale-plan error would be rethrown here
      CHECK(correct == 8);
    }

    // Inside a transaction block the failure has aborted the transaction: it is reported,
    // with a hint, and not sent again.
    co_await c.execute("ALTER TABLE prep_t ALTER a TYPE int8");
    co_await c.execute("BEGIN");
    std::exception_ptr stale;
    try {
      co_await c.execute(q);
    } catch (...) {
      stale = std::current_exception();
    }
    REQUIRE(stale);
    CHECK(sqlstate_of(stale) == "0A000");
    try {
      std::rethrow_exception(stale);
    } catch (const orm::OrmError& e) {
      CHECK_THAT(e.context().hint, Catch::Matchers::Contains("roll the transaction back"));
    }
    CHECK(c.transaction_state() == test::pg::TransactionState::in_error);
    co_await c.execute("ROLLBACK");
    fresh = co_await c.execute(q);
    CHECK(fresh.get<std::int64_t>(0, 0) == 42);

    // A prepared statement the server dropped behind the cache's back (26000) is prepared
    // afresh too.
    co_await c.execute("DO $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$");
    fresh = co_await c.execute(q);
    CHECK(fresh.get<std::int64_t>(0, 0) == 42);

    // DISCARD ALL drops every prepared statement on the server; the cache follows.
    co_await c.execute("DISCARD ALL");
    co_await c.execute("CREATE TEMP TABLE prep_t (a int4)");
    co_await c.execute("INSERT INTO prep_t VALUES (1)");
    for (int i = 0; i < 2; ++i) {
      auto r = co_await c.execute(q);
      CHECK(r.get<int>(0, 0) == 2);
    }

    // A statement that does not parse reports its own error every time, never 26000.
    for (int i = 0; i < 2; ++i) {
      std::exception_ptr bad;
      try {
        co_await c.execute("SELECT 1 +");
      } catch (...) {
        bad = std::current_exception();
      }
      CHECK(sqlstate_of(bad) == "42601");
    }
    auto ok = co_await c.execute("SELECT 7");
    CHECK(ok.get<int>(0, 0) == 7);
  });
}

TEST_CASE("nothing is prepared in transaction pooler mode or with a cache size of 0", "[db][prepared]") {
  test::run([]() -> awaitable<void> {
    for (int variant = 0; variant < 2; ++variant) {
      auto options = test::db_options();
      if (variant == 0) options.pooler_mode = test::pg::PoolerMode::transaction;
      else options.statement_cache_size = 0;
      auto c = co_await test::pg::Connection::connect(options);
      for (int i = 0; i < 3; ++i) co_await c.execute("SELECT 1");
      auto r = co_await c.execute("SELECT count(*)::int4 FROM pg_prepared_statements");
      CHECK(r.get<int>(0, 0) == 0);
    }
  });
}

TEST_CASE("copy_in leaves pipeline mode for the COPY while other callers' queries wait, then resumes",
          "[db][copy]") {
  test::run([]() -> awaitable<void> {
    auto ex = co_await test::asio::this_coro::executor;
    auto c = co_await test::pg::Connection::connect(test::db_options());
    co_await c.execute("CREATE TEMP TABLE copy_t (n int4 NOT NULL, s text)");
    // 20,000 rows in text format, about 200 kB: several socket writes.
    std::string data;
    for (int i = 0; i < 20000; ++i) data += fmt::format("{}\trow {}\n", i, i);
    int remaining = 8, correct = 0;
    test::asio::steady_timer done(ex, std::chrono::steady_clock::time_point::max());
    for (int k = 0; k < 8; ++k)
      test::asio::co_spawn(ex, [&, k]() -> awaitable<void> {
        for (int i = 0; i < 20; ++i) {
          auto p = Params::of(k * 100 + i);
          auto r = co_await c.execute("SELECT $1::int4 * 2", p);
          if (r.get<int>(0, 0) == 2 * (k * 100 + i)) ++correct;
        }
        if (--remaining == 0) done.cancel();
      }, test::asio::detached);
    auto copied = co_await c.copy_in("COPY copy_t (n, s) FROM STDIN", data);
    CHECK(copied.affected_rows() == 20000);
    boost::system::error_code ec;
    co_await done.async_wait(test::asio::redirect_error(use_awaitable, ec));
    CHECK(correct == 160);
    auto sum = co_await c.execute("SELECT sum(n)::int8, count(*)::int8 FROM copy_t");
    CHECK(sum.get<std::int64_t>(0, 0) == 19999LL * 20000 / 2);
    CHECK(sum.get<std::int64_t>(0, 1) == 20000);

    // Malformed data and a missing table: typed errors, and the connection goes on.
    const std::string bad = "1\tfine\nnot a number\tbad\n";
    std::exception_ptr malformed;
    try {
      co_await c.copy_in("COPY copy_t (n, s) FROM STDIN", bad);
    } catch (...) {
      malformed = std::current_exception();
    }
    CHECK(sqlstate_of(malformed) == "22P02");
    std::exception_ptr missing;
    try {
      co_await c.copy_in("COPY no_such_table FROM STDIN", bad);
    } catch (...) {
      missing = std::current_exception();
    }
    CHECK(sqlstate_of(missing) == "42P01");
    auto count = co_await c.execute("SELECT count(*)::int4 FROM copy_t");
    CHECK(count.get<int>(0, 0) == 20000);
    CHECK(c.transaction_state() == test::pg::TransactionState::idle);
  });
}

TEST_CASE("statement_timeout: a deadline per connection and per call, the statement cancelled on the server",
          "[db][connection][timeout]") {
  test::run([]() -> awaitable<void> {
    auto options = test::db_options();
    options.statement_timeout = 100ms;
    auto c = co_await test::pg::Connection::connect(options);
    const auto start = std::chrono::steady_clock::now();
    std::string hint;
    try {
      co_await c.execute("SELECT pg_sleep(2)");
    } catch (const orm::StatementTimeoutError& e) {
      hint = e.context().hint;
    }
    CHECK(hint.find("statement_timeout") != std::string::npos);
    CHECK(test::ms_since(start) < 450);
    // The same connection answers at once: the sleep was cancelled, not waited out.
    const auto next = co_await c.execute("SELECT 1");
    CHECK(next.get<int>(0, 0) == 1);
    CHECK(test::ms_since(start) < 1500);

    // A call's own timeout replaces the connection's.
    const test::pg::Params none;
    const auto slow = co_await c.execute("SELECT pg_sleep(0.3)::text", none, test::pg::Format::text, 3000ms);
    CHECK(slow.rows() == 1);

    auto bad = test::db_options();
    bad.statement_timeout = -1ms;
    CHECK_THROWS_AS(co_await test::pg::Connection::connect(bad), orm::ConfigurationError);
  });
}
