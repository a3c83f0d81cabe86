// Applying migration files against the server: order, idempotence, rollback, a failing
// migration leaving no trace, checksum refusal, concurrent runs, the pooler refusal.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "../support/temp_dir.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "db_fixture.hpp"
#include "matrx/orm.hpp"
#include "matrx/orm/migrate/runner.hpp"

namespace orm = matrx::orm;
namespace mg = matrx::orm::migrate;
using test::asio::awaitable;

namespace {

awaitable<bool> table_exists(const std::string& name) {
  const auto params = orm::pg::Params::of(name);
  orm::pg::Result r = co_await orm::raw_sql("SELECT to_regclass($1) IS NOT NULL", params);
  co_return r.get<bool>(0, 0);
}
}  // namespace

TEST_CASE("migrate applies in dependency order once, rollback runs the down sections", "[db][migrate]") {
  test::SchemaDatabase db("mg_apply");
  testsupport::TempDir dir("mg_apply");
  dir.write("0001_authors.sql", "-- +up\nCREATE TABLE authors (id int PRIMARY KEY);\n-- +down\nDROP TABLE authors;\n");
  dir.write("0002_posts.sql",
            "-- depends: 0003_tags\n-- +up\nCREATE TABLE posts (id int PRIMARY KEY, author_id int REFERENCES authors(id));\n"
            "CREATE INDEX posts_author ON posts (author_id);\n-- +down\nDROP TABLE posts;\n");
  dir.write("0003_tags.sql", "-- depends: 0001_authors\n-- +up\nCREATE TABLE tags (label text PRIMARY KEY);\n"
                            // The session checks for a dead client while a statement runs (RELIABILITY F2).
                            "DO $$ BEGIN IF current_setting('client_connection_check_interval') <> '2s' THEN "
                            "RAISE EXCEPTION 'client_connection_check_interval is not set'; END IF; END $$;\n");
  test::run([&]() -> awaitable<void> {
    const mg::RunOptions options{.dir = dir.path};
    const auto applied = co_await mg::apply_migrations(options);
    CHECK(applied == std::vector<std::string>{"0001_authors", "0003_tags", "0002_posts"});
    const bool posts = co_await table_exists("posts");
    CHECK(posts);
    const auto again = co_await mg::apply_migrations(options);
    CHECK(again.empty());
    const auto status = co_await mg::migration_status(options);
    CHECK(status.applied.size() == 3);
    CHECK(status.pending.empty());
    CHECK(status.to_json()["applied"][2]["name"] == "0002_posts");

    const auto undone = co_await mg::rollback_migrations(options, 1);
    CHECK(undone == std::vector<std::string>{"0002_posts"});
    const bool posts_after = co_await table_exists("posts");
    CHECK_FALSE(posts_after);
    // 0003_tags has no -- +down section: a clear error, and nothing changes.
    CHECK_THROWS_WITH(co_await mg::rollback_migrations(options, 1), Catch::Contains("0003_tags.sql has no \"-- +down\""));
    const auto status2 = co_await mg::migration_status(options);
    CHECK(status2.applied.size() == 2);
    CHECK(status2.pending == std::vector<std::string>{"0002_posts"});
  });
}

TEST_CASE("a failing migration leaves neither DDL nor a state row", "[db][migrate]") {
  test::SchemaDatabase db("mg_fail");
  testsupport::TempDir dir("mg_fail");
  dir.write("0001_ok.sql", "-- +up\nCREATE TABLE ok (id int);\n");
  dir.write("0002_twice.sql", "-- +up\nCREATE TABLE a (id int);\nCREATE TABLE a (id int);\n");
  test::run([&]() -> awaitable<void> {
    const mg::RunOptions options{.dir = dir.path};
    try {
      co_await mg::apply_migrations(options);
      FAIL("the migration should have failed");
    } catch (const orm::MigrationError& e) {
      CHECK(e.message().find("0002_twice.sql failed at statement 2") != std::string::npos);
      CHECK(e.context().sqlstate == "42P07");
      CHECK(e.context().sql == "CREATE TABLE a (id int)");
    }
    const bool a = co_await table_exists("a");
    CHECK_FALSE(a);  // the first CREATE TABLE a was rolled back with the failure
    const auto status = co_await mg::migration_status(options);
    CHECK(status.applied.size() == 1);  // 0001 committed on its own
    CHECK(status.pending == std::vector<std::string>{"0002_twice"});
  });
}

