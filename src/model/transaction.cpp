// Transactions: the context travels with the executor the body runs on (a thin wrapper
// around the caller's executor), so nested coroutines find it without extra arguments.
#include "matrx/orm/model/transaction.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/log.hpp"
#include "matrx/orm/pg/database.hpp"

namespace asio = boost::asio;

namespace matrx::orm::detail {

namespace {
// Forwards everything to the inner executor; only adds the transaction.
struct TxExecutor {
  asio::any_io_executor inner;
  TransactionPtr tx;

  template <class F>
  void execute(F&& f) const { inner.execute(std::forward<F>(f)); }
  // The properties any_io_executor needs, each forwarded to the inner executor.
  asio::execution_context& query(asio::execution::context_t) const noexcept {
    return asio::query(inner, asio::execution::context);
  }
  TxExecutor require(asio::execution::blocking_t::never_t p) const { return {asio::require(inner, p), tx}; }
  TxExecutor prefer(asio::execution::blocking_t::possibly_t p) const { return {asio::prefer(inner, p), tx}; }
  TxExecutor prefer(asio::execution::outstanding_work_t::tracked_t p) const { return {asio::prefer(inner, p), tx}; }
  TxExecutor prefer(asio::execution::outstanding_work_t::untracked_t p) const { return {asio::prefer(inner, p), tx}; }
  TxExecutor prefer(asio::execution::relationship_t::fork_t p) const { return {asio::prefer(inner, p), tx}; }
  TxExecutor prefer(asio::execution::relationship_t::continuation_t p) const { return {asio::prefer(inner, p), tx}; }
  friend bool operator==(const TxExecutor& a, const TxExecutor& b) noexcept { return a.inner == b.inner && a.tx == b.tx; }
};

std::string database_name(const std::string& requested) {
  return requested.empty() ? pg::default_database().config().name : pg::database(requested).config().name;
}
}  // namespace

void TransactionContext::check_usable() const {
  if (!abandoned.empty()) throw abandoned_error();
}

TransactionError TransactionContext::abandoned_error() const {
  return TransactionError("a statement of this transaction was abandoned while it ran, so the transaction can only roll "
                         "back; nothing of it will be stored",
                         ErrorContext{.operation = "transaction", .sql = abandoned,
                                      .hint = "let the cancellation end the transaction body, then run the transaction "
                                              "again (the abandoned statement may still have run on the server)",
                                      .database = database});
}

TransactionContext* current_transaction(const asio::any_io_executor& ex) noexcept {
  const TxExecutor* t = ex.target<TxExecutor>();
  return t ? t->tx.get() : nullptr;
}

asio::any_io_executor transaction_executor(asio::any_io_executor inner, TransactionPtr tx) {
  if (auto* already = inner.target<TxExecutor>()) inner = already->inner;  // never nest wrappers
  return asio::any_io_executor(TxExecutor{std::move(inner), std::move(tx)});
}

asio::awaitable<TransactionPtr> begin_transaction(std::string database) {
  auto tx = std::make_shared<TransactionContext>();
  tx->database = database_name(database);
  tx->connection = co_await pg::database(tx->database).acquire();
  co_await tx->connection->execute("BEGIN");
  co_return tx;
}

asio::awaitable<pg::Result> execute_in(TransactionContext& tx, std::string_view sql, const pg::Params& params,
                                       pg::Format format, std::chrono::milliseconds timeout) {
  tx.check_usable();
  try {
    co_return co_await tx.connection->execute(sql, params, format, timeout);
  } catch (const boost::system::system_error& e) {
    // The statement was sent and may still run: its transaction must not commit.
    if (e.code() == asio::error::operation_aborted && tx.abandoned.empty()) tx.abandoned = std::string(sql);
    throw;
  } catch (const StatementTimeoutError&) {
    if (tx.abandoned.empty()) tx.abandoned = std::string(sql);  // the same: abandoned at its deadline
    throw;
  }
}

asio::awaitable<void> commit_transaction(TransactionPtr tx) {
  if (!tx->abandoned.empty()) {  // never COMMIT what a cancelled statement may have done
    co_await rollback_transaction(tx);
    throw tx->abandoned_error();
  }
  if (auto lost = tx->connection->failure()) {
    // The session ended before COMMIT was sent (a statement saw it and the body went on):
    // the server rolled the transaction back, so the outcome is known.
    co_await rollback_transaction(tx);
    throw TransactionError(fmt::format("the connection was lost before COMMIT, so nothing was stored ({})", lost->message()),
                           ErrorContext{.operation = "commit", .sqlstate = lost->context().sqlstate,
                                        .hint = "a statement of the transaction failed with ConnectionError and the error was caught",
                                        .database = tx->database});
  }
  tx->finished = true;
  struct EndHooks {
    TransactionContext& tx;
    ~EndHooks() { tx.run_on_end(); }
  } hooks{*tx};
  pg::Result r;
  const auto unknown = [&](std::string why, std::string sqlstate) {
    tx->connection.release();  // the pool drains whatever is in flight before reuse
    return CommitOutcomeUnknown(
        std::move(why), ErrorContext{.operation = "commit", .sqlstate = std::move(sqlstate),
                                     .hint = "the outcome is unknown: check whether the changes were stored before retrying",
                                     .database = tx->database});
  };
  try {
    r = co_await tx->connection->execute("COMMIT");
  } catch (const ConnectionError& e) {
    throw unknown(fmt::format("the connection was lost during COMMIT: {}", e.message()), e.context().sqlstate);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;
    throw unknown("the wait for COMMIT was cancelled after COMMIT was sent", "");
  }
  tx->connection.release();
  if (r.command_tag() != "COMMIT")
    throw TransactionError("the transaction had failed: COMMIT was turned into ROLLBACK and nothing was stored",
                           ErrorContext{.operation = "commit",
                                        .hint = "an earlier statement failed inside the transaction and the error was caught",
                                        .database = tx->database});
}

asio::awaitable<void> rollback_transaction(TransactionPtr tx) noexcept {
  tx->finished = true;
  try {
    if (!tx->connection->is_broken()) co_await tx->connection->execute("ROLLBACK");
  } catch (const std::exception& e) {
    // The pool rolls back (or discards) the connection on return anyway.
    log(LogLevel::warning, fmt::format("ROLLBACK failed: {}", e.what()));
  }
  tx->connection.release();
  tx->run_on_end();
}

asio::awaitable<std::string> create_savepoint(TransactionContext& tx) {
  tx.check_usable();
  std::string name = fmt::format("matrx_sp_{}", ++tx.savepoints);
  co_await tx.connection->execute("SAVEPOINT " + name);
  co_return name;
}

asio::awaitable<void> release_savepoint(TransactionContext& tx, const std::string& name) {
  co_await tx.connection->execute("RELEASE SAVEPOINT " + name);
}

asio::awaitable<void> rollback_to_savepoint(TransactionContext& tx, const std::string& name) noexcept {
  try {
    co_await tx.connection->execute("ROLLBACK TO SAVEPOINT " + name);
    co_await tx.connection->execute("RELEASE SAVEPOINT " + name);
  } catch (const std::exception& e) {
    log(LogLevel::warning, fmt::format("ROLLBACK TO SAVEPOINT failed: {}", e.what()));
  }
}

}  // namespace matrx::orm::detail
