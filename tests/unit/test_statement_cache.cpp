#include <catch2/catch.hpp>

#include "matrx/orm/pg/oid.hpp"
#include "matrx/orm/pg/session_state.hpp"
#include "matrx/orm/pg/statement_cache.hpp"

using matrx::orm::pg::Oid;
using matrx::orm::pg::StatementCache;
using Use = StatementCache::Use;

TEST_CASE("a statement is prepared once, executed by name after its Parse succeeds", "[statement_cache]") {
  StatementCache c(4);
  const Oid int8[] = {20};
  auto first = c.lookup("SELECT $1", int8, 1);
  CHECK(first.use == Use::prepare);
  CHECK(first.name == "matrx_s1");
  CHECK_FALSE(first.evicted);
  // Same shape while the Parse is in flight: unnamed, never racing the Parse.
  CHECK(c.lookup("SELECT $1", int8, 1).use == Use::unnamed);
  c.prepared(first.name, true);
  auto again = c.lookup("SELECT $1", int8, 1);
  CHECK(again.use == Use::execute);
  CHECK(again.name == "matrx_s1");
  CHECK(c.hits() == 1);
  // Other parameter types are another statement.
  const Oid int4[] = {23};
  auto other = c.lookup("SELECT $1", int4, 1);
  CHECK(other.use == Use::prepare);
  CHECK(other.name == "matrx_s2");
  CHECK(c.size() == 2);
}

TEST_CASE("the least recently used ready statement is evicted when full", "[statement_cache]") {
  StatementCache c(2);
  auto a = c.lookup("SELECT A", nullptr, 0);
  auto b = c.lookup("SELECT B", nullptr, 0);
  c.prepared(a.name, true);
  c.prepared(b.name, true);
  CHECK(c.lookup("SELECT A", nullptr, 0).use == Use::execute);  // A is now the most recent
  auto d = c.lookup("SELECT C", nullptr, 0);
  CHECK(d.use == Use::prepare);
  REQUIRE(d.evicted);
  CHECK(*d.evicted == b.name);
  CHECK(c.size() == 2);
  CHECK(c.lookup("SELECT B", nullptr, 0).use == Use::prepare);  // B must be prepared again; A evicted for it
  // Every entry a Parse in flight: nothing can be evicted, so the query goes unnamed.
  StatementCache busy(1);
  auto x = busy.lookup("SELECT X", nullptr, 0);
  CHECK(x.use == Use::prepare);
  auto y = busy.lookup("SELECT Y", nullptr, 0);
  CHECK(y.use == Use::unnamed);
  CHECK_FALSE(y.evicted);
}

TEST_CASE("failed Parses, stale plans, DISCARD and capacity 0", "[statement_cache]") {
  StatementCache c(8);
  auto bad = c.lookup("SELECT 1 +", nullptr, 0);
  c.prepared(bad.name, false);
  CHECK(c.size() == 0);
  CHECK(c.lookup("SELECT 1 +", nullptr, 0).use == Use::prepare);  // tried again next time

  auto s = c.lookup("SELECT a FROM t", nullptr, 0);
  c.prepared(s.name, true);
  CHECK(c.forget(s.name));  // it existed on the server: DEALLOCATE it
  CHECK_FALSE(c.forget(s.name));
  auto pending = c.lookup("SELECT b FROM t", nullptr, 0);
  CHECK_FALSE(c.forget(pending.name));  // its Parse never completed: nothing to DEALLOCATE

  c.clear();
  CHECK(c.size() == 0);
  c.prepared(bad.name, true);  // a Parse answered after clear() is ignored
  CHECK(c.size() == 0);

  StatementCache off(0);
  CHECK(off.lookup("SELECT 1", nullptr, 0).use == Use::unnamed);
  CHECK(off.size() == 0);
}

TEST_CASE("statements that drop prepared statements are recognised", "[statement_cache]") {
  CHECK(StatementCache::drops_statements("DISCARD ALL"));
  CHECK(StatementCache::drops_statements("  discard all"));
  CHECK(StatementCache::drops_statements("DEALLOCATE ALL"));
  CHECK(StatementCache::drops_statements("deallocate matrx_s1"));
  CHECK_FALSE(StatementCache::drops_statements("DISCARDED"));
  CHECK_FALSE(StatementCache::drops_statements("SELECT 'DISCARD ALL'"));
  CHECK_FALSE(StatementCache::drops_statements(""));
}

TEST_CASE("only queries are prepared: transaction control, cursors, SET and DDL go unnamed", "[statement_cache]") {
  StatementCache c(8);
  for (const char* q : {"select 1", "  WITH x AS (SELECT 1) SELECT * FROM x", "(SELECT 1) UNION (SELECT 2)",
                        "INSERT INTO t VALUES (1)", "update t SET a = 1", "DELETE FROM t", "VALUES (1)", "TABLE t"})
    CHECK(c.lookup(q, nullptr, 0).use == Use::prepare);
  for (const char* q : {"BEGIN", "COMMIT", "DECLARE c1 NO SCROLL CURSOR FOR SELECT 1", "FETCH FORWARD 10 FROM c1",
                        "CLOSE c1", "SET search_path TO x", "CREATE TABLE t (a int)", "SELECTED", ""})
    CHECK(c.lookup(q, nullptr, 0).use == Use::unnamed);
  CHECK(c.size() == 8);
}

TEST_CASE("which statements leave state in the session", "[session]") {
  using matrx::orm::pg::touches_session;
  for (const char* sql : {"SET search_path TO x", "set application_name = 'a'", "SET SESSION work_mem = '1MB'", "RESET ALL",
                          "LISTEN ch", "UNLISTEN *", "PREPARE p AS SELECT 1", "LOAD 'auto_explain'", "DO $$ BEGIN END $$",
                          "CALL proc()", "CREATE TEMP TABLE t (a int)", "create local temporary table t (a int)",
                          "DECLARE c CURSOR WITH HOLD FOR SELECT 1", "SELECT pg_advisory_lock(1)",
                          "SELECT pg_advisory_lock_shared(1, 2)", "SELECT set_config('a.b', 'c', false)"}) {
    INFO(sql);
    CHECK(touches_session(sql));
  }
  for (const char* sql : {"SELECT 1", "INSERT INTO t VALUES ($1)", "UPDATE t SET a = 1", "BEGIN", "COMMIT",
                          "SET LOCAL statement_timeout = 0", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
                          "SET CONSTRAINTS ALL DEFERRED", "DECLARE c NO SCROLL CURSOR FOR SELECT 1", "CREATE TABLE t (a int)",
                          "PREPARE TRANSACTION 'x'", "SELECT pg_advisory_xact_lock(1)", "SELECT \"settings\" FROM t"}) {
    INFO(sql);
    CHECK_FALSE(touches_session(sql));
  }
  CHECK(matrx::orm::pg::resets_session("DISCARD ALL"));
  CHECK_FALSE(matrx::orm::pg::resets_session("DISCARD PLANS"));
}
