// Migration files without a server: parsing, loading a directory, dependency order and its
// errors, checksums.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "../support/temp_dir.hpp"

#include <unistd.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/migrate/migration_file.hpp"
#include "matrx/orm/migrate/sql_script.hpp"

namespace mg = matrx::orm::migrate;
using matrx::orm::MigrationError;


TEST_CASE("a migration file: header, up and down sections", "[migrate]") {
  const auto m = mg::parse_migration("0002_tags",
                                     "-- depends: 0001_initial, 0001_users.sql\n"
                                     "-- matrx:no-transaction\n"
                                     "-- +up\n"
                                     "CREATE INDEX CONCURRENTLY tags_label ON tags (label);\n"
                                     "-- a comment inside up stays\n"
                                     "--   +down\n"
                                     "DROP INDEX CONCURRENTLY tags_label;\n");
  CHECK(m.name == "0002_tags");
  CHECK(m.depends == std::vector<std::string>{"0001_initial", "0001_users"});
  CHECK(m.no_transaction);
  CHECK(m.up == "CREATE INDEX CONCURRENTLY tags_label ON tags (label);\n-- a comment inside up stays");
  REQUIRE(m.down);
  CHECK(*m.down == "DROP INDEX CONCURRENTLY tags_label;");
  CHECK(m.checksum.size() == 64);

  const auto no_down = mg::parse_migration("0001_initial", "-- +up\nCREATE TABLE t (id int);");
  CHECK_FALSE(no_down.down);
  CHECK(no_down.depends.empty());
  CHECK_FALSE(no_down.no_transaction);
}

TEST_CASE("malformed migration files are errors naming the file and line", "[migrate]") {
  CHECK_THROWS_WITH(mg::parse_migration("0001_x", "CREATE TABLE t ();"), Catch::Contains("0001_x.sql: no \"-- +up\" section"));
  CHECK_THROWS_WITH(mg::parse_migration("0001_x", "-- +up\n\n-- +down\nDROP TABLE t;"), Catch::Contains("is empty"));
  CHECK_THROWS_WITH(mg::parse_migration("0001_x", "-- +down\nx;\n-- +up\ny;"), Catch::Contains("line 1: \"-- +down\" before"));
  CHECK_THROWS_WITH(mg::parse_migration("0001_x", "-- +up\na;\n-- +up\nb;"), Catch::Contains("line 3: a second \"-- +up\""));
  CHECK_THROWS_WITH(mg::parse_migration("0001_x", "-- depends: 0001_x\n-- +up\na;"), Catch::Contains("cannot depend on itself"));
  CHECK_THROWS_WITH(mg::parse_migration("0001_x", "-- depends: initial\n-- +up\na;"), Catch::Contains("\"initial\" is not a migration name"));
  CHECK_THROWS_WITH(mg::parse_migration("1_x", "-- +up\na;"), Catch::Contains("NNNN_name"));
  CHECK(mg::valid_migration_name("0001_initial"));
  CHECK(mg::valid_migration_name("20261121_add_tags"));
  CHECK_FALSE(mg::valid_migration_name("0001-initial"));
  CHECK_FALSE(mg::valid_migration_name("0001_"));
  CHECK_FALSE(mg::valid_migration_name("abcd_x"));
}