TEST_CASE("an applied file that changed stops migrate with both checksums", "[db][migrate]") {
  test::SchemaDatabase db("mg_checksum");
  testsupport::TempDir dir("mg_checksum");
  dir.write("0001_a.sql", "-- +up\nCREATE TABLE a (id int);\n");
  test::run([&]() -> awaitable<void> {
    const mg::RunOptions options{.dir = dir.path};
    co_await mg::apply_migrations(options);
    dir.write("0001_a.sql", "-- +up\r\nCREATE TABLE a (id int);\r\n");  // only line endings changed
    dir.write("0002_b.sql", "-- +up\nCREATE TABLE b (id int);\n");
    try {
      co_await mg::apply_migrations(options);
      FAIL("a changed file should stop migrate");
    } catch (const orm::MigrationError& e) {
      CHECK(e.message().find("0001_a.sql was changed after it was applied: stored checksum ") != std::string::npos);
      CHECK(e.context().hint.find("CRLF") != std::string::npos);
    }
    const bool b = co_await table_exists("b");
    CHECK_FALSE(b);
    const auto status = co_await mg::migration_status(options);
    CHECK(status.changed == std::vector<std::string>{"0001_a"});
    std::filesystem::remove(dir.path / "0001_a.sql");
    CHECK_THROWS_WITH(co_await mg::apply_migrations(options), Catch::Contains("0001_a.sql was applied but is not in"));
  });
}

TEST_CASE("eight concurrent runs apply each migration exactly once", "[db][migrate][concurrency]") {
  test::SchemaDatabase db("mg_concurrent");
  testsupport::TempDir dir("mg_concurrent");
  dir.write("0001_counter.sql", "-- +up\nCREATE TABLE runs (migration text NOT NULL);\nINSERT INTO runs VALUES ('0001');\n");
  dir.write("0002_slow.sql", "-- +up\nSELECT pg_sleep(0.2);\nINSERT INTO runs VALUES ('0002');\n");
  test::run([&]() -> awaitable<void> {
    auto ex = co_await test::asio::this_coro::executor;
    int finished = 0, applied_total = 0;
    std::vector<std::string> errors;
    test::asio::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < 8; ++i)
      test::asio::co_spawn(ex, [&]() -> awaitable<void> {
        try {
          const mg::RunOptions options{.dir = dir.path};
          const auto applied = co_await mg::apply_migrations(options);
          applied_total += static_cast<int>(applied.size());
        } catch (const std::exception& e) {
          errors.push_back(e.what());
        }
        if (++finished == 8) all_done.cancel();
      }, test::asio::detached);
    boost::system::error_code ec;
    co_await all_done.async_wait(test::asio::redirect_error(test::asio::use_awaitable, ec));
    CHECK(errors.empty());
    CHECK(applied_total == 2);
    orm::pg::Result r = co_await orm::raw_sql("SELECT migration, count(*) FROM runs GROUP BY 1 ORDER BY 1");
    REQUIRE(r.rows() == 2);
    CHECK(r.get<std::int64_t>(0, 1) == 1);
    CHECK(r.get<std::int64_t>(1, 1) == 1);
  });
}

TEST_CASE("a database behind a transaction-mode pooler is refused", "[db][migrate]") {
  testsupport::TempDir dir("mg_pooler");
  dir.write("0001_a.sql", "-- +up\nSELECT 1;\n");
  const char* url = std::getenv("PGBOUNCER_URL");
  REQUIRE(url);
  orm::pg::DatabaseConfig config = orm::pg::DatabaseConfig::from_url("bouncer", url);
  config.pooler_mode = orm::pg::PoolerMode::transaction;
  orm::pg::register_database(config);
  test::run([&]() -> awaitable<void> {
    const mg::RunOptions options{.dir = dir.path, .database = "bouncer"};
    CHECK_THROWS_WITH(co_await mg::apply_migrations(options), Catch::Contains("migrations need a direct connection"));
  });
  orm::pg::unregister_database("bouncer");
}

