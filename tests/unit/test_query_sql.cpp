// Exact SQL and parameters for every builder construct, without a server, and the
// compile-time guarantees of typed columns.
#include <catch2/catch.hpp>

#include "../support/models.hpp"
#include "../support/sql_params.hpp"

namespace orm = matrx::orm;

using namespace matrx::orm;
using testmodels::Membership;
using testmodels::Order;
using testmodels::Role;
using testmodels::User;

namespace {
using testsupport::params_of;
using P = std::vector<std::string>;

const ModelInfo& U = model_info<User>();
SelectSpec users(query::NodePtr where = {}) { return SelectSpec{.model = &U, .where = std::move(where)}; }
// What QuerySet::aggregate builds: named, resolved aggregate expressions on User.
template <class... E>
std::vector<query::Annotation> aggregates(const E&... e) {
  return {query::Annotation{detail::default_alias(e), query::resolve(e.node(), U)}...};
}
constexpr const char* all_user_columns =
    "\"user\".\"id\", \"user\".\"username\", \"user\".\"email\", \"user\".\"age\", \"user\".\"score\", "
    "\"user\".\"is_active\", \"user\".\"role\", \"user\".\"tags\", \"user\".\"meta\", \"user\".\"created_at\"";
}  // namespace

TEST_CASE("SELECT lists every column, quoted, from a quoted table", "[query][sql]") {
  auto s = compile_select(users());
  CHECK(s.sql == std::string("SELECT ") + all_user_columns + " FROM \"user\"");
  CHECK(s.params.empty());
  auto o = compile_select(SelectSpec{.model = &model_info<Order>(), .columns = {2}});
  CHECK(o.sql == "SELECT \"order\".\"group\" FROM \"order\"");
  auto ms = compile_select(SelectSpec{.model = &model_info<Membership>(), .columns = {2}});
  CHECK(ms.sql == "SELECT \"auth\".\"memberships\".\"role\" FROM \"auth\".\"memberships\"");
}

TEST_CASE("typed columns compile to parameterized comparisons", "[query][sql]") {
  auto w = col<&User::age> > 18 && col<&User::username> == "alice";
  auto s = compile_select(users(w.node()));
  CHECK(s.sql == std::string("SELECT ") + all_user_columns +
                     " FROM \"user\" WHERE (\"user\".\"age\" > $1 AND \"user\".\"username\" = $2)");
  CHECK(params_of(s) == P{"18", "alice"});
  CHECK(s.params.types()[0] == pg::oid::int4);
  CHECK(s.params.formats()[0] == 1);

  auto n = compile_count(users((col<&User::email> == std::nullopt || !(col<&User::score> <= 1.5)).node()));
  CHECK(n.sql == "SELECT count(*) FROM \"user\" WHERE (\"user\".\"email\" IS NULL OR NOT (\"user\".\"score\" <= $1))");
  CHECK(params_of(n) == P{"1.500000"});

  auto in = compile_count(users(col<&User::age>.in({1, 2, 3}).node()));
  CHECK(in.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"age\" = ANY($1)");
  CHECK(params_of(in) == P{"{1,2,3}"});
  auto none = compile_count(users(col<&User::age>.in({}).node()));
  CHECK(none.sql == "SELECT count(*) FROM \"user\" WHERE FALSE");
  auto like = compile_count(users(col<&User::username>.icontains("50%_off\\").node()));
  CHECK(like.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"username\" ILIKE $1");
  CHECK(params_of(like) == P{"%50\\%\\_off\\\\%"});
  auto between = compile_count(users(col<&User::age>.between(18, 30).node()));
  CHECK(between.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"age\" BETWEEN $1 AND $2");
  auto role = compile_count(users((col<&User::role> == Role::admin).node()));
  CHECK(params_of(role) == P{"admin"});
  CHECK(role.params.types()[0] == 0);  // untyped: the server resolves the enum type
}

