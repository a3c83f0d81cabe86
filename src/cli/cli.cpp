// The `matrx-orm` command line (CLI11): makemigrations, migrate, rollback, status,
// create_empty, resolve, export-models and inspect over the migrate/ API.
#include "matrx/orm/cli.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm/codegen/model_writer.hpp"
#include "matrx/orm/codegen/typescript_writer.hpp"
#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/registry.hpp"
#include "matrx/orm/migrate/makemigrations.hpp"
#include "matrx/orm/migrate/migration_file.hpp"
#include "matrx/orm/migrate/runner.hpp"
#include "matrx/orm/pg/connection.hpp"
#include "matrx/orm/pg/database.hpp"
#include "matrx/orm/sync.hpp"

namespace matrx::orm::cli {

namespace {

namespace mg = migrate;

struct Settings {
  std::string database_url;
  std::string database;
  std::string dir = "migrations";
  long lock_timeout_ms = 15'000;
  long statement_timeout_s = 3600;
};

// Colour only on a terminal, and never with NO_COLOR set (no-color.org).
struct Style {
  explicit Style(int fd) : colour(::isatty(fd) && std::getenv("NO_COLOR") == nullptr) {}
  bool colour;
  std::string paint(const std::string& text, const char* code) const {
    return colour ? fmt::format("\033[{}m{}\033[0m", code, text) : text;
  }
  std::string ok(const std::string& t) const { return paint(t, "32"); }
  std::string warn(const std::string& t) const { return paint(t, "33"); }
};

// The database: --database-url, else DATABASE_URL, else what the program registered, else
// libpq's PG* variables. --database names a registered database (or the URL's registry name).
void connect_settings(const Settings& s) {
  std::string url = s.database_url;
  for (const char* variable : {"MIGRATE_DATABASE_URL", "DATABASE_URL"})
    if (url.empty())
      if (const char* env = std::getenv(variable)) url = env;
  const std::string name = s.database.empty() ? "default" : s.database;
  if (!url.empty()) {
    if (pg::is_database_registered(name)) pg::unregister_database(name);
    pg::register_database(pg::DatabaseConfig::from_url(name, url));
  } else if (!pg::is_database_registered(name)) {
    if (!s.database.empty() && !pg::registered_databases().empty())
      throw ConfigurationError(fmt::format("no registered database named '{}'", s.database));
    pg::register_database(pg::DatabaseConfig{.name = name});  // PGHOST, PGDATABASE, … as libpq reads them
  }
}

mg::RunOptions run_options(const Settings& s) {
  mg::RunOptions o{.dir = s.dir, .database = s.database};
  o.lock_timeout = std::chrono::milliseconds(s.lock_timeout_ms);
  o.statement_timeout = std::chrono::seconds(s.statement_timeout_s);
  return o;
}

int exit_code_of(const std::exception& e) {
  if (dynamic_cast<const MigrationLockTimeout*>(&e)) return lock_timeout;
  if (dynamic_cast<const MigrationChecksumError*>(&e)) return checksum;
  if (dynamic_cast<const MigrationDirtyError*>(&e)) return dirty;
  return error;
}

struct InspectSettings {
  std::string out, json, typescript, name_space = "models";
  bool dry_run = false, managers = false;
  std::vector<std::string> include, exclude, schemas, stubs;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigurationError(fmt::format("cannot read {}", path));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// inspect: read the catalog; write model headers (--out) and/or the snapshot (--json).
void run_inspect(const Settings& s, InspectSettings ins, const Style& error_style) {
  const mg::TableFilter filter{.include = ins.include, .exclude = ins.exclude};
  pg::Database& db = s.database.empty() ? pg::default_database() : pg::database(s.database);
  const mg::SchemaDef schema = sync([&]() -> boost::asio::awaitable<mg::SchemaDef> {
    pg::Connection conn =
        co_await pg::Connection::connect(co_await boost::asio::this_coro::executor, db.config().connect_options());
    // Headers: every table is read (relations to tables left out still resolve) and the
    // filter decides what is written.
    const bool whole = !ins.out.empty() || !ins.typescript.empty();
    mg::SchemaDef read = co_await mg::schema_from_database(conn, whole ? mg::TableFilter{} : filter);
    conn.close();
    co_return read;
  }());
  for (const auto& what : schema.unsupported)
    std::cerr << error_style.warn("not in the schema model: ") << what << "\n";
  if (!ins.out.empty()) {
    std::string command = "matrx-orm inspect --out " + ins.out + " --namespace " + ins.name_space;
    if (ins.managers) command += " --managers";
    for (const auto& x : ins.schemas) command += " --schema " + x;
    for (const auto& x : ins.stubs) command += " --additional-schemas " + x;
    // The database's registered additional_schemas (DatabaseConfig) count as stubs too.
    for (const auto& x : db.config().additional_schemas)
      if (std::find(ins.stubs.begin(), ins.stubs.end(), x) == ins.stubs.end()) ins.stubs.push_back(x);
    for (const auto& t : ins.include) command += " --include-tables " + t;
    for (const auto& t : ins.exclude) command += " --exclude-tables " + t;
    const auto models = codegen::generate_models(
        schema, codegen::CodegenOptions{.name_space = ins.name_space, .database = s.database, .command = command,
                                        .filter = filter, .schemas = ins.schemas,
                                        .stub_schemas = ins.stubs, .managers = ins.managers});
    for (const auto& n : models.notes)
      if (!n.starts_with("not generated (outside")) std::cerr << error_style.warn("note: ") << n << "\n";
    const auto result = codegen::write_files(ins.out, models.files, ins.dry_run);
    if (ins.dry_run) std::cout << result.diff;
    std::cout << (ins.dry_run ? "would write " : "wrote ") << result.written.size() << " file(s), "
              << result.unchanged.size() << " unchanged, in " << ins.out << "\n";
  }
  if (!ins.typescript.empty()) {
    std::string command = "matrx-orm inspect --typescript " + ins.typescript;
    for (const auto& x : ins.schemas) command += " --schema " + x;
    const auto files = codegen::generate_typescript(
        schema, codegen::TypeScriptOptions{.filter = filter, .schemas = ins.schemas, .command = command,
                                           .entity_overrides = db.config().entity_overrides,
                                           .field_overrides = db.config().field_overrides});
    const auto result = codegen::write_files(ins.typescript, files, ins.dry_run);
    if (ins.dry_run) std::cout << result.diff;
    std::cout << (ins.dry_run ? "would write " : "wrote ") << result.written.size() << " file(s), "
              << result.unchanged.size() << " unchanged, in " << ins.typescript << "\n";
  }
  if (ins.json.empty()) return;
  const std::string text = schema.to_json().dump(2) + "\n";
  if (ins.json == "-") {
    std::cout << text;
    return;
  }
  std::ofstream out(ins.json, std::ios::binary);
  if (!(out << text)) throw ConfigurationError(fmt::format("cannot write {}", ins.json));
  std::cout << "wrote " << ins.json << " (" << schema.tables.size() << " tables, " << schema.views.size() << " views)\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"matrx-orm: migrations for PostgreSQL (docs/cli.md)", "matrx-orm"};
  app.require_subcommand(1);
  app.fallthrough();
  Settings s;
  app.add_option("--database-url", s.database_url, "libpq URL (else MIGRATE_DATABASE_URL, DATABASE_URL, the PG* variables)");
  app.add_option("--database", s.database, "registered database name (programs that link their models)");
  const Style style(STDOUT_FILENO), error_style(STDERR_FILENO);
  // Model-header options shared by inspect --out and migrate --rebuild.
  InspectSettings ins;
  const auto header_options = [&ins](CLI::App* command) {
    command->add_option("--namespace", ins.name_space, "the models' C++ namespace")->capture_default_str();
    command->add_flag("--managers", ins.managers, "a BaseManager subclass per table with typed helpers");
    command->add_option("--schema", ins.schemas, "only these schemas get models (default: every schema)")->delimiter(',');
    command->add_option("--additional-schemas", ins.stubs,
                        "schemas owned elsewhere (auth, storage): their tables become stub models, never migrated")
        ->delimiter(',');
  };

  // makemigrations
  auto* make = app.add_subcommand("makemigrations", "diff the database against the models and write the next migration");
  std::string make_name, models_file;
  std::vector<std::string> include, exclude;
  bool check = false, dry_run = false, drop_tables = false;
  make->add_option("--dir", s.dir, "migrations directory")->capture_default_str();
  make->add_option("--name", make_name, "the file's name after its number (default: named after what it does)");
  auto* inc = make->add_option("--include-tables", include, "only these tables (table or schema.table)");
  auto* exc = make->add_option("--exclude-tables", exclude, "every table but these");
  inc->excludes(exc);
  make->add_flag("--check", check, "write nothing; exit 3 when the database differs from the models");
  make->add_flag("--dry-run", dry_run, "print the migration instead of writing it");
  make->add_flag("--drop-unmodelled-tables", drop_tables, "drop tables that have no model (off: only reported)");
  make->add_option("--models", models_file, "schema snapshot JSON (from a program's export-models)");

  // migrate / rollback / status / create_empty / resolve / export-models
  auto* up = app.add_subcommand("migrate", "apply pending migrations in dependency order");
  std::string target;
  bool migrate_dry = false, strict = false;
  up->add_option("--dir", s.dir, "migrations directory")->capture_default_str();
  up->add_option("--target", target, "stop after this migration");
  up->add_flag("--dry-run", migrate_dry, "print what would be applied");
  up->add_flag("--strict", strict, "refuse a pending migration older than the latest applied one");
  std::string rebuild;
  up->add_option("--rebuild", rebuild,
                 "then write the model headers into DIR as `inspect --out DIR` does (only when something was applied)");
  header_options(up);
  up->add_option("--lock-timeout", s.lock_timeout_ms, "milliseconds to wait for another run's lock")->capture_default_str();
  up->add_option("--statement-timeout", s.statement_timeout_s, "seconds per statement (0: none)")->capture_default_str();

  auto* down = app.add_subcommand("rollback", "undo the latest applied migrations with their -- +down sections");
  int steps = 1;
  down->add_option("--dir", s.dir, "migrations directory")->capture_default_str();
  down->add_option("--steps", steps, "how many")->capture_default_str()->check(CLI::PositiveNumber);
  down->add_option("--lock-timeout", s.lock_timeout_ms, "milliseconds to wait for another run's lock")->capture_default_str();
  down->add_option("--statement-timeout", s.statement_timeout_s, "seconds per statement (0: none)")->capture_default_str();

  auto* status = app.add_subcommand("status", "applied, pending, changed, missing and dirty migrations");
  std::string format = "text";
  status->add_option("--dir", s.dir, "migrations directory")->capture_default_str();
  status->add_option("--format", format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();

  auto* empty = app.add_subcommand("create_empty", "write a blank migration depending on the latest one");
  std::string empty_name;
  empty->add_option("--dir", s.dir, "migrations directory")->capture_default_str();
  empty->add_option("--name", empty_name, "the file's name after its number")->required();

  auto* resolve = app.add_subcommand("resolve", "clear a dirty no-transaction migration after repairing the database");
  std::string resolve_name;
  bool as_applied = false, as_rolled_back = false;
  resolve->add_option("--dir", s.dir, "migrations directory")->capture_default_str();
  resolve->add_option("--name", resolve_name, "the dirty migration")->required();
  auto* a = resolve->add_flag("--applied", as_applied, "record it as applied");
  auto* r = resolve->add_flag("--rolled-back", as_rolled_back, "record it as never run");
  a->excludes(r);

  auto* export_models = app.add_subcommand("export-models", "print the linked models' schema as JSON (for --models)");

  auto* inspect = app.add_subcommand("inspect", "read the database's schema from its catalog");
  inspect->add_option("--out", ins.out, "write C++ model headers into DIR (docs/introspection.md)");
  header_options(inspect);
  inspect->add_flag("--dry-run", ins.dry_run, "with --out: print what would change instead of writing");
  inspect->add_option("--json", ins.json, "write the schema snapshot (the --models format) to FILE, - for stdout");
  inspect->add_option("--typescript", ins.typescript,
                      "write the TypeScript/JSON schema files into DIR (with the database's entity and field overrides)");
  auto* inspect_inc = inspect->add_option("--include-tables", ins.include, "only these tables (table or schema.table)");
  auto* inspect_exc = inspect->add_option("--exclude-tables", ins.exclude, "every table but these");
  inspect_inc->excludes(inspect_exc);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? ok : usage;
  }

  try {
    if (*export_models) {
      std::cout << mg::schema_from_models(s.database).to_json().dump(2) << "\n";
      return ok;
    }
    if (*empty) {
      const auto path = mg::create_empty_migration(s.dir, empty_name);
      std::cout << "created " << path.string() << "\n";
      return ok;
    }
    if (*resolve && !as_applied && !as_rolled_back) {
      std::cerr << "resolve: say --applied or --rolled-back\n";
      return usage;
    }
    connect_settings(s);
    int code = ok;
    if (*make) {
      mg::MakeMigrationsOptions o{.dir = s.dir, .name = make_name, .database = s.database};
      o.filter.include = include;
      o.filter.exclude = exclude;
      o.diff.drop_unmodelled_tables = drop_tables;
      o.dry_run = dry_run || check;
      if (!models_file.empty()) {
        o.models = mg::SchemaDef::from_json(nlohmann::json::parse(read_file(models_file)));
      } else if (ModelRegistry::all().empty()) {
        throw ConfigurationError("no models are linked into this program",
                                 ErrorContext{.hint = "pass --models FILE (written by your program's `export-models`), or "
                                                      "run makemigrations from a program built with "
                                                      "matrx_orm_add_manage_command()"});
      }
      const auto result = sync(mg::makemigrations(o));
      for (const auto& w : result.plan.warnings) std::cerr << error_style.warn("warning: ") << w << "\n";
      if (result.plan.empty()) {
        std::cout << "no changes: the database matches the models\n";
      } else if (check) {
        std::cout << result.plan.operations.size() << " difference(s) between the database and the models:\n";
        for (const auto& op : result.plan.operations) std::cout << "  " << op.description << "\n";
        code = drift;
      } else if (dry_run) {
        std::cout << result.content;
      } else {
        std::cout << "wrote " << result.file->string() << " (" << result.plan.operations.size() << " operations)\n";
      }
    } else if (*inspect) {
      if (ins.out.empty() && ins.json.empty() && ins.typescript.empty()) {
        std::cerr << "inspect: say --out DIR (model headers), --typescript DIR and/or --json FILE (schema snapshot)\n";
        return usage;
      }
      run_inspect(s, ins, error_style);
    } else if (*up) {
      mg::RunOptions o = run_options(s);
      if (!target.empty()) o.target = target;
      o.strict = strict;
      if (migrate_dry) {
        const auto st = sync(mg::migration_status(o));
        const auto files = mg::load_migrations(s.dir);
        if (st.pending.empty()) std::cout << "nothing to apply\n";
        for (const auto& name : st.pending) {
          const auto f = std::find_if(files.begin(), files.end(), [&](const auto& m) { return m.name == name; });
          std::cout << "-- would apply " << name << "\n" << f->up << "\n";
          if (!target.empty() && name == target) break;
        }
      } else {
        o.on_done = [&](const std::string& name, std::chrono::milliseconds took) {
          std::cout << style.ok("applied") << " " << name << " (" << took.count() << " ms)\n" << std::flush;
        };
        const auto applied = sync(mg::apply_migrations(o));
        if (applied.empty()) std::cout << "nothing to apply\n";
        if (!rebuild.empty() && !applied.empty()) {
          ins.out = rebuild;
          run_inspect(s, ins, error_style);
        }
      }
    } else if (*down) {
      mg::RunOptions o = run_options(s);
      o.on_done = [&](const std::string& name, std::chrono::milliseconds took) {
        std::cout << style.ok("rolled back") << " " << name << " (" << took.count() << " ms)\n" << std::flush;
      };
      const auto undone = sync(mg::rollback_migrations(o, steps));
      if (undone.empty()) std::cout << "nothing to roll back\n";
    } else if (*status) {
      const auto st = sync(mg::migration_status(run_options(s)));
      if (format == "json") {
        std::cout << st.to_json().dump(2) << "\n";
      } else {
        for (const auto& m : st.applied)
          std::cout << style.ok("applied ") << " " << m.name << "  " << m.applied_at
                    << (m.checksum == mg::dirty_marker ? style.warn("  DIRTY") : "") << "\n";
        for (const auto& n : st.pending) std::cout << style.warn("pending ") << " " << n << "\n";
        for (const auto& n : st.changed) std::cout << style.warn("changed ") << " " << n << " (file edited after it was applied)\n";
        for (const auto& n : st.missing) std::cout << style.warn("missing ") << " " << n << " (applied, file not found)\n";
      }
      if (!st.changed.empty() || !st.missing.empty()) code = checksum;
      if (!st.dirty.empty()) code = dirty;
    } else if (*resolve) {
      sync(mg::resolve_dirty(run_options(s), resolve_name, as_applied));
      std::cout << resolve_name << " recorded as " << (as_applied ? "applied" : "never run") << "\n";
    }
    pg::close_all_databases();
    return code;
  } catch (const std::exception& e) {
    std::cerr << "matrx-orm: " << e.what() << "\n";
    try {
      pg::close_all_databases();
    } catch (...) {
    }
    return exit_code_of(e);
  }
}

}  // namespace matrx::orm::cli
