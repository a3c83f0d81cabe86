// A6 of RELIABILITY.md: a primary and a hot standby (`testdb.sh run --standby`, made by
// pg_basebackup -R), then a failover under a steady write load: the primary stops, the
// standby is promoted, the old primary comes back as a standby of the new one. libpq's
// multi-host strings choose the server; the library passes them through and its pool drops
// connections to a server that went away or changed role.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <fmt/format.h>

#include "../integration/db_fixture.hpp"

using namespace std::chrono_literals;
namespace orm = matrx::orm;
using test::asio::awaitable;
using test::pg::Params;

namespace {
std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) throw std::runtime_error(fmt::format("{} is not set: run under `tools/testdb.sh run --standby`", name));
  return v;
}

// Both servers, the standby first: libpq tries them in order and keeps the first whose role
// matches target_session_attrs.
test::pg::ConnectOptions both(const std::string& target_session_attrs) {
  test::pg::ConnectOptions o;
  o.conninfo = fmt::format("host=127.0.0.1,127.0.0.1 port={},{} user=postgres dbname=postgres target_session_attrs={}",
                           env("TESTDB_STANDBY_PORT"), env("PGPORT"), target_session_attrs);
  o.connect_timeout = 3000ms;
  return o;
}

struct Where {
  int port = 0;
  bool in_recovery = false;
};

awaitable<Where> where(test::pg::Connection& c) {
  auto r = co_await c.execute("SELECT inet_server_port(), pg_is_in_recovery()");
  co_return Where{r.get<int>(0, 0), r.get<bool>(0, 1)};
}

void ctl(const std::string& step) {
  const std::string command = env("TESTDB_CTL") + " " + step;
  REQUIRE(std::system(command.c_str()) == 0);
}
}  // namespace

TEST_CASE("A6: target_session_attrs picks the server by role, a write on a standby is a ReadOnlyError", "[failover]") {
  const int primary = std::stoi(env("PGPORT")), standby = std::stoi(env("TESTDB_STANDBY_PORT"));
  test::run([&]() -> awaitable<void> {
    auto rw = co_await test::pg::Connection::connect(both("read-write"));
    const auto rw_at = co_await where(rw);
    CHECK(rw_at.port == primary);
    CHECK_FALSE(rw_at.in_recovery);
    CHECK(rw.role_matches());

    auto sb = co_await test::pg::Connection::connect(both("standby"));
    const auto sb_at = co_await where(sb);
    CHECK(sb_at.port == standby);
    CHECK(sb_at.in_recovery);
    CHECK(sb.role_matches());

    // "any" takes the first that answers: the standby, where a write is refused (25006) with a
    // typed error that says what to do.
    auto any = co_await test::pg::Connection::connect(both("any"));
    const auto any_at = co_await where(any);
    CHECK(any_at.port == standby);
    std::string sqlstate, hint;
    try {
      co_await any.execute("CREATE TABLE not_here (id int)");
    } catch (const orm::ReadOnlyError& e) {
      sqlstate = e.context().sqlstate;
      hint = e.context().hint;
    }
    CHECK(sqlstate == "25006");
    CHECK(hint.find("target_session_attrs=read-write") != std::string::npos);
  });
}

