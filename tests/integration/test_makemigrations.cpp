// makemigrations against the server: the round trip (models → file → migrate on an empty
// database → nothing left to do → rollback to the starting schema, compared with pg_dump),
// every kind of difference with its up and its down, enums, tables without a model, filters.
#include <catch2/catch.hpp>

#include <algorithm>

#include "../support/migration_models.hpp"
#include "../support/temp_dir.hpp"
#include "db_fixture.hpp"
#include "matrx/orm/migrate/makemigrations.hpp"
#include "matrx/orm/migrate/runner.hpp"

namespace orm = matrx::orm;
namespace mg = matrx::orm::migrate;
using test::asio::awaitable;

namespace {
std::vector<std::string> descriptions(const mg::MigrationPlan& plan) {
  std::vector<std::string> out;
  for (const auto& op : plan.operations) out.push_back(op.description);
  return out;
}
bool has(const std::vector<std::string>& items, std::string_view prefix) {
  return std::any_of(items.begin(), items.end(), [&](const std::string& s) { return s.starts_with(prefix); });
}
// Models → migration → migrate; returns the migration's name.
awaitable<std::string> migrate_models(const std::filesystem::path& dir, std::string name) {
  const mg::MakeMigrationsOptions make{.dir = dir, .name = std::move(name), .database = "migrations"};
  const auto made = co_await mg::makemigrations(make);
  REQUIRE(made.file);
  const mg::RunOptions run{.dir = dir, .database = "migrations"};
  const auto applied = co_await mg::apply_migrations(run);
  REQUIRE(applied.size() == 1);
  co_return applied.front();
}
}  // namespace

TEST_CASE("makemigrations round trip: create everything, then nothing to do, rollback restores the schema",
          "[db][makemigrations]") {
  test::FreshDatabase db("mg_roundtrip", "migrations");
  testsupport::TempDir dir("mg_roundtrip");
  const std::string empty_schema = db.dump_schema();
  test::run([&]() -> awaitable<void> {
    const mg::MakeMigrationsOptions make{.dir = dir.path, .name = "initial", .database = "migrations"};
    const auto made = co_await mg::makemigrations(make);
    REQUIRE(made.file);
    CHECK(made.file->filename() == "0001_initial.sql");
    const auto ops = descriptions(made.plan);
    CHECK(ops.front() == "create schema billing");
    CHECK(has(ops, "create enum public.mood"));
    CHECK(has(ops, "create table public.accounts_projects"));  // the declarative many-to-many junction
    // accounts ↔ projects reference each other: one of the two keys waits for an ALTER.
    CHECK(has(ops, "add foreign key accounts_favorite_project_id_fkey on billing.accounts (a cycle)"));
    CHECK(made.content.find("USING hnsw (\"embedding\" vector_cosine_ops)") != std::string::npos);
    CHECK(made.content.find("WHERE NOT archived") != std::string::npos);

    const mg::RunOptions run{.dir = dir.path, .database = "migrations"};
    const auto applied = co_await mg::apply_migrations(run);
    CHECK(applied == std::vector<std::string>{"0001_initial"});

    // The models work against what was created: identity, uuid default, enum, numeric default.
    mgm::Account ann{.email = "ann@example.com", .mood = mgm::Mood::happy};
    co_await orm::create(ann);
    CHECK(ann.id > 0);
    mgm::Project p{.owner_id = ann.id, .name = "roadmap"};
    co_await orm::create(p);
    const std::vector<orm::Value> watchers{orm::Value(ann.id)};
    const auto linked = co_await orm::add_m2m(p, "watchers", watchers);
    CHECK(linked == 1);
    const auto again_name = co_await orm::objects<mgm::Project>().filter(orm::Q("name", "roadmap")).count();
    CHECK(again_name == 1);
    co_await orm::remove(p);
    co_await orm::remove(ann);

    // A database that matches the models produces no file.
    const mg::MakeMigrationsOptions again{.dir = dir.path, .name = "again", .database = "migrations"};
    const auto nothing = co_await mg::makemigrations(again);
    INFO(nothing.plan.up_sql());
    CHECK(nothing.plan.empty());
    CHECK_FALSE(nothing.file);
    std::size_t sql_files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path)) sql_files += entry.path().extension() == ".sql";
    CHECK(sql_files == 1);

    const auto undone = co_await mg::rollback_migrations(run, 1);
    CHECK(undone == std::vector<std::string>{"0001_initial"});
    orm::pg::close_all_databases();
  });
  // Only the state table remains of what migrate did.
  std::string after = db.dump_schema();
  CHECK(after.find("_matrx_migrations") != std::string::npos);
  test::run([&]() -> awaitable<void> { co_await db.execute("DROP TABLE _matrx_migrations"); });
  CHECK(db.dump_schema() == empty_schema);
}

