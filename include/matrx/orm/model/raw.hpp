// Raw SQL, always parameterized: raw<User>(sql, params) hydrates models by column name;
// raw_sql(sql, params) returns the rows. Both run inside the caller's transaction if any.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include "matrx/orm/meta/model.hpp"
#include "matrx/orm/model/execute.hpp"
#include "matrx/orm/model/hydrate.hpp"
#include "matrx/orm/model/state_manager.hpp"
#include "matrx/orm/model/transaction.hpp"
#include "matrx/orm/pg/params.hpp"

namespace matrx::orm {

/// Rows of `sql` as plain results, on `database` (empty: the default database). A statement
/// that may have written (anything but a plain SELECT) empties every StateManager cache,
/// since any table may have changed.
inline boost::asio::awaitable<pg::Result> raw_sql(std::string sql, pg::Params params = pg::Params(),
                                                  std::string database = {}) {
  const Statement s{std::move(sql), std::move(params)};
  pg::Result r = co_await detail::run_sql(database, s, "raw_sql");
  if (cache::may_have_written(s.sql, r.command_tag())) {
    if (cache::notifications_enabled(database)) {
      std::vector<std::string> everything(1);
      co_await cache::notify(database, "*", std::move(everything));
    }
    cache::clear_all();
    if (detail::TransactionContext* tx = detail::current_transaction(co_await boost::asio::this_coro::executor))
      tx->on_end.push_back([] { cache::clear_all(); });
  }
  co_return r;
}

/// Rows of `sql` as M objects: result columns are matched to fields by name; columns that
/// are not fields are ignored, fields without a column keep their default value. Runs on
/// the model's database.
template <Described M>
boost::asio::awaitable<std::vector<M>> raw(std::string sql, pg::Params params = pg::Params()) {
  const ModelInfo& m = model_info<M>();
  const Statement s{std::move(sql), std::move(params)};
  pg::Result r = co_await detail::run_user_statement(m, s, "raw");
  std::vector<int> columns(m.fields.size(), -1);
  for (std::size_t i = 0; i < m.fields.size(); ++i)
    if (auto c = r.find_column(m.fields[i].name)) columns[i] = *c;
  std::vector<M> out(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) detail::hydrate(r, row, out[static_cast<std::size_t>(row)], columns);
  co_return out;
}

}  // namespace matrx::orm
