// Exact SQL and parameters for expressions: annotate, group_by/having, functions, windows,
// subqueries, EXISTS, CTEs and JSON text lookups — no server.
#include <catch2/catch.hpp>

#include "../support/models.hpp"
#include "../support/sql_params.hpp"

namespace orm = matrx::orm;

using namespace matrx::orm;
using testmodels::Order;
using testmodels::User;

namespace {
using testsupport::params_of;
using P = std::vector<std::string>;

constexpr const char* user_columns =
    "\"user\".\"id\", \"user\".\"username\", \"user\".\"email\", \"user\".\"age\", \"user\".\"score\", "
    "\"user\".\"is_active\", \"user\".\"role\", \"user\".\"tags\", \"user\".\"meta\", \"user\".\"created_at\"";
std::string select_users(const std::string& rest) { return "SELECT " + std::string(user_columns) + rest; }
}  // namespace

TEST_CASE("annotate adds named expressions after the fields, aggregates group by the key", "[query][sql][annotate]") {
  auto qs = orm::objects<User>()
                .filter("is_active", true)
                .annotate("lower_name", orm::Lower(orm::F("username")))
                .annotate("orders", orm::Count("id"))
                .order_by("-orders", "username");
  auto st = qs.sql();
  CHECK(st.sql == select_users(", LOWER(\"user\".\"username\") AS \"lower_name\", COUNT(\"user\".\"id\") AS \"orders\" FROM \"user\" "
                               "WHERE \"user\".\"is_active\" = $1 GROUP BY \"user\".\"id\" ORDER BY \"orders\" DESC, "
                               "\"user\".\"username\" ASC"));
  CHECK(params_of(st) == P{"true"});

  // count() over an aggregated query counts its rows (a subquery), not the joined rows.
  CHECK(compile_count(qs.spec()).sql.starts_with("SELECT count(*) FROM (SELECT "));

  CHECK_THROWS_WITH(orm::objects<User>().annotate("age", orm::Count()), Catch::Contains("a field of User"));
  CHECK_THROWS_WITH(orm::objects<User>().annotate("n", orm::Count()).annotate("n", orm::Count()),
                    Catch::Contains("already defined"));
  CHECK_THROWS_AS(orm::objects<User>().annotate("x", orm::Lower(orm::F("nope"))), FieldError);
  CHECK_THROWS_AS(orm::objects<User>().order_by("-nope"), FieldError);
}

TEST_CASE("group_by selects the groups and annotations, having inlines aggregate aliases", "[query][sql][group]") {
  auto qs = orm::objects<User>()
                .filter("age__gte", 18)
                .group_by("role")
                .annotate("n", orm::Count())
                .annotate("oldest", orm::Max("age"))
                .having("n__gt", 1)
                .order_by("-n");
  auto st = qs.sql();
  // PostgreSQL rejects aliases inside HAVING (the original's B1-13): the expression is repeated.
  CHECK(st.sql == "SELECT \"user\".\"role\", COUNT(*) AS \"n\", MAX(\"user\".\"age\") AS \"oldest\" FROM \"user\" "
                  "WHERE \"user\".\"age\" >= $1 GROUP BY \"user\".\"role\" HAVING COUNT(*) > $2 ORDER BY \"n\" DESC");
  CHECK(params_of(st) == P{"18", "1"});

  // A filter on an aggregate is a mistake caught before SQL: it belongs in having().
  CHECK_THROWS_WITH(orm::objects<User>().annotate("n", orm::Count()).filter("n__gt", 1), Catch::Contains("use having()"));
  // A window value cannot be filtered in WHERE either.
  auto ranked = orm::objects<User>().annotate("r", orm::Window(orm::Rank(), {}, {"-age"}));
  CHECK_THROWS_WITH(ranked.filter("r", 1), Catch::Contains("window function"));
  // A non-aggregate annotation can be filtered: its expression is inlined into WHERE.
  auto lowered = orm::objects<User>().annotate("lname", orm::Lower(orm::F("username"))).filter("lname", "alice").sql();
  CHECK(lowered.sql == select_users(", LOWER(\"user\".\"username\") AS \"lname\" FROM \"user\" WHERE LOWER(\"user\".\"username\") = $1"));
  CHECK(params_of(lowered) == P{"alice"});
}

