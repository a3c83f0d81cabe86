// bulk_create for any model, through the model's BulkOps: binary COPY when every column
// allows it and the batch is large enough, multi-row INSERT otherwise.
#include "matrx/orm/model/bulk_ops.hpp"

#include <algorithm>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/log.hpp"
#include "matrx/orm/model/crud.hpp"  // insert_head, column_map
#include "matrx/orm/model/execute.hpp"

namespace asio = boost::asio;

namespace matrx::orm::detail {

namespace {

void* object_at(const BulkOps& ops, void* objs, std::size_t i) { return static_cast<char*>(objs) + i * ops.stride; }

// One COPY's binary data for objects [start, end). Every 1,000 rows it lets the io_context
// run, so the COPY in flight keeps flowing to the server while this one is encoded.
asio::awaitable<void> encode_chunk(const BulkOps& ops, void* objs, std::size_t start, std::size_t end,
                                   const std::vector<bool>& included, const std::vector<CopyEncoding>& encoding,
                                   std::size_t columns, std::string& data) {
  constexpr std::size_t slice = 1'000;
  data.clear();
  begin_copy_data(data);
  for (std::size_t from = start; from < end; from += slice) {
    if (from != start) co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    for (std::size_t k = from; k < std::min(end, from + slice); ++k) {
      begin_copy_row(data, columns);
      ops.append_copy_row(data, object_at(ops, objs, k), included, encoding);
    }
  }
  end_copy_data(data);
}

// The COPY path; nullopt when a column cannot travel that way (the caller then INSERTs).
// See bulk_copy.hpp.
asio::awaitable<std::optional<std::size_t>> create_by_copy(const BulkOps& ops, void* objs, std::size_t n,
                                                          const BulkCreateOptions& options) {
  const ModelInfo& m = *ops.model;
  auto session = co_await CopySession::open(m);
  const auto table = co_await session->columns();

  std::vector<std::size_t> unset_counts(m.fields.size(), 0);
  ops.count_unset(objs, n, unset_counts);
  std::vector<bool> included(m.fields.size(), false);
  std::vector<CopyEncoding> encoding(m.fields.size(), CopyEncoding::unsupported);
  std::vector<std::size_t> cols, defaults;
  bool eligible = true;
  std::string why_not;  // for the debug log: why INSERT was used instead
  for (std::size_t i = 0; i < m.fields.size() && eligible; ++i) {
    const FieldInfo& info = m.fields[i];
    const std::size_t unset = unset_counts[i];
    if (!info.writable()) continue;  // generated: only the server writes it
    if (unset == n && !options.refresh) continue;  // the server fills the column itself
    eligible = false;
    const auto column = table.find(info.name);
    if (unset > 0 && !options.refresh)  // mixed: only INSERT's DEFAULT can do that per row
      why_not = fmt::format("some objects leave \"{}\" to its server default", info.name);
    else if (column == table.end())
      why_not = fmt::format("the table has no column \"{}\"", info.name);
    else if (column->second.identity_always)
      why_not = fmt::format("\"{}\" is GENERATED ALWAYS", info.name);
    else if ((encoding[i] = ops.copy_encoding(i, column->second)) == CopyEncoding::unsupported)
      why_not = fmt::format("column \"{}\" cannot travel in binary COPY as this field's type", info.name);
    else
      eligible = true;
    if (!eligible) break;
    included[i] = true;
    cols.push_back(i);
    if (unset > 0) defaults.push_back(i);
  }
  if (!eligible || cols.empty()) {
    log(LogLevel::debug, fmt::format("bulk_create of {} {}: INSERT, since {}", n, m.name,
                                     cols.empty() && eligible ? "no column is written" : why_not));
    co_return std::nullopt;
  }
  log(LogLevel::debug, fmt::format("bulk_create of {} {}: binary COPY", n, m.name));

  co_await session->begin();
  if (!defaults.empty()) {
    const Statement d = defaults_statement(m, defaults, n, table);
    const pg::Result r = co_await session->execute(d);
    if (static_cast<std::size_t>(r.rows()) != n)
      throw QueryError(fmt::format("{}: the server evaluated {} defaults for {} rows", m.name, r.rows(), n),
                       ErrorContext{.model = m.name, .operation = "bulk_create", .sql = d.sql});
    std::vector<int> columns(m.fields.size(), -1);
    for (std::size_t k = 0; k < defaults.size(); ++k) columns[defaults[k]] = static_cast<int>(k);
    for (std::size_t row = 0; row < n; ++row) ops.take_defaults(object_at(ops, objs, row), r, static_cast<int>(row), columns);
  }

  const std::string sql = copy_statement(m, cols);
  const std::size_t chunk = std::max<std::size_t>(1, options.copy_chunk_rows);
  const auto check_count = [&](std::uint64_t copied, std::size_t rows) {
    if (copied != rows)
      throw QueryError(fmt::format("{}: COPY wrote {} rows of {}", m.name, copied, rows),
                       ErrorContext{.model = m.name, .operation = "bulk_create", .sql = sql});
  };
  // Two buffers: while one chunk's COPY travels and the server ingests it, the next chunk
  // is encoded (docs/performance.md, W4). Both branches always finish: an encoding error
  // waits for the COPY in flight, and the session's transaction is then rolled back.
  const auto executor = co_await asio::this_coro::executor;
  std::string current, next;
  std::size_t start = 0, end = std::min(n, chunk);
  co_await encode_chunk(ops, objs, start, end, included, encoding, cols.size(), current);
  while (end < n) {
    const std::size_t next_end = std::min(n, end + chunk);
    auto [order, copy_error, copied, encode_error] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(executor, session->copy(sql, current), asio::deferred),
            asio::co_spawn(executor, encode_chunk(ops, objs, end, next_end, included, encoding, cols.size(), next),
                           asio::deferred))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    if (copy_error) std::rethrow_exception(copy_error);
    if (encode_error) std::rethrow_exception(encode_error);
    check_count(copied, end - start);
    std::swap(current, next);
    start = end;
    end = next_end;
  }
  check_count(co_await session->copy(sql, current), end - start);
  co_await session->commit();
  co_return n;
}

}  // namespace

