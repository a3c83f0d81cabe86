#include "matrx/orm/model/execute.hpp"

#include <atomic>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/model/transaction.hpp"
#include "matrx/orm/pg/database.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>

namespace asio = boost::asio;

namespace matrx::orm::detail {

namespace {
pg::Database& database_for(const ModelInfo& model, std::string_view override_name) {
  if (!override_name.empty()) return pg::database(override_name);
  if (!model.database.empty()) return pg::database(model.database);
  return pg::default_database();
}
}  // namespace

namespace {
std::atomic<std::uint64_t> statement_counter{0};
}  // namespace

std::uint64_t statements_executed() noexcept { return statement_counter.load(std::memory_order_relaxed); }

// Inside orm::transaction on the same database the statement uses the transaction's
// connection; otherwise a pooled one. Statements the ORM compiled are single autocommit
// statements: they may share a connection with concurrent ones (pipelined). Raw SQL may
// be BEGIN or SET, so it gets a connection of its own.
enum class Sharing { shared, exclusive };

struct StatementContext {
  const ModelInfo* model = nullptr;  // null: run_sql (no model)
  std::string_view operation{};
  std::string_view database{};  // overrides the model's when not empty
  pg::Format format = pg::Format::binary;
  Sharing sharing = Sharing::shared;
  std::chrono::milliseconds timeout{0};  // 0: the database's statement_timeout
};

// One coroutine frame for the whole path (the wrappers below are plain functions): each
// frame the hot path avoids is an allocation Asio's two-slot frame cache would miss.
asio::awaitable<pg::Result> execute_statement(const Statement& statement, StatementContext ctx) {
  if (ctx.model && ctx.model->text_results) ctx.format = pg::Format::text;  // a field has no binary codec
  try {
    pg::Database& db = ctx.model ? database_for(*ctx.model, ctx.database)
                                 : ctx.database.empty() ? pg::default_database() : pg::database(ctx.database);
    statement_counter.fetch_add(1, std::memory_order_relaxed);
    const auto ex = co_await asio::this_coro::executor;
    if (TransactionContext* tx = current_transaction(ex); tx && tx->database == db.config().name) {
      if (tx->finished)
        throw TransactionError("the transaction has already finished", ErrorContext{.database = tx->database});
      co_return co_await execute_in(*tx, statement.sql, statement.params, ctx.format, ctx.timeout);
    }
    pg::Pool& pool = db.pool(ex);
    try {
      if (ctx.sharing == Sharing::shared) {
        if (auto ready = pool.try_acquire_shared())
          co_return co_await (*ready)->execute(statement.sql, statement.params, ctx.format, ctx.timeout);
        auto conn = co_await pool.acquire_shared();
        co_return co_await conn->execute(statement.sql, statement.params, ctx.format, ctx.timeout);
      }
      auto conn = co_await pool.acquire();
      co_return co_await conn->execute(statement.sql, statement.params, ctx.format, ctx.timeout);
    } catch (OrmError& e) {
      e.enrich_database(db.config().name);
      throw;
    }
  } catch (OrmError& e) {
    if (ctx.model) e.enrich_model(ctx.model->name);
    e.enrich_operation(std::string(ctx.operation)).enrich_sql(statement.sql, statement.params.render());
    throw;
  }
}

asio::awaitable<pg::Result> run_statement(const ModelInfo& model, const Statement& statement,
                                          std::string_view operation, std::string_view database,
                                          std::chrono::milliseconds timeout) {
  return execute_statement(statement,
                           StatementContext{.model = &model, .operation = operation, .database = database, .timeout = timeout});
}

asio::awaitable<pg::Result> run_user_statement(const ModelInfo& model, const Statement& statement,
                                               std::string_view operation) {
  return execute_statement(statement,
                           StatementContext{.model = &model, .operation = operation, .sharing = Sharing::exclusive});
}

asio::awaitable<pg::Result> run_statement_text(const ModelInfo& model, const Statement& statement,
                                               std::string_view operation, std::string_view database,
                                               std::chrono::milliseconds timeout) {
  return execute_statement(statement, StatementContext{.model = &model, .operation = operation, .database = database,
                                                       .format = pg::Format::text, .timeout = timeout});
}

nlohmann::json json_of_column(const pg::Result& r, int row, int column) {
  if (r.is_null(row, column)) return nullptr;
  const auto text = r.get<std::string>(row, column);
  switch (r.column_type(column)) {
    case pg::oid::int2: case pg::oid::int4: case pg::oid::int8: return std::stoll(text);
    case pg::oid::float4: case pg::oid::float8: return pg::Codec<double>::from_text(text, pg::oid::float8);
    case pg::oid::bool_: return text == "t";
    case pg::oid::json: case pg::oid::jsonb: return nlohmann::json::parse(text);
    default: return text;  // numeric stays exact; dates and others in their text form
  }
}

pg::Format result_format(const ModelInfo& model) noexcept {
  return model.text_results ? pg::Format::text : pg::Format::binary;
}

asio::awaitable<pg::Result> run_sql(std::string_view database, const Statement& statement, std::string_view operation) {
  return execute_statement(statement,
                           StatementContext{.operation = operation, .database = database, .sharing = Sharing::exclusive});
}

asio::awaitable<std::vector<pg::Result>> run_in_transaction(const ModelInfo& model, const std::vector<Statement>& statements,
                                                            std::string_view operation) {
  std::vector<pg::Result> results;
  const pg::Format format = result_format(model);
  try {
    auto& db = database_for(model, std::string_view());
    if (TransactionContext* tx = current_transaction(co_await asio::this_coro::executor);
        tx && tx->database == db.config().name) {
      // Already atomic: the surrounding transaction covers every chunk.
      for (const auto& s : statements) results.push_back(co_await execute_in(*tx, s.sql, s.params, format));
      statement_counter.fetch_add(statements.size(), std::memory_order_relaxed);
      co_return results;
    }
    statement_counter.fetch_add(statements.size(), std::memory_order_relaxed);
    auto conn = co_await db.acquire();
    if (statements.size() == 1) {
      results.push_back(co_await conn->execute(statements[0].sql, statements[0].params, format));
      co_return results;
    }
    co_await conn->execute("BEGIN");
    // On an exception the pooled connection goes back inside the transaction and the pool
    // rolls it back before anyone else can use it.
    for (const auto& s : statements) results.push_back(co_await conn->execute(s.sql, s.params, format));
    co_await conn->execute("COMMIT");
  } catch (OrmError& e) {
    e.enrich_model(model.name).enrich_operation(std::string(operation));
    throw;
  }
  co_return results;
}

namespace {
// The decoding branch of stream_statement's pair (FETCH the next chunk, decode this one).
asio::awaitable<void> handle_chunk(const std::function<void(const pg::Result&)>& on_chunk, const pg::Result& chunk) {
  on_chunk(chunk);
  co_return;
}
}  // namespace

asio::awaitable<std::uint64_t> stream_statement(const ModelInfo& model, const Statement& statement, std::size_t chunk_rows,
                                                std::function<void(const pg::Result&)> on_chunk,
                                                std::string_view operation, std::string_view database,
                                                std::chrono::milliseconds timeout) {
  static std::atomic<std::uint64_t> cursors{0};
  if (chunk_rows == 0) throw QueryError("a stream needs a chunk size of at least one row", ErrorContext{.model = model.name});
  const std::string cursor = "matrx_stream_" + std::to_string(cursors.fetch_add(1) + 1);
  const std::string declare = "DECLARE " + cursor + " NO SCROLL CURSOR FOR " + statement.sql;
  const std::string fetch = "FETCH FORWARD " + std::to_string(chunk_rows) + " FROM " + cursor;
  const std::string close = "CLOSE " + cursor;
  std::uint64_t rows = 0;
  try {
    auto& db = database_for(model, database);
    TransactionContext* tx = current_transaction(co_await asio::this_coro::executor);
    std::optional<pg::PooledConnection> own;
    pg::Connection* conn = nullptr;
    if (tx && tx->database == db.config().name) {
      tx->check_usable();
      conn = &*tx->connection;
    } else {
      own.emplace(co_await db.acquire());
      conn = &**own;
      // An exception leaves the connection inside the transaction: the pool rolls it back.
      co_await conn->execute("BEGIN");
    }
    const pg::Params no_params;
    co_await conn->execute(declare, statement.params, pg::Format::binary, timeout);
    statement_counter.fetch_add(1, std::memory_order_relaxed);
    // One FETCH ahead: the next chunk is on the wire while this one is decoded, so the
    // server reads rows while the client hydrates them (W7, docs/performance.md). At most
    // two chunks are held at once. Both branches always finish: an exception from on_chunk
    // waits for the FETCH instead of cancelling it, so a caller's transaction stays usable.
    const auto executor = co_await asio::this_coro::executor;
    const pg::Format format = result_format(model);
    pg::Result chunk = co_await conn->execute(fetch, no_params, format, timeout);
    while (chunk.rows() > 0) {
      rows += static_cast<std::uint64_t>(chunk.rows());
      if (static_cast<std::size_t>(chunk.rows()) < chunk_rows) {  // a short chunk is the last: nothing to fetch ahead
        on_chunk(chunk);
        break;
      }
      auto [order, fetch_error, next, chunk_error] =
          co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, conn->execute(fetch, no_params, format, timeout), asio::deferred),
                                                           asio::co_spawn(executor, handle_chunk(on_chunk, chunk), asio::deferred))
              .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
      if (chunk_error) std::rethrow_exception(chunk_error);
      if (fetch_error) std::rethrow_exception(fetch_error);
      chunk = std::move(next);
    }
    co_await conn->execute(close);
    if (own) co_await conn->execute("COMMIT");
  } catch (OrmError& e) {
    e.enrich_model(model.name).enrich_operation(std::string(operation)).enrich_sql(statement.sql, statement.params.render());
    throw;
  }
  co_return rows;
}

bool expect_single_row(const pg::Result& r, const ModelInfo& model, const Statement& statement, bool or_none) {
  if (r.rows() == 1) return true;
  if (r.rows() == 0 && or_none) return false;
  ErrorContext ctx{.model = model.name, .operation = "get", .sql = statement.sql, .params = statement.params.render()};
  if (r.rows() == 0) throw DoesNotExist(fmt::format("no {} matches the filters", model.name), std::move(ctx));
  throw MultipleObjectsReturned(fmt::format("more than one {} matches the filters", model.name), std::move(ctx));
}

std::size_t utf8_length(std::string_view text) noexcept {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace matrx::orm::detail
