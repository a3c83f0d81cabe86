// Mapping of server errors (SQLSTATE) onto the exception hierarchy of errors.hpp.
// Classification uses the SQLSTATE only, never the (translatable) message text.
#pragma once

#include <string>
#include <string_view>

#include "matrx/orm/errors.hpp"

struct pg_result;

namespace matrx::orm::pg {

/// Throws the exception type for `sqlstate`:
///   23xxx → IntegrityError; 08xxx, 57P01-57P03, 53300 → ConnectionError;
///   25006 → ReadOnlyError; 40001, 40P01, 25xxx, 55P03 → TransactionError; 57014 → QueryCanceledError;
///   22xxx → ParameterError; 42xxx → QueryError; anything else → DatabaseError.
[[noreturn]] void throw_for_sqlstate(std::string message, ErrorContext context);

/// Builds the context (SQLSTATE, constraint, table, column, detail, hint) from a failed
/// libpq result and throws the mapped exception.
[[noreturn]] void throw_server_error(const pg_result* result, ErrorContext context);

}  // namespace matrx::orm::pg
