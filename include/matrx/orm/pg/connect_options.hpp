// How to open one connection: conninfo/URI, password, timeouts and pooler mode.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace matrx::orm::pg {

/// Behind PgBouncer/Supavisor in transaction pooling mode a client must not rely on
/// session state: only unnamed statements, no SET/LISTEN/advisory session locks.
enum class PoolerMode { session, transaction };

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
  /// Statements prepared automatically per connection (least recently used dropped first);
  /// 0 = never prepare. Always 0 in PoolerMode::transaction. A plan made stale by ALTER
  /// TABLE is prepared again and its statement re-sent once, unless a transaction block
  /// is open (the failure aborted it: reported with a hint).
  std::size_t statement_cache_size = 256;
};

}  // namespace matrx::orm::pg
