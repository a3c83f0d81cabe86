#include "matrx/orm/pg/sqlstate.hpp"

#include <libpq-fe.h>

namespace matrx::orm::pg {

void throw_for_sqlstate(std::string message, ErrorContext ctx) {
  const std::string_view s = ctx.sqlstate;
  auto cls = [&](std::string_view prefix) { return s.substr(0, 2) == prefix; };
  if (cls("23")) throw IntegrityError(std::move(message), std::move(ctx));
  if (cls("28")) throw AuthenticationError(std::move(message), std::move(ctx));
  if (cls("08") || s == "57P01" || s == "57P02" || s == "57P03" || s == "53300")
    throw ConnectionError(std::move(message), std::move(ctx));
  if (s == "25006") {
    if (ctx.hint.empty())
      ctx.hint = "the server or transaction is read-only (a hot standby, or default_transaction_read_only); "
                 "to reach the primary, connect with target_session_attrs=read-write";
    throw ReadOnlyError(std::move(message), std::move(ctx));
  }
  if (s == "57014") throw QueryCanceledError(std::move(message), std::move(ctx));
  if (s == "40001" || s == "40P01" || cls("40") || cls("25") || s == "55P03")  // 55P03: lock not available (NOWAIT)
    throw TransactionError(std::move(message), std::move(ctx));
  if (cls("22")) throw ParameterError(std::move(message), std::move(ctx));
  if (cls("42")) throw QueryError(std::move(message), std::move(ctx));
  throw DatabaseError(std::move(message), std::move(ctx));
}

void throw_server_error(const pg_result* result, ErrorContext ctx) {
  auto field = [&](int code) -> std::string {
    const char* v = PQresultErrorField(result, code);
    return v ? v : "";
  };
  ctx.sqlstate = field(PG_DIAG_SQLSTATE);
  ctx.constraint = field(PG_DIAG_CONSTRAINT_NAME);
  ctx.table = field(PG_DIAG_TABLE_NAME);
  ctx.column = field(PG_DIAG_COLUMN_NAME);
  if (ctx.detail.empty()) ctx.detail = field(PG_DIAG_MESSAGE_DETAIL);
  if (ctx.hint.empty()) ctx.hint = field(PG_DIAG_MESSAGE_HINT);
  std::string message = field(PG_DIAG_MESSAGE_PRIMARY);
  if (message.empty()) {
    message = PQresultErrorMessage(result);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  }
  throw_for_sqlstate(std::move(message), std::move(ctx));
}

}  // namespace matrx::orm::pg
