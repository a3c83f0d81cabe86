// Helpers for tests against the throwaway server that `run.sh test` starts (PG* set).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "matrx/orm.hpp"

namespace test {

namespace asio = boost::asio;
namespace pg = matrx::orm::pg;

/// Connect options for the test server: libpq defaults from PGHOST/PGPORT/PGUSER/PGDATABASE.
pg::ConnectOptions db_options();

/// Runs `body` on a fresh io_context until it completes; rethrows its exception.
/// Fails the test if it has not finished within `limit`.
void run(std::function<asio::awaitable<void>()> body, std::chrono::seconds limit = std::chrono::seconds(60));

/// Suspends the calling coroutine.
asio::awaitable<void> sleep_for(std::chrono::milliseconds duration);

/// Milliseconds elapsed since `start`.
double ms_since(std::chrono::steady_clock::time_point start);

}  // namespace test
