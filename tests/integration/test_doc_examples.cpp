// The C++ blocks of docs/caching.md, docs/querying.md and docs/migrations.md, run against the
// server. Each block is the region between its markers (CheckDocSnippets compares them); the
// checks after a region show that it did what the page says.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "../support/migration_models.hpp"
#include "../support/models.hpp"
#include "../support/temp_dir.hpp"
#include "db_fixture.hpp"
#include "matrx/orm/migrate/makemigrations.hpp"
#include "matrx/orm/migrate/runner.hpp"
#include "test_tables.hpp"

namespace orm = matrx::orm;
using orm::Q;
using test::asio::awaitable;
using testmodels::User;

TEST_CASE("docs/caching.md: key lookups come from the cache, other filters from the database", "[db][docs]") {
  test::SchemaDatabase db("doc_cache");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    const auto users = co_await testdata::seed();
    const std::int64_t id = users[0].id;
    orm::StateManager<User>::clear_cache();
    const auto before = orm::StateManager<User>::stats();
    // [key-lookups-begin]
    User a = co_await orm::get<User>(Q("id", id));                // miss: one query, result cached
    User b = co_await orm::get<User>(orm::col<&User::id> == id);  // hit: no query
    User c = co_await orm::get<User>(Q("id", id), false);         // use_cache = false: reads the database (and re-caches)
    User d = co_await orm::get<User>(Q("age__gt", 55));           // not a key lookup: always the database
    // [key-lookups-end]
    const auto after = orm::StateManager<User>::stats();
    CHECK(after.misses - before.misses == 1);
    CHECK(after.hits - before.hits == 1);
    CHECK(a.username == b.username);
    CHECK(c.username == a.username);
    CHECK(d.username == "eve");
  });
}

TEST_CASE("docs/caching.md: a listener hears other processes' writes", "[db][docs]") {
  test::SchemaDatabase db("doc_listen");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    // [listener-begin]
    co_await orm::cache::start_listener();  // or start_listener("analytics")
    // … at shutdown, before the io_context ends:
    orm::cache::stop_listeners();
    // [listener-end]
  });
}

TEST_CASE("docs/querying.md: nearest neighbours with pgvector", "[db][docs]") {
  test::SchemaDatabase db("doc_vector");
  test::run([&]() -> awaitable<void> {
    co_await testdata::document_table(db);
    using testmodels::Document;
    std::vector<Document> docs{Document{.title = "apple", .embedding = orm::Vector{{1, 0, 0}}},
                               Document{.title = "avocado", .embedding = orm::Vector{{0, 1, 0}}},
                               Document{.title = "banana", .embedding = orm::Vector{{1, 0, 0}}}};
    co_await orm::bulk_create(docs);
    const orm::Vector probe{{1, 0.1f, 0}};
    // [nearest-begin]
    auto similar = orm::objects<Document>()
                       .filter("title__startswith", "a")
                       .nearest(orm::col<&Document::embedding>, probe, orm::VectorMetric::cosine)
                       .limit(10);
    std::vector<std::pair<Document, double>> hits = co_await similar.all_with_distance();
    // [nearest-end]
    REQUIRE(hits.size() == 2);
    CHECK(hits[0].first.title == "apple");
    CHECK(hits[1].first.title == "avocado");
    CHECK(hits[0].second < hits[1].second);
  });
}

TEST_CASE("docs/migrations.md: apply, roll back and read the status from C++", "[db][docs]") {
  test::SchemaDatabase db("doc_apply");
  testsupport::TempDir dir("doc_apply");
  dir.write("0001_authors.sql", "-- +up\nCREATE TABLE authors (id int PRIMARY KEY);\n-- +down\nDROP TABLE authors;\n");
  dir.write("0002_books.sql", "-- +up\nCREATE TABLE books (id int PRIMARY KEY);\n-- +down\nDROP TABLE books;\n");
  const std::string migrations = dir.path.string();
  test::run([&]() -> awaitable<void> {
    // [apply-begin]
    namespace mg = matrx::orm::migrate;
    const mg::RunOptions options{.dir = migrations};  // .database = "analytics", .target = "0003_x", .lock_timeout
    std::vector<std::string> applied = co_await mg::apply_migrations(options);
    std::vector<std::string> undone = co_await mg::rollback_migrations(options, 1);
    mg::MigrationStatus status = co_await mg::migration_status(options);  // applied (with dates), pending, changed, missing; to_json()
    // [apply-end]
    CHECK(applied == std::vector<std::string>{"0001_authors", "0002_books"});
    CHECK(undone == std::vector<std::string>{"0002_books"});
    CHECK(status.applied.size() == 1);
    CHECK(status.pending.size() == 1);
  });
}

TEST_CASE("docs/migrations.md: makemigrations from C++", "[db][docs]") {
  test::FreshDatabase db("doc_make", "migrations");
  testsupport::TempDir dir("doc_make");
  const std::string migrations = dir.path.string();
  test::run([&]() -> awaitable<void> {
    namespace mg = matrx::orm::migrate;
    // [makemigrations-begin]
    mg::MakeMigrationsOptions make{.dir = migrations, .name = "add_tags", .database = "migrations"};  // .filter, .dry_run, .models
    mg::MakeMigrationsResult made = co_await mg::makemigrations(make);
    // made.plan.operations (description, up, down, destructive), made.plan.warnings, made.file, made.content
    // [makemigrations-end]
    REQUIRE(made.file);
    CHECK(made.file->filename() == "0001_add_tags.sql");
    CHECK_FALSE(made.plan.operations.empty());
    CHECK(made.content.find("CREATE TABLE") != std::string::npos);
  });
}
