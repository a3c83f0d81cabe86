// The exception hierarchy of matrx-orm, mirroring the original's (OrmError at the root).
//
//   OrmError
//   ├── ValidationError, FieldError, ConfigurationError, CacheError, StateError,
//   │   RelationshipError, MigrationError, ParameterError, UnknownDatabaseError,
//   │   OptimisticLockError
//   ├── QueryError ── DoesNotExist, MultipleObjectsReturned
//   └── DatabaseError ── ConnectionError, IntegrityError, TransactionError
//                        (── CommitOutcomeUnknown), QueryCanceledError, PoolTimeoutError
//
// Every error carries an ErrorContext (model, operation, SQL with $n placeholders,
// parameters, SQLSTATE, constraint, detail, hint) and formats it in what().
// Parameter values appear in what() only when explicitly allowed (see
// set_error_parameter_policy); connection passwords never appear.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace matrx::orm {

/// Everything known about where an error happened. Empty fields are omitted from what().
struct ErrorContext {
  std::string model{};       ///< model (or table) name
  std::string operation{};   ///< e.g. "create", "query", "connect"
  std::string sql{};         ///< SQL text with $n placeholders, never with values inlined
  std::vector<std::string> params{};  ///< rendered parameters (already redacted if required)
  std::string sqlstate{};    ///< five-character SQLSTATE from the server, if any
  std::string constraint{};  ///< constraint name (class 23 errors)
  std::string table{};       ///< table name reported by the server
  std::string column{};      ///< column name reported by the server
  std::string field{};       ///< model field (validation errors)
  std::string detail{};      ///< server DETAIL or extra detail
  std::string hint{};        ///< server HINT or a suggestion of ours
  std::string database{};    ///< registered database name (never its password)
};

/// How parameter values are shown in error messages and logs.
enum class ParameterPolicy {
  redacted,  ///< "$1 = <text, 5 bytes>" (default: values can be secrets)
  full,      ///< "$1 = 'alice'" (values cut to 80 characters)
};
void set_error_parameter_policy(ParameterPolicy policy) noexcept;
ParameterPolicy error_parameter_policy() noexcept;

class OrmError : public std::runtime_error {
 public:
  explicit OrmError(std::string message, ErrorContext context = {});

  /// Human-readable multi-line message: kind, message, then one line per known context field.
  const char* what() const noexcept override { return formatted_->c_str(); }
  /// The message without the context lines.
  const std::string& message() const noexcept { return message_; }
  const ErrorContext& context() const noexcept { return context_; }
  /// Name of the most derived error class, e.g. "IntegrityError".
  virtual const char* kind() const noexcept { return "OrmError"; }

  /// Fill in context fields that are still empty (the value closest to the error wins,
  /// as in the original's enrich()). Returns *this for `throw e.enrich(...)` chains.
  OrmError& enrich_model(std::string model);
  OrmError& enrich_operation(std::string operation);
  OrmError& enrich_sql(std::string sql, std::vector<std::string> params = {});
  OrmError& enrich_database(std::string database);

 protected:
  void reformat();

 private:
  std::string message_;
  ErrorContext context_;
  std::shared_ptr<std::string> formatted_;  // shared: exceptions must copy without throwing
};

#define MATRX_ORM_DECLARE_ERROR(Name, Base)                                        \
  class Name : public Base {                                                       \
   public:                                                                         \
    explicit Name(std::string message, ErrorContext context = {})                  \
        : Base(std::move(message), std::move(context)) { reformat(); }             \
    const char* kind() const noexcept override { return #Name; }                   \
  };

MATRX_ORM_DECLARE_ERROR(ValidationError, OrmError)
MATRX_ORM_DECLARE_ERROR(FieldError, OrmError)
MATRX_ORM_DECLARE_ERROR(QueryError, OrmError)
MATRX_ORM_DECLARE_ERROR(DoesNotExist, QueryError)
MATRX_ORM_DECLARE_ERROR(MultipleObjectsReturned, QueryError)
MATRX_ORM_DECLARE_ERROR(DatabaseError, OrmError)
MATRX_ORM_DECLARE_ERROR(ConnectionError, DatabaseError)
/// SQLSTATE class 28 while connecting: a wrong password (28P01), an unknown role or a
/// pg_hba.conf rule that refused the connection (28000). Retrying will not help.
MATRX_ORM_DECLARE_ERROR(AuthenticationError, ConnectionError)
MATRX_ORM_DECLARE_ERROR(IntegrityError, DatabaseError)
MATRX_ORM_DECLARE_ERROR(TransactionError, DatabaseError)
/// COMMIT was sent but its answer never came (the connection was lost, or the wait for it
/// was cancelled): the changes may or may not be stored.
MATRX_ORM_DECLARE_ERROR(CommitOutcomeUnknown, TransactionError)
/// SQLSTATE 25006: a write on a read-only server or transaction — a hot standby, a demoted
/// primary, or default_transaction_read_only. A pool opened with target_session_attrs=read-write
/// never hands out such a connection knowingly (Connection::role_matches).
MATRX_ORM_DECLARE_ERROR(ReadOnlyError, TransactionError)
/// SQLSTATE 57014: the statement was cancelled (client cancel or statement_timeout).
MATRX_ORM_DECLARE_ERROR(QueryCanceledError, DatabaseError)
/// A statement's client-side deadline passed (ConnectOptions::statement_timeout,
/// DatabaseConfig::statement_timeout, QuerySet::timeout): the call failed at once and the
/// statement was cancelled on the server.
MATRX_ORM_DECLARE_ERROR(StatementTimeoutError, QueryCanceledError)
/// A result grew past ConnectOptions::max_result_bytes; its connection was discarded.
MATRX_ORM_DECLARE_ERROR(ResultTooLargeError, DatabaseError)
/// No connection could be acquired within the pool's acquire timeout.
MATRX_ORM_DECLARE_ERROR(PoolTimeoutError, DatabaseError)
MATRX_ORM_DECLARE_ERROR(ConfigurationError, OrmError)
MATRX_ORM_DECLARE_ERROR(CacheError, OrmError)
MATRX_ORM_DECLARE_ERROR(StateError, OrmError)
MATRX_ORM_DECLARE_ERROR(RelationshipError, OrmError)
MATRX_ORM_DECLARE_ERROR(MigrationError, OrmError)
/// Another run held the migration lock for longer than the lock timeout.
MATRX_ORM_DECLARE_ERROR(MigrationLockTimeout, MigrationError)
/// An applied migration's file changed, or is missing.
MATRX_ORM_DECLARE_ERROR(MigrationChecksumError, MigrationError)
/// A no-transaction migration failed midway: the database needs a look before going on.
MATRX_ORM_DECLARE_ERROR(MigrationDirtyError, MigrationError)
/// A value that cannot be sent or read: NUL in text, out-of-range integer, bad JSON,
/// and server SQLSTATE class 22 (data exceptions).
MATRX_ORM_DECLARE_ERROR(ParameterError, OrmError)
MATRX_ORM_DECLARE_ERROR(UnknownDatabaseError, OrmError)
MATRX_ORM_DECLARE_ERROR(OptimisticLockError, OrmError)

#undef MATRX_ORM_DECLARE_ERROR

}  // namespace matrx::orm
