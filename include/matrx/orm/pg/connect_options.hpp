// How to open one connection: conninfo/URI, password, timeouts and pooler mode.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace matrx::orm::pg {

/// Behind PgBouncer/Supavisor in transaction pooling mode a client must not rely on
/// session state: only unnamed statements, no SET/LISTEN/advisory session locks.
enum class PoolerMode { session, transaction };

/// What happens to a query whose caller stopped waiting for it (a timeout, a cancelled
/// coroutine) while the server runs it.
enum class CancelMode {
  /// Send the server a cancel request (bounded by cancel_timeout); the connection is reused
  /// once the query has drained, or discarded if the request got no answer in time. On libpq
  /// 15 the request travels unencrypted even when the connection uses TLS (it carries only the
  /// backend pid and a random key; see docs/reliability.md, D2).
  request,
  /// Close the connection instead: nothing is sent outside the connection's own channel, and
  /// the server stops the query when it next notices the client is gone.
  discard,
};

struct ConnectOptions {
  /// libpq URI ("postgresql://user@host:5432/db?sslmode=require") or key=value conninfo.
  /// Empty: libpq's defaults and the PG* environment variables (PGHOST, PGPORT, …), .pgpass.
  std::string conninfo{};
  /// libpq keywords that override the conninfo (host, port, dbname, user, sslmode, …).
  std::vector<std::pair<std::string, std::string>> keywords{};
  /// Kept apart from the conninfo so it can never be printed; empty: .pgpass / PGPASSWORD.
  std::string password{};
  /// Bound on connecting (DNS, TCP, TLS, authentication). Must be positive.
  std::chrono::milliseconds connect_timeout{10'000};
  PoolerMode pooler_mode = PoolerMode::session;
  CancelMode cancel_mode = CancelMode::request;
  /// Bound on one cancel request: connecting to the server, sending, and its answer. A request
  /// that does not complete in time discards the connection. Must be positive.
  std::chrono::milliseconds cancel_timeout{5'000};
  /// A deadline for every statement on this connection, counted from the call (time queued
  /// behind other statements included); 0 = none. At the deadline the call fails with
  /// StatementTimeoutError and the statement is abandoned like a cancelled call: a cancel
  /// request stops it on the server (cancel_mode, cancel_timeout), and a transaction it was
  /// part of can only roll back. A per-call timeout (Connection::execute, QuerySet::timeout)
  /// replaces it. Works behind PgBouncer, unlike the server's statement_timeout setting.
  std::chrono::milliseconds statement_timeout{0};
  /// Largest result accepted, in bytes received; 0 = no limit. A result that grows past it
  /// fails with ResultTooLargeError and its connection is discarded, before it is all in memory.
  std::size_t max_result_bytes = 0;
  /// Statements prepared automatically per connection (least recently used dropped first);
  /// 0 = never prepare. Always 0 in PoolerMode::transaction. A plan made stale by ALTER
  /// TABLE is prepared again and its statement re-sent once, unless a transaction block
  /// is open (the failure aborted it: reported with a hint).
  std::size_t statement_cache_size = 256;
};

}  // namespace matrx::orm::pg
