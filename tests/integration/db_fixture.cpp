#include "db_fixture.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace test {

pg::ConnectOptions db_options() {
  if (!std::getenv("PGHOST") && !std::getenv("DATABASE_URL"))
    throw std::runtime_error("integration tests need the throwaway server: run them with ./run.sh test");
  return pg::ConnectOptions{};
}

void run(std::function<asio::awaitable<void>()> body, std::chrono::seconds limit) {
  asio::io_context io;
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) io.run_for(std::chrono::milliseconds(50));
  if (!done) FAIL("the test coroutine did not finish in time");
  // Pools created on this io_context must close while it still runs.
  pg::close_all_databases();
  io.run_for(std::chrono::milliseconds(50));
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

SchemaDatabase::SchemaDatabase(std::string prefix) {
  static int counter = 0;
  schema = fmt::format("{}_{}_{}", prefix, ::getpid(), ++counter);
  run([this]() -> asio::awaitable<void> {
    auto c = co_await pg::Connection::connect(db_options());
    co_await c.execute(fmt::format("CREATE SCHEMA {}", schema));
  });
  pg::DatabaseConfig config{.name = "default"};
  config.url = fmt::format("options='-c search_path={},public'", schema);  // public: extension types
  pg::register_database(config);
}

SchemaDatabase::~SchemaDatabase() {
  pg::unregister_database("default");
  try {
    run([this]() -> asio::awaitable<void> {
      auto c = co_await pg::Connection::connect(db_options());
      co_await c.execute(fmt::format("DROP SCHEMA {} CASCADE", schema));
    });
  } catch (...) {
  }
}

asio::awaitable<void> SchemaDatabase::execute(std::string sql) {
  auto c = co_await pg::database("default").acquire();
  co_await c->execute(sql);
}

FreshDatabase::FreshDatabase(std::string prefix, std::string registered)
    : registered_as(std::move(registered)) {
  static int counter = 0;
  name = fmt::format("{}_{}_{}", prefix, ::getpid(), ++counter);
  run([this]() -> asio::awaitable<void> {
    auto c = co_await pg::Connection::connect(db_options());
    co_await c.execute(fmt::format("CREATE DATABASE {}", name));
  });
  pg::DatabaseConfig config{.name = registered_as};
  config.database_name = name;
  pg::register_database(config);
  run([this]() -> asio::awaitable<void> { co_await execute("CREATE EXTENSION IF NOT EXISTS vector"); });
}

FreshDatabase::~FreshDatabase() {
  pg::unregister_database(registered_as);
  try {
    run([this]() -> asio::awaitable<void> {
      auto c = co_await pg::Connection::connect(db_options());
      co_await c.execute(fmt::format("DROP DATABASE {} WITH (FORCE)", name));
    });
  } catch (...) {
  }
}

asio::awaitable<void> FreshDatabase::execute(std::string sql) {
  auto options = pg::database(registered_as).config().connect_options();
  auto c = co_await pg::Connection::connect(options);
  co_await c.execute(sql);
}

std::string FreshDatabase::dump_schema() const {
  const std::string command = fmt::format("pg_dump --schema-only --no-owner --no-privileges --dbname={} 2>&1", name);
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run pg_dump");
  std::string out, line;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) {
    line = buffer;
    if (line.starts_with("--") || line == "\n" || line.starts_with("SET ") || line.starts_with("\\restrict") || line.starts_with("\\unrestrict") || line.starts_with("SELECT pg_catalog.set_config"))
      continue;
    out += line;
  }
  if (::pclose(pipe) != 0) throw std::runtime_error("pg_dump failed: " + out);
  return out;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace test