TEST_CASE("a run that cannot get the lock names the holder", "[db][migrate]") {
  test::SchemaDatabase db("mg_lock");
  testsupport::TempDir dir("mg_lock");
  dir.write("0001_a.sql", "-- +up\nCREATE TABLE a (id int);\n");
  test::run([&]() -> awaitable<void> {
    auto options_for_holder = test::db_options();
    options_for_holder.keywords.emplace_back("application_name", "the-holder");
    auto holder = co_await test::pg::Connection::connect(options_for_holder);
    const auto key = orm::pg::Params::of(mg::lock_key);
    co_await holder.execute("SELECT pg_advisory_lock($1)", key);
    const mg::RunOptions options{.dir = dir.path, .lock_timeout = std::chrono::milliseconds(300)};
    try {
      co_await mg::apply_migrations(options);
      FAIL("the run should have timed out on the lock");
    } catch (const orm::MigrationError& e) {
      CHECK(e.message().find("another migration run holds the lock after 300 ms: pid " + std::to_string(holder.backend_pid())) !=
            std::string::npos);
      CHECK(e.message().find("the-holder") != std::string::npos);
      CHECK(e.context().detail == "lock timeout");
    }
    const bool a = co_await table_exists("a");
    CHECK_FALSE(a);
    co_await holder.execute("SELECT pg_advisory_unlock($1)", key);
    const auto applied = co_await mg::apply_migrations(options);
    CHECK(applied.size() == 1);
    holder.close();
  });
}

TEST_CASE("strict mode refuses a pending migration older than the latest applied one", "[db][migrate]") {
  test::SchemaDatabase db("mg_strict");
  testsupport::TempDir dir("mg_strict");
  dir.write("0002_b.sql", "-- +up\nCREATE TABLE b (id int);\n");
  test::run([&]() -> awaitable<void> {
    const mg::RunOptions options{.dir = dir.path};
    co_await mg::apply_migrations(options);
    dir.write("0001_a.sql", "-- +up\nCREATE TABLE a (id int);\n");  // merged from another branch
    mg::RunOptions strict = options;
    strict.strict = true;
    CHECK_THROWS_WITH(co_await mg::apply_migrations(strict),
                      Catch::Contains("0001_a is pending but sorts before 0002_b, which is applied"));
    const bool a_before = co_await table_exists("a");
    CHECK_FALSE(a_before);
    const auto applied = co_await mg::apply_migrations(options);  // without --strict it applies
    CHECK(applied == std::vector<std::string>{"0001_a"});
  });
}

TEST_CASE("a migration with BEGIN ATOMIC, dollar-quoted and DO bodies applies, a syntax error names its file line",
          "[db][migrate]") {
  test::SchemaDatabase db("mg_atomic");
  testsupport::TempDir dir("mg_atomic");
  dir.write("0001_functions.sql",
            "-- +up\n"
            "CREATE FUNCTION add_ints(a int, b int) RETURNS int LANGUAGE sql\n"
            "BEGIN ATOMIC\n  SELECT a + b;\nEND;\n"
            "CREATE FUNCTION semi() RETURNS text AS $body$ SELECT 'a;b'::text; $body$ LANGUAGE sql;\n"
            "-- a comment; with a semicolon\n"
            "DO $$ BEGIN PERFORM add_ints(1, 2); END $$;\n"
            "CREATE TABLE semis (v text DEFAULT ';');\n"
            "-- +down\nDROP TABLE semis;\nDROP FUNCTION semi();\nDROP FUNCTION add_ints(int, int);\n");
  testsupport::TempDir broken("mg_atomic_broken");
  broken.write("0001_broken.sql", "-- +up\n\nSELECT 1;\nCREATE TABLE t (a int,);\n");
  test::run([&]() -> awaitable<void> {
    // Named options: g++ 12 destroys a temporary argument of a co_await expression twice.
    const mg::RunOptions options{.dir = dir.path}, broken_options{.dir = broken.path};
    const auto applied = co_await mg::apply_migrations(options);
    CHECK(applied == std::vector<std::string>{"0001_functions"});
    orm::pg::Result r = co_await orm::raw_sql("SELECT add_ints(2, 3), semi()");
    CHECK(r.get<std::int32_t>(0, 0) == 5);
    CHECK(r.get<std::string>(0, 1) == "a;b");
    const auto undone = co_await mg::rollback_migrations(options, 1);
    CHECK(undone.size() == 1);
    // Nothing of a file that does not parse runs: the error names the file's line and column.
    CHECK_THROWS_WITH(co_await mg::apply_migrations(broken_options),
                      Catch::Contains("0001_broken.sql, line 4, column 23") && Catch::Contains("syntax error"));
    const bool created = co_await table_exists("t");
    CHECK_FALSE(created);
  });
}
