#include <catch2/catch.hpp>

#include "../support/models.hpp"

using namespace matrx::orm;
using testmodels::Membership;
using testmodels::Order;
using testmodels::User;

TEST_CASE("MATRX_MODEL describes fields, types and keys", "[meta]") {
  const ModelInfo& m = model_info<User>();
  CHECK(m.name == "User");
  CHECK(m.table == "user");
  CHECK(m.qualified_table() == "\"user\"");
  REQUIRE(m.fields.size() == 10);
  CHECK(m.primary_keys == std::vector<std::size_t>{0});
  const FieldInfo& id = m.field("id");
  CHECK(id.sql_type == "bigint");
  CHECK(id.identity);
  CHECK_FALSE(id.nullable);
  CHECK(m.field("username").sql_type == "character varying(50)");
  CHECK(m.field("username").unique);
  CHECK(m.field("email").nullable);
  CHECK(m.field("email").sql_type == "text");
  CHECK(m.field("score").sql_type == "double precision");
  CHECK(m.field("role").kind == ValueKind::enumeration);
  CHECK(m.field("role").enum_type == "role");
  CHECK(m.field("role").choices == std::vector<std::string>{"admin", "member", "guest"});
  CHECK(m.field("tags").sql_type == "text[]");
  CHECK(m.field("meta").sql_type == "jsonb");
  CHECK(m.field("created_at").sql_type == "timestamp with time zone");
  CHECK(m.field("created_at").has_server_default());
  CHECK_THROWS_WITH(m.field("nope"), Catch::Contains("User has no field named 'nope'"));
}

TEST_CASE("defaults, reserved words, composite keys and schemas", "[meta]") {
  const ModelInfo& o = model_info<Order>();
  CHECK(o.table == "order");
  CHECK(o.field("group").name == "group");
  CHECK(o.field("total").sql_type == "numeric(10,2)");
  CHECK(o.version_field == std::optional<std::size_t>{4});
  CHECK(o.field("id").db_default == "gen_random_uuid()");
  const ModelInfo& ms = model_info<Membership>();
  CHECK(ms.primary_keys == std::vector<std::size_t>{0, 1});
  CHECK(ms.qualified_table() == "\"auth\".\"memberships\"");
  CHECK(ms.field("role").choices == std::vector<std::string>{"owner", "member"});
  CHECK(field_index(&Order::group) == 2);
  CHECK(field_index(&User::id) == 0);
}

TEST_CASE("models register themselves and export a JSON snapshot", "[meta][registry]") {
  CHECK(ModelRegistry::find("User") == &model_info<User>());
  CHECK(ModelRegistry::find("memberships") == &model_info<Membership>());
  CHECK(ModelRegistry::find(typeid(Order)) == &model_info<Order>());
  CHECK_THROWS_WITH(ModelRegistry::get("Nope"), Catch::Contains("no model named 'Nope'"));
  const auto snap = ModelRegistry::snapshot();
  CHECK(snap["version"] == 1);
  bool found = false;
  for (const auto& m : snap["models"])
    if (m["name"] == "Membership") {
      found = true;
      CHECK(m["schema"] == "auth");
      CHECK(m["primary_key"] == nlohmann::json::array({"org_id", "user_id"}));
    }
  CHECK(found);
}

TEST_CASE("invalid model definitions are configuration errors", "[meta]") {
  CHECK_THROWS_WITH(detail::build_model_info("NoKey", defaults(), {FieldInfo{.name = "x"}}),
                    Catch::Contains("NoKey must define at least one primary key"));
  CHECK_THROWS_WITH(detail::build_model_info("Twice", defaults(),
                                             {FieldInfo{.name = "x", .primary_key = true}, FieldInfo{.name = "x"}}),
                    Catch::Contains("declares the column 'x' twice"));
}

TEST_CASE("snake_case and identifier quoting", "[meta]") {
  CHECK(snake_case("MyFancyModel") == "my_fancy_model");
  CHECK(snake_case("HTTPLog") == "http_log");
  CHECK(snake_case("User") == "user");
  CHECK(snake_case("Order2Item") == "order2_item");
  CHECK(quote_identifier("user") == "\"user\"");
  CHECK(quote_identifier("we\"ird") == "\"we\"\"ird\"");
  CHECK_THROWS_AS(quote_identifier(""), FieldError);
}

TEST_CASE("models keep designated initializers", "[meta]") {
  User u{.username = "alice", .age = 30};
  CHECK(u.username == "alice");
  CHECK(u.is_active);
  CHECK(u.role == testmodels::Role::member);
}

namespace optionmodels {
namespace orm = matrx::orm;
enum class Mood { calm, angry };
BOOST_DESCRIBE_ENUM(Mood, calm, angry)
struct Profile {
  std::int64_t id = 0;
  std::string display{};
  nlohmann::json raw{};
  Mood mood = Mood::calm;
  std::vector<Mood> history{};
};
MATRX_MODEL(Profile, orm::table("profiles"),
            (id, orm::primary_key),
            (display, orm::column("display_name")),
            (raw, orm::plain_json),
            (mood, orm::enum_type("mood_kind")),
            (history, orm::enum_type("mood_kind")))
}  // namespace optionmodels

TEST_CASE("column, plain_json and enum_type options", "[meta]") {
  const ModelInfo& p = model_info<optionmodels::Profile>();
  CHECK(p.fields[1].name == "display_name");
  CHECK(p.fields[1].member == "display");
  CHECK(p.find("display") == nullptr);  // lookups use the column name
  CHECK(p.field("raw").sql_type == "json");
  CHECK(p.field("mood").sql_type == "mood_kind");
  CHECK(p.field("history").sql_type == "mood_kind[]");
  CHECK(p.field("history").choices == std::vector<std::string>{"calm", "angry"});
}

TEST_CASE("abstract models give their fields to concrete models and have no table", "[meta][abstract]") {
  using testmodels::Note;
  using testmodels::Timestamped;
  static_assert(AbstractModel<Timestamped>);
  static_assert(!Described<Timestamped>);  // no table: objects<Timestamped>() does not compile
  static_assert(Described<Note>);
  const ModelInfo& m = model_info<Note>();
  REQUIRE(m.fields.size() == 4);
  // Inherited fields first, with their options.
  CHECK(m.fields[0].name == "created_at");
  CHECK(m.fields[0].auto_now_add);
  CHECK(m.fields[1].name == "updated_at");
  CHECK(m.fields[1].auto_now);
  CHECK(m.fields[2].name == "id");
  CHECK(m.primary_keys == std::vector<std::size_t>{2});
  CHECK(m.table == "note");
  CHECK(ModelRegistry::find("Note") == &m);
  CHECK(ModelRegistry::find("Timestamped") == nullptr);
  CHECK(ModelRegistry::find("timestamped") == nullptr);
  // Typed columns work on inherited members too.
  CHECK(col_of<Note, &Note::created_at>.index() == 0);
  auto recent = objects<Note>().filter(col_of<Note, &Note::updated_at> > Timestamp{}).sql();
  CHECK(recent.sql.ends_with("WHERE \"note\".\"updated_at\" > $1"));
  CHECK(col<&Note::body>.index() == 3);
  CHECK_THROWS_WITH(detail::build_model_info("Stamp", defaults(),
                                             {FieldInfo{.name = "id", .kind = ValueKind::int64, .primary_key = true},
                                              FieldInfo{.name = "at", .kind = ValueKind::text, .auto_now = true}}),
                    Catch::Contains("auto_now and auto_now_add need a Timestamp"));
}
