// The StateManager against the server: hits without queries, use_cache = false, and no
// stale value after any write path (the original kept stale rows for up to 10 minutes
// after bulk writes, B3-23), including a rolled-back transaction.
#include <catch2/catch.hpp>

#include "../support/models.hpp"
#include "db_fixture.hpp"
#include "test_tables.hpp"

#include <fmt/format.h>

namespace orm = matrx::orm;
using orm::Q;
using orm::StateManager;
using test::asio::awaitable;
using testmodels::User;

namespace {
awaitable<std::int32_t> cached_age(std::int64_t id) {
  const User u = co_await orm::get<User>(Q("id", id));
  co_return u.age;
}
}  // namespace

TEST_CASE("get by primary key is served from the cache, use_cache = false reads the database", "[db][cache]") {
  test::SchemaDatabase db("cache_hits");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    const auto users = co_await testdata::seed();
    StateManager<User>::clear_cache();
    const std::int64_t id = users[0].id;
    const auto s0 = StateManager<User>::stats();
    User first = co_await orm::get<User>(Q("id", id));
    const auto s1 = StateManager<User>::stats();
    CHECK(s1.misses - s0.misses == 1);
    // A write behind the ORM's back: the cache cannot know, and answers without a query.
    co_await db.execute(fmt::format("UPDATE \"user\" SET age = 99 WHERE id = {}", id));
    User second = co_await orm::get<User>(orm::col<&User::id> == id);
    CHECK(second.age == 20);
    CHECK(StateManager<User>::stats().hits - s1.hits == 1);
    // Callers get copies: changing one does not change the cache.
    second.age = 1000;
    const std::int32_t third = co_await cached_age(id);
    CHECK(third == 20);
    User fresh = co_await orm::get<User>(Q("id", id), false);
    CHECK(fresh.age == 99);
    const std::int32_t refreshed = co_await cached_age(id);  // the bypassing read refreshed the entry
    CHECK(refreshed == 99);
    CHECK(first.username == "alice");
    // Lookups with operators work whether or not the cache holds entries (the original
    // raised CacheError once it was populated, B3-24).
    const Q sixties = Q("age__gte", 60) && Q("age__lt", 70);
    const User oldest = co_await orm::get<User>(sixties);
    CHECK(oldest.username == "eve");
    const auto none = co_await orm::get_or_none<User>(Q("id", -1));
    CHECK_FALSE(none);
  });
}

TEST_CASE("every write path leaves no stale object in the cache", "[db][cache]") {
  test::SchemaDatabase db("cache_writes");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    auto users = co_await testdata::seed();
    StateManager<User>::clear_cache();
    const std::int64_t id = users[0].id;
    User u = co_await orm::get<User>(Q("id", id));  // cached

    u.age = 21;
    co_await orm::save(u);
    std::int32_t age = co_await cached_age(id);
    CHECK(age == 21);

    const auto just_alice = orm::objects<User>().filter("id", id);
    co_await just_alice.update("age", 22);
    age = co_await cached_age(id);
    CHECK(age == 22);

    co_await orm::update_where<User>(Q("username", "alice"), "age", 23);
    age = co_await cached_age(id);
    CHECK(age == 23);

    u.age = 24;
    const std::vector<User> one{u};
    const std::vector<std::string> age_only{"age"};
    co_await orm::bulk_update(one, age_only);
    age = co_await cached_age(id);
    CHECK(age == 24);

    User again{.username = "alice", .age = 25};
    const std::vector<std::string> by_username{"username"};
    co_await orm::upsert(again, by_username);
    age = co_await cached_age(id);
    CHECK(age == 25);

    const auto raw_params = orm::pg::Params::of(std::int64_t{26}, id);
    const auto written = co_await orm::raw_sql("UPDATE \"user\" SET age = $1 WHERE id = $2", raw_params);
    CHECK(written.affected_rows() == 1);
    CHECK(StateManager<User>::count() == 0);
    age = co_await cached_age(id);
    CHECK(age == 26);

    // A committed transaction: the new value is seen after COMMIT.
    co_await orm::transaction([&]() -> awaitable<void> {
      User inside = co_await orm::get<User>(Q("id", id));
      inside.age = 27;
      co_await orm::save(inside);
    }());
    age = co_await cached_age(id);
    CHECK(age == 27);

    // A rolled-back one: what it wrote must not stay cached as if committed.
    CHECK_THROWS_AS(co_await orm::transaction([&]() -> awaitable<void> {
      User inside = co_await orm::get<User>(Q("id", id));
      inside.age = 28;
      co_await orm::save(inside);
      const std::int32_t seen_inside = co_await cached_age(id);  // inside: the transaction's view
      CHECK(seen_inside == 28);
      throw std::runtime_error("abort");
    }()), std::runtime_error);
    age = co_await cached_age(id);
    CHECK(age == 27);

    // Deletes by every path: the object is gone from the cache too.
    for (const auto& victim : users) {
      const std::int32_t warm = co_await cached_age(victim.id);  // cache it first
      CHECK(warm >= 20);
    }
    co_await orm::delete_where<User>(Q("username", "alice"));
    User bob = users[1];
    co_await orm::remove(bob);
    const std::vector<User> carol{users[2]};
    const auto deleted = co_await orm::bulk_delete(carol);
    CHECK(deleted == 1);
    const auto dave_qs = orm::objects<User>().filter("username", "dave");
    co_await dave_qs.remove();
    for (int i = 0; i < 4; ++i) {
      const auto gone = co_await orm::get_or_none<User>(Q("id", users[static_cast<std::size_t>(i)].id));
      CHECK_FALSE(gone);
    }
    const std::int32_t eve = co_await cached_age(users[4].id);
    CHECK(eve == 60);
  });
}

