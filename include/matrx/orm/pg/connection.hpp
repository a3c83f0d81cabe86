// Connection: one libpq connection driven by Boost.Asio in non-blocking pipeline mode.
//
// * Every call returns boost::asio::awaitable; the connection may be shared by many
//   coroutines at once: their queries are pipelined (one Sync each) and each result goes
//   to its own caller; a failing query fails only itself.
// * Per-operation cancellation (e.g. `co_await (conn.execute(…) || timer.async_wait(…))`)
//   completes the cancelled call at once with boost::system::system_error
//   (operation_aborted). If the query had already been sent, a cancel request goes to the
//   server (sent by Asio, bounded by ConnectOptions::cancel_timeout; a connection whose cancel
//   got no answer is discarded) and no further query is sent until the abandoned one has
//   drained, so a late cancel never hits another query.
// * Thread-safety: its methods may be called from any thread; a lock inside serializes
//   them with the socket's handlers, which run on the executor it was opened on. A result
//   is handed to a coroutine of that io_context without a round trip through its queue.
// * Lifetime: destroy (or close) connections before their io_context is destroyed. The
//   sql text and Params passed to execute() must outlive the co_await.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/connect_options.hpp"
#include "matrx/orm/pg/params.hpp"
#include "matrx/orm/pg/result.hpp"

namespace matrx::orm::pg {

enum class TransactionState { idle, in_transaction, in_error, unknown };

namespace detail { class ConnectionCore; }

class Connection {
 public:
  Connection() = default;
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  /// Opens a connection on the calling coroutine's executor. Throws ConnectionError (with
  /// the server's SQLSTATE when there is one; never the password) or ConfigurationError.
  static boost::asio::awaitable<Connection> connect(ConnectOptions options);
  static boost::asio::awaitable<Connection> connect(boost::asio::any_io_executor executor, ConnectOptions options);

  /// Runs one statement with bound parameters. Server errors throw the type mapped from
  /// their SQLSTATE (sqlstate.hpp) carrying the SQL and (redacted) parameters; a lost
  /// connection throws ConnectionError; cancellation throws system_error(operation_aborted).
  boost::asio::awaitable<Result> execute(std::string_view sql, const Params& params = Params(),
                                         Format result_format = Format::binary);
  /// Runs `COPY … FROM STDIN` and sends `data` (the whole stream in the COPY's format, e.g.
  /// binary with its header and trailer). Queries of other callers wait meanwhile (COPY
  /// cannot be pipelined). Returns the COPY's result: affected_rows() is the row count.
  /// Errors as for execute(); cancelling ends the COPY with an error (nothing is written).
  boost::asio::awaitable<Result> copy_in(std::string_view copy_sql, std::string_view data);

  /// A statement without parameters, with the result format chosen.
  boost::asio::awaitable<Result> execute(std::string_view sql, Format result_format);
  /// execute() with its own deadline instead of ConnectOptions::statement_timeout (0: that
  /// default). Past it, the call throws StatementTimeoutError and the statement is cancelled
  /// on the server, as when the caller cancels it.
  boost::asio::awaitable<Result> execute(std::string_view sql, const Params& params, Format result_format,
                                         std::chrono::milliseconds timeout);

  /// Reads whatever the server sent an idle connection (an error, EOF) and tells whether
  /// the connection is still usable. Cheap: one zero-timeout poll().
  boost::asio::awaitable<bool> check_alive();

  /// Open, not broken, nothing queued or in flight, and nothing waiting to be read on the
  /// socket (one zero-timeout poll, from any thread): safe to lend out without check_alive.
  bool ready_for_reuse() const noexcept;

  /// Completes when no query of any caller is queued or in flight.
  boost::asio::awaitable<void> wait_idle();

  bool is_open() const noexcept;
  /// The server closed the connection, or the protocol broke: it cannot be used again.
  bool is_broken() const noexcept;
  /// Why the connection cannot be used — the error a new query would throw, with the SQLSTATE
  /// that ended it (57P01 for a terminated backend) — or nothing while it is usable.
  std::optional<ConnectionError> failure() const;
  /// Transaction state as of the last completed query.
  TransactionState transaction_state() const noexcept;
  /// A statement sent since the last DISCARD ALL left state in the session (a setting, a
  /// temporary table, a LISTEN, a holdable cursor, an advisory lock: session_state.hpp).
  bool session_touched() const noexcept;
  /// Queries queued or in flight, including abandoned ones still draining.
  std::size_t pending() const noexcept;
  int backend_pid() const noexcept;
  /// Bytes of the largest statement sent or result received so far. libpq keeps its buffers
  /// at the largest size they reached until the connection closes (the pool closes such
  /// connections on return: PoolConfig::max_retained_message).
  std::size_t largest_message() const noexcept;
  PoolerMode pooler_mode() const noexcept;
  /// The server still has the role this connection was opened for: libpq's
  /// target_session_attrs (read-write, read-only, primary, standby) checked against the
  /// in_hot_standby and default_transaction_read_only the server last reported. A promoted
  /// standby reports the change with its next answer, so a pool sees it when the connection
  /// comes back (and closes it: PoolStats::closed_role). Always true for any/prefer-standby.
  bool role_matches() const;
  /// Server parameter reported at startup (server_version, TimeZone, …), or "".
  std::string server_parameter(const char* name) const;

  /// Closes the connection now; queued and in-flight calls fail with ConnectionError.
  void close() noexcept;

  /// Receives NOTIFY messages for the channels this connection LISTENs to, on the
  /// connection's executor, as they arrive (also while no query runs). Replaces any earlier
  /// handler; an empty function drops notifications.
  using NotificationHandler = std::function<void(std::string_view channel, std::string_view payload, int sender_pid)>;
  void on_notification(NotificationHandler handler);

  explicit operator bool() const noexcept { return core_ != nullptr; }

 private:
  explicit Connection(std::shared_ptr<detail::ConnectionCore> core) : core_(std::move(core)) {}
  std::shared_ptr<detail::ConnectionCore> core_;
};

}  // namespace matrx::orm::pg
