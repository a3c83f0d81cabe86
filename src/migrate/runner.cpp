#include "matrx/orm/migrate/runner.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/migrate/migration_file.hpp"
#include "matrx/orm/pg/connection.hpp"
#include "matrx/orm/pg/database.hpp"
#include "matrx/orm/migrate/sql_script.hpp"

namespace asio = boost::asio;

namespace matrx::orm::migrate {

namespace {
struct Session {
  pg::Connection conn;
  std::string database;
  bool locked = false;
};

asio::awaitable<Session> open_session(const RunOptions& options) {
  pg::Database& db = options.database.empty() ? pg::default_database() : pg::database(options.database);
  if (db.config().pooler_mode == pg::PoolerMode::transaction)
    throw MigrationError(fmt::format("database '{}' is configured behind a transaction-mode pooler; migrations need a direct "
                                     "connection (a session advisory lock does not survive transaction pooling)",
                                     db.config().name),
                         ErrorContext{.operation = "migrate", .hint = "pass a direct URL (the server's own port)",
                                      .database = db.config().name});
  auto ex = co_await asio::this_coro::executor;
  // No prepared statements: until the pooler check below, this may be a pooler's connection,
  // whose server session can hold another client's statement names (42P05); and migrations
  // do not repeat statements.
  pg::ConnectOptions direct = db.config().connect_options();
  direct.statement_cache_size = 0;
  pg::Connection conn = co_await pg::Connection::connect(ex, std::move(direct));
  // A backend busy in a long statement notices a dead client only when it next talks to it;
  // this makes it check, so a killed run's lock and transaction go away promptly (F2).
  co_await conn.execute("SET client_connection_check_interval = '2s'");
  // Through a pooler (PgBouncer) the connection reports the pooler's own key, not the server
  // backend's pid: a session advisory lock could be held by a connection another client gets.
  pg::Result pid = co_await conn.execute("SELECT pg_backend_pid()");
  const int server_pid = pid.get<std::int32_t>(0, 0), reported_pid = conn.backend_pid();
  if (server_pid != reported_pid) {
    conn.close();
    throw MigrationError(fmt::format("database '{}' is reached through a connection pooler (the server's backend pid {} is "
                                     "not the {} the connection reports); migrations need a direct connection",
                                     db.config().name, server_pid, reported_pid),
                         ErrorContext{.operation = "migrate",
                                      .hint = "pass the server's own host and port (--database-url or MIGRATE_DATABASE_URL)",
                                      .database = db.config().name});
  }
  co_await conn.execute("SET application_name = 'matrx-orm migrate'");
  if (options.statement_timeout.count() > 0) {
    const std::string timeout = fmt::format("SET statement_timeout = {}", options.statement_timeout.count());
    co_await conn.execute(timeout);
  }
  co_return Session{std::move(conn), db.config().name};
}

asio::awaitable<void> take_lock(Session& s, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto key = pg::Params::of(lock_key);
  for (;;) {
    pg::Result r = co_await s.conn.execute("SELECT pg_try_advisory_lock($1)", key);
    if (r.get<bool>(0, 0)) {
      s.locked = true;
      co_return;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
    co_await t.async_wait(asio::use_awaitable);
  }
  pg::Result holder = co_await s.conn.execute(
      "SELECT a.pid, coalesce(a.application_name, ''), a.backend_start::text FROM pg_locks l "
      "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
      // Advisory locks belong to a database: a run elsewhere on the server holds another lock.
      "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.objsubid = 1 "
      "AND l.classid = (($1 >> 32) & 4294967295)::oid AND l.objid = ($1 & 4294967295)::oid",
      key);
  std::string who = "unknown";
  if (holder.rows() > 0)
    who = fmt::format("pid {} ({}), connected since {}", holder.get<std::int32_t>(0, 0), holder.get<std::string>(0, 1),
                      holder.get<std::string>(0, 2));
  throw MigrationLockTimeout(fmt::format("another migration run holds the lock after {} ms: {}", timeout.count(), who),
                       ErrorContext{.operation = "migrate", .detail = "lock timeout",
                                    .hint = "wait for it to finish, or raise the lock timeout", .database = s.database});
}

asio::awaitable<void> release_lock(Session& s) noexcept {
  try {
    const auto key = pg::Params::of(lock_key);  // named: no temporaries inside co_await (g++ 12)
    if (s.locked && !s.conn.is_broken()) co_await s.conn.execute("SELECT pg_advisory_unlock($1)", key);
  } catch (...) {
    // The session ends right after: the server drops the lock with it.
  }
  s.conn.close();
}

asio::awaitable<std::vector<AppliedMigration>> read_state(Session& s) {
  co_await s.conn.execute(fmt::format("CREATE TABLE IF NOT EXISTS {} (id serial PRIMARY KEY, name varchar(255) NOT NULL UNIQUE, "
                                      "applied_at timestamptz NOT NULL DEFAULT now(), checksum varchar(64) NOT NULL)",
                                      state_table));
  pg::Result r = co_await s.conn.execute(fmt::format("SELECT name, applied_at::text, checksum FROM {} ORDER BY id", state_table));
  std::vector<AppliedMigration> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.get<std::string>(i, 0), r.get<std::string>(i, 1), r.get<std::string>(i, 2)});
  co_return out;
}

MigrationStatus compare(const std::vector<AppliedMigration>& applied, const std::vector<MigrationFile>& files) {
  MigrationStatus st;
  st.applied = applied;
  std::map<std::string, const MigrationFile*> by_name;
  for (const auto& f : files) by_name[f.name] = &f;
  std::map<std::string, bool> done;
  for (const auto& a : applied) {
    done[a.name] = true;
    auto it = by_name.find(a.name);
    if (a.checksum == dirty_marker) st.dirty.push_back(a.name);
    else if (it == by_name.end()) st.missing.push_back(a.name);
    else if (it->second->checksum != a.checksum) st.changed.push_back(a.name);
  }
  for (const auto* f : dependency_order(files))
    if (!done.count(f->name)) st.pending.push_back(f->name);
  return st;
}

void refuse_drift(const MigrationStatus& st, const std::vector<MigrationFile>& files, const std::string& database) {
  if (!st.dirty.empty())
    throw MigrationDirtyError(
        fmt::format("{}.sql ran outside a transaction and did not finish: the database may hold part of it", st.dirty.front()),
        ErrorContext{.operation = "migrate", .detail = "dirty migration",
                     .hint = fmt::format("inspect the database (an INVALID index left by CREATE INDEX CONCURRENTLY?), repair "
                                         "it, then run `matrx-orm resolve --name {} --applied` or `--rolled-back`",
                                         st.dirty.front()),
                     .database = database});
  if (!st.changed.empty()) {
    const std::string& name = st.changed.front();
    const auto file = std::find_if(files.begin(), files.end(), [&](const auto& f) { return f.name == name; });
    const auto stored = std::find_if(st.applied.begin(), st.applied.end(), [&](const auto& a) { return a.name == name; });
    std::string hint = "restore the applied file, and put the change in a new migration";
    if (file->crlf)
      hint = "the file has CRLF line endings: if only line endings changed, restore LF (.gitattributes: *.sql eol=lf)";
    throw MigrationChecksumError(fmt::format("{}.sql was changed after it was applied: stored checksum {}, file checksum {}", name,
                                     stored->checksum, file->checksum),
                         ErrorContext{.operation = "migrate", .detail = "checksum mismatch", .hint = hint, .database = database});
  }
  if (!st.missing.empty())
    throw MigrationChecksumError(fmt::format("{}.sql was applied but is not in the migrations directory", st.missing.front()),
                         ErrorContext{.operation = "migrate", .detail = "missing file", .database = database});
}

// Runs a script statement by statement; a failure names the file and the statement.
// `first_line` is the file's line where the section starts, so that lines name the file's.
asio::awaitable<void> run_script(Session& s, const std::string& file, const std::string& script, int first_line) {
  const auto statements = split_script(script, file + ".sql", first_line);
  for (std::size_t i = 0; i < statements.size(); ++i) {
    try {
      co_await s.conn.execute(statements[i].sql);
    } catch (OrmError& e) {
      throw MigrationError(fmt::format("{}.sql failed at statement {} (line {}): {}", file, i + 1,
                                       statements[i].line, e.message()),
                           ErrorContext{.operation = "migrate", .sql = statements[i].sql, .sqlstate = e.context().sqlstate,
                                        .constraint = e.context().constraint, .detail = e.context().detail,
                                        .hint = e.context().hint, .database = s.database});
    }
  }
}

asio::awaitable<void> in_transaction(Session& s, bool transactional, const std::function<asio::awaitable<void>()>& body) {
  if (!transactional) {
    co_await body();
    co_return;
  }
  co_await s.conn.execute("BEGIN");
  std::exception_ptr failure;
  try {
    co_await body();
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    try {
      co_await s.conn.execute("ROLLBACK");
    } catch (...) {
    }
    std::rethrow_exception(failure);
  }
  co_await s.conn.execute("COMMIT");
}
}  // namespace

