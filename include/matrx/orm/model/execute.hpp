// Running a compiled statement for a model: picks the model's database (or the default),
// acquires a pooled connection and adds model and operation to any error.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "matrx/orm/meta/field_info.hpp"
#include "matrx/orm/pg/result.hpp"
#include "matrx/orm/query/compiler.hpp"

namespace matrx::orm::detail {

/// The result format the model's rows are read in: text when a field has no binary codec
/// (orm::text_results), else binary.
pg::Format result_format(const ModelInfo& model) noexcept;

/// `database` overrides the model's database when not empty (QuerySet::using_database);
/// `timeout` the database's statement_timeout when positive (QuerySet::timeout).
boost::asio::awaitable<pg::Result> run_statement(const ModelInfo& model, const Statement& statement,
                                                  std::string_view operation, std::string_view database = {},
                                                  std::chrono::milliseconds timeout = {});

/// run_statement on a connection of its own, never shared with concurrent statements: for
/// SQL the ORM did not write (it may be BEGIN or SET).
boost::asio::awaitable<pg::Result> run_user_statement(const ModelInfo& model, const Statement& statement,
                                                       std::string_view operation);

/// run_statement with text-format results (for values whose type the caller does not know).
boost::asio::awaitable<pg::Result> run_statement_text(const ModelInfo& model, const Statement& statement,
                                                       std::string_view operation, std::string_view database = {},
                                                       std::chrono::milliseconds timeout = {});

/// A text-format result value as JSON by its column type: integers and floats as numbers,
/// numeric as an exact string, NULL as null.
nlohmann::json json_of_column(const pg::Result& r, int row, int column);

/// Runs SQL on a registered database (empty: the default), inside the calling coroutine's
/// transaction when it has one on that database.
boost::asio::awaitable<pg::Result> run_sql(std::string_view database, const Statement& statement, std::string_view operation);

/// The same for several statements on one connection inside one transaction (bulk writes
/// in chunks). Returns the results in order.
boost::asio::awaitable<std::vector<pg::Result>> run_in_transaction(const ModelInfo& model,
                                                                   const std::vector<Statement>& statements,
                                                                   std::string_view operation);

/// Runs `statement` as a server-side cursor (NO SCROLL, binary rows) and hands the rows to
/// `on_chunk` at most `chunk_rows` at a time, so memory stays bounded whatever the result's
/// size. Inside the caller's transaction on that database, or in one of its own on one pooled
/// connection. Returns the number of rows.
boost::asio::awaitable<std::uint64_t> stream_statement(const ModelInfo& model, const Statement& statement,
                                                       std::size_t chunk_rows,
                                                       std::function<void(const pg::Result&)> on_chunk,
                                                       std::string_view operation, std::string_view database = {},
                                                       std::chrono::milliseconds timeout = {});

/// get()'s check, out of line (one copy for every model): true when `r` has exactly one
/// row; false for none when `or_none`; otherwise DoesNotExist or MultipleObjectsReturned
/// with the model, the operation and the statement.
bool expect_single_row(const pg::Result& r, const ModelInfo& model, const Statement& statement, bool or_none);

/// Statements the ORM has sent since the process started (BEGIN/COMMIT not counted): tests
/// use it to prove eager loading costs a constant number of queries.
std::uint64_t statements_executed() noexcept;

/// Counts UTF-8 code points (what varchar(n) limits).
std::size_t utf8_length(std::string_view text) noexcept;

}  // namespace matrx::orm::detail