// Compile-time checks: these must not compile.
template <class V> concept age_accepts = requires(V v) { col<&User::age> > v; };
template <class V> concept username_accepts = requires(V v) { col<&User::username> == v; };
template <class W> concept user_filter_accepts = requires(W w) { Where<User>(w); };
static_assert(age_accepts<int>);
static_assert(!age_accepts<std::string>);        // a string for an integer column
static_assert(!age_accepts<double>);             // narrowing
static_assert(!age_accepts<std::int64_t>);       // narrowing
static_assert(username_accepts<const char*>);
static_assert(!username_accepts<int>);
static_assert(!user_filter_accepts<Where<Order>>);  // a condition on another model
template <auto Member> concept null_comparable = requires { col<Member> == std::nullopt; };
template <auto Member> concept text_matchable = requires { col<Member>.contains("x"); };
static_assert(!null_comparable<&User::age>);  // age is not nullable
static_assert(null_comparable<&User::email>);
static_assert(!text_matchable<&User::age>);   // text matching needs a text column
static_assert(text_matchable<&User::username>);

TEST_CASE("Django-style lookups compile to the same SQL as typed columns", "[query][sql][lookups]") {
  auto typed = compile_select(users((col<&User::age> > 18 && col<&User::username> == "alice").node()));
  auto dynamic = compile_select(users(Q{{"age__gt", 18}, {"username", "alice"}}.resolve(U)));
  CHECK(dynamic.sql == typed.sql);
  CHECK(params_of(dynamic) == params_of(typed));

  auto q = (Q{{"age__gte", 18}} || !Q{{"username__startswith", "adm"}}) && Q{{"is_active", true}};
  auto s = compile_count(users(q.resolve(U)));
  CHECK(s.sql == "SELECT count(*) FROM \"user\" WHERE ((\"user\".\"age\" >= $1 OR NOT (\"user\".\"username\" LIKE $2)) "
                 "AND \"user\".\"is_active\" = $3)");
  CHECK(params_of(s) == P{"18", "adm%", "true"});

  auto nulls = compile_count(users(Q{{"email", nullptr}, {"score__ne", nullptr}, {"email__isnull", false}}.resolve(U)));
  CHECK(nulls.sql == "SELECT count(*) FROM \"user\" WHERE (\"user\".\"email\" IS NULL AND \"user\".\"score\" IS NOT NULL "
                     "AND \"user\".\"email\" IS NOT NULL)");
  auto ne = compile_count(users(Q{{"age__ne", 3}}.resolve(U)));
  CHECK(ne.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"age\" IS DISTINCT FROM $1");

  auto in = compile_count(users(Q{{"username__in", Value::List{"a", "b,c", "NULL"}}}.resolve(U)));
  CHECK(in.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"username\" = ANY($1)");
  CHECK(params_of(in) == P{"{a,\"b,c\",\"NULL\"}"});
  CHECK(compile_count(users(Q{{"age__in", Value::List{}}}.resolve(U))).sql == "SELECT count(*) FROM \"user\" WHERE FALSE");
  // Integer and uuid lists too (their scalars travel in binary; array elements as text).
  auto ints = compile_count(users(Q{{"id__in", Value::List{1, 22, -3}}}.resolve(U)));
  CHECK(ints.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"id\" = ANY($1)");
  CHECK(params_of(ints) == P{"{1,22,-3}"});
  const ModelInfo& O = model_info<Order>();
  auto uuids = compile_count(SelectSpec{.model = &O, .where = Q{{"id__in", Value::List{Uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")}}}.resolve(O)});
  CHECK(params_of(uuids) == P{"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"});
  CHECK_THROWS_AS((Q{{"age__in", Value::List{std::int64_t{1} << 40}}}.resolve(U)), ValidationError);
  auto range = compile_count(users(Q{{"age__range", Value::List{18, 65}}}.resolve(U)));
  CHECK(params_of(range) == P{"18", "65"});
  auto iexact = compile_count(users(Q{{"username__iexact", "Al_ce"}}.resolve(U)));
  CHECK(iexact.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"username\" ILIKE $1");
  CHECK(params_of(iexact) == P{"Al\\_ce"});
  auto uuid = compile_count(SelectSpec{.model = &model_info<Order>(),
                                       .where = Q{{"id", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}}.resolve(model_info<Order>())});
  CHECK(params_of(uuid) == P{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"});
}

TEST_CASE("bad lookups are errors before any SQL exists", "[query][lookups][errors]") {
  CHECK_THROWS_WITH((Q{{"nope", 1}}.resolve(U)), Catch::Contains("User has no field named 'nope'"));
  CHECK_THROWS_WITH((Q{{"age__bogus", 1}}.resolve(U)), Catch::Contains("unknown lookup operator 'bogus'"));
  CHECK_THROWS_AS((Q{{"id; DROP TABLE x", 1}}.resolve(U)), FieldError);
  CHECK_THROWS_AS((Q{{"name\"--", 1}}.resolve(U)), FieldError);
  CHECK_THROWS_AS((Q{{"", 1}}.resolve(U)), FieldError);
  CHECK_THROWS_WITH((Q{{"age", "eighteen"}}.resolve(U)), Catch::Contains("User.age (integer) cannot take a string value"));
  CHECK_THROWS_WITH((Q{{"age", std::int64_t{1} << 40}}.resolve(U)), Catch::Contains("out of the column's range"));
  CHECK_THROWS_WITH((Q{{"role", "superuser"}}.resolve(U)), Catch::Contains("'superuser' is not one of its values"));
  CHECK_THROWS_AS((Q{{"age__in", 5}}.resolve(U)), ValidationError);
  CHECK_THROWS_AS((Q{{"age__contains", "1"}}.resolve(U)), ValidationError);
  CHECK_THROWS_AS((Q{{"username", std::string("a\0b", 3)}}.resolve(U)), ParameterError);
  CHECK_THROWS_AS((Q{{"age__gt", nullptr}}.resolve(U)), ValidationError);
  try {
    Q{{"age__bogus", 1}}.resolve(U);
  } catch (const QueryError& e) {
    CHECK(e.context().hint.find("icontains") != std::string::npos);
  }
}

TEST_CASE("get() fetches two rows unless a unique field is pinned by equality", "[query][sql]") {
  const std::string select = std::string("SELECT ") + all_user_columns + " FROM \"user\" WHERE ";
  auto by_pk = compile_get(users((col<&User::id> == 7).node()));
  CHECK(by_pk.sql == select + "\"user\".\"id\" = $1");
  CHECK(params_of(by_pk) == P{"7"});
  auto unique_and_more = compile_get(users((col<&User::age> > 3 && col<&User::username> == "bob").node()));
  CHECK(unique_and_more.sql == select + "(\"user\".\"age\" > $1 AND \"user\".\"username\" = $2)");
  CHECK(params_of(unique_and_more) == P{"3", "bob"});

  auto not_unique = compile_get(users((col<&User::age> == 30).node()));
  CHECK(not_unique.sql == select + "\"user\".\"age\" = $1 LIMIT $2");
  CHECK(params_of(not_unique) == P{"30", "2"});
  auto either = compile_get(users((col<&User::id> == 1 || col<&User::id> == 2).node()));
  CHECK(either.sql == select + "(\"user\".\"id\" = $1 OR \"user\".\"id\" = $2) LIMIT $3");
  auto not_equal = compile_get(users((col<&User::id> > 1).node()));
  CHECK(not_equal.sql == select + "\"user\".\"id\" > $1 LIMIT $2");
  auto negated = compile_get(users((!(col<&User::id> == 1)).node()));
  CHECK(negated.sql == select + "NOT (\"user\".\"id\" = $1) LIMIT $2");
  CHECK(compile_get(users()).sql == std::string("SELECT ") + all_user_columns + " FROM \"user\" LIMIT $1");

  // One column of a composite primary key does not pin a row.
  const ModelInfo& ms = model_info<Membership>();
  auto one_key_column = compile_get(SelectSpec{.model = &ms, .where = (col<&Membership::org_id> == 1).node()});
  CHECK(one_key_column.sql.ends_with("WHERE \"auth\".\"memberships\".\"org_id\" = $1 LIMIT $2"));

  // A slice's LIMIT gives way to get()'s; its OFFSET stays.
  SelectSpec sliced = users((col<&User::age> == 30).node());
  sliced.limit = 10;
  sliced.offset = 5;
  auto s = compile_get(sliced);
  CHECK(s.sql == select + "\"user\".\"age\" = $1 LIMIT $2 OFFSET $3");
  CHECK(params_of(s) == P{"30", "2", "5"});
}

TEST_CASE("ordering, slicing, distinct and row locks", "[query][sql]") {
  SelectSpec s = users((col<&User::is_active> == true).node());
  s.columns = {0, 1};
  s.order = {col<&User::age>.desc(), col<&User::username>.asc()};
  s.limit = 10;
  s.offset = 20;
  auto st = compile_select(s);
  CHECK(st.sql == "SELECT \"user\".\"id\", \"user\".\"username\" FROM \"user\" WHERE \"user\".\"is_active\" = $1 "
                  "ORDER BY \"user\".\"age\" DESC, \"user\".\"username\" ASC LIMIT $2 OFFSET $3");
  CHECK(params_of(st) == P{"true", "10", "20"});
  CHECK(st.params.types()[1] == pg::oid::int8);

  auto counted = compile_count(s);
  CHECK(counted.sql == "SELECT count(*) FROM (SELECT \"user\".\"id\", \"user\".\"username\" FROM \"user\" WHERE "
                       "\"user\".\"is_active\" = $1 ORDER BY \"user\".\"age\" DESC, \"user\".\"username\" ASC LIMIT $2 OFFSET $3) "
                       "AS matrx_count");
  auto exists = compile_exists(users((col<&User::age> < 5).node()));
  CHECK(exists.sql == "SELECT EXISTS (SELECT 1 FROM \"user\" WHERE \"user\".\"age\" < $1)");

  SelectSpec d = users();
  d.columns = {6};
  d.distinct = true;
  CHECK(compile_select(d).sql == "SELECT DISTINCT \"user\".\"role\" FROM \"user\"");
  d.distinct_on = {6};
  d.order = {col<&User::role>.asc(), col<&User::age>.desc()};
  CHECK(compile_select(d).sql == "SELECT DISTINCT ON (\"user\".\"role\") \"user\".\"role\" FROM \"user\" "
                                 "ORDER BY \"user\".\"role\" ASC, \"user\".\"age\" DESC");

  SelectSpec lock = users((col<&User::id> == std::int64_t{7}).node());
  lock.columns = {0};
  lock.lock = RowLock::for_update;
  lock.skip_locked = true;
  CHECK(compile_select(lock).sql == "SELECT \"user\".\"id\" FROM \"user\" WHERE \"user\".\"id\" = $1 FOR UPDATE SKIP LOCKED");
  lock.nowait = true;
  CHECK(compile_select(lock).sql == "SELECT \"user\".\"id\" FROM \"user\" WHERE \"user\".\"id\" = $1 FOR UPDATE NOWAIT");
}

TEST_CASE("UPDATE and DELETE number their parameters once, WHERE after SET", "[query][sql]") {
  // The original renumbered WHERE placeholders by text replacement and broke when WHERE had
  // more parameters than SET (B1-2).
  auto where = Q{{"username", "alice"}, {"age__lt", 40}, {"age__gt", 3}}.resolve(U);
  std::vector<Assignment> set{{.field = 3, .value = detail::encode_value(31, U.fields[3], U)}};
  auto up = compile_update(users(where), set, true);
  CHECK(up.sql == "UPDATE \"user\" SET \"age\" = $1 WHERE (\"user\".\"username\" = $2 AND \"user\".\"age\" < $3 AND "
                  "\"user\".\"age\" > $4) RETURNING " + std::string(all_user_columns));
  CHECK(params_of(up) == P{"31", "alice", "40", "3"});

  const ModelInfo& O = model_info<Order>();
  std::vector<Assignment> f{{.field = 3, .expr = query::resolve((F("total") - Numeric("100")).node(), O, nullptr, &O.fields[3])}};
  auto dec = compile_update(SelectSpec{.model = &O, .where = Q{{"group", "g"}}.resolve(O)}, f, false);
  CHECK(dec.sql == "UPDATE \"order\" SET \"total\" = (\"order\".\"total\" - $1) WHERE \"order\".\"group\" = $2");
  CHECK(params_of(dec) == P{"100", "g"});

  auto del = compile_delete(users(Q{{"age__gte", 65}}.resolve(U)));
  CHECK(del.sql == "DELETE FROM \"user\" WHERE \"user\".\"age\" >= $1");
  CHECK(compile_delete(users()).sql == "DELETE FROM \"user\"");

  SelectSpec sliced = users();
  sliced.limit = 1;
  CHECK_THROWS_AS(compile_delete(sliced), QueryError);
  CHECK_THROWS_AS(compile_update(users(), {}, false), QueryError);
}

TEST_CASE("JSONB operators from lookups and typed columns", "[query][sql][json]") {
  auto has = compile_count(users(Q{{"meta__json_has_key", "plan"}}.resolve(U)));
  CHECK(has.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"meta\" ? $1");
  CHECK(params_of(has) == P{"plan"});
  auto any = compile_count(users(Q{{"meta__json_has_any", Value::List{"a", "b c"}}}.resolve(U)));
  CHECK(any.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"meta\" ?| $1");
  CHECK(params_of(any) == P{"{a,\"b c\"}"});
  auto all = compile_count(users(Q{{"meta__json_has_all", Value::List{"a"}}}.resolve(U)));
  CHECK(all.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"meta\" ?& $1");
  auto contains = compile_count(users(Q{{"meta__json_contains", nlohmann::json{{"tier", 2}}}}.resolve(U)));
  CHECK(contains.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"meta\" @> $1");
  CHECK(params_of(contains) == P{"{\"tier\":2}"});
  CHECK(contains.params.types()[0] == pg::oid::jsonb);
  auto by = compile_count(users(Q{{"meta__json_contained_by", "{\"a\": 1}"}}.resolve(U)));
  CHECK(by.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"meta\" <@ $1");
  CHECK(params_of(by) == P{"{\"a\":1}"});
  auto typed = compile_count(users((col<&User::meta>.has_key("plan") && col<&User::meta>.json_contains({{"tier", 2}})).node()));
  CHECK(typed.sql == "SELECT count(*) FROM \"user\" WHERE (\"user\".\"meta\" ? $1 AND \"user\".\"meta\" @> $2)");
  CHECK_THROWS_WITH((Q{{"meta__json_contains", "{not json"}}.resolve(U)), Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH((Q{{"age__json_has_key", "x"}}.resolve(U)), Catch::Contains("needs a json field"));
  CHECK_THROWS_AS((Q{{"meta__json_has_any", Value::List{1}}}.resolve(U)), ValidationError);
}

TEST_CASE("nearest-neighbour ordering binds the probe once and comes first", "[query][sql][vector]") {
  using testmodels::Document;
  const ModelInfo& D = model_info<Document>();
  CHECK(D.field("embedding").sql_type == "vector(3)");
  const orm::Vector probe{{1, 0, 0}};
  auto qs = orm::objects<Document>().filter("title__startswith", "a").order_by("title").nearest(col<&Document::embedding>, probe).limit(5);
  auto st = qs.sql();
  CHECK(st.sql == "SELECT \"document\".\"id\", \"document\".\"title\", \"document\".\"embedding\" FROM \"document\" "
                  "WHERE (\"document\".\"title\" LIKE $1 AND \"document\".\"embedding\" IS NOT NULL) "
                  "ORDER BY \"document\".\"embedding\" <=> $2, \"document\".\"title\" ASC LIMIT $3");
  auto l2 = orm::objects<Document>().nearest(col<&Document::embedding>, probe, VectorMetric::l2, false).sql();
  CHECK(l2.sql == "SELECT \"document\".\"id\", \"document\".\"title\", \"document\".\"embedding\" FROM \"document\" "
                  "ORDER BY \"document\".\"embedding\" <-> $1");
  const orm::Vector wrong{{1, 2}};
  CHECK_THROWS_WITH(orm::objects<Document>().nearest(col<&Document::embedding>, wrong), Catch::Contains("expects 3 dimensions"));
}

TEST_CASE("aggregates select only aggregate expressions (the original kept SELECT *, B1-8)", "[query][sql][aggregate]") {
  auto qs = orm::objects<User>().filter("is_active", true);
  auto st = compile_aggregate(qs.spec(), aggregates(orm::Count(), orm::Sum("age"), orm::Avg("score", true)));
  CHECK(st.sql == "SELECT COUNT(*) AS \"count\", SUM(\"user\".\"age\") AS \"age__sum\", AVG(DISTINCT \"user\".\"score\") AS "
                  "\"score__avg\" FROM \"user\" WHERE \"user\".\"is_active\" = $1");
  auto sliced = compile_aggregate(qs.order_by("age").limit(3).spec(), aggregates(orm::Max("age")));
  CHECK(sliced.sql == "SELECT MAX(matrx_sub.\"age\") AS \"age__max\" FROM (SELECT " + std::string(all_user_columns) +
                          " FROM \"user\" WHERE \"user\".\"is_active\" = $1 ORDER BY \"user\".\"age\" ASC LIMIT $2) AS matrx_sub");
  CHECK_THROWS_WITH(compile_aggregate(qs.spec(), aggregates(orm::F("age").as("x"))), Catch::Contains("not an aggregate"));
  CHECK_THROWS_WITH(detail::default_alias(orm::F("age") + 1), Catch::Contains("needs a name"));
}

TEST_CASE("only() and defer() select a subset, always with the key", "[query][sql][only]") {
  auto only = orm::objects<User>().filter("age__gt", 1).only("username").sql();
  CHECK(only.sql == "SELECT \"user\".\"id\", \"user\".\"username\" FROM \"user\" WHERE \"user\".\"age\" > $1");
  auto defer = orm::objects<User>().defer("meta", "tags", "created_at", "role", "is_active", "score", "email").sql();
  CHECK(defer.sql == "SELECT \"user\".\"id\", \"user\".\"username\", \"user\".\"age\" FROM \"user\"");
  CHECK_THROWS_AS(orm::objects<User>().only("nope"), FieldError);
  CHECK_THROWS_WITH(orm::objects<User>().defer("id"), Catch::Contains("primary key and cannot be deferred"));
}

TEST_CASE("anchored case-insensitive matches, typed JSON key sets, statistical aggregates", "[query][sql]") {
  auto is = compile_count(users(Q{{"username__istartswith", "Al"}}.resolve(U)));
  CHECK(is.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"username\" ILIKE $1");
  CHECK(params_of(is) == P{"Al%"});
  auto ie = compile_count(users(Q{{"username__iendswith", "CE"}}.resolve(U)));
  CHECK(params_of(ie) == P{"%CE"});
  auto typed_ie = compile_count(users(col<&User::username>.iendswith("ce").node()));
  CHECK(typed_ie.sql == ie.sql);
  const std::vector<std::string> keys{"a", "b"};
  auto any = compile_count(users(col<&User::meta>.has_any_key(keys).node()));
  CHECK(any.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"meta\" ?| $1");
  CHECK(params_of(any) == P{"{a,b}"});
  auto all = compile_count(users(col<&User::meta>.has_all_keys(keys).node()));
  CHECK(all.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"meta\" ?& $1");
  auto within = compile_count(users(col<&User::meta>.json_contained_by(nlohmann::json{{"a", 1}}).node()));
  CHECK(within.sql == "SELECT count(*) FROM \"user\" WHERE \"user\".\"meta\" <@ $1");
  auto stats = compile_aggregate(users(), aggregates(orm::StdDev("age"), orm::Variance("age")));
  CHECK(stats.sql == "SELECT STDDEV(\"user\".\"age\") AS \"age__stddev\", VARIANCE(\"user\".\"age\") AS \"age__variance\" "
                     "FROM \"user\"");
}
