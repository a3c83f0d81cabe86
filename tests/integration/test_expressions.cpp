// Expressions against the real server: annotations, grouping, windows, subqueries, EXISTS,
// CTEs, JSON text lookups and functions — rows and values checked, not just the SQL.
#include <catch2/catch.hpp>

#include "../support/models.hpp"
#include "db_fixture.hpp"
#include "test_tables.hpp"

#include <fmt/format.h>

namespace orm = matrx::orm;
using orm::F;
using orm::Q;
using orm::Value;
using test::asio::awaitable;
using testmodels::Order;
using testmodels::Role;
using testmodels::User;

namespace {
// Orders: alice 2 (groups a, b), carol 1 (a), eve 3 (a, a, b).
awaitable<void> seed_orders(const std::vector<User>& users) {
  const std::pair<int, const char*> plan[] = {{0, "a"}, {0, "b"}, {2, "a"}, {4, "a"}, {4, "a"}, {4, "b"}};
  std::vector<Order> orders;
  int n = 0;
  for (const auto& [who, group] : plan)
    orders.push_back(Order{.user_id = users[static_cast<std::size_t>(who)].id, .group = group,
                           .total = orm::Numeric(std::to_string(10 * ++n) + ".50")});
  co_await orm::bulk_create(orders);
}
}  // namespace

TEST_CASE("annotations: a correlated count, ordered by its alias, read typed and as JSON", "[db][expr]") {
  test::SchemaDatabase db("expr_annotate");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    const auto users = co_await testdata::seed();
    co_await seed_orders(users);

    const auto orders_of_user = orm::objects<Order>().filter(Q("user_id", orm::OuterRef("id")));
    const auto qs = orm::objects<User>()
                        .annotate("orders", orders_of_user.as_subquery(orm::Count()))
                        .annotate("shout", orm::Upper(F("username")))
                        .order_by("-orders", "username");
    const auto rows = co_await qs.all_annotated();
    REQUIRE(rows.size() == 5);
    CHECK(rows[0].object.username == "eve");
    CHECK(rows[0].get<std::int64_t>("orders") == 3);
    CHECK(rows[0].get<std::string>("shout") == "EVE");
    CHECK(rows[1].object.username == "alice");
    CHECK(rows[1].get<std::int64_t>("orders") == 2);
    CHECK(rows[4].get<std::int64_t>("orders") == 0);  // bob and dave have none; dave sorts last
    CHECK(rows[4].object.username == "dave");
    CHECK(rows[0].extras() == nlohmann::json{{"orders", 3}, {"shout", "EVE"}});
    CHECK_THROWS_AS(rows[0].get<std::int64_t>("nope"), orm::FieldError);

    // values() builds its projection from fields and annotations (the original selected a
    // column that did not exist, B1-8).
    const auto buyers = qs.filter("orders__gte", 1);
    const auto vals = co_await buyers.values("username", "orders");
    CHECK(vals == std::vector<nlohmann::json>{{{"username", "eve"}, {"orders", 3}},
                                              {{"username", "alice"}, {"orders", 2}},
                                              {{"username", "carol"}, {"orders", 1}}});

    // An aggregate annotation groups by the primary key: each user with their order total.
    const auto totals = co_await orm::objects<User>().filter(orm::Exists(orders_of_user))
                            .annotate("n", orm::Count("id")).order_by("username").values("username", "n");
    CHECK(totals.size() == 3);

    // count() and last() on an annotated query.
    const auto awaited_count = co_await qs.count();
    CHECK(awaited_count == 5);
    const auto last = co_await qs.last();
    REQUIRE(last);
    CHECK(last->username == "dave");  // reversed: fewest orders first, then username descending
  });
}

TEST_CASE("group_by with having, over real rows", "[db][expr][group]") {
  test::SchemaDatabase db("expr_group");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    const auto users = co_await testdata::seed();
    co_await seed_orders(users);

    const auto by_group = orm::objects<Order>().group_by("group").annotate("n", orm::Count()).annotate("sum", orm::Sum("total"))
                              .order_by("group");
    const auto groups = co_await by_group.values();
    CHECK(groups == std::vector<nlohmann::json>{{{"group", "a"}, {"n", 4}, {"sum", "132.00"}},
                                                {{"group", "b"}, {"n", 2}, {"sum", "81.00"}}});
    const auto big = co_await by_group.having("n__gt", 2).values("group", "n");
    CHECK(big == std::vector<nlohmann::json>{{{"group", "a"}, {"n", 4}}});
    const auto awaited_groups = co_await by_group.count();
    CHECK(awaited_groups == 2);
    // A grouped row is not an Order.
    CHECK_THROWS_WITH(co_await by_group.all(), Catch::Contains("use values()"));
    CHECK_THROWS_WITH(co_await by_group.values("user_id"), Catch::Contains("not a group_by field"));

    // Per-user order counts through the user_id group, filtered with HAVING on an aggregate.
    const auto repeat_buyers = co_await orm::objects<Order>().group_by("user_id").annotate("n", orm::Count())
                                   .having(orm::Count() >= 2).order_by("user_id").values("user_id");
    CHECK(repeat_buyers == std::vector<nlohmann::json>{{{"user_id", users[0].id}}, {{"user_id", users[4].id}}});
  });
}

