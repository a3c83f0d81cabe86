#include "db_fixture.hpp"

#include <unistd.h>

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

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace test