TEST_CASE("functions render with bound literals typed after the column they meet", "[query][sql][functions]") {
  auto st = orm::objects<User>()
                .annotate("s", orm::Coalesce({orm::F("score"), orm::Val(0.5)}))
                .annotate("label", orm::Concat({orm::F("username"), orm::Val("#"), orm::Cast(orm::F("age"), "text")}))
                .annotate("year", orm::Extract("YEAR", orm::F("created_at")))
                .annotate("day", orm::DateTrunc("day", orm::F("created_at")))
                .annotate("big", orm::Greatest({orm::F("age"), orm::Val(21)}))
                .annotate("r", orm::Round(orm::Cast(orm::F("score"), "numeric(10,2)"), 1))
                .annotate("now", orm::Now())
                .annotate("next", orm::F("age") + 1)
                .sql();
  CHECK(st.sql == select_users(
                      ", COALESCE(\"user\".\"score\", $1) AS \"s\", CONCAT(\"user\".\"username\", $2, CAST(\"user\".\"age\" AS text)) "
                      "AS \"label\", EXTRACT(year FROM \"user\".\"created_at\") AS \"year\", date_trunc($3, \"user\".\"created_at\") "
                      "AS \"day\", GREATEST(\"user\".\"age\", $4) AS \"big\", ROUND(CAST(\"user\".\"score\" AS numeric(10,2)), $5) "
                      "AS \"r\", NOW() AS \"now\", (\"user\".\"age\" + $6) AS \"next\" FROM \"user\""));
  CHECK(params_of(st) == P{"0.500000", "#", "day", "21", "1", "1"});
  // age is int4: its literals are int4, and out-of-range values are errors, not wraparound.
  CHECK(st.params.types()[3] == pg::oid::int4);
  CHECK(st.params.types()[5] == pg::oid::int4);
  CHECK_THROWS_AS(orm::objects<User>().annotate("x", orm::F("age") + (std::int64_t{1} << 40)), ValidationError);

  CHECK_THROWS_WITH(orm::Cast(orm::F("age"), "int); DROP TABLE x; --"), Catch::Contains("is not a type name"));
  CHECK_NOTHROW(orm::Cast(orm::F("tags"), "character varying(20)[]"));
  CHECK_THROWS_WITH(orm::Extract("fortnight", orm::F("created_at")), Catch::Contains("unknown part"));
  CHECK_THROWS_AS(orm::Coalesce({orm::F("a")}), QueryError);
  CHECK_THROWS_WITH(orm::objects<User>().annotate("bad", orm::Sum(orm::Count())), Catch::Contains("cannot be nested"));
}

TEST_CASE("window functions: partition, order, frame", "[query][sql][window]") {
  auto st = orm::objects<User>()
                .annotate("rank", orm::Window(orm::Rank(), {"role"}, {"-age", "id"}))
                .annotate("prev", orm::Window(orm::Lag("age", 1, 0), {}, {"id"}))
                .annotate("bucket", orm::Window(orm::Ntile(4), {}, {"age"}))
                .annotate("running", orm::Window(orm::Sum("age"), {"role"}, {"id"}, "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"))
                .sql();
  CHECK(st.sql == select_users(
                      ", RANK() OVER (PARTITION BY \"user\".\"role\" ORDER BY \"user\".\"age\" DESC, \"user\".\"id\" ASC) AS \"rank\", "
                      "LAG(\"user\".\"age\", $1, $2) OVER (ORDER BY \"user\".\"id\" ASC) AS \"prev\", "
                      "NTILE($3) OVER (ORDER BY \"user\".\"age\" ASC) AS \"bucket\", "
                      "SUM(\"user\".\"age\") OVER (PARTITION BY \"user\".\"role\" ORDER BY \"user\".\"id\" ASC "
                      "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS \"running\" FROM \"user\""));
  CHECK(params_of(st) == P{"1", "0", "4"});
  // A window aggregate does not group the query.
  CHECK(st.sql.find("GROUP BY") == std::string::npos);
  // LAG's offset is int4 (lag(anyelement, integer, anyelement)); its default takes the column's type.
  CHECK(st.params.types()[0] == pg::oid::int4);
  CHECK(st.params.types()[1] == pg::oid::int4);

  CHECK_THROWS_WITH(orm::Window(orm::F("age")), Catch::Contains("takes a window function"));
  CHECK_THROWS_WITH(orm::Window(orm::Rank(), {}, {}, "ROWS 1; DROP TABLE x"), Catch::Contains("is not a frame clause"));
  CHECK_THROWS_AS(orm::objects<User>().annotate("r", orm::Window(orm::Rank(), {"nope"})), FieldError);
  CHECK_THROWS_AS(orm::Ntile(0), QueryError);
}

