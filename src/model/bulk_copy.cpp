#include "matrx/orm/model/bulk_copy.hpp"

#include <cstring>
#include <limits>

#include <boost/asio/this_coro.hpp>
#include <boost/endian/conversion.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/model/transaction.hpp"
#include "matrx/orm/pg/database.hpp"

namespace asio = boost::asio;

namespace matrx::orm::detail {

namespace {
pg::Database& database_of(const ModelInfo& model) {
  return model.database.empty() ? pg::default_database() : pg::database(model.database);
}

void append_be(std::string& buf, auto value) {
  const auto be = boost::endian::native_to_big(value);
  buf.append(reinterpret_cast<const char*>(&be), sizeof be);
}
}  // namespace

asio::awaitable<std::unique_ptr<CopySession>> CopySession::open(const ModelInfo& model) {
  pg::Database& db = database_of(model);
  if (TransactionContext* tx = current_transaction(co_await asio::this_coro::executor);
      tx && tx->database == db.config().name) {
    if (tx->finished) throw TransactionError("the transaction has already finished", ErrorContext{.database = tx->database});
    co_return std::make_unique<CopySession>(model, std::nullopt, &*tx->connection);
  }
  pg::PooledConnection conn = co_await db.acquire();
  co_return std::make_unique<CopySession>(model, std::move(conn), nullptr);
}

asio::awaitable<std::map<std::string, CopyColumn, std::less<>>> CopySession::columns() {
  Statement s;
  s.sql =
      "SELECT a.attname::text, a.atttypid::int8, t.typtype = 'e', a.attidentity = 'a', "
      "coalesce(pg_get_serial_sequence($1, a.attname), '') FROM pg_attribute a "
      "JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped";
  s.params.add(model_->qualified_table());
  const pg::Result r = co_await execute(s);
  std::map<std::string, CopyColumn, std::less<>> out;
  for (int i = 0; i < r.rows(); ++i)
    out[r.get<std::string>(i, 0)] = CopyColumn{.type = static_cast<pg::Oid>(r.get<std::int64_t>(i, 1)),
                                               .is_enum = r.get<bool>(i, 2), .identity_always = r.get<bool>(i, 3),
                                               .sequence = r.get<std::string>(i, 4)};
  co_return out;
}

asio::awaitable<void> CopySession::begin() {
  if (!own_ || begun_) co_return;
  const Statement s{"BEGIN", {}};
  co_await execute(s);
  begun_ = true;  // an exception from here on returns the connection inside it: the pool rolls back
}

asio::awaitable<pg::Result> CopySession::execute(const Statement& statement) {
  try {
    co_return co_await conn_->execute(statement.sql, statement.params, result_format(*model_));
  } catch (OrmError& e) {
    e.enrich_model(model_->name).enrich_operation("bulk_create").enrich_sql(statement.sql, statement.params.render());
    throw;
  }
}

asio::awaitable<std::uint64_t> CopySession::copy(const std::string& sql, const std::string& data) {
  try {
    const pg::Result r = co_await conn_->copy_in(sql, data);
    co_return static_cast<std::uint64_t>(r.affected_rows());
  } catch (OrmError& e) {
    e.enrich_model(model_->name).enrich_operation("bulk_create").enrich_sql(sql, {});
    throw;
  }
}

asio::awaitable<void> CopySession::commit() {
  if (!begun_) co_return;
  const Statement s{"COMMIT", {}};
  co_await execute(s);
  begun_ = false;
}

std::string copy_statement(const ModelInfo& m, const std::vector<std::size_t>& cols) {
  std::string sql = "COPY " + m.qualified_table() + " (";
  for (std::size_t k = 0; k < cols.size(); ++k) sql += (k ? ", " : "") + quote_identifier(m.fields[cols[k]].name);
  return sql + ") FROM STDIN (FORMAT binary)";
}

Statement defaults_statement(const ModelInfo& m, const std::vector<std::size_t>& fields, std::size_t rows,
                             const std::map<std::string, CopyColumn, std::less<>>& table) {
  Statement s;
  s.sql = "SELECT ";
  for (std::size_t k = 0; k < fields.size(); ++k) {
    const FieldInfo& f = m.fields[fields[k]];
    if (k) s.sql += ", ";
    const auto column = table.find(f.name);
    if (f.identity && column != table.end() && !column->second.sequence.empty()) {
      // A regclass parameter: the sequence is resolved once, not per row.
      s.params.add(column->second.sequence, pg::oid::regclass);
      s.sql += fmt::format("nextval(${})", s.params.size());
    } else if (f.identity) {
      throw ConfigurationError(fmt::format("{}.{} is an identity field but its column has no sequence", m.name, f.name),
                               ErrorContext{.model = m.name, .operation = "bulk_create", .field = f.name});
    } else {
      s.sql += "(" + f.db_default + ")";  // model metadata, like DDL: never user input
    }
  }
  s.params.add(static_cast<std::int64_t>(rows));
  s.sql += fmt::format(" FROM generate_series(1, ${})", s.params.size());
  return s;
}

void begin_copy_data(std::string& buf) {
  static constexpr char signature[] = "PGCOPY\n\377\r\n";  // 11 bytes with its NUL
  buf.append(signature, sizeof signature);
  append_be(buf, std::int32_t{0});  // flags
  append_be(buf, std::int32_t{0});  // header extension length
}

void end_copy_data(std::string& buf) { append_be(buf, std::int16_t{-1}); }

void begin_copy_row(std::string& buf, std::size_t fields) { append_be(buf, static_cast<std::int16_t>(fields)); }

void append_copy_null(std::string& buf) { append_be(buf, std::int32_t{-1}); }

void finish_copy_value(std::string& buf, std::size_t at) {
  const std::size_t n = buf.size() - at - 4;
  if (n > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    throw ParameterError("a value is larger than the 1 GB PostgreSQL allows");
  const auto be = boost::endian::native_to_big(static_cast<std::int32_t>(n));
  std::memcpy(buf.data() + at, &be, 4);
}

}  // namespace matrx::orm::detail