TEST_CASE("checksums are SHA-256 of the raw bytes: a CRLF copy differs", "[migrate]") {
  CHECK(mg::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(mg::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const auto lf = mg::parse_migration("0001_a", "-- +up\nSELECT 1;\n");
  const auto crlf = mg::parse_migration("0001_a", "-- +up\r\nSELECT 1;\r\n");
  CHECK(lf.checksum != crlf.checksum);
  CHECK(lf.up == crlf.up);
}

TEST_CASE("a directory loads sorted, dependency order puts dependencies first, ties by name", "[migrate]") {
  testsupport::TempDir dir("migrations_order");
  dir.write("0001_initial.sql", "-- +up\nCREATE TABLE a (id int);\n-- +down\nDROP TABLE a;\n");
  dir.write("0003_c.sql", "-- depends: 0004_d\n-- +up\nSELECT 3;\n");
  dir.write("0002_b.sql", "-- depends: 0001_initial\n-- +up\nSELECT 2;\n");
  dir.write("0004_d.sql", "-- depends: 0001_initial\n-- +up\nSELECT 4;\n");
  dir.write("README.txt", "not a migration");
  const auto files = mg::load_migrations(dir.path);
  REQUIRE(files.size() == 4);
  CHECK(files[0].name == "0001_initial");
  CHECK(files[0].path.filename() == "0001_initial.sql");
  const auto order = mg::dependency_order(files);
  std::vector<std::string> names;
  for (const auto* f : order) names.push_back(f->name);
  // 0003 depends on 0004, so 0004 comes first although its name sorts later.
  CHECK(names == std::vector<std::string>{"0001_initial", "0002_b", "0004_d", "0003_c"});
}

TEST_CASE("missing and cyclic dependencies, duplicate numbers and bad names are errors", "[migrate]") {
  {
    testsupport::TempDir dir("migrations_missing");
    dir.write("0002_b.sql", "-- depends: 0001_gone\n-- +up\nSELECT 2;\n");
    const auto files = mg::load_migrations(dir.path);
    CHECK_THROWS_WITH(mg::dependency_order(files), Catch::Contains("0002_b.sql: depends on 0001_gone, which is not"));
  }
  {
    testsupport::TempDir dir("migrations_cycle");
    dir.write("0001_a.sql", "-- +up\nSELECT 1;\n");
    dir.write("0002_b.sql", "-- depends: 0003_c\n-- +up\nSELECT 2;\n");
    dir.write("0003_c.sql", "-- depends: 0002_b\n-- +up\nSELECT 3;\n");
    const auto files = mg::load_migrations(dir.path);
    CHECK_THROWS_WITH(mg::dependency_order(files), Catch::Contains("dependency cycle among 0002_b.sql, 0003_c.sql"));
  }
  {
    testsupport::TempDir dir("migrations_dup");
    dir.write("0001_a.sql", "-- +up\nSELECT 1;\n");
    dir.write("0001_b.sql", "-- +up\nSELECT 1;\n");
    CHECK_THROWS_WITH(mg::load_migrations(dir.path), Catch::Contains("the number 0001 is already used"));
  }
  {
    testsupport::TempDir dir("migrations_badname");
    dir.write("init.sql", "-- +up\nSELECT 1;\n");
    CHECK_THROWS_AS(mg::load_migrations(dir.path), MigrationError);
  }
  CHECK_THROWS_WITH(mg::load_migrations("/nonexistent/matrx/migrations"), Catch::Contains("does not exist"));
}

TEST_CASE("scripts split into statements by PostgreSQL's grammar", "[migrate][script]") {
  const auto statements = mg::split_script(
      "CREATE TABLE a (x text DEFAULT ';', \"we;ird\" int);\n"
      "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n"
      "-- a comment; with a semicolon\n"
      "/* outer; /* nested; */ still comment; */ SELECT E'it\\'s; fine', $$;$$;\n"
      "   ;  -- only a comment here\n"
      "CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\n"
      "BEGIN ATOMIC\n  SELECT a + b;\n  SELECT a - b;\nEND;\n"
      "DO $$ BEGIN PERFORM 1; RAISE NOTICE 'x;y'; END $$;\n"
      "CREATE RULE r AS ON INSERT TO a DO ALSO (NOTIFY a; NOTIFY b);\n"
      "SELECT $1; SELECT $2");
  REQUIRE(statements.size() == 8);
  CHECK(statements[0].sql == "CREATE TABLE a (x text DEFAULT ';', \"we;ird\" int)");
  CHECK(statements[0].line == 1);
  CHECK(statements[1].sql == "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql");
  CHECK(statements[2].sql ==
        "-- a comment; with a semicolon\n/* outer; /* nested; */ still comment; */ SELECT E'it\\'s; fine', $$;$$");
  CHECK(statements[2].line == 4);  // where its code starts, after the comment line
  // A comment after an empty statement belongs to the next one, as the parser sees it.
  CHECK(statements[3].sql ==
        "-- only a comment here\nCREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT a + b;\n  SELECT a - b;\nEND");
  CHECK(statements[3].line == 6);
  CHECK(statements[4].sql == "DO $$ BEGIN PERFORM 1; RAISE NOTICE 'x;y'; END $$");
  CHECK(statements[5].sql == "CREATE RULE r AS ON INSERT TO a DO ALSO (NOTIFY a; NOTIFY b)");
  CHECK(statements[6].sql == "SELECT $1");  // a placeholder is code, not a dollar quote
  CHECK(statements[7].sql == "SELECT $2");
  CHECK(statements[7].line == 13);
  CHECK(mg::split_script("  -- nothing\n/* at all */ ;").empty());
}

TEST_CASE("a syntax error in a script names the file, line and column before anything runs", "[migrate][script]") {
  CHECK_THROWS_WITH(mg::split_script("SELECT 1;\nCREATE TABLE t (a int,);\n", "0001_x.sql", 10),
                    Catch::Contains("0001_x.sql, line 11, column 23") && Catch::Contains("syntax error at or near \")\""));
  CHECK_THROWS_AS(mg::split_script("SELECT 'unterminated"), MigrationError);
  CHECK_THROWS_AS(mg::split_script(std::string("SELECT 1;\0SELECT 2", 19)), MigrationError);
}

TEST_CASE("a section's first line is the file's line where its text starts", "[migrate][script]") {
  const auto m = mg::parse_migration("0001_lines", "-- a header\n-- +up\n\n\nCREATE TABLE t (a int);\n-- +down\nDROP TABLE t;\n");
  CHECK(m.up_line == 5);
  CHECK(m.down_line == 7);
}