TEST_CASE("column-to-column conditions and expression lookups", "[query][sql][expr]") {
  auto st = orm::objects<User>().filter(orm::F("age") > orm::F("score")).filter(Q("id__lt", orm::F("age") * 2)).sql();
  CHECK(st.sql == select_users(" FROM \"user\" WHERE ((\"user\".\"age\" > \"user\".\"score\") AND \"user\".\"id\" < (\"user\".\"age\" * $1))"));
  CHECK(params_of(st) == P{"2"});
  CHECK_THROWS_WITH(Q(orm::F("age") + 1), Catch::Contains("takes a condition"));
  CHECK_THROWS_WITH(orm::objects<User>().filter(Q("username__contains", orm::F("email"))), Catch::Contains("only exact, ne"));
}

TEST_CASE("subqueries: correlated with OuterRef, in a lookup, and EXISTS", "[query][sql][subquery]") {
  const auto orders_of_user = orm::objects<Order>().filter(Q("user_id", orm::OuterRef("id")));
  auto counted = orm::objects<User>().filter("is_active", true).annotate("orders", orders_of_user.as_subquery(orm::Count())).sql();
  CHECK(counted.sql == select_users(", (SELECT COUNT(*) FROM \"order\" AS \"matrx_sq1\" WHERE \"matrx_sq1\".\"user_id\" = "
                                    "\"user\".\"id\") AS \"orders\" FROM \"user\" WHERE \"user\".\"is_active\" = $1"));

  auto with_orders = orm::objects<User>().filter(orm::Exists(orders_of_user.filter("group", "g"))).filter("age__gt", 3).sql();
  CHECK(with_orders.sql == select_users(" FROM \"user\" WHERE (EXISTS (SELECT 1 FROM \"order\" AS \"matrx_sq1\" WHERE "
                                        "(\"matrx_sq1\".\"user_id\" = \"user\".\"id\" AND \"matrx_sq1\".\"group\" = $1)) "
                                        "AND \"user\".\"age\" > $2)"));
  CHECK(params_of(with_orders) == P{"g", "3"});
  auto without = orm::objects<User>().exclude(orm::Exists(orders_of_user)).sql();
  CHECK(without.sql.find("WHERE NOT (EXISTS (SELECT 1 FROM \"order\"") != std::string::npos);

  auto buyers = orm::objects<User>().filter(Q("id__in", orm::objects<Order>().filter("group", "g").as_subquery("user_id"))).sql();
  CHECK(buyers.sql == select_users(" FROM \"user\" WHERE \"user\".\"id\" IN (SELECT \"matrx_sq1\".\"user_id\" FROM \"order\" AS "
                                   "\"matrx_sq1\" WHERE \"matrx_sq1\".\"group\" = $1)"));

  // Names are checked: in the subquery against its model when built, OuterRef against the
  // enclosing model when the statement is compiled — before anything is sent.
  CHECK_THROWS_AS(orm::objects<Order>().as_subquery("nope"), FieldError);
  auto bad_outer = orm::objects<User>().filter(orm::Exists(orm::objects<Order>().filter(Q("user_id", orm::OuterRef("nope")))));
  CHECK_THROWS_AS(bad_outer.sql(), FieldError);
  CHECK_THROWS_WITH(orm::objects<Order>().filter(Q("user_id", orm::OuterRef("id"))).sql(), Catch::Contains("only meaningful inside a subquery"));
  CHECK_THROWS_WITH(orm::objects<User>().filter(Q("id__in", orm::F("age"))), Catch::Contains("takes a subquery"));
}

