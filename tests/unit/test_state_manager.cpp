// StateManager without a server: keys, copies, TTL policies on a fake clock, stats, and
// concurrent use from several threads.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "../support/models.hpp"

namespace orm = matrx::orm;
using orm::CachePolicy;
using orm::StateManager;

namespace cachemodels {
struct Setting {
  std::string key{};
  std::string value{};
};
MATRX_MODEL(Setting, orm::defaults().cache(orm::CachePolicy::permanent), (key, orm::primary_key), (value))

struct Quote {
  std::int64_t id = 0;
  double price = 0;
};
MATRX_MODEL(Quote, orm::defaults().cache(orm::CachePolicy::instant), (id, orm::primary_key), (price))

struct Session {
  std::int64_t id = 0;
};
MATRX_MODEL(Session, orm::defaults().cache_timeout(std::chrono::seconds(5)), (id, orm::primary_key))

struct Secret {
  std::int64_t id = 0;
};
MATRX_MODEL(Secret, orm::defaults().cache(orm::CachePolicy::none), (id, orm::primary_key))
}  // namespace cachemodels

namespace {
struct FakeClock {
  orm::cache::Clock::time_point t = orm::cache::Clock::time_point{} + std::chrono::hours(1000);
  FakeClock() { orm::cache::set_clock([this] { return t; }); }
  ~FakeClock() { orm::cache::set_clock(nullptr); }
  void advance(orm::cache::Clock::duration d) { t += d; }
};
}  // namespace

TEST_CASE("policies: short_term 10 min by default, instant 1 min, long_term 4 h, permanent, explicit timeout", "[cache]") {
  using namespace std::chrono_literals;
  FakeClock clock;
  testmodels::User u{.id = 7, .username = "u"};
  StateManager<testmodels::User>::clear_cache();
  StateManager<testmodels::User>::cache(u);
  const auto key = orm::detail::cache_key(u);
  clock.advance(10min);  // staleness is strict: exactly the TTL is still fresh
  CHECK(StateManager<testmodels::User>::find(key) != nullptr);
  clock.advance(1s);
  CHECK(StateManager<testmodels::User>::find(key) == nullptr);

  cachemodels::Quote q{.id = 1, .price = 2.5};
  StateManager<cachemodels::Quote>::cache(q);
  clock.advance(59s);
  CHECK(StateManager<cachemodels::Quote>::find(orm::detail::cache_key(q)) != nullptr);
  clock.advance(2s);
  CHECK(StateManager<cachemodels::Quote>::find(orm::detail::cache_key(q)) == nullptr);

  cachemodels::Setting s{.key = "theme", .value = "dark"};
  StateManager<cachemodels::Setting>::cache(s);
  clock.advance(24h * 365);
  CHECK(StateManager<cachemodels::Setting>::find(orm::detail::cache_key(s)) != nullptr);

  cachemodels::Session sess{.id = 3};
  StateManager<cachemodels::Session>::cache(sess);
  clock.advance(6s);
  CHECK(StateManager<cachemodels::Session>::find(orm::detail::cache_key(sess)) == nullptr);

  StateManager<cachemodels::Secret>::cache(cachemodels::Secret{.id = 1});
  CHECK(StateManager<cachemodels::Secret>::count() == 0);

  CHECK(orm::cache::time_to_live(orm::model_info<testmodels::Order>()) == std::chrono::minutes(10));
  CHECK_FALSE(orm::cache::time_to_live(orm::model_info<cachemodels::Setting>()).has_value());
}

TEST_CASE("callers get copies, stats count hits, misses and evictions", "[cache]") {
  using M = cachemodels::Setting;
  StateManager<M>::clear_cache();
  const auto before = StateManager<M>::stats();
  StateManager<M>::cache(M{.key = "a", .value = "1"});
  const auto key = orm::detail::cache_key(M{.key = "a"});
  auto hit = StateManager<M>::find(key);
  REQUIRE(hit);
  M copy = *hit;
  copy.value = "changed";
  CHECK(StateManager<M>::find(key)->value == "1");
  CHECK(StateManager<M>::find(orm::detail::cache_key(M{.key = "b"})) == nullptr);
  StateManager<M>::remove(M{.key = "a"});
  CHECK(StateManager<M>::count() == 0);
  const auto after = StateManager<M>::stats();
  CHECK(after.hits - before.hits == 2);
  CHECK(after.misses - before.misses == 1);
  CHECK(after.evictions - before.evictions == 1);
  CHECK(after.size == 0);
}

TEST_CASE("a primary-key filter maps to the object's key, other filters do not", "[cache]") {
  using testmodels::Membership;
  using testmodels::User;
  const auto& U = orm::model_info<User>();
  const auto by_id = orm::Q("id", 7).resolve(U);
  CHECK(orm::detail::cache_key(*by_id, U) == orm::detail::cache_key(User{.id = 7}));
  CHECK(orm::detail::cache_key(*(orm::col<&User::id> == 7).node(), U) == orm::detail::cache_key(User{.id = 7}));
  CHECK_FALSE(orm::detail::cache_key(*orm::Q("id__gt", 7).resolve(U), U));
  CHECK_FALSE(orm::detail::cache_key(*orm::Q{{"id", 7}, {"age", 3}}.resolve(U), U));
  CHECK_FALSE(orm::detail::cache_key(*orm::Q("username", "x").resolve(U), U));
  const auto& M = orm::model_info<Membership>();
  const auto both = orm::Q{{"user_id", 2}, {"org_id", 1}}.resolve(M);
  CHECK(orm::detail::cache_key(*both, M) == orm::detail::cache_key(Membership{.org_id = 1, .user_id = 2}));
  CHECK_FALSE(orm::detail::cache_key(*orm::Q("org_id", 1).resolve(M), M));
}

TEST_CASE("concurrent readers and writers from several threads", "[cache][threads]") {
  using M = cachemodels::Quote;
  StateManager<M>::clear_cache();
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};  // Catch2 assertions are not thread-safe: count, check after
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &wrong] {
      for (int i = 0; i < 2000; ++i) {
        const M q{.id = i % 50, .price = static_cast<double>(t)};
        StateManager<M>::cache(q);
        if (auto hit = StateManager<M>::find(orm::detail::cache_key(q)); hit && hit->id != i % 50) ++wrong;
        if (i % 7 == 0) StateManager<M>::remove(q);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  CHECK(StateManager<M>::count() <= 50);
}

namespace cachemodels {
struct Small {
  std::int64_t id = 0;
};
MATRX_MODEL(Small, orm::defaults().cache_max_entries(10), (id, orm::primary_key))
}  // namespace cachemodels

TEST_CASE("the cache is bounded: beyond cache_max_entries the oldest entries go", "[cache]") {
  using namespace std::chrono_literals;
  using M = cachemodels::Small;
  FakeClock clock;
  StateManager<M>::clear_cache();
  for (int i = 0; i < 25; ++i) {
    StateManager<M>::cache(M{.id = i});
    clock.advance(1s);
  }
  CHECK(StateManager<M>::count() <= 10);
  // The newest survive, the oldest are gone.
  CHECK(StateManager<M>::find(orm::detail::cache_key(M{.id = 24})) != nullptr);
  CHECK(StateManager<M>::find(orm::detail::cache_key(M{.id = 0})) == nullptr);
  CHECK(StateManager<M>::stats().evictions >= 15);
}
