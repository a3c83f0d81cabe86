#include "db_fixture.hpp"

#include <cstdlib>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

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
  // Let connection closes and pool resets posted by the body run to completion.
  io.run_for(std::chrono::milliseconds(20));
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace test
