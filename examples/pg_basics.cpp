// The pg layer on its own: a pooled connection, parameterized queries, typed results,
// SQLSTATE-mapped errors and a query raced against a timer.
// Run with `./run.sh example` (throwaway PostgreSQL) or with DATABASE_URL set.
#include <cstdlib>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "matrx/orm.hpp"

namespace asio = boost::asio;
namespace orm = matrx::orm;
namespace pg = matrx::orm::pg;
using namespace boost::asio::experimental::awaitable_operators;

// [readme-begin]
asio::awaitable<void> run() {
  auto conn = co_await pg::database("main").acquire();

  co_await conn->execute("CREATE TEMP TABLE users (id bigserial PRIMARY KEY, username text NOT NULL UNIQUE, "
                         "age int NOT NULL, tags text[] NOT NULL DEFAULT '{}', meta jsonb)");
  const char* names[] = {"alice", "bob", "carol"};
  for (int i = 0; i < 3; ++i) {
    auto params = pg::Params::of(std::string(names[i]), 30 + i, std::vector<std::string>{"x", names[i]},
                                 nlohmann::json{{"n", i}});
    co_await conn->execute("INSERT INTO users (username, age, tags, meta) VALUES ($1, $2, $3, $4)", params);
  }

  auto min_age = pg::Params::of(31);
  pg::Result rows = co_await conn->execute("SELECT id, username, age, tags, meta FROM users WHERE age >= $1 ORDER BY id", min_age);
  for (auto row : rows)
    std::cout << fmt::format("user {} {} age={} tags={} meta={}\n", row.get<std::int64_t>("id"),
                             row.get<std::string>("username"), row.get<std::int32_t>("age"),
                             fmt::join(row.get<std::vector<std::string>>("tags"), ","),
                             row.get<nlohmann::json>("meta").dump());

  // A unique violation becomes an IntegrityError naming the constraint.
  try {
    auto dup = pg::Params::of(std::string("alice"), 99);
    co_await conn->execute("INSERT INTO users (username, age) VALUES ($1, $2)", dup);
  } catch (const orm::IntegrityError& e) {
    std::cout << "duplicate rejected: constraint " << e.context().constraint << " (SQLSTATE " << e.context().sqlstate << ")\n";
  }

  // A query raced against a timer: the timer wins and the server cancels the query.
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
  auto outcome = co_await (conn->execute("SELECT pg_sleep(10)") || timer.async_wait(asio::use_awaitable));
  std::cout << "slow query " << (outcome.index() == 1 ? "timed out after 100 ms" : "finished") << "\n";

  pg::Result count = co_await conn->execute("SELECT count(*) FROM users");
  std::cout << "users: " << count.get<std::int64_t>(0, 0) << "\n";
}
// [readme-end]

int main() {
  const char* url = std::getenv("DATABASE_URL");
  pg::DatabaseConfig config = url ? pg::DatabaseConfig::from_url("main", url) : pg::DatabaseConfig{.name = "main"};
  config.name = "main";
  pg::register_database(config);
  std::cout << "database: " << config.describe() << "\n";

  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, run(), [&](std::exception_ptr e) {
    failure = e;
    // Pooled connections keep watching their sockets; closing the pools lets run() return.
    pg::close_all_databases();
  });
  io.run();
  if (failure) {
    try { std::rethrow_exception(failure); } catch (const std::exception& e) { std::cerr << e.what() << "\n"; }
    return 1;
  }
  std::cout << "pg_basics OK\n";
  return 0;
}