nlohmann::json MigrationStatus::to_json() const {
  nlohmann::json j;
  j["applied"] = nlohmann::json::array();
  for (const auto& a : applied) j["applied"].push_back({{"name", a.name}, {"applied_at", a.applied_at}, {"checksum", a.checksum}});
  j["pending"] = pending;
  j["changed"] = changed;
  j["missing"] = missing;
  j["dirty"] = dirty;
  return j;
}

asio::awaitable<std::vector<std::string>> apply_migrations(RunOptions options) {
  const auto files = load_migrations(options.dir);
  if (options.target && std::none_of(files.begin(), files.end(), [&](const auto& f) { return f.name == *options.target; }))
    throw MigrationError(fmt::format("no migration named {}", *options.target), ErrorContext{.operation = "migrate"});
  Session s = co_await open_session(options);
  std::vector<std::string> applied_now;
  std::exception_ptr failure;
  try {
    co_await take_lock(s, options.lock_timeout);
    const MigrationStatus st = compare(co_await read_state(s), files);  // read after the lock
    refuse_drift(st, files, s.database);
    std::map<std::string, const MigrationFile*> by_name;
    for (const auto& f : files) by_name[f.name] = &f;
    if (options.strict && !st.applied.empty()) {
      std::string latest;
      for (const auto& a : st.applied) latest = std::max(latest, a.name);
      for (const auto& name : st.pending)
        if (name < latest)
          throw MigrationError(fmt::format("{} is pending but sorts before {}, which is applied (--strict)", name, latest),
                               ErrorContext{.operation = "migrate", .detail = "out of order",
                                            .hint = "renumber it after the latest applied migration", .database = s.database});
    }
    for (const auto& name : st.pending) {
      const MigrationFile& f = *by_name.at(name);
      const auto started = std::chrono::steady_clock::now();
      if (f.no_transaction) {
        // Recorded as dirty first: a failure midway leaves the mark, and later runs stop (F4).
        const auto mark = pg::Params::of(f.name, std::string(dirty_marker));
        co_await s.conn.execute(fmt::format("INSERT INTO {} (name, checksum) VALUES ($1, $2)", state_table), mark);
        co_await run_script(s, f.name, f.up, f.up_line);
        const auto done = pg::Params::of(f.name, f.checksum);
        co_await s.conn.execute(fmt::format("UPDATE {} SET checksum = $2, applied_at = now() WHERE name = $1", state_table),
                                done);
      } else {
        const std::function<asio::awaitable<void>()> body = [&]() -> asio::awaitable<void> {
          co_await run_script(s, f.name, f.up, f.up_line);
          const auto row = pg::Params::of(f.name, f.checksum);
          co_await s.conn.execute(fmt::format("INSERT INTO {} (name, checksum) VALUES ($1, $2)", state_table), row);
        };
        co_await in_transaction(s, true, body);
      }
      applied_now.push_back(name);
      if (options.on_done)
        options.on_done(name, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started));
      if (options.target && name == *options.target) break;
    }
  } catch (...) {
    failure = std::current_exception();
  }
  co_await release_lock(s);
  if (failure) std::rethrow_exception(failure);
  co_return applied_now;
}

