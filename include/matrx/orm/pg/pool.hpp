// Pool: connections to one database, shared by coroutines.
//
// * acquire() hands out an idle connection, opens a new one while size < max_size, or
//   waits in FIFO order; it throws PoolTimeoutError after acquire_timeout, carrying the
//   last connect error when connections are failing.
// * Connecting failures are retried with exponential backoff and jitter until the deadline.
// * A returned connection is checked: broken or past its (jittered) max lifetime → closed
//   and replaced on demand; abandoned queries still draining → waited for (bounded by
//   drain_timeout, else closed); inside a transaction → ROLLBACK (with a warning) before
//   reuse. A connection never goes back to the pool inside a transaction.
// * The size never exceeds max_size, also when acquirers are cancelled.
// * acquire_shared() lends a connection for single statements outside any transaction:
//   when every connection is in use it joins the least busy shared one, so concurrent
//   callers pipeline their statements (one Sync each: one failure fails only itself). A
//   shared connection returns to the pool when its last borrower lets go; while exclusive
//   acquirers wait, one shared connection takes no new borrowers, so they are not starved.
// * Thread-safe. Pooled connections live on the executor given at construction.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/assert/source_location.hpp>  // std::source_location is missing with clang 14 + libstdc++ 12

#include "matrx/orm/pg/connect_options.hpp"
#include "matrx/orm/pg/connection.hpp"

namespace matrx::orm::pg {

/// When a returned connection is cleaned with DISCARD ALL (after any open transaction is
/// rolled back): when one of its statements left session state (the default: connections
/// that only ran the ORM's statements pay nothing), always, or never. Not in pooler
/// (transaction) mode, where the session is the pooler's.
enum class SessionReset { when_touched, always, never };

struct PoolConfig {
  std::size_t min_size = 0;   ///< connections opened by warm_up() and kept (default 0)
  std::size_t max_size = 10;  ///< hard upper bound on open + opening connections (≥ 1)
  std::chrono::milliseconds acquire_timeout{10'000};  ///< bound on acquire() (> 0)
  std::chrono::milliseconds max_lifetime{30 * 60'000};  ///< shortened by up to 2.5% jitter; 0 = unlimited
  std::chrono::milliseconds idle_timeout{10 * 60'000};  ///< idle above min_size longer than this → closed; 0 = never
  std::chrono::milliseconds backoff_initial{50};   ///< first reconnect delay
  std::chrono::milliseconds backoff_max{2'000};    ///< reconnect delay cap
  std::chrono::milliseconds drain_timeout{5'000};  ///< wait for abandoned queries on release
  SessionReset session_reset = SessionReset::when_touched;
  std::string reset_query;  ///< also run on every release (after session_reset); empty = none
  /// A connection that sent or received a message larger than this is closed on return
  /// instead of kept: libpq never shrinks its buffers. 0 = keep every connection.
  std::size_t max_retained_message = std::size_t{32} << 20;
  /// A connection held longer than this is reported once, at WARN, with where it was
  /// acquired (file, line, function) and counted in PoolStats::leaks_reported. 0 = off.
  std::chrono::milliseconds leak_threshold{0};
};

struct PoolStats {
  std::size_t size = 0;     ///< open + opening connections
  std::size_t idle = 0;     ///< ready in the pool
  std::size_t in_use = 0;   ///< handed out or being reset
  std::size_t shared = 0;   ///< in use as shared connections (part of in_use)
  std::size_t waiting = 0;  ///< acquirers queued
  std::uint64_t opened = 0, closed_broken = 0, closed_lifetime = 0, closed_idle = 0, connect_failures = 0,
                acquire_timeouts = 0, resets = 0;
  std::uint64_t closed_role = 0;   ///< closed on return: the server changed role (Connection::role_matches)
  std::uint64_t closed_large = 0;  ///< closed on return for their grown buffers (max_retained_message)
  std::uint64_t session_resets = 0;  ///< DISCARD ALLs run on returned connections
  std::uint64_t leaks_reported = 0;  ///< connections held past leak_threshold
};

namespace detail { class PoolCore; struct SharedLoan; }

class Pool;

/// A connection on loan from a pool; returned when destroyed (or by release()).
class PooledConnection {
 public:
  PooledConnection() = default;
  PooledConnection(PooledConnection&&) noexcept = default;
  PooledConnection& operator=(PooledConnection&& other) noexcept;
  ~PooledConnection() { release(); }

  Connection& operator*() noexcept { return conn_; }
  Connection* operator->() noexcept { return &conn_; }
  Connection& connection() noexcept { return conn_; }
  explicit operator bool() const noexcept { return static_cast<bool>(conn_); }
  /// Returns the connection to the pool now.
  void release() noexcept;

 private:
  friend class detail::PoolCore;
  friend class Pool;
  PooledConnection(std::shared_ptr<detail::PoolCore> pool, Connection conn, std::chrono::steady_clock::time_point expires)
      : pool_(std::move(pool)), conn_(std::move(conn)), expires_(expires) {}
  std::shared_ptr<detail::PoolCore> pool_;
  Connection conn_;
  std::chrono::steady_clock::time_point expires_{};
  std::uint64_t watch_ = 0;  // its entry in the leak watch (0: not watched)
};

/// A connection lent for single autocommit statements, possibly to several callers at
/// once. Never use it for BEGIN, SET or anything else that leaves state on the session.
class SharedConnection {
 public:
  SharedConnection() = default;
  SharedConnection(SharedConnection&&) noexcept = default;
  SharedConnection& operator=(SharedConnection&& other) noexcept;
  ~SharedConnection() { release(); }

  Connection& operator*() noexcept;
  Connection* operator->() noexcept { return &**this; }
  explicit operator bool() const noexcept { return loan_ != nullptr; }
  /// Lets go of the connection now (the last borrower returns it to the pool).
  void release() noexcept;

 private:
  friend class detail::PoolCore;
  SharedConnection(std::shared_ptr<detail::PoolCore> pool, std::shared_ptr<detail::SharedLoan> loan)
      : pool_(std::move(pool)), loan_(std::move(loan)) {}
  std::shared_ptr<detail::PoolCore> pool_;
  std::shared_ptr<detail::SharedLoan> loan_;
};

class Pool {
 public:
  /// Throws ConfigurationError on an invalid config (max_size 0, min > max, timeouts ≤ 0).
  Pool(boost::asio::any_io_executor executor, ConnectOptions options, PoolConfig config = {});
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// `where` is remembered for leak reports (PoolConfig::leak_threshold).
  boost::asio::awaitable<PooledConnection> acquire(boost::source_location where = BOOST_CURRENT_LOCATION);
  /// A connection for single autocommit statements, shared with concurrent callers when
  /// the pool is fully in use. Same errors as acquire().
  boost::asio::awaitable<SharedConnection> acquire_shared();
  /// acquire_shared() when it needs no waiting (a loan to join, or an idle connection that
  /// passes the checks without I/O); nullopt otherwise. Lets the hot path skip a coroutine.
  std::optional<SharedConnection> try_acquire_shared();
  /// Opens connections until min_size are open.
  boost::asio::awaitable<void> warm_up();
  PoolStats stats() const;
  const PoolConfig& config() const noexcept;
  boost::asio::any_io_executor executor() const;
  /// Closes idle connections and refuses new acquires; loaned ones close when returned.
  void close();

 private:
  std::shared_ptr<detail::PoolCore> core_;
};

}  // namespace matrx::orm::pg
