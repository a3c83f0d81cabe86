// The command line as separate processes against the server: 8 concurrent `migrate` runs on
// an empty database, a run killed with SIGKILL mid-migration, the model-first workflow through
// a manage command (makemigrations --check in both states, status, create_empty, export-models
// and --models), every documented exit code, and the refusal through PgBouncer.
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "../support/temp_dir.hpp"
#include "db_fixture.hpp"
#include "matrx/orm/cli.hpp"
#include "matrx/orm/migrate/runner.hpp"

extern char** environ;

namespace orm = matrx::orm;
using test::asio::awaitable;

namespace {

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr
};

std::string url_of(const std::string& database) {
  const char* host = std::getenv("PGHOST");
  const char* port = std::getenv("PGPORT");
  return fmt::format("postgresql:///{}?host={}&port={}", database, host ? host : "/var/run/postgresql", port ? port : "5432");
}

// Starts `command` through the shell; finish() collects its output and exit code.
struct Process {
  std::FILE* pipe = nullptr;
  explicit Process(const std::string& command) : pipe(::popen((command + " 2>&1").c_str(), "r")) {
    if (!pipe) throw std::runtime_error("popen failed: " + command);
  }
  Output finish() {
    Output out;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.text.append(buffer, n);
    const int status = ::pclose(pipe);
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
  }
};

Output run(const std::string& command) { return Process(command).finish(); }

// fmt rather than operator+: g++ 12 reports a false -Warray-bounds for the inlined concatenation.
std::string cli(const std::string& args) { return fmt::format("{} {}", MATRX_TEST_CLI, args); }
std::string manage(const std::string& args) { return fmt::format("{} {}", MATRX_TEST_MANAGE, args); }

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

awaitable<std::int64_t> scalar(test::FreshDatabase& db, const std::string& sql) {
  auto options = orm::pg::database(db.registered_as).config().connect_options();
  auto c = co_await orm::pg::Connection::connect(options);
  auto r = co_await c.execute(sql, orm::pg::Format::text);
  co_return std::stoll(r.get<std::string>(0, 0));
}

}  // namespace

TEST_CASE("8 concurrent matrx-orm migrate processes on an empty database apply each migration once", "[db][cli]") {
  test::FreshDatabase db("cli_concurrent", "migrations");
  testsupport::TempDir dir("cli_concurrent");
  dir.write("0001_log.sql", "-- +up\nCREATE TABLE applied_log (name text NOT NULL);\nINSERT INTO applied_log VALUES ('0001');\n");
  dir.write("0002_slow.sql", "-- depends: 0001_log\n-- +up\nSELECT pg_sleep(0.3);\nINSERT INTO applied_log VALUES ('0002');\n");
  dir.write("0003_more.sql",
            "-- depends: 0002_slow\n-- +up\nCREATE TABLE more (id int);\nINSERT INTO applied_log VALUES ('0003');\n");
  const std::string command =
      cli(fmt::format("migrate --dir {} --database-url '{}' --lock-timeout 60000", dir.path.string(), url_of(db.name)));
  std::vector<Process> runs;
  for (int i = 0; i < 8; ++i) runs.emplace_back(command);
  std::string all;
  for (auto& p : runs) {
    const Output out = p.finish();
    INFO(out.text);
    CHECK(out.exit_code == 0);
    CHECK(out.text.find("already exists") == std::string::npos);
    all += out.text;
  }
  CHECK(count(all, "applied 0001_log (") == 1);
  CHECK(count(all, "applied 0002_slow (") == 1);
  CHECK(count(all, "applied 0003_more (") == 1);
  CHECK(count(all, "nothing to apply") == 7);
  CHECK(all.find('\033') == std::string::npos);  // not a terminal: no colours
  test::run([&]() -> awaitable<void> {
    const auto rows = co_await scalar(db, "SELECT count(*) FROM applied_log");
    const auto distinct = co_await scalar(db, "SELECT count(DISTINCT name) FROM applied_log");
    CHECK(rows == 3);
    CHECK(distinct == 3);
    orm::pg::close_all_databases();
  });
}