TEST_CASE("LISTEN/NOTIFY: another process's write evicts our copy, and our writes notify others", "[db][cache][notify]") {
  test::SchemaDatabase db("cache_notify");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    const auto users = co_await testdata::seed();
    const std::int64_t id = users[0].id;
    co_await orm::cache::start_listener();

    // "The other process": its own connection, listening to the same channel.
    auto other = co_await test::pg::Connection::connect(test::db_options());
    std::vector<std::string> seen;
    // It hears its own NOTIFY too: keep only what this process sent.
    other.on_notification([&seen](std::string_view, std::string_view payload, int) {
      if (!payload.starts_with("another-process")) seen.emplace_back(payload);
    });
    co_await other.execute("LISTEN matrx_orm_cache");
    auto wait_for = [](auto condition) -> awaitable<bool> {
      for (int i = 0; i < 300 && !condition(); ++i) co_await test::sleep_for(std::chrono::milliseconds(10));
      co_return condition();
    };

    std::int32_t age = co_await cached_age(id);
    CHECK(age == 20);
    // It writes and notifies as matrx-orm there would (with its own process tag).
    co_await other.execute(fmt::format("UPDATE {}.\"user\" SET age = 77 WHERE id = {}", db.schema, id));
    std::string payload = orm::cache::invalidation_payload("User", orm::detail::cache_key(User{.id = id}));
    payload = "another-process" + payload.substr(payload.find('\x1f'));
    const auto notify_params = orm::pg::Params::of(payload);
    co_await other.execute("SELECT pg_notify('matrx_orm_cache', $1)", notify_params);
    const std::string key = orm::detail::cache_key(User{.id = id});
    const bool evicted = co_await wait_for([&] { return StateManager<User>::count() == 0 || !StateManager<User>::find(key); });
    CHECK(evicted);
    age = co_await cached_age(id);
    CHECK(age == 77);

    // Our save notifies the other process.
    User u = co_await orm::get<User>(Q("id", id));
    u.age = 78;
    co_await orm::save(u);
    const bool heard = co_await wait_for([&] { return !seen.empty(); });
    REQUIRE(heard);
    CHECK(seen.size() == 1);  // one save, one message
    CHECK(seen.front().find("\x1fUser\x1f") != std::string::npos);

    // NOTIFY is transactional: a rolled-back write sends nothing, a committed one does —
    // and notifications arrive in commit order, so one message means the rollback sent none.
    seen.clear();
    CHECK_THROWS_AS(co_await orm::transaction([&]() -> awaitable<void> {
      User inside = co_await orm::get<User>(Q("id", id));
      inside.age = 1;
      co_await orm::save(inside);
      throw std::runtime_error("abort");
    }()), std::runtime_error);
    u = co_await orm::get<User>(Q("id", id));
    u.age = 79;
    co_await orm::save(u);
    const bool heard_commit = co_await wait_for([&] { return !seen.empty(); });
    CHECK(heard_commit);
    CHECK(seen.size() == 1);

    orm::cache::stop_listeners();
    CHECK_FALSE(orm::cache::notifications_enabled(""));
    other.close();
  });
}

TEST_CASE("a lost listener connection pauses the cache until it reconnects and LISTENs again", "[db][cache][notify]") {
  test::SchemaDatabase db("cache_reconnect");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    const auto users = co_await testdata::seed();
    const std::int64_t id = users[0].id;
    co_await orm::cache::start_listener("", std::chrono::milliseconds(20));
    const auto first = orm::cache::listener_status();
    REQUIRE(first);
    CHECK(first->connected);
    CHECK(first->reconnects == 0);
    auto wait_for = [](auto condition) -> awaitable<bool> {
      for (int i = 0; i < 500 && !condition(); ++i) co_await test::sleep_for(std::chrono::milliseconds(10));
      co_return condition();
    };

    co_await cached_age(id);
    REQUIRE(StateManager<User>::count() == 1);

    // The server ends the listener's session (a failover, an idle-session killer…).
    auto admin = co_await test::pg::Connection::connect(test::db_options());
    const auto pid_param = orm::pg::Params::of(first->backend_pid);
    auto killed = co_await admin.execute("SELECT pg_terminate_backend($1)", pid_param);
    REQUIRE(killed.get<bool>(0, 0));

    const bool reconnected = co_await wait_for([] {
      const auto s = orm::cache::listener_status();
      return s && s->connected && s->reconnects == 1;
    });
    REQUIRE(reconnected);
    const auto second = orm::cache::listener_status();
    CHECK(second->backend_pid != first->backend_pid);
    CHECK(StateManager<User>::count() == 0);  // emptied: invalidations may have been missed

    // The new connection hears another process's invalidations.
    co_await cached_age(id);
    CHECK(StateManager<User>::count() == 1);
    std::string payload = orm::cache::invalidation_payload("User", orm::detail::cache_key(User{.id = id}));
    payload = "another-process" + payload.substr(payload.find('\x1f'));
    const auto notify_params = orm::pg::Params::of(payload);
    co_await admin.execute("SELECT pg_notify('matrx_orm_cache', $1)", notify_params);
    const bool evicted = co_await wait_for([] { return StateManager<User>::count() == 0; });
    CHECK(evicted);

    orm::cache::stop_listeners();
    CHECK_FALSE(orm::cache::listener_status());
    admin.close();
  });
}