asio::awaitable<std::size_t> bulk_create_any(const BulkOps& ops, void* objs, std::size_t n, BulkCreateOptions options) {
  const ModelInfo& m = *ops.model;
  if (n == 0) co_return 0;
  for (std::size_t i = 0; i < n; ++i) ops.prepare(object_at(ops, objs, i));
  if (options.copy_threshold > 0 && n >= options.copy_threshold) {
    if (const auto copied = co_await create_by_copy(ops, objs, n, options)) {
      co_await ops.cache_after_write(objs, *copied, false);
      co_return *copied;
    }
  }
  const auto cols = ops.insert_columns(objs, n);
  if (cols.empty()) throw ValidationError(fmt::format("{}: bulk_create needs at least one column to insert", m.name));
  const std::size_t per_chunk = std::max<std::size_t>(1, pg::Params::max_params / cols.size());
  std::vector<Statement> statements;
  for (std::size_t start = 0; start < n; start += per_chunk) {
    Statement s;
    s.sql = insert_head(m, cols);
    const std::size_t end = std::min(n, start + per_chunk);
    for (std::size_t k = start; k < end; ++k) {
      if (k != start) s.sql += ", ";
      ops.append_values_row(s.sql, s.params, object_at(ops, objs, k), cols);
    }
    if (options.refresh) s.sql += " RETURNING " + select_list(m, {});
    statements.push_back(std::move(s));
  }
  auto results = co_await run_in_transaction(m, statements, "bulk_create");
  std::size_t k = 0;
  if (options.refresh) {
    const auto columns = column_map(m, {});
    for (const auto& r : results)
      for (int row = 0; row < r.rows(); ++row) ops.hydrate(r, row, object_at(ops, objs, k++), columns);
  } else {
    for (const auto& r : results) k += static_cast<std::size_t>(r.affected_rows());
  }
  co_await ops.cache_after_write(objs, k, false);  // bulk: evict, never copy every row
  co_return k;
}

}  // namespace matrx::orm::detail
