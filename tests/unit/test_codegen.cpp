// The model-header generator without a server: names, the type mapping, relations, exact
// headers, and writing only what changed.
#include <catch2/catch.hpp>

#include <filesystem>

#include "../support/temp_dir.hpp"
#include "matrx/orm/codegen/model_writer.hpp"
#include "matrx/orm/codegen/typescript_writer.hpp"

#include <nlohmann/json.hpp>
#include "matrx/orm/errors.hpp"

namespace cg = matrx::orm::codegen;
namespace mg = matrx::orm::migrate;

namespace {
// author ← book (two references to author), book ↔ tag through book_tag, a view.
mg::SchemaDef library_schema() {
  mg::SchemaDef s;
  s.enums = {{.name = "genre", .labels = {"fiction", "essay"}}, {.name = "rating", .labels = {"PG-13", "R"}}};
  s.domains = {{.name = "isbn", .type = "text", .checks = {{"isbn_check", "(length(VALUE) = 13)"}}}};
  mg::TableDef author{.name = "author"};
  author.columns = {{.name = "id", .type = "integer", .nullable = false, .identity = true},
                    {.name = "Full Name", .type = "character varying(80)", .nullable = false},
                    {.name = "class", .type = "text"}};
  author.primary_key = {"id"};
  author.primary_key_name = "author_pkey";
  mg::TableDef book{.name = "book"};
  book.columns = {{.name = "id", .type = "bigint", .nullable = false, .default_sql = "nextval('book_id_seq'::regclass)"},
                  {.name = "author_id", .type = "integer", .nullable = false},
                  {.name = "editor_id", .type = "integer"},
                  {.name = "isbn", .type = "isbn", .nullable = false},
                  {.name = "genre", .type = "genre"},
                  {.name = "rating", .type = "rating"},
                  {.name = "price", .type = "numeric(8,2)"},
                  {.name = "tags", .type = "text[]"},
                  {.name = "search", .type = "tsvector", .generated = "to_tsvector('simple'::regconfig, isbn)"},
                  {.name = "at", .type = "timestamp(3) with time zone"}};
  book.primary_key = {"id"};
  book.primary_key_name = "book_pk";
  book.uniques = {{.name = "book_isbn_key", .columns = {"isbn"}}};
  book.foreign_keys = {{.name = "book_author_id_fkey", .columns = {"author_id"}, .ref_schema = "public",
                        .ref_table = "author", .ref_columns = {"id"}, .on_delete = "CASCADE"},
                       {.name = "book_editor", .columns = {"editor_id"}, .ref_schema = "public", .ref_table = "author",
                        .ref_columns = {"id"}}};
  book.indexes = {{.name = "book_lower_isbn", .keys = {{.expression = "lower(isbn)", .descending = true}}},
                  {.name = "book_genre_idx", .keys = {{.column = "genre"}}, .where = "(genre IS NOT NULL)"}};
  mg::TableDef tag{.name = "tag"};
  tag.columns = {{.name = "id", .type = "integer", .nullable = false}};
  tag.primary_key = {"id"};
  mg::TableDef book_tag{.name = "book_tag"};
  book_tag.columns = {{.name = "book_id", .type = "bigint", .nullable = false},
                      {.name = "tag_id", .type = "integer", .nullable = false}};
  book_tag.primary_key = {"tag_id", "book_id"};  // not in field order
  book_tag.foreign_keys = {{.name = "book_tag_book_id_fkey", .columns = {"book_id"}, .ref_schema = "public",
                            .ref_table = "book", .ref_columns = {"id"}},
                           {.name = "book_tag_tag_id_fkey", .columns = {"tag_id"}, .ref_schema = "public",
                            .ref_table = "tag", .ref_columns = {"id"}}};
  s.tables = {author, book, book_tag, tag};
  s.views = {{.name = "book_count", .definition = " SELECT count(*) AS n FROM book", .columns = {{.name = "n", .type = "bigint"}}}};
  return s;
}

const cg::GeneratedFile& file(const cg::GeneratedModels& m, const std::string& name) {
  for (const auto& f : m.files)
    if (f.name == name) return f;
  FAIL("no file " << name);
  throw;
}
}  // namespace

TEST_CASE("codegen names: types, members, keywords, non-ASCII", "[codegen]") {
  CHECK(cg::type_name("film_actor") == "FilmActor");
  CHECK(cg::type_name("Odd Name") == "OddName");
  CHECK(cg::type_name("2fa_codes") == "T2faCodes");
  CHECK(cg::type_name("bıgınt") == "Bxgxnt");
  CHECK(cg::member_name("title") == "title");
  CHECK(cg::member_name("Full Name") == "full_name");
  CHECK(cg::member_name("class") == "class_");
  CHECK(cg::member_name("wei\"rd") == "wei_rd");
  CHECK(cg::member_name("2nd") == "c2nd");
  CHECK(cg::member_name("__x") == "x");
}