TEST_CASE("window functions rank, lag and running sums", "[db][expr][window]") {
  test::SchemaDatabase db("expr_window");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    co_await testdata::seed();
    // Built before co_await: g++ 12 miscompiles braced lists inside a co_await expression.
    const auto ranked = orm::objects<User>()
                          .annotate("rank", orm::Window(orm::Rank(), {}, {"-age"}))
                          .annotate("prev_age", orm::Window(orm::Lag("age", 1, 0), {}, {"age"}))
                          .annotate("running", orm::Window(orm::Sum("age"), {}, {"age"}, "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"))
                          .annotate("half", orm::Window(orm::Ntile(2), {}, {"age"}))
                          .order_by("username");
    const auto rows = co_await ranked.all_annotated();
    REQUIRE(rows.size() == 5);
    // alice 20, bob 30, carol 40, dave 50, eve 60
    CHECK(rows[0].get<std::int64_t>("rank") == 5);
    CHECK(rows[4].get<std::int64_t>("rank") == 1);
    CHECK(rows[0].get<std::int32_t>("prev_age") == 0);  // the default, typed as the age column
    CHECK(rows[1].get<std::int32_t>("prev_age") == 20);
    CHECK(rows[2].get<std::int64_t>("running") == 90);  // 20 + 30 + 40
    CHECK(rows[4].get<std::int64_t>("running") == 200);
    CHECK(rows[0].get<std::int32_t>("half") == 1);
    CHECK(rows[4].get<std::int32_t>("half") == 2);
  });
}

TEST_CASE("EXISTS, IN (subquery) and column comparisons select the right rows", "[db][expr][subquery]") {
  test::SchemaDatabase db("expr_subquery");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    auto users = co_await testdata::seed();
    co_await seed_orders(users);

    const auto orders_of_user = orm::objects<Order>().filter(Q("user_id", orm::OuterRef("id")));
    const auto buyers = co_await orm::objects<User>().filter(orm::Exists(orders_of_user)).order_by("username").values_flat<&User::username>();
    CHECK(buyers == std::vector<std::string>{"alice", "carol", "eve"});
    const auto never = co_await orm::objects<User>().exclude(orm::Exists(orders_of_user)).order_by("username").values_flat<&User::username>();
    CHECK(never == std::vector<std::string>{"bob", "dave"});
    const auto b_group = co_await orm::objects<User>()
                             .filter(Q("id__in", orm::objects<Order>().filter("group", "b").as_subquery("user_id")))
                             .order_by("username").values_flat<&User::username>();
    CHECK(b_group == std::vector<std::string>{"alice", "eve"});

    // Column against column: score set to age/2 + 5 for two users, so age > score for them.
    const auto bob_and_dave = orm::objects<User>().filter("username__in", Value::List{"bob", "dave"});
    co_await bob_and_dave.update("score", F("age") / 2 + 5);
    const auto older = co_await orm::objects<User>().filter(F("age") > F("score")).order_by("username").values_flat<&User::username>();
    CHECK(older == std::vector<std::string>{"bob", "dave"});
    const auto dave = co_await orm::objects<User>().filter(Q("score__gt", F("age") / 2)).values_flat<&User::username>();
    CHECK(dave == std::vector<std::string>{"bob", "dave"});
  });
}

TEST_CASE("CTEs, recursive and from a QuerySet, run with their parameters", "[db][expr][cte]") {
  test::SchemaDatabase db("expr_cte");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    const auto users = co_await testdata::seed();
    // ids 1..3 generated recursively, combined with a filter that has its own parameter.
    const auto qs = orm::objects<User>()
                        .with_cte("n", "SELECT 1::bigint AS v UNION ALL SELECT v + 1 FROM n WHERE v < $1", {Value(3)}, true)
                        .filter(Q("id__in", orm::CteValues("n", "v")))
                        .filter("age__gte", 30)
                        .order_by("id");
    const auto got = co_await qs.values_flat<&User::username>();
    CHECK(got == std::vector<std::string>{"bob", "carol"});
    const auto awaited_n = co_await qs.count();
    CHECK(awaited_n == 2);

    const auto old = orm::objects<User>().filter("age__gt", 45);
    const auto from_cte = co_await orm::objects<User>().with_cte("old", old).filter(Q("id__in", orm::CteValues("old", "id"))).count();
    CHECK(from_cte == 2);
    CHECK(users.size() == 5);
  });
}