TEST_CASE("a migrate process killed with SIGKILL mid-migration leaves no lock and no trace, the next run succeeds",
          "[db][cli]") {
  test::FreshDatabase db("cli_kill", "migrations");
  testsupport::TempDir dir("cli_kill");
  test::run([&]() -> awaitable<void> {
    co_await db.execute("CREATE TABLE gate (armed boolean NOT NULL)");
    co_await db.execute("INSERT INTO gate VALUES (true)");
    orm::pg::close_all_databases();
  });
  // Sleeps for a minute while the gate is armed.
  dir.write("0001_slow.sql", "-- +up\nCREATE TABLE made (id int);\nSELECT pg_sleep(60) FROM gate WHERE armed;\n");
  const std::string command =
      cli(fmt::format("migrate --dir {} --database-url '{}' --lock-timeout 20000", dir.path.string(), url_of(db.name)));
  const std::string shell = "exec " + command + " >/dev/null 2>&1";
  const char* argv[] = {"/bin/sh", "-c", shell.c_str(), nullptr};
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
  // Wait until the run holds the lock and sleeps inside its migration.
  bool sleeping = false;
  test::run([&]() -> awaitable<void> {
    for (int i = 0; i < 200 && !sleeping; ++i) {
      sleeping = co_await scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' "
                                     "AND application_name = 'matrx-orm migrate'") == 1;
      if (!sleeping) co_await test::sleep_for(std::chrono::milliseconds(50));
    }
    orm::pg::close_all_databases();
  });
  REQUIRE(sleeping);
  REQUIRE(::kill(pid, SIGKILL) == 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  test::run([&]() -> awaitable<void> {
    co_await db.execute("UPDATE gate SET armed = false");
    orm::pg::close_all_databases();
  });
  // The server notices the dead client within client_connection_check_interval (2 s), rolls
  // its transaction back and drops its lock: the next run waits for it, then applies.
  const auto started = std::chrono::steady_clock::now();
  const Output next = run(command);
  INFO(next.text);
  CHECK(next.exit_code == 0);
  CHECK(count(next.text, "applied 0001_slow (") == 1);
  CHECK(test::ms_since(started) < 20'000);
  test::run([&]() -> awaitable<void> {
    const auto applied = co_await scalar(db, "SELECT count(*) FROM _matrx_migrations");
    const auto tables = co_await scalar(db, "SELECT count(*) FROM pg_class WHERE relname = 'made'");
    CHECK(applied == 1);
    CHECK(tables == 1);
    orm::pg::close_all_databases();
  });
}

TEST_CASE("model-first through a manage command: --check, makemigrations, migrate, status, create_empty, --models",
          "[db][cli]") {
  test::FreshDatabase db("cli_models", "migrations");
  testsupport::TempDir dir("cli_models");
  const std::string common = fmt::format("--dir {} --database migrations --database-url '{}'", dir.path.string(),
                                         url_of(db.name));
  // An empty database differs from the models: --check says so (exit 3) and writes nothing.
  Output check = run(manage("makemigrations --check " + common));
  INFO(check.text);
  CHECK(check.exit_code == orm::cli::drift);
  CHECK_THAT(check.text, Catch::Contains("create table public.projects"));
  CHECK(std::filesystem::is_empty(dir.path));

  Output dry = run(manage("makemigrations --dry-run " + common));
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.text, Catch::Contains("-- +up") && Catch::Contains("-- +down") && Catch::Contains("CREATE TABLE"));
  CHECK(std::filesystem::is_empty(dir.path));

  Output made = run(manage("makemigrations --name initial " + common));
  INFO(made.text);
  CHECK(made.exit_code == 0);
  CHECK(std::filesystem::exists(dir.path / "0001_initial.sql"));
  std::ifstream attributes(dir.path / ".gitattributes");
  std::string eol((std::istreambuf_iterator<char>(attributes)), std::istreambuf_iterator<char>());
  CHECK(eol == "*.sql text eol=lf\n");  // checksums hash raw bytes: no CRLF on checkout
  Output would = run(manage("migrate --dry-run " + common));
  CHECK(would.exit_code == 0);
  CHECK_THAT(would.text, Catch::Contains("-- would apply 0001_initial") && Catch::Contains("CREATE TABLE"));
  Output applied = run(manage("migrate " + common));
  INFO(applied.text);
  CHECK(applied.exit_code == 0);
  CHECK(count(applied.text, "applied 0001_initial (") == 1);
  Output clean = run(manage("makemigrations --check " + common));
  CHECK(clean.exit_code == 0);
  CHECK_THAT(clean.text, Catch::Contains("no changes"));

  // The snapshot of the models, read by the plain tool (which has no models linked in).
  Output snapshot = run(manage("export-models --database migrations"));
  REQUIRE(snapshot.exit_code == 0);
  std::ofstream(dir.path / "models.json") << snapshot.text;
  const std::string snapshot_args = fmt::format("--dir {} --database-url '{}' --models {}", dir.path.string(),
                                                url_of(db.name), (dir.path / "models.json").string());
  CHECK(run(cli("makemigrations --check " + snapshot_args)).exit_code == 0);
  Output no_models = run(cli("makemigrations --check " + fmt::format("--dir {} --database-url '{}'", dir.path.string(),
                                                                       url_of(db.name))));
  CHECK(no_models.exit_code == orm::cli::error);
  CHECK_THAT(no_models.text, Catch::Contains("no models are linked") && Catch::Contains("--models FILE"));

  // create_empty depends on the latest migration, and the loader accepts it.
  Output blank = run(manage("create_empty --name notes " + common));
  CHECK(blank.exit_code == 0);
  std::ifstream in(dir.path / "0002_notes.sql");
  std::string first_lines((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(first_lines, Catch::Contains("-- depends: 0001_initial"));
  Output status = run(manage("status --format json " + common));
  INFO(status.text);
  REQUIRE(status.exit_code == 0);
  const auto json = nlohmann::json::parse(status.text);
  CHECK(json["applied"].size() == 1);
  CHECK(json["pending"] == nlohmann::json::array({"0002_notes"}));

  Output back = run(manage("rollback --steps 1 " + common));
  CHECK(back.exit_code == 0);
  CHECK(count(back.text, "rolled back 0001_initial (") == 1);
  CHECK(run(manage("makemigrations --check " + common)).exit_code == orm::cli::drift);
}

TEST_CASE("exit codes: usage, lock timeout, checksum, dirty no-transaction migration and resolve, pooler refusal",
          "[db][cli]") {
  test::FreshDatabase db("cli_codes", "migrations");
  testsupport::TempDir dir("cli_codes");
  const std::string common = fmt::format("--dir {} --database-url '{}'", dir.path.string(), url_of(db.name));
  CHECK(run(cli("migrate --no-such-flag")).exit_code == orm::cli::usage);
  CHECK(run(cli("frobnicate")).exit_code == orm::cli::usage);

  dir.write("0001_a.sql", "-- +up\nCREATE TABLE a (id int);\n-- +down\nDROP TABLE a;\n");
  REQUIRE(run(cli("migrate " + common)).exit_code == 0);

  // Another session holds the migration lock: exit 4, naming the holder.
  test::run([&]() -> awaitable<void> {
    auto options = orm::pg::database(db.registered_as).config().connect_options();
    auto holder = co_await orm::pg::Connection::connect(options);
    co_await holder.execute("SET application_name = 'the holder'");
    const auto key = orm::pg::Params::of(orm::migrate::lock_key);
    co_await holder.execute("SELECT pg_advisory_lock($1)", key);
    const Output locked = run(cli("migrate --lock-timeout 300 " + common));
    CHECK(locked.exit_code == orm::cli::lock_timeout);
    CHECK_THAT(locked.text, Catch::Contains("the holder"));
    holder.close();
    orm::pg::close_all_databases();
  });

  // An applied file edited: exit 5 for migrate and for status.
  dir.write("0001_a.sql", "-- +up\nCREATE TABLE a (id int); -- edited\n-- +down\nDROP TABLE a;\n");
  const Output changed = run(cli("migrate " + common));
  CHECK(changed.exit_code == orm::cli::checksum);
  CHECK_THAT(changed.text, Catch::Contains("0001_a.sql was changed after it was applied"));
  CHECK(run(cli("status " + common)).exit_code == orm::cli::checksum);
  dir.write("0001_a.sql", "-- +up\nCREATE TABLE a (id int);\n-- +down\nDROP TABLE a;\n");

  // A no-transaction migration failing midway stays dirty: exit 6 until resolved.
  dir.write("0002_concurrently.sql",
            "-- depends: 0001_a\n-- matrx:no-transaction\n-- +up\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n"
            "CREATE INDEX CONCURRENTLY a_missing ON a (missing);\n-- +down\nDROP INDEX CONCURRENTLY a_id;\n");
  const Output failed = run(cli("migrate " + common));
  CHECK(failed.exit_code == orm::cli::error);
  CHECK_THAT(failed.text, Catch::Contains("0002_concurrently.sql failed at statement 2"));
  const Output dirty = run(cli("migrate " + common));
  CHECK(dirty.exit_code == orm::cli::dirty);
  CHECK_THAT(dirty.text, Catch::Contains("did not finish") && Catch::Contains("resolve --name 0002_concurrently"));
  const Output listed = run(cli("status " + common));
  CHECK(listed.exit_code == orm::cli::dirty);
  CHECK_THAT(listed.text, Catch::Contains("DIRTY"));
  // Repaired by hand (the first index was built), then recorded as never run and fixed.
  test::run([&]() -> awaitable<void> {
    co_await db.execute("DROP INDEX a_id");
    orm::pg::close_all_databases();
  });
  CHECK(run(cli("resolve --name 0002_concurrently " + common)).exit_code == orm::cli::usage);
  CHECK(run(cli("resolve --name 0002_concurrently --rolled-back " + common)).exit_code == 0);
  dir.write("0002_concurrently.sql",
            "-- depends: 0001_a\n-- matrx:no-transaction\n-- +up\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n"
            "-- +down\nDROP INDEX CONCURRENTLY a_id;\n");
  const Output fixed = run(cli("migrate " + common));
  INFO(fixed.text);
  CHECK(fixed.exit_code == 0);
  CHECK(count(fixed.text, "applied 0002_concurrently (") == 1);

  // Through PgBouncer (transaction mode): refused before anything runs.
  const char* bouncer = std::getenv("PGBOUNCER_URL");
  REQUIRE(bouncer);
  const Output pooled = run(cli(fmt::format("migrate --dir {} --database-url '{}'", dir.path.string(), bouncer)));
  CHECK(pooled.exit_code == orm::cli::error);
  CHECK_THAT(pooled.text, Catch::Contains("connection pooler") && Catch::Contains("direct connection"));
}

TEST_CASE("inspect --out, --dry-run and stub schemas, migrate --rebuild regenerates only when something was applied",
          "[db][cli][introspection]") {
  test::FreshDatabase db("cli_inspect", "inspected");
  testsupport::TempDir dir("cli_inspect");
  const auto migrations = dir.path / "migrations", models = dir.path / "models";
  std::filesystem::create_directories(migrations);
  dir.write("migrations/0001_start.sql",
            "-- +up\nCREATE SCHEMA auth;\nCREATE TABLE auth.users (id uuid PRIMARY KEY, email text, secret text);\n"
            "CREATE TABLE profile (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            "user_id uuid NOT NULL REFERENCES auth.users (id), bio text);\n"
            "-- +down\nDROP TABLE profile;\nDROP TABLE auth.users;\nDROP SCHEMA auth;\n");
  const std::string common = fmt::format("--database-url '{}'", url_of(db.name));
  const std::string header_options = fmt::format("--namespace app --additional-schemas auth");

  // Nothing applied yet: nothing regenerated.
  Output first = run(cli(fmt::format("{} migrate --dir {} --rebuild {} {}", common, migrations.string(), models.string(),
                                     header_options)));
  INFO(first.text);
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.text, Catch::Contains("applied 0001_start") && Catch::Contains("wrote 4 file(s), 0 unchanged"));
  std::ifstream users_file(models / "auth_users.hpp");
  const std::string users((std::istreambuf_iterator<char>(users_file)), std::istreambuf_iterator<char>());
  CHECK_THAT(users, Catch::Contains(".unfetchable()"));  // a stub: its key only, never migrated
  CHECK_THAT(users, Catch::Contains("orm::Uuid id{};") && !Catch::Contains("secret"));
  std::ifstream profile_file(models / "profile.hpp");
  const std::string profile((std::istreambuf_iterator<char>(profile_file)), std::istreambuf_iterator<char>());
  CHECK_THAT(profile, Catch::Contains("(user_id, orm::references<AuthUsers>())"));

  const auto stamp = std::filesystem::last_write_time(models / "profile.hpp");
  Output again = run(cli(fmt::format("{} migrate --dir {} --rebuild {} {}", common, migrations.string(), models.string(),
                                     header_options)));
  INFO(again.text);
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.text, Catch::Contains("nothing to apply") && !Catch::Contains("wrote"));
  CHECK(std::filesystem::last_write_time(models / "profile.hpp") == stamp);

  // A column added by hand: --dry-run shows the change and writes nothing; inspect writes it.
  dir.write("migrations/0002_bio_len.sql", "-- +up\nALTER TABLE profile ADD COLUMN bio_length integer;\n"
                                           "-- +down\nALTER TABLE profile DROP COLUMN bio_length;\n");
  REQUIRE(run(cli(fmt::format("{} migrate --dir {}", common, migrations.string()))).exit_code == 0);
  Output dry = run(cli(fmt::format("{} inspect --out {} {} --dry-run", common, models.string(), header_options)));
  INFO(dry.text);
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.text, Catch::Contains("+  std::optional<std::int32_t> bio_length{};") &&
                           Catch::Contains("would write 1 file(s), 3 unchanged"));
  CHECK(std::filesystem::last_write_time(models / "profile.hpp") == stamp);
  Output wrote = run(cli(fmt::format("{} inspect --out {} {}", common, models.string(), header_options)));
  CHECK_THAT(wrote.text, Catch::Contains("wrote 1 file(s), 3 unchanged"));

  // The TypeScript/JSON schema files.
  Output ts = run(cli(fmt::format("{} inspect --typescript {} --schema public", common, (dir.path / "ts").string())));
  INFO(ts.text);
  CHECK(ts.exit_code == 0);
  CHECK_THAT(ts.text, Catch::Contains("wrote 8 file(s), 0 unchanged"));
  std::ifstream entities_file(dir.path / "ts" / "entities.ts");
  const std::string entities((std::istreambuf_iterator<char>(entities_file)), std::istreambuf_iterator<char>());
  CHECK_THAT(entities, Catch::Contains(R"(export const ENTITY_NAMES = ["profile"] as const;)"));

  // A bad command line: inspect without an output.
  const Output no_output = run(cli(fmt::format("{} inspect", common)));
  CHECK(no_output.exit_code == orm::cli::usage);
}
