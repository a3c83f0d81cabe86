// QuerySet::for_each_chunk against the server: a server-side cursor hands the rows over in
// bounded chunks (one reused buffer), with the query's filter parameters and order, inside
// the caller's transaction or its own; an exception in the callback ends it cleanly.
#include <catch2/catch.hpp>

#include "db_fixture.hpp"
#include "test_tables.hpp"

namespace orm = matrx::orm;
using orm::Q;
using test::asio::awaitable;
using testmodels::User;

TEST_CASE("for_each_chunk streams rows in bounded chunks through a cursor", "[db][stream]") {
  test::SchemaDatabase db("stream");
  test::run([&]() -> awaitable<void> {
    co_await testdata::tables(db);
    std::vector<User> users;
    for (int i = 0; i < 2500; ++i) users.push_back(User{.username = "u" + std::to_string(i), .age = i % 100});
    co_await orm::bulk_create(users);

    std::vector<std::size_t> sizes;
    std::int64_t last_id = 0;
    bool ordered = true;
    const User* first_slot = nullptr;
    bool buffer_reused = true;
    const auto all = orm::objects<User>().order_by("id");
    const auto collect = [&](std::vector<User>& chunk) {
      if (!first_slot) first_slot = chunk.data();
      else if (chunk.data() != first_slot) buffer_reused = false;  // one buffer: never grows past the chunk
      sizes.push_back(chunk.size());
      for (const auto& u : chunk) {
        ordered = ordered && u.id > last_id;
        last_id = u.id;
      }
    };
    const std::uint64_t streamed = co_await all.for_each_chunk(1000, collect);
    CHECK(streamed == 2500);
    CHECK(sizes == std::vector<std::size_t>{1000, 1000, 500});
    CHECK(ordered);
    CHECK(buffer_reused);
    CHECK(last_id == users.back().id);

    // A row count that is a multiple of the chunk size ends on an empty FETCH.
    std::vector<std::size_t> even_sizes;
    const auto sizes_only = [&](std::vector<User>& chunk) { even_sizes.push_back(chunk.size()); };
    const std::uint64_t even = co_await all.for_each_chunk(500, sizes_only);
    CHECK(even == 2500);
    CHECK(even_sizes == std::vector<std::size_t>(5, 500));

    // Parameters of the filter travel with DECLARE; a transaction of the caller's is used.
    std::uint64_t young = 0;
    const auto filtered = orm::objects<User>().filter(Q("age__lt", 10));
    co_await orm::transaction([&]() -> awaitable<void> {
      const auto tally = [&](std::vector<User>& chunk) {
        for (const auto& u : chunk) young += u.age < 10 ? 1 : 0;
      };
      const std::uint64_t n = co_await filtered.for_each_chunk(7, tally);
      CHECK(n == 250);
    }());
    CHECK(young == 250);

    // The callback throws: the error reaches the caller and the pool stays usable.
    const auto stop = [](std::vector<User>&) { throw std::runtime_error("stop"); };
    CHECK_THROWS_WITH(co_await all.for_each_chunk(100, stop), "stop");
    const auto count = co_await orm::objects<User>().count();
    CHECK(count == 2500);
    // The next FETCH is already in flight when the callback throws: it is waited for, not
    // cancelled, so a caller's transaction goes on and commits.
    std::int64_t counted_inside = -1;
    co_await orm::transaction([&]() -> awaitable<void> {
      try {
        co_await all.for_each_chunk(100, stop);
      } catch (const std::runtime_error&) {
      }
      counted_inside = co_await orm::objects<User>().count();
      User late{.username = "late", .age = 1};
      co_await orm::create(late);
    }());
    CHECK(counted_inside == 2500);
    const auto after_commit = co_await orm::objects<User>().count();
    CHECK(after_commit == 2501);
    const auto zero = orm::objects<User>();
    const auto ignore = [](std::vector<User>&) {};
    CHECK_THROWS_AS(co_await zero.for_each_chunk(0, ignore), orm::QueryError);
  });
}
