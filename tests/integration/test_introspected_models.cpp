// What models written by `matrx-orm inspect` rely on, against the server: generated columns
// are never written, types without a binary codec are read as text, views and tables
// without a primary key refuse what cannot apply to them.
#include <catch2/catch.hpp>

#include "db_fixture.hpp"
#include "matrx/orm.hpp"

namespace orm = matrx::orm;
using test::asio::awaitable;

namespace introspected {
struct Article {
  std::int64_t id{};
  std::string title{};
  std::optional<std::string> search{};   // tsvector: no binary codec, read in text form
  std::optional<std::int32_t> title_length{};
};
MATRX_MODEL(Article, orm::table("article"),
            (id, orm::primary_key, orm::identity_always),
            (title),
            (search, orm::generated("to_tsvector('simple'::regconfig, title)"), orm::column_type("tsvector"),
             orm::text_results),
            (title_length, orm::generated("length(title)")))

struct ArticleCount {
  std::optional<std::int64_t> n{};
};
MATRX_MODEL(ArticleCount, orm::table("article_count").view(), (n))

struct LogLine {
  std::string message{};
  std::optional<std::string> during{};  // tstzrange
};
MATRX_MODEL(LogLine, orm::table("log_line").without_primary_key(), (message),
            (during, orm::column_type("tstzrange"), orm::text_results))
}  // namespace introspected

using introspected::Article;
using introspected::ArticleCount;
using introspected::LogLine;

TEST_CASE("generated columns are computed by the server and never sent, tsvector is read as text", "[db][introspection]") {
  test::SchemaDatabase db("introspected");
  test::run([&]() -> awaitable<void> {
    co_await db.execute(
        "CREATE TABLE article (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL, "
        "search tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, title)) STORED, "
        "title_length integer GENERATED ALWAYS AS (length(title)) STORED)");
    Article a{.title = "Hello World", .search = "stale", .title_length = 99};
    co_await orm::create(a);
    CHECK(a.id == 1);  // GENERATED ALWAYS: the server's, never sent
    CHECK(a.search == std::optional<std::string>("'hello':1 'world':2"));
    CHECK(a.title_length == std::optional<std::int32_t>(11));
    a.title = "Bye";
    a.title_length = 1000;
    co_await orm::save(a);  // an upsert: the generated columns are in neither its VALUES nor its SET
    CHECK(a.title_length == std::optional<std::int32_t>(3));
    std::vector<Article> more{{.title = "a b"}, {.title = "c", .title_length = 5}};
    co_await orm::bulk_create(more);
    const auto all = orm::objects<Article>().order_by("id");
    const std::vector<Article> rows = co_await all.all();
    REQUIRE(rows.size() == 3);
    CHECK(rows[1].search == std::optional<std::string>("'a':1 'b':2"));
    CHECK(rows[2].title_length == std::optional<std::int32_t>(1));
    const auto found = orm::objects<Article>().filter("title_length", 3);  // "Bye" and "a b"
    const std::int64_t three = co_await found.count();
    CHECK(three == 2);
  });
}

TEST_CASE("a view's model reads and refuses writes, a table without a primary key refuses save and remove",
          "[db][introspection]") {
  test::SchemaDatabase db("introspected_ro");
  test::run([&]() -> awaitable<void> {
    co_await db.execute("CREATE TABLE article (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL, "
                        "search tsvector, title_length integer)");
    co_await db.execute("INSERT INTO article (title) VALUES ('x'), ('y')");
    co_await db.execute("CREATE VIEW article_count AS SELECT count(*) AS n FROM article");
    co_await db.execute("CREATE TABLE log_line (message text NOT NULL, during tstzrange)");
    const auto counts = orm::objects<ArticleCount>();
    const std::vector<ArticleCount> rows = co_await counts.all();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].n == std::optional<std::int64_t>(2));
    ArticleCount c{.n = 5};
    CHECK_THROWS_WITH(co_await orm::create(c), Catch::Contains("ArticleCount is a view: it cannot be written"));
    const auto all_counts = orm::objects<ArticleCount>();
    CHECK_THROWS_AS(co_await all_counts.remove(), orm::QueryError);

    LogLine line{.message = "started", .during = "[2026-01-01 00:00:00+00,2026-01-02 00:00:00+00)"};
    co_await orm::create(line);
    const auto lines = orm::objects<LogLine>();
    const std::vector<LogLine> back = co_await lines.all();
    REQUIRE(back.size() == 1);
    CHECK(back[0].during == std::optional<std::string>("[\"2026-01-01 00:00:00+00\",\"2026-01-02 00:00:00+00\")"));
    CHECK_THROWS_WITH(co_await orm::remove(line), Catch::Contains("LogLine has no primary key"));
    CHECK_THROWS_AS(co_await orm::save(line), orm::ValidationError);
    const auto started = orm::objects<LogLine>().filter("message", "started");
    const std::int64_t before = co_await started.count();
    CHECK(before == 1);
    const std::int64_t removed = co_await started.remove();
    CHECK(removed == 1);  // a QuerySet still deletes by what identifies the row
  });
}