TEST_CASE("makemigrations: every kind of difference, each up undone by its down", "[db][makemigrations]") {
  test::FreshDatabase db("mg_kinds", "migrations");
  testsupport::TempDir dir("mg_kinds");
  std::string drifted;
  test::run([&]() -> awaitable<void> {
    co_await migrate_models(dir.path, "initial");
    // The database drifts from the models in every way a diff knows.
    const char* drift[] = {
        "ALTER TABLE tasks DROP COLUMN parent_number",                       // → add column
        "ALTER TABLE projects ADD COLUMN legacy text",                       // → drop column
        "ALTER TABLE billing.accounts ALTER COLUMN email TYPE text",         // → alter type
        "ALTER TABLE projects ALTER COLUMN name DROP NOT NULL",              // → set not null
        "ALTER TABLE billing.accounts ALTER COLUMN balance DROP DEFAULT",    // → set default
        "ALTER TABLE tasks DROP CONSTRAINT tasks_project_id_title_key",      // → add unique
        "ALTER TABLE tasks ADD CONSTRAINT number_positive CHECK (number > 0)",  // → drop check
        "ALTER TABLE billing.accounts DROP CONSTRAINT balance_not_negative",    // → add check
        "DROP INDEX projects_live_name",                                      // → create index
        "CREATE INDEX tasks_title_idx ON tasks (title)",                      // → drop index
        "ALTER TABLE projects DROP CONSTRAINT projects_owner_id_fkey",        // → add foreign key
        "ALTER TABLE tasks DROP CONSTRAINT tasks_project_id_fkey",
        "ALTER TABLE tasks ADD CONSTRAINT tasks_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects(id)",
        // ↑ NO ACTION instead of CASCADE → drop and add
    };
    for (const char* sql : drift) co_await db.execute(sql);
    orm::pg::close_all_databases();
  });
  drifted = db.dump_schema();
  test::run([&]() -> awaitable<void> {
    const mg::MakeMigrationsOptions make{.dir = dir.path, .name = "back_to_models", .database = "migrations"};
    const auto made = co_await mg::makemigrations(make);
    REQUIRE(made.file);
    const auto ops = descriptions(made.plan);
    INFO(made.content);
    CHECK(has(ops, "add column public.tasks.parent_number"));
    CHECK(has(ops, "drop column public.projects.legacy"));
    CHECK(has(ops, "alter column billing.accounts.email type text -> character varying(120)"));
    CHECK(has(ops, "alter column public.projects.name set not null"));
    CHECK(has(ops, "alter column billing.accounts.balance default"));
    CHECK(has(ops, "add unique tasks_project_id_title_key on public.tasks"));
    CHECK(has(ops, "drop check number_positive on public.tasks"));
    CHECK(has(ops, "add check balance_not_negative on billing.accounts"));
    CHECK(has(ops, "create index projects_live_name on public.projects"));
    CHECK(has(ops, "drop index tasks_title_idx on public.tasks"));
    CHECK(has(ops, "add foreign key projects_owner_id_fkey on public.projects"));
    CHECK(has(ops, "drop foreign key tasks_project_id_fkey on public.tasks"));
    CHECK(has(ops, "add foreign key tasks_project_id_fkey on public.tasks"));
    CHECK(ops.size() == 13);
    const bool destructive = std::any_of(made.plan.operations.begin(), made.plan.operations.end(),
                                         [](const mg::Operation& op) { return op.destructive; });
    CHECK(destructive);  // dropping "legacy" loses its data, and says so

    const mg::RunOptions run{.dir = dir.path, .database = "migrations"};
    const auto applied = co_await mg::apply_migrations(run);
    CHECK(applied == std::vector<std::string>{"0002_back_to_models"});
    const mg::MakeMigrationsOptions again{.dir = dir.path, .name = "again", .database = "migrations"};
    const auto nothing = co_await mg::makemigrations(again);
    INFO(nothing.plan.up_sql());
    CHECK(nothing.plan.empty());
    const auto undone = co_await mg::rollback_migrations(run, 1);
    CHECK(undone == std::vector<std::string>{"0002_back_to_models"});
    orm::pg::close_all_databases();
  });
  CHECK(db.dump_schema() == drifted);  // every down undid its up
}