TEST_CASE("codegen: the exact header of a table, its relations, and the order of files", "[codegen]") {
  const auto models = cg::generate_models(library_schema(), {.name_space = "lib", .command = "matrx-orm inspect --out m"});
  std::vector<std::string> names;
  for (const auto& f : models.files) names.push_back(f.name);
  // Referenced models first; the view after the tables; the umbrella last.
  CHECK(names == std::vector<std::string>{"schema.hpp", "author.hpp", "book.hpp", "tag.hpp", "book_tag.hpp",
                                          "book_count.hpp", "models.hpp"});
  CHECK(file(models, "book.hpp").content ==
        R"header(// Generated by `matrx-orm inspect --out m` from table public.book.
// Regenerate rather than edit: the next run rewrites this file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <matrx/orm.hpp>

#include "author.hpp"
#include "schema.hpp"

namespace lib {

namespace orm = ::matrx::orm;

struct Book {
  std::int64_t id{};
  std::int32_t author_id{};
  std::optional<std::int32_t> editor_id{};
  std::string isbn{};
  std::optional<Genre> genre{};
  std::optional<std::string> rating{};
  std::optional<orm::Numeric> price{};
  std::optional<std::vector<std::optional<std::string>>> tags{};
  std::optional<std::string> search{};
  std::optional<orm::Timestamp> at{};
};
MATRX_MODEL(Book, orm::table("book")
                .primary_key_name("book_pk")
                .index({.name = "book_lower_isbn", .keys = {{.expression = "lower(isbn)", .descending = true}}})
                .index({.name = "book_genre_idx", .columns = {"genre"}, .where = "(genre IS NOT NULL)"})
                .inverse_foreign_key("book_tag", "BookTag", "book_id")
                .many_to_many("tag", "book_tag", "book_id", "tag_id", "Tag"),
            (id, orm::primary_key, orm::db_default("nextval('book_id_seq'::regclass)")),
            (author_id, orm::references<Author>().on_delete("CASCADE")),
            (editor_id, orm::references<Author>().name("book_editor")),
            (isbn, orm::column_type("isbn"), orm::unique),
            (genre, orm::column_type("genre")),
            (rating, orm::enum_type("rating"), orm::choices({"PG-13", "R"}), orm::column_type("rating")),
            (price, orm::precision(8, 2)),
            (tags),
            (search, orm::generated("to_tsvector('simple'::regconfig, isbn)"), orm::column_type("tsvector"), orm::text_results),
            (at, orm::column_type("timestamp(3) with time zone")))

}  // namespace lib
)header");
  const std::string& author = file(models, "author.hpp").content;
  CHECK_THAT(author, Catch::Contains("  std::string full_name{};\n"));
  CHECK_THAT(author, Catch::Contains("(full_name, orm::column(\"Full Name\"), orm::max_length(80))"));
  CHECK_THAT(author, Catch::Contains("(class_, orm::column(\"class\"))"));
  CHECK_THAT(author, Catch::Contains(".inverse_foreign_key(\"book_by_author_id\", \"Book\", \"author_id\")"));
  CHECK_THAT(author, Catch::Contains(".inverse_foreign_key(\"book_by_editor_id\", \"Book\", \"editor_id\")"));
  CHECK_THAT(author, Catch::Contains("(id, orm::primary_key, orm::identity)"));
  CHECK_THAT(file(models, "book_tag.hpp").content, Catch::Contains(".primary_key({\"tag_id\", \"book_id\"})"));
  CHECK_THAT(file(models, "book_count.hpp").content, Catch::Contains("orm::table(\"book_count\")\n                .view(),"));
  const std::string& schema = file(models, "schema.hpp").content;
  CHECK_THAT(schema, Catch::Contains("enum class Genre { fiction, essay };\nBOOST_DESCRIBE_ENUM(Genre, fiction, essay)"));
  CHECK_THAT(schema, Catch::Contains("{.schema = \"public\", .name = \"isbn\", .type = \"text\", .checks = {{\"isbn_check\", "
                                     "\"(length(VALUE) = 13)\"}}}"));
  CHECK(models.notes == std::vector<std::string>{"enum public.rating: labels that are not C++ names; its columns are "
                                                 "std::string limited to the labels"});
  // Deterministic.
  const auto again = cg::generate_models(library_schema(), {.name_space = "lib", .command = "matrx-orm inspect --out m"});
  for (std::size_t i = 0; i < models.files.size(); ++i) CHECK(models.files[i].content == again.files[i].content);
}

