#include <catch2/catch.hpp>

#include <string>

#include "matrx/orm/pg/detail/connect_error.hpp"
#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/params.hpp"
#include "matrx/orm/pg/sqlstate.hpp"

using namespace matrx::orm;

namespace {
template <class Expected>
void expect_mapping(const char* sqlstate) {
  INFO("SQLSTATE " << sqlstate);
  try {
    pg::throw_for_sqlstate("boom", ErrorContext{.sqlstate = sqlstate});
  } catch (const Expected& e) {
    CHECK(e.context().sqlstate == sqlstate);
    return;
  } catch (const std::exception& e) {
    FAIL("wrong type: " << e.what());
  }
}
}  // namespace

TEST_CASE("SQLSTATE codes map to the documented error types", "[errors]") {
  expect_mapping<IntegrityError>("23505");
  expect_mapping<IntegrityError>("23503");
  expect_mapping<IntegrityError>("23502");
  expect_mapping<IntegrityError>("23514");
  expect_mapping<AuthenticationError>("28P01");
  expect_mapping<AuthenticationError>("28000");
  expect_mapping<ConnectionError>("08006");
  expect_mapping<ConnectionError>("57P01");
  expect_mapping<TransactionError>("40001");
  expect_mapping<TransactionError>("40P01");
  expect_mapping<TransactionError>("25P02");
  expect_mapping<TransactionError>("55P03");
  expect_mapping<ReadOnlyError>("25006");
  try {
    pg::throw_for_sqlstate("in failed transaction", ErrorContext{.sqlstate = "25P02"});
  } catch (const ReadOnlyError&) {
    FAIL("25P02 is not a read-only refusal");
  } catch (const TransactionError&) {
  }
  expect_mapping<QueryCanceledError>("57014");
  expect_mapping<ParameterError>("22003");
  expect_mapping<ParameterError>("22P02");
  expect_mapping<QueryError>("42601");
  expect_mapping<QueryError>("42P01");
  expect_mapping<DatabaseError>("XX000");
}

TEST_CASE("the hierarchy mirrors the original", "[errors]") {
  CHECK_THROWS_AS(throw DoesNotExist("x"), QueryError);
  CHECK_THROWS_AS(throw MultipleObjectsReturned("x"), QueryError);
  CHECK_THROWS_AS(throw IntegrityError("x"), DatabaseError);
  CHECK_THROWS_AS(throw ConnectionError("x"), DatabaseError);
  CHECK_THROWS_AS(throw TransactionError("x"), DatabaseError);
  CHECK_THROWS_AS(throw PoolTimeoutError("x"), DatabaseError);
  CHECK_THROWS_AS(throw OptimisticLockError("x"), OrmError);
  CHECK_THROWS_AS(throw ParameterError("x"), OrmError);
  CHECK_THROWS_AS(throw ValidationError("x"), std::runtime_error);
  CHECK(std::string(DoesNotExist("x").kind()) == "DoesNotExist");
}

TEST_CASE("what() shows kind, message and every known context field", "[errors]") {
  IntegrityError e("duplicate key value violates unique constraint \"users_username_key\"",
                   ErrorContext{.model = "User",
                                .operation = "create",
                                .sql = "INSERT INTO \"users\" (\"username\") VALUES ($1)",
                                .params = {"<untyped, 5 bytes>"},
                                .sqlstate = "23505",
                                .constraint = "users_username_key",
                                .detail = "Key (username)=(alice) already exists."});
  const std::string w = e.what();
  CHECK(w.rfind("IntegrityError: duplicate key value", 0) == 0);
  CHECK(w.find("\n  model:      User") != std::string::npos);
  CHECK(w.find("\n  operation:  create") != std::string::npos);
  CHECK(w.find("\n  sql:        INSERT INTO \"users\" (\"username\") VALUES ($1)") != std::string::npos);
  CHECK(w.find("\n  params:     $1 = <untyped, 5 bytes>") != std::string::npos);
  CHECK(w.find("\n  sqlstate:   23505") != std::string::npos);
  CHECK(w.find("\n  constraint: users_username_key") != std::string::npos);
  CHECK(w.find("hint") == std::string::npos);  // empty fields are omitted
  CHECK(w.find("\x1b[") == std::string::npos);  // no ANSI colours
}

TEST_CASE("enrich fills only empty fields (closest value wins)", "[errors]") {
  QueryError e("bad", ErrorContext{.model = "Inner"});
  e.enrich_model("Outer").enrich_operation("filter");
  CHECK(e.context().model == "Inner");
  CHECK(e.context().operation == "filter");
  CHECK(std::string(e.what()).find("operation:  filter") != std::string::npos);
}

TEST_CASE("parameters are redacted in errors unless the policy allows them", "[errors][params]") {
  auto p = pg::Params::of(std::string("hunter2"), 42, std::optional<int>{});
  auto redacted = p.render();
  REQUIRE(redacted.size() == 3);
  CHECK(redacted[0] == "<untyped, 7 bytes>");
  CHECK(redacted[1] == "<int4, 4 bytes>");
  CHECK(redacted[2] == "NULL");
  set_error_parameter_policy(ParameterPolicy::full);
  auto full = p.render();
  set_error_parameter_policy(ParameterPolicy::redacted);
  CHECK(full[0] == "'hunter2'");
  CHECK(full[1] == "<int4 binary 0000002a>");
}

TEST_CASE("a failed connection's SQLSTATE is read from libpq's verbose text, in any language", "[errors][connect]") {
  using matrx::orm::pg::detail::parse_connect_failure;
  auto one = parse_connect_failure(
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28P01: password authentication failed for user "
      "\"bob\"\nLOCATION:  auth_failed, auth.c:334\n");
  CHECK(one.sqlstate == "28P01");
  CHECK(one.message ==
        "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"bob\"");
  // Several hosts: one failure each; the last attempt's code is the one reported. The
  // severity and the LOCATION label are translated; the layout is not.
  auto two = parse_connect_failure(
      "connection to server at \"a\" (10.0.0.1), port 5432 failed: FATAL:  53300: sorry, too many clients already\n"
      "ORT:  InitProcess, proc.c:363\n"
      "connection to server at \"b\" (10.0.0.2), port 5432 failed: SCHWERWIEGEND:  3D000: Datenbank »x« existiert nicht\n"
      "ORT:  InitPostgres, postinit.c:948\n");
  CHECK(two.sqlstate == "3D000");
  CHECK(two.message ==
        "connection to server at \"a\" (10.0.0.1), port 5432 failed: FATAL:  sorry, too many clients already\n"
        "connection to server at \"b\" (10.0.0.2), port 5432 failed: SCHWERWIEGEND:  Datenbank »x« existiert nicht");
  // No server answer (refused, timeout): no code, text unchanged.
  auto refused = parse_connect_failure("connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
                                       "\tIs the server running on that host and accepting TCP/IP connections?");
  CHECK(refused.sqlstate.empty());
  CHECK(refused.message == "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
                           "\tIs the server running on that host and accepting TCP/IP connections?");
}
