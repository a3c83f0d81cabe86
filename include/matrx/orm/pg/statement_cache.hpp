// StatementCache: which statements a connection has prepared, so that a query shape the
// connection has seen before skips the server's parse and plan. Bounded, least recently
// used first out. Sans-I/O: the connection asks what to send and reports what the server
// answered; unit tests drive it directly.
//
// A query is keyed by its SQL text and parameter types (a statement prepared for an
// int8 parameter cannot bind an int4). A Parse in flight is `pending`: queries of the same
// shape meanwhile go unnamed rather than race it. Capacity 0 disables preparing (transaction
// poolers such as PgBouncer route each statement to any server connection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "matrx/orm/pg/oid.hpp"

namespace matrx::orm::pg {

class StatementCache {
 public:
  enum class Use { unnamed, prepare, execute };
  struct Decision {
    Use use = Use::unnamed;
    std::string name;                    ///< the statement's server-side name (empty: unnamed)
    std::optional<std::string> evicted;  ///< a statement to DEALLOCATE first
  };

  explicit StatementCache(std::size_t capacity) : capacity_(capacity) {}

  /// How to send `sql` with these parameter types.
  Decision lookup(std::string_view sql, const Oid* types, std::size_t n_types);
  /// The Parse of statement `name` completed: ready for use, or (failed) forgotten.
  void prepared(std::string_view name, bool ok);
  /// Drops statement `name` (its plan went stale, or it vanished on the server); true when
  /// it existed on the server, so the caller should DEALLOCATE it.
  bool forget(std::string_view name);
  /// The server dropped every prepared statement (DISCARD ALL, DEALLOCATE ALL).
  void clear() noexcept;

  std::size_t size() const noexcept { return index_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }
  std::uint64_t hits() const noexcept { return hits_; }

  /// Only queries whose plans are worth keeping are prepared (SELECT, INSERT, UPDATE,
  /// DELETE, WITH, VALUES, TABLE): BEGIN, COMMIT, cursor commands with their unique names,
  /// SET or DDL would only fill the cache.
  static bool worth_preparing(std::string_view sql) noexcept;
  /// True for SQL that drops prepared statements on the server (DISCARD, DEALLOCATE).
  static bool drops_statements(std::string_view sql) noexcept;

 private:
  struct Node {
    std::string key, name;
    bool ready = false;
  };
  std::list<Node>::iterator find_name(std::string_view name);
  std::size_t capacity_;
  std::list<Node> lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Node>::iterator> index_;  // views into Node::key
  std::uint64_t next_name_ = 0, hits_ = 0;
  std::string scratch_;  // the key being looked up
};

}  // namespace matrx::orm::pg