asio::awaitable<std::vector<std::string>> rollback_migrations(RunOptions options, int steps) {
  const auto files = load_migrations(options.dir);
  Session s = co_await open_session(options);
  std::vector<std::string> rolled_back;
  std::exception_ptr failure;
  try {
    co_await take_lock(s, options.lock_timeout);
    const auto applied = co_await read_state(s);
    refuse_drift(compare(applied, files), files, s.database);
    std::map<std::string, const MigrationFile*> by_name;
    for (const auto& f : files) by_name[f.name] = &f;
    for (int i = 0; i < steps && i < static_cast<int>(applied.size()); ++i) {
      const AppliedMigration& a = applied[applied.size() - 1 - static_cast<std::size_t>(i)];
      auto it = by_name.find(a.name);
      if (it == by_name.end())
        throw MigrationError(fmt::format("cannot roll back {}: its file is not in the migrations directory", a.name),
                             ErrorContext{.operation = "rollback", .database = s.database});
      const MigrationFile& f = *it->second;
      if (!f.down)
        throw MigrationError(fmt::format("{}.sql has no \"-- +down\" section: it cannot be rolled back", f.name),
                             ErrorContext{.operation = "rollback", .hint = "add a -- +down section", .database = s.database});
      const std::function<asio::awaitable<void>()> body = [&]() -> asio::awaitable<void> {
        co_await run_script(s, f.name, *f.down, f.down_line);
        const auto row = pg::Params::of(f.name);
        co_await s.conn.execute(fmt::format("DELETE FROM {} WHERE name = $1", state_table), row);
      };
      const auto started = std::chrono::steady_clock::now();
      co_await in_transaction(s, !f.no_transaction, body);
      rolled_back.push_back(f.name);
      if (options.on_done)
        options.on_done(f.name, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started));
    }
  } catch (...) {
    failure = std::current_exception();
  }
  co_await release_lock(s);
  if (failure) std::rethrow_exception(failure);
  co_return rolled_back;
}