TEST_CASE("json_key / json_path filters and JSON text annotations", "[db][expr][json]") {
  test::SchemaDatabase db("expr_json");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    auto users = co_await testdata::seed();
    users[0].meta = nlohmann::json{{"plan", "pro"}, {"limits", {{"seats", 5}}}};
    users[1].meta = nlohmann::json{{"plan", "free"}, {"limits", {{"seats", 1}}}};
    users[2].meta = nlohmann::json{{"beta", true}};
    const std::vector<std::string> meta_only{"meta"};
    co_await orm::bulk_update(users, meta_only);

    const auto pro_qs = orm::objects<User>().filter("meta__json_key", Value::List{"plan", "pro"});
    const auto pro = co_await pro_qs.values_flat<&User::username>();
    CHECK(pro == std::vector<std::string>{"alice"});
    const auto with_plan = co_await orm::objects<User>().filter("meta__json_key", "plan").count();
    CHECK(with_plan == 2);
    const auto five_seats_qs = orm::objects<User>().filter("meta__json_path", Value::List{Value::List{"limits", "seats"}, 5});
    const auto five_seats = co_await five_seats_qs.values_flat<&User::username>();
    CHECK(five_seats == std::vector<std::string>{"alice"});
    const auto beta_qs = orm::objects<User>().filter("meta__json_key", Value::List{"beta", true});
    const auto beta = co_await beta_qs.values_flat<&User::username>();
    CHECK(beta == std::vector<std::string>{"carol"});

    const auto plans_qs = orm::objects<User>().annotate("plan", orm::JsonKey(F("meta"), "plan"))
                              .annotate("seats", orm::Cast(orm::JsonPath(F("meta"), {"limits", "seats"}), "integer"))
                              .filter("meta__isnull", false).order_by("username");
    const auto plans = co_await plans_qs.values("username", "plan", "seats");
    CHECK(plans == std::vector<nlohmann::json>{{{"username", "alice"}, {"plan", "pro"}, {"seats", 5}},
                                               {{"username", "bob"}, {"plan", "free"}, {"seats", 1}},
                                               {{"username", "carol"}, {"plan", nullptr}, {"seats", nullptr}}});
  });
}

TEST_CASE("scalar functions and aggregates of expressions compute on the server", "[db][expr][functions]") {
  test::SchemaDatabase db("expr_functions");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    co_await testdata::seed();
    const auto carol = orm::objects<User>()
                          .filter("username", "carol")
                          .annotate("label", orm::Concat({F("username"), orm::Val("#"), orm::Cast(F("age"), "text")}))
                          .annotate("mail", orm::Coalesce({F("email"), orm::Val("none")}))
                          .annotate("len", orm::Length(F("username")))
                          .annotate("dist", orm::Abs(F("age") - 45))
                          .annotate("big", orm::Greatest({F("age"), orm::Val(42)}))
                          .annotate("small", orm::Least({F("age"), orm::Val(42)}))
                          .annotate("epoch", orm::Extract("epoch", F("created_at")))
                          .annotate("day", orm::DateTrunc("day", F("created_at")))
                          .annotate("r", orm::Round(orm::Cast(F("age"), "numeric") / 3, 2))
                          .annotate("trimmed", orm::Trim(orm::Concat({orm::Val("  "), orm::Lower(F("username"))})));
    const auto rows = co_await carol.all_annotated();
    REQUIRE(rows.size() == 1);
    const auto& r = rows[0];
    CHECK(r.get<std::string>("label") == "carol#40");
    CHECK(r.get<std::string>("mail") == "carol@example.com");
    CHECK(r.get<std::int32_t>("len") == 5);
    CHECK(r.get<std::int32_t>("dist") == 5);
    CHECK(r.get<std::int32_t>("big") == 42);
    CHECK(r.get<std::int32_t>("small") == 40);
    // EXTRACT(epoch) is time-zone independent: the instant in seconds, with microseconds.
    const auto micros = r.object.created_at.time_since_epoch().count();
    CHECK(r.get<orm::Numeric>("epoch").str() == fmt::format("{}.{:06}", micros / 1000000, micros % 1000000));
    // date_trunc works in the session's time zone: midnight there, at most a day earlier.
    const auto day = r.get<orm::Timestamp>("day");
    CHECK(day <= r.object.created_at);
    CHECK(r.object.created_at - day < std::chrono::hours(24));
    CHECK(r.get<orm::Numeric>("r").str() == "13.33");
    CHECK(r.get<std::string>("trimmed") == "carol");

    const auto double_age = orm::Sum(F("age") * 2).as("double_age");
    const auto longest = orm::Max(orm::Length(F("username"))).as("longest");
    const auto emails = orm::Count("email", true);
    const auto agg = co_await orm::objects<User>().aggregate(double_age, longest, emails);
    CHECK(agg == nlohmann::json{{"double_age", 400}, {"longest", 5}, {"email__count", 3}});
  });
}
