#include <catch2/catch.hpp>

#include <string>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/database.hpp"
#include "matrx/orm/pg/detail/secrets.hpp"

using namespace matrx::orm;
using pg::DatabaseConfig;

TEST_CASE("DatabaseConfig builds libpq options with the password kept apart", "[config]") {
  DatabaseConfig c{.name = "main", .host = "db.local", .port = "5433", .database_name = "app", .user = "svc",
                   .password = "s3cret", .sslmode = "require"};
  auto o = c.connect_options();
  CHECK(o.password == "s3cret");
  for (const auto& [k, v] : o.keywords) CHECK(v != "s3cret");
  CHECK(c.describe() == "postgresql://svc@db.local:5433/app");
}

TEST_CASE("invalid settings are ConfigurationErrors naming the setting", "[config]") {
  CHECK_THROWS_WITH(DatabaseConfig{}.validate(), Catch::Contains("needs a name"));
  CHECK_THROWS_WITH((DatabaseConfig{.name = "a", .port = "54x"}.validate()), Catch::Contains("port '54x'"));
  CHECK_THROWS_WITH((DatabaseConfig{.name = "a", .sslmode = "maybe"}.validate()), Catch::Contains("sslmode 'maybe'"));
  DatabaseConfig bad_pool{.name = "a"};
  bad_pool.pool.min_size = 5;
  bad_pool.pool.max_size = 2;
  CHECK_THROWS_AS(bad_pool.validate(), ConfigurationError);
}

TEST_CASE("a bad URL is rejected without showing its password", "[config][secrets]") {
  try {
    DatabaseConfig::from_url("x", "postgresql://bob:topsecret@host:5432/db?nonsense_option=1");
    FAIL("expected ConfigurationError");
  } catch (const ConfigurationError& e) {
    const std::string w = e.what();
    CHECK(w.find("topsecret") == std::string::npos);
    CHECK(w.find("nonsense_option") != std::string::npos);
  }
  try {
    DatabaseConfig::from_url("x", "host=h password='top secret' dbname");
    FAIL("expected ConfigurationError");
  } catch (const ConfigurationError& e) {
    CHECK(std::string(e.what()).find("top secret") == std::string::npos);
  }
}

TEST_CASE("redaction removes passwords from URLs, conninfo and separate settings", "[secrets]") {
  pg::ConnectOptions o;
  o.conninfo = "postgresql://u:pa55@h/db";
  o.password = "other";
  CHECK(pg::detail::redact_secrets("x pa55 y other z", o) == "x ******** y ******** z");
  CHECK(pg::detail::redacted_conninfo("host=a password=abc user=b") == "host=a password=******** user=b");
  CHECK(pg::detail::redacted_conninfo("postgresql://u:pa55@h/db") == "postgresql://u:********@h/db");
}

TEST_CASE("the registry finds databases by name or alias and rejects duplicates", "[config][registry]") {
  pg::register_database(DatabaseConfig{.name = "unit_primary", .alias = "unit_p"});
  pg::register_database_url("unit_url", "postgresql://app@localhost:6543/appdb");
  CHECK(&pg::database("unit_primary") == &pg::database("unit_p"));
  CHECK(pg::database("unit_url").config().describe() == "postgresql://app@localhost:6543/appdb");
  CHECK(pg::is_database_registered("unit_url"));
  CHECK_THROWS_WITH(pg::register_database(DatabaseConfig{.name = "unit_primary"}), Catch::Contains("already registered"));
  CHECK_THROWS_WITH(pg::register_database(DatabaseConfig{.name = "other", .alias = "unit_p"}),
                    Catch::Contains("alias 'unit_p' is already used"));
  try {
    pg::database("nope");
    FAIL("expected ConfigurationError");
  } catch (const ConfigurationError& e) {
    CHECK(e.context().hint.find("unit_primary") != std::string::npos);
  }
  pg::unregister_database("unit_p");
  pg::unregister_database("unit_url");
  CHECK_FALSE(pg::is_database_registered("unit_primary"));
}