TEST_CASE("CTEs come first with their parameters, raw CTE placeholders are renumbered by a lexer", "[query][sql][cte]") {
  auto st = orm::objects<User>()
                .filter("is_active", true)
                .with_cte("young", "SELECT id FROM \"user\" WHERE age < $1 AND username <> '$1'", {Value(30)})
                .with_cte("named", "SELECT id FROM \"user\" WHERE username = $1 /* $1 */", {Value("bob")})
                .filter(Q("id__in", orm::CteValues("young", "id")) || Q("id__in", orm::CteValues("named", "id")))
                .sql();
  CHECK(st.sql == "WITH \"young\" AS (SELECT id FROM \"user\" WHERE age < $1 AND username <> '$1'), \"named\" AS (SELECT id "
                  "FROM \"user\" WHERE username = $2 /* $1 */) " + select_users(" FROM \"user\" WHERE (\"user\".\"is_active\" = $3 AND "
                  "(\"user\".\"id\" IN (SELECT \"id\" FROM \"young\") OR \"user\".\"id\" IN (SELECT \"id\" FROM \"named\")))"));
  CHECK(params_of(st) == P{"30", "bob", "true"});

  auto rec = orm::objects<User>().with_cte("n", "SELECT 1 AS v UNION ALL SELECT v + 1 FROM n WHERE v < $1", {Value(5)}, true).sql();
  CHECK(rec.sql.starts_with("WITH RECURSIVE \"n\" AS ("));

  auto from_qs = orm::objects<User>().with_cte("big", orm::objects<Order>().filter("group", "b")).filter("age", 1).sql();
  CHECK(from_qs.sql.starts_with("WITH \"big\" AS (SELECT \"order\".\"id\", \"order\".\"user_id\", \"order\".\"group\", "
                                "\"order\".\"total\", \"order\".\"version\" FROM \"order\" WHERE \"order\".\"group\" = $1) SELECT "));
  CHECK(params_of(from_qs) == P{"b", "1"});

  CHECK(renumber_placeholders("a = $1 AND b = $$ $2 $$ AND c = $tag$ $1 $tag$ AND \"$1\" = $2 -- $1\n", 10, 2) ==
        "a = $11 AND b = $$ $2 $$ AND c = $tag$ $1 $tag$ AND \"$1\" = $12 -- $1\n");
  CHECK(renumber_placeholders("x = 'it''s $1' AND y = $1", 1, 1) == "x = 'it''s $1' AND y = $2");
  CHECK_THROWS_WITH(renumber_placeholders("x = $2", 0, 1), Catch::Contains("uses $2 but 1 parameter"));
  CHECK_THROWS_AS(orm::objects<User>().with_cte("x", "SELECT $1", {}).sql(), QueryError);
}

TEST_CASE("json_key and json_path lookups are boolean conditions (the original's were not, B1-6)", "[query][sql][json]") {
  const ModelInfo& U = model_info<User>();
  auto eq = compile_count(SelectSpec{.model = &U, .where = Q{{"meta__json_key", Value::List{"plan", "pro"}}}.resolve(U)});
  CHECK(eq.sql == "SELECT count(*) FROM \"user\" WHERE (\"user\".\"meta\" ->> $1) = $2");
  CHECK(params_of(eq) == P{"plan", "pro"});
  auto num = compile_count(SelectSpec{.model = &U, .where = Q{{"meta__json_key", Value::List{"tier", 2}}}.resolve(U)});
  CHECK(params_of(num) == P{"tier", "2"});
  auto present = compile_count(SelectSpec{.model = &U, .where = Q{{"meta__json_key", "plan"}}.resolve(U)});
  CHECK(present.sql == "SELECT count(*) FROM \"user\" WHERE (\"user\".\"meta\" ->> $1) IS NOT NULL");
  auto path = compile_count(SelectSpec{.model = &U, .where = Q{{"meta__json_path", Value::List{Value::List{"a", "b c"}, true}}}.resolve(U)});
  CHECK(path.sql == "SELECT count(*) FROM \"user\" WHERE (\"user\".\"meta\" #>> $1) = $2");
  CHECK(params_of(path) == P{"{a,\"b c\"}", "true"});
  auto has_path = compile_count(SelectSpec{.model = &U, .where = Q{{"meta__json_path", Value::List{"a", "b"}}}.resolve(U)});
  CHECK(has_path.sql == "SELECT count(*) FROM \"user\" WHERE (\"user\".\"meta\" #>> $1) IS NOT NULL");

  CHECK_THROWS_WITH((Q{{"age__json_key", "x"}}.resolve(U)), Catch::Contains("needs a json field"));
  CHECK_THROWS_WITH((Q{{"meta__json_key", Value::List{"a", "b", "c"}}}.resolve(U)), Catch::Contains("takes a key"));
  CHECK_THROWS_WITH((Q{{"meta__json_path", "a"}}.resolve(U)), Catch::Contains("takes a path"));

  auto annotated = orm::objects<User>().annotate("plan", orm::JsonKey(orm::F("meta"), "plan")).order_by("plan").sql();
  CHECK(annotated.sql == select_users(", (\"user\".\"meta\" ->> $1) AS \"plan\" FROM \"user\" ORDER BY \"plan\" ASC"));
  CHECK_THROWS_AS(orm::objects<User>().annotate("x", orm::JsonKey(orm::F("age"), "k")), ValidationError);
}

TEST_CASE("reverse() flips the order, or orders by the key descending", "[query][sql]") {
  CHECK(orm::objects<User>().reverse().sql().sql == select_users(" FROM \"user\" ORDER BY \"user\".\"id\" DESC"));
  CHECK(orm::objects<User>().order_by("-age", "username").reverse().sql().sql ==
        select_users(" FROM \"user\" ORDER BY \"user\".\"age\" ASC, \"user\".\"username\" DESC"));
}