TEST_CASE("makemigrations: enum values, tables without a model, table filters", "[db][makemigrations]") {
  test::FreshDatabase db("mg_scope", "migrations");
  testsupport::TempDir dir("mg_scope");
  test::run([&]() -> awaitable<void> {
    // Only projects: the foreign key to billing.accounts points outside the scope.
    mg::MakeMigrationsOptions only{.dir = dir.path, .name = "projects", .database = "migrations", .dry_run = true};
    only.filter.include = {"projects"};
    const auto scoped = co_await mg::makemigrations(only);
    CHECK_FALSE(scoped.file);  // dry run
    CHECK(descriptions(scoped.plan) == std::vector<std::string>{"create table public.projects",
                                                                "create index projects_owner_id_idx on public.projects",
                                                                "create index projects_owner_id_name_idx on public.projects",
                                                                "create index projects_live_name on public.projects",
                                                                "create index projects_embedding_hnsw on public.projects"});
    REQUIRE(scoped.plan.warnings.size() == 1);
    CHECK_THAT(scoped.plan.warnings[0], Catch::Contains("references billing.accounts, which is outside the models in scope "
                                                        "and not in the database"));
    mg::MakeMigrationsOptions both{.dir = dir.path, .database = "migrations"};
    both.filter.include = {"projects"};
    both.filter.exclude = {"tasks"};
    CHECK_THROWS_AS(co_await mg::makemigrations(both), orm::ConfigurationError);

    co_await migrate_models(dir.path, "initial");
    // A table nobody modelled is reported, never dropped unless asked.
    co_await db.execute("CREATE TABLE legacy_notes (id int PRIMARY KEY, body text)");
    co_await db.execute("CREATE INDEX legacy_notes_body ON legacy_notes (body)");
    const mg::MakeMigrationsOptions plain{.dir = dir.path, .database = "migrations", .dry_run = true};
    const auto kept = co_await mg::makemigrations(plain);
    CHECK(kept.plan.empty());
    REQUIRE(kept.plan.warnings.size() == 1);
    CHECK_THAT(kept.plan.warnings[0], Catch::Contains("table public.legacy_notes has no model; it is left alone"));
    mg::MakeMigrationsOptions dropping{.dir = dir.path, .name = "drop_legacy", .database = "migrations"};
    dropping.diff.drop_unmodelled_tables = true;
    const auto dropped = co_await mg::makemigrations(dropping);
    REQUIRE(dropped.plan.operations.size() == 1);
    CHECK(dropped.plan.operations[0].destructive);
    CHECK(dropped.plan.operations[0].down.find("CREATE INDEX \"legacy_notes_body\"") != std::string::npos);
    const mg::RunOptions run{.dir = dir.path, .database = "migrations"};
    co_await mg::apply_migrations(run);
    co_await mg::rollback_migrations(run, 1);  // the table comes back (empty), with its index
    co_await db.execute("INSERT INTO legacy_notes VALUES (1, 'back')");
    std::filesystem::remove(*dropped.file);  // pending again: withdraw it, and drop the table by hand
    co_await db.execute("DROP TABLE legacy_notes");

    // An enum value the models list and the database lacks is added after its predecessor.
    co_await db.execute("ALTER TYPE mood RENAME TO mood_old");
    co_await db.execute("CREATE TYPE mood AS ENUM ('happy', 'calm')");
    co_await db.execute("ALTER TABLE billing.accounts ALTER COLUMN mood TYPE mood USING mood::text::mood");
    co_await db.execute("DROP TYPE mood_old");
    const mg::MakeMigrationsOptions values{.dir = dir.path, .name = "grumpy", .database = "migrations"};
    const auto added = co_await mg::makemigrations(values);
    REQUIRE(added.plan.operations.size() == 1);
    CHECK(added.plan.operations[0].up == "ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'grumpy' AFTER 'calm';");
    CHECK_THAT(added.plan.operations[0].down, Catch::Contains("cannot drop a value from an enum"));
    co_await mg::apply_migrations(run);
    const auto nothing = co_await mg::makemigrations(plain);
    CHECK(nothing.plan.empty());
    orm::pg::close_all_databases();
  });
}