asio::awaitable<MigrationStatus> migration_status(RunOptions options) {
  const auto files = load_migrations(options.dir);
  Session s = co_await open_session(options);
  std::exception_ptr failure;
  MigrationStatus st;
  try {
    st = compare(co_await read_state(s), files);
  } catch (...) {
    failure = std::current_exception();
  }
  s.conn.close();
  if (failure) std::rethrow_exception(failure);
  co_return st;
}

asio::awaitable<void> resolve_dirty(RunOptions options, std::string name, bool applied) {
  const auto files = load_migrations(options.dir);
  const auto file = std::find_if(files.begin(), files.end(), [&](const auto& f) { return f.name == name; });
  if (applied && file == files.end())
    throw MigrationError(fmt::format("no migration named {}", name), ErrorContext{.operation = "resolve"});
  Session s = co_await open_session(options);
  std::exception_ptr failure;
  try {
    co_await take_lock(s, options.lock_timeout);
    const auto state = co_await read_state(s);
    const bool dirty = std::any_of(state.begin(), state.end(),
                                   [&](const AppliedMigration& a) { return a.name == name && a.checksum == dirty_marker; });
    if (!dirty)
      throw MigrationError(fmt::format("{} is not marked dirty", name),
                           ErrorContext{.operation = "resolve", .hint = "`matrx-orm status` lists dirty migrations"});
    if (applied) {
      const auto row = pg::Params::of(name, file->checksum);
      co_await s.conn.execute(fmt::format("UPDATE {} SET checksum = $2 WHERE name = $1", state_table), row);
    } else {
      const auto row = pg::Params::of(name);
      co_await s.conn.execute(fmt::format("DELETE FROM {} WHERE name = $1", state_table), row);
    }
  } catch (...) {
    failure = std::current_exception();
  }
  co_await release_lock(s);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace matrx::orm::migrate