TEST_CASE("codegen: a filter writes fewer models, a reference to one left out is kept by table name", "[codegen]") {
  const auto models = cg::generate_models(library_schema(), {.name_space = "lib", .filter = {.exclude = {"author"}}});
  for (const auto& f : models.files) CHECK(f.name != "author.hpp");
  const std::string& book = file(models, "book.hpp").content;
  CHECK_THAT(book, Catch::Contains(".foreign_key({.name = \"book_author_id_fkey\", .columns = {\"author_id\"}, "
                                   ".ref_schema = \"public\", .ref_table = \"author\", .ref_columns = {\"id\"}, "
                                   ".on_delete = \"CASCADE\"})"));
  CHECK_THAT(book, !Catch::Contains("#include \"author.hpp\""));
  CHECK_THROWS_AS(cg::generate_models(library_schema(), {.name_space = "not a namespace"}), matrx::orm::ConfigurationError);
}

TEST_CASE("codegen: files whose content is unchanged are not rewritten, --dry-run writes nothing", "[codegen]") {
  testsupport::TempDir dir("codegen_write");
  const std::vector<cg::GeneratedFile> files{{"a.hpp", "one\ntwo\n"}, {"b.hpp", "three\n"}};
  auto first = cg::write_files(dir.path, files);
  CHECK(first.written == std::vector<std::string>{"a.hpp", "b.hpp"});
  const auto stamp = std::filesystem::last_write_time(dir.path / "a.hpp");
  auto second = cg::write_files(dir.path, files);
  CHECK(second.written.empty());
  CHECK(second.unchanged.size() == 2);
  CHECK(std::filesystem::last_write_time(dir.path / "a.hpp") == stamp);
  const std::vector<cg::GeneratedFile> changed{{"a.hpp", "one\n2\n"}, {"b.hpp", "three\n"}};
  auto dry = cg::write_files(dir.path, changed, true);
  CHECK(dry.written == std::vector<std::string>{"a.hpp"});
  CHECK(dry.diff == "--- a.hpp\n+++ a.hpp\n+2\n-two\n");
  auto unchanged_on_disk = cg::write_files(dir.path, files);
  CHECK(unchanged_on_disk.written.empty());  // the dry run wrote nothing
}

TEST_CASE("codegen: tables in a schema owned elsewhere become stub models, --schema limits the full models", "[codegen]") {
  mg::SchemaDef s = library_schema();
  mg::TableDef users{.schema = "auth", .name = "users"};
  users.columns = {{.name = "id", .type = "uuid", .nullable = false}, {.name = "password", .type = "text"}};
  users.primary_key = {"id"};
  users.indexes = {{.name = "users_password", .keys = {{.column = "password"}}}};
  s.tables.push_back(users);
  s.tables[0].columns.push_back({.name = "user_id", .type = "uuid"});
  s.tables[0].foreign_keys.push_back({.name = "author_user_id_fkey", .columns = {"user_id"}, .ref_schema = "auth",
                                      .ref_table = "users", .ref_columns = {"id"}});
  s.schemas = {"auth"};
  s.enums.push_back({.schema = "auth", .name = "factor", .labels = {"totp"}});
  const auto models = cg::generate_models(s, {.name_space = "lib", .stub_schemas = {"auth"}});
  const std::string& stub = file(models, "auth_users.hpp").content;
  CHECK_THAT(stub, Catch::Contains("struct AuthUsers {\n  orm::Uuid id{};\n};"));
  CHECK_THAT(stub, Catch::Contains(".unfetchable()") && !Catch::Contains("users_password"));
  CHECK_THAT(file(models, "author.hpp").content, Catch::Contains("(user_id, orm::references<AuthUsers>())"));
  const std::string& schema = file(models, "schema.hpp").content;
  CHECK_THAT(schema, !Catch::Contains("factor") && !Catch::Contains(".schemas"));  // the stub schema's own objects
  for (const auto& f : models.files) CHECK(f.name != "auth_users_manager.hpp");

  const auto only_public = cg::generate_models(s, {.name_space = "lib", .schemas = {"public"}});
  for (const auto& f : only_public.files) CHECK(f.name != "auth_users.hpp");
  CHECK_THAT(file(only_public, "author.hpp").content, Catch::Contains(".foreign_key({.name = \"author_user_id_fkey\""));
}

