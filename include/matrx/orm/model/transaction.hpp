// orm::transaction: run a coroutine inside a database transaction.
//
//   co_await orm::transaction(transfer(from, to, amount));
//
// Every ORM operation inside — also in coroutines it calls or spawns with its executor —
// runs on the transaction's connection (the body runs on an executor that carries the
// transaction). The body returning commits; an exception rolls back and is rethrown. A
// nested transaction() is a SAVEPOINT: its exception rolls back exactly that level. A COMMIT
// that the server turns into a ROLLBACK (the transaction had failed) throws TransactionError;
// a connection lost during COMMIT, or a COMMIT whose wait was cancelled, throws
// CommitOutcomeUnknown. A statement abandoned inside the transaction (its caller cancelled,
// e.g. by a timer) may still run on the server: from then on the transaction can only roll
// back — later statements and the COMMIT throw TransactionError, and nothing is stored.
// Concurrent queries on one transaction are pipelined on its connection, in order.
#pragma once

#include <exception>
#include <functional>
#include <vector>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/pool.hpp"

namespace matrx::orm {

namespace detail {
struct TransactionContext {
  pg::PooledConnection connection;
  std::string database;  // registered name
  int depth = 0;
  int savepoints = 0;
  bool finished = false;
  /// The first statement of this transaction whose caller stopped waiting for it (a timer
  /// won, the coroutine was cancelled). It may still run on the server, so the transaction
  /// can only roll back: every later statement and the COMMIT throw TransactionError.
  std::string abandoned{};
  /// Throws abandoned_error() when a statement was abandoned (see `abandoned`).
  void check_usable() const;
  /// The TransactionError that refuses further work after an abandoned statement.
  TransactionError abandoned_error() const;
  /// Run once the transaction has ended, committed or not (cache evictions: a value read
  /// outside the transaction while it ran may be stale after its commit).
  std::vector<std::function<void()>> on_end{};
  void run_on_end() noexcept {
    for (auto& f : on_end) f();
    on_end.clear();
  }
};
using TransactionPtr = std::shared_ptr<TransactionContext>;

/// The transaction the calling coroutine runs in, or null.
TransactionContext* current_transaction(const boost::asio::any_io_executor& ex) noexcept;
/// An executor that runs on `inner` and carries `tx`.
boost::asio::any_io_executor transaction_executor(boost::asio::any_io_executor inner, TransactionPtr tx);

boost::asio::awaitable<TransactionPtr> begin_transaction(std::string database);
/// Runs one statement on the transaction's connection: TransactionError when an earlier one
/// was abandoned; a caller that stops waiting (operation_aborted) marks it abandoned.
boost::asio::awaitable<pg::Result> execute_in(TransactionContext& tx, std::string_view sql, const pg::Params& params,
                                              pg::Format format, std::chrono::milliseconds timeout = {});
boost::asio::awaitable<void> commit_transaction(TransactionPtr tx);
boost::asio::awaitable<void> rollback_transaction(TransactionPtr tx) noexcept;
boost::asio::awaitable<std::string> create_savepoint(TransactionContext& tx);
boost::asio::awaitable<void> release_savepoint(TransactionContext& tx, const std::string& name);
boost::asio::awaitable<void> rollback_to_savepoint(TransactionContext& tx, const std::string& name) noexcept;
}  // namespace detail

/// Runs `body` in a transaction on `database` (default: the first registered database; a
/// nested call on the same database makes a savepoint). Returns what the body returns.
template <class T>
boost::asio::awaitable<T> transaction(boost::asio::awaitable<T> body, std::string database = {}) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  detail::TransactionContext* outer = detail::current_transaction(ex);
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<T>, int, T>> result;

  if (outer && !outer->finished && (database.empty() || database == outer->database)) {
    ++outer->depth;
    const std::string savepoint = co_await detail::create_savepoint(*outer);
    try {
      if constexpr (std::is_void_v<T>) { co_await std::move(body); result.emplace(0); }
      else result.emplace(co_await std::move(body));
    } catch (...) {
      error = std::current_exception();
    }
    --outer->depth;
    if (error) {
      co_await detail::rollback_to_savepoint(*outer, savepoint);
      std::rethrow_exception(error);
    }
    co_await detail::release_savepoint(*outer, savepoint);
  } else {
    detail::TransactionPtr tx = co_await detail::begin_transaction(std::move(database));
    try {
      auto tx_ex = detail::transaction_executor(ex, tx);
      if constexpr (std::is_void_v<T>) {
        co_await asio::co_spawn(tx_ex, std::move(body), asio::use_awaitable);
        result.emplace(0);
      } else {
        result.emplace(co_await asio::co_spawn(tx_ex, std::move(body), asio::use_awaitable));
      }
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      co_await detail::rollback_transaction(tx);
      std::rethrow_exception(error);
    }
    co_await detail::commit_transaction(tx);
  }
  if constexpr (!std::is_void_v<T>) co_return std::move(*result);
}

}  // namespace matrx::orm