TEST_CASE("A6: failover under a write load: the pool reconnects to the promoted standby, no acknowledged write is "
          "lost, and connections whose server changed role are closed",
          "[failover]") {
  const int old_primary = std::stoi(env("PGPORT")), new_primary = std::stoi(env("TESTDB_STANDBY_PORT"));
  test::run(
      [&]() -> awaitable<void> {
        auto ex = co_await test::asio::this_coro::executor;
        {
          auto setup = co_await test::pg::Connection::connect(both("read-write"));
          co_await setup.execute("CREATE TABLE failover_keys (k int PRIMARY KEY, port int NOT NULL)");
        }
        // The standby has replayed the CREATE before the reading pool looks at it.
        for (int i = 0; i < 100; ++i) {
          auto sb = co_await test::pg::Connection::connect(both("standby"));
          auto r = co_await sb.execute("SELECT to_regclass('failover_keys') IS NOT NULL");
          if (r.get<bool>(0, 0)) break;
          co_await test::sleep_for(50ms);
        }

        test::pg::PoolConfig writes_config;
        writes_config.max_size = 4;
        writes_config.acquire_timeout = 20000ms;
        writes_config.backoff_max = 200ms;
        test::pg::Pool writes(ex, both("read-write"), writes_config);

        // A reading pool that wants a standby holds one idle connection to it across the failover.
        test::pg::PoolConfig reads_config;
        reads_config.max_size = 1;
        reads_config.acquire_timeout = 20000ms;
        test::pg::Pool reads(ex, both("standby"), reads_config);
        {
          auto r = co_await reads.acquire();
          const auto at = co_await where(r.connection());
          CHECK(at.port == new_primary);  // still the standby
          CHECK(at.in_recovery);
        }

        // Four writers insert keys one by one and remember the ones the server acknowledged.
        std::set<int> acked;
        int acked_on_new = 0, failed = 0, next_key = 0, writers_running = 4;
        std::map<std::string, int> failures;
        std::atomic<bool> failover_done{false};
        bool stop = false;
        auto last_ack_old = std::chrono::steady_clock::now(), first_ack_new = last_ack_old;
        for (int w = 0; w < 4; ++w) {
          test::asio::co_spawn(
              ex,
              [&]() -> awaitable<void> {
                bool retry_later = false;
                while (!stop) {
                  const int key = ++next_key;
                  try {
                    auto c = co_await writes.acquire();
                    Params p;
                    p.add(key);
                    auto r = co_await c->execute("INSERT INTO failover_keys VALUES ($1, inet_server_port()) RETURNING port", p);
                    acked.insert(key);
                    const auto now = std::chrono::steady_clock::now();
                    if (r.get<int>(0, 0) == new_primary) {
                      if (acked_on_new++ == 0) first_ack_new = now;
                      if (failover_done && acked_on_new >= 200) stop = true;
                    } else {
                      last_ack_old = now;
                    }
                  } catch (const orm::OrmError& e) {
                    ++failed;
                    ++failures[e.kind()];
                    retry_later = true;
                  }
                  if (std::exchange(retry_later, false)) co_await test::sleep_for(20ms);
                }
                --writers_running;
              },
              test::asio::detached);
        }

        // The failover, from another thread (its steps block): the primary stops cleanly,
        // the standby is promoted, the old primary follows it as a standby.
        std::string step_times;
        std::thread steps([&] {
          std::this_thread::sleep_for(500ms);
          for (const char* step : {"stop primary", "promote", "follow"}) {
            const auto start = std::chrono::steady_clock::now();
            ctl(step);
            step_times += fmt::format(" {} {:.0f} ms;", step, test::ms_since(start));
          }
          failover_done = true;
        });
        while (writers_running > 0) co_await test::sleep_for(50ms);
        steps.join();

        const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(first_ack_new - last_ack_old);
        std::string kinds;
        for (const auto& [kind, n] : failures) kinds += fmt::format(" {}×{}", n, kind);
        fmt::print(stderr, "failover steps:{}\n", step_times);
        fmt::print(stderr, "failover: {} writes acknowledged ({} by the promoted standby), {} failed:{}; {} ms "
                           "between the last acknowledged write on the old primary and the first on the new\n",
                   acked.size(), acked_on_new, failed, kinds, gap.count());
        CHECK(acked_on_new >= 200);
        CHECK(acked.size() > static_cast<std::size_t>(acked_on_new));  // some before the failover too
        // A failed write is a connection error (the server went away mid-statement, or no
        // writable server while connecting), never a wrong answer.
        for (const auto& [kind, n] : failures)
          CHECK((kind == std::string("ConnectionError") || kind == std::string("CommitOutcomeUnknown")));
        CHECK(writes.stats().closed_broken >= 1);

        // Every acknowledged key is on the new primary.
        auto check = co_await test::pg::Connection::connect(both("read-write"));
        const auto check_at = co_await where(check);
        CHECK(check_at.port == new_primary);
        CHECK_FALSE(check_at.in_recovery);
        auto rows = co_await check.execute("SELECT k FROM failover_keys");
        std::set<int> stored;
        for (int i = 0; i < rows.rows(); ++i) stored.insert(rows.get<int>(i, 0));
        std::size_t missing = 0;
        for (int k : acked) missing += stored.count(k) == 0 ? 1 : 0;
        CHECK(missing == 0);

        // The reading pool's idle connection survived the promotion, but its server is a
        // primary now: it is used once more, seen to have changed role when it comes back,
        // closed, and the next connection goes to the old primary, a standby now.
        {
          auto r = co_await reads.acquire();
          const auto at = co_await where(r.connection());
          CHECK(at.port == new_primary);
          CHECK_FALSE(at.in_recovery);
        }
        CHECK(reads.stats().closed_role == 1);
        {
          auto r = co_await reads.acquire();
          const auto at = co_await where(r.connection());
          CHECK(at.port == old_primary);
          CHECK(at.in_recovery);
        }
        writes.close();
        reads.close();
      },
      std::chrono::seconds(90));
}