TEST_CASE("codegen --managers: typed helpers that call other names", "[codegen]") {
  const auto models = cg::generate_models(library_schema(), {.name_space = "lib", .managers = true});
  const std::string& book = file(models, "book_manager.hpp").content;
  CHECK_THAT(book, Catch::Contains("class BookManager : public orm::BaseManager<Book> {"));
  CHECK_THAT(book, Catch::Contains("  boost::asio::awaitable<std::vector<Book>> load_by_author_id(std::int32_t value) {\n"
                                   "    return load_items(orm::Q(\"author_id\", std::move(value)));\n  }"));
  CHECK_THAT(book, Catch::Contains("load_by_genre(Genre value)") && Catch::Contains("load_by_rating(std::string value)"));
  CHECK_THAT(book, Catch::Contains("  boost::asio::awaitable<std::optional<Author>> fetch_author(const Book& item) {\n"
                                   "    return orm::fetch_fk<Author>(item, \"author_id\");\n  }"));
  CHECK_THAT(book, Catch::Contains("fetch_editor(const Book& item)"));
  CHECK_THAT(book, Catch::Contains("  boost::asio::awaitable<std::vector<Tag>> fetch_tag(const Book& item) {\n"
                                   "    return orm::fetch_m2m<Tag>(item, \"tag\");\n  }"));
  CHECK_THAT(file(models, "author_manager.hpp").content,
             Catch::Contains("return orm::fetch_ifk<Book>(item, \"book_by_author_id\");"));
  for (const auto& f : models.files) CHECK(f.name != "book_count_manager.hpp");  // a view has no manager
}

TEST_CASE("codegen --typescript: entities, relationships with fetch strategies, overrides as the original inserts them",
          "[codegen]") {
  cg::TypeScriptOptions options{.command = "matrx-orm inspect --typescript ts"};
  options.entity_overrides["book"]["defaultFetchStrategy"] = "'fk'";
  options.entity_overrides["book"]["displayFieldMetadata"] = "{ fieldName: 'isbn' }";
  options.field_overrides["book"]["isbn"] = R"({"label": "ISBN", "componentProps": {"rows": 2, "required": true}})";
  options.field_overrides["book"]["price"] = "{ hidden: true }";
  const auto files = cg::generate_typescript(library_schema(), options);
  const auto text = [&](const std::string& name) {
    for (const auto& f : files)
      if (f.name == name) return f.content;
    FAIL("no file " << name);
    return std::string();
  };
  CHECK_THAT(text("entities.ts"),
             Catch::Contains(R"(export const ENTITY_NAMES = ["author","book","bookTag","tag","bookCount"] as const;)"));
  const auto relationships = nlohmann::json::parse(text("fullRelationships.json"));
  CHECK(relationships["book"]["defaultFetchStrategy"] == "fkIfkAndM2M");
  CHECK(relationships["author"]["defaultFetchStrategy"] == "ifk");
  CHECK(relationships["bookTag"]["defaultFetchStrategy"] == "fk");
  CHECK(relationships["tag"]["defaultFetchStrategy"] == "m2mAndIfk");
  CHECK(relationships["bookCount"]["defaultFetchStrategy"] == "simple");
  CHECK(relationships["book"]["manyToMany"][0] == nlohmann::json{{"relatedEntity", "tag"}, {"junctionTable", "book_tag"},
                                                                 {"sourceColumn", "book_id"}, {"targetColumn", "tag_id"}});
  const auto schemas = nlohmann::json::parse(text("initialSchemas.json"));
  CHECK(schemas["author"]["fields"]["fullName"]["databaseName"] == "Full Name");
  CHECK(schemas["book"]["fields"]["genre"]["enumValues"] == std::vector<std::string>{"fiction", "essay"});
  CHECK(schemas["bookTag"]["primaryKey"] == std::vector<std::string>{"tagId", "bookId"});
  CHECK(schemas["book"]["fields"]["authorId"]["isRequired"] == true);
  CHECK(schemas["book"]["fields"]["id"]["isRequired"] == false);  // the server fills it in
  CHECK_THAT(text("entityOverrides.ts"), Catch::Contains("const bookEntityOverrides: EntityOverrides<'book'> = {\n"
                                                         "  schemaType: null,\n  entityName: null,\n"));
  CHECK_THAT(text("entityOverrides.ts"), Catch::Contains("  displayFieldMetadata: { fieldName: 'isbn' },\n"
                                                         "  defaultFetchStrategy: 'fk',\n"));
  CHECK_THAT(text("fieldOverrides.ts"),
             Catch::Contains("const bookFieldOverrides: AllFieldOverrides = {\n"
                             "  isbn: { componentProps: { rows: 2, required: false }, label: \"ISBN\" },\n"
                             "  price: { hidden: true },\n};"));
  CHECK_THAT(text("fieldOverrides.ts"), Catch::Contains("const authorFieldOverrides: AllFieldOverrides = {};"));
  options.field_overrides["nosuch"]["x"] = "1";
  CHECK_THROWS_WITH(cg::generate_typescript(library_schema(), options), Catch::Contains("'nosuch'"));
}
