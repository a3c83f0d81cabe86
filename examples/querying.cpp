// The query API tour: typed columns, Django-style lookups, Q, ordering, slicing, updates
// with F expressions, get/get_or_none, bulk_create, save as upsert, optimistic locking.
#include <cstdlib>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "matrx/orm.hpp"

namespace asio = boost::asio;
namespace orm = matrx::orm;
namespace pg = matrx::orm::pg;
using orm::col;
using orm::Q;

enum class Plan { free, pro, enterprise };
BOOST_DESCRIBE_ENUM(Plan, free, pro, enterprise)

// [account-begin]
struct Account {
  orm::Uuid id{};
  std::string owner{};
  std::optional<std::string> email{};
  Plan plan = Plan::free;
  orm::Numeric balance{};
  std::vector<std::string> tags{};
  std::int32_t version = 1;
};
MATRX_MODEL(Account, orm::table("accounts"),
            (id, orm::primary_key, orm::db_default("gen_random_uuid()")),
            (owner, orm::max_length(40), orm::unique),
            (email),
            (plan),
            (balance, orm::precision(12, 2)),
            (tags),
            (version, orm::version_field))
// [account-end]

// [transaction-begin]
asio::awaitable<void> transfer(std::string from, std::string to, orm::Numeric amount) {
  auto payer = orm::objects<Account>().filter("owner", from);
  auto payee = orm::objects<Account>().filter("owner", to);
  co_await payer.update("balance", orm::F("balance") - amount);
  co_await payee.update("balance", orm::F("balance") + amount);
  Account check = co_await payer.get();
  if (check.balance.str().front() == '-') throw std::runtime_error("insufficient funds");  // rolls back both
}
// [transaction-end]

asio::awaitable<void> tour() {
  auto conn = co_await pg::default_database().acquire();
  co_await conn->execute("CREATE TYPE pg_temp.plan AS ENUM ('free', 'pro', 'enterprise')");
  co_await conn->execute(
      "CREATE TEMP TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), owner varchar(40) NOT NULL UNIQUE, "
      "email text, plan plan NOT NULL, balance numeric(12,2) NOT NULL, tags text[] NOT NULL, version integer NOT NULL)");
  conn.release();

  // [bulk-begin]
  std::vector<Account> accounts;
  for (int i = 0; i < 6; ++i) {
    Account a{.owner = fmt::format("owner{}", i), .plan = i % 3 == 0 ? Plan::pro : Plan::free,
              .balance = orm::Numeric(std::int64_t{100} * i)};
    if (i % 2 == 0) a.email = fmt::format("owner{}@example.com", i);
    accounts.push_back(std::move(a));
  }
  co_await orm::bulk_create(accounts);  // every account now has its server-made UUID
  // [bulk-end]
  std::cout << "inserted " << accounts.size() << " accounts\n";

  // [filter-begin]
  // Typed columns: checked at compile time (a string for balance would not compile).
  auto rich = orm::objects<Account>().filter(col<&Account::balance> >= orm::Numeric("300"));
  // Django-style lookups, checked against the model when the filter is built.
  auto pro = orm::objects<Account>().filter("plan", "pro");
  // Q objects combine with && || !.
  auto q = (Q("plan", "pro") || Q("balance__gt", 400)) && !Q("email__isnull", true);
  auto mixed = orm::objects<Account>().filter(q).order_by("-balance", "owner");
  // NULL compares as IS NULL; LIKE wildcards in values are escaped.
  auto no_email = orm::objects<Account>().filter(col<&Account::email> == std::nullopt);
  auto owners = orm::objects<Account>().filter(col<&Account::owner>.startswith("owner"));
  // [filter-end]
  std::cout << "rich: " << co_await rich.count() << ", pro: " << co_await pro.count()
            << ", no email: " << co_await no_email.count() << ", owners: " << co_await owners.count() << "\n";
  for (const auto& a : co_await mixed.all()) std::cout << "  " << a.owner << " " << a.balance.str() << "\n";

  // [slice-begin]
  auto page = orm::objects<Account>().order_by("owner").slice(2, 4);  // rows 2 and 3
  std::vector<Account> rows = co_await page.all();
  std::optional<Account> first = co_await orm::objects<Account>().order_by("owner").first();
  // [slice-end]
  std::cout << "page: " << rows.at(0).owner << ", " << rows.at(1).owner << "; first: " << first->owner << "\n";

  // [update-begin]
  auto free_accounts = orm::objects<Account>().filter("plan", "free");
  auto credited = co_await free_accounts.update("balance", orm::F("balance") + 10);
  std::cout << "credited " << credited.rows_affected << " accounts\n";
  auto closed = orm::objects<Account>().filter("balance__lt", 50);
  std::int64_t removed = co_await closed.remove();
  // [update-end]
  std::cout << "removed " << removed << "\n";

  // [get-begin]
  Account one = co_await orm::get<Account>(Q("owner", "owner3"));
  std::optional<Account> none = co_await orm::get_or_none<Account>(Q("owner", "nobody"));
  try {
    co_await orm::get<Account>(Q("plan", "free"));  // several rows
  } catch (const orm::MultipleObjectsReturned& e) {
    std::cout << "get() refused: " << e.message() << "\n";
  }
  // [get-end]
  std::cout << "got " << one.owner << ", nobody found: " << !none.has_value() << "\n";

  // [save-begin]
  Account fresh{.id = orm::Uuid::random(), .owner = "client-keyed"};  // key made by the client
  bool inserted = co_await orm::save(fresh);  // INSERT … ON CONFLICT (id) DO UPDATE …
  Account stale = fresh;
  fresh.balance = orm::Numeric("5.00");
  co_await orm::save(fresh);  // version 1 → 2
  try {
    stale.balance = orm::Numeric("999.00");
    co_await orm::save(stale);  // still at version 1
  } catch (const orm::OptimisticLockError&) {
    std::cout << "stale save rejected\n";
  }
  // [save-end]
  std::cout << "inserted: " << inserted << ", version " << fresh.version << "\n";

  // [transaction-use-begin]
  co_await orm::transaction(transfer("owner3", "owner4", orm::Numeric("50.00")));
  try {
    co_await orm::transaction(transfer("owner4", "owner3", orm::Numeric("100000.00")));
  } catch (const std::runtime_error& e) {
    std::cout << "transfer refused: " << e.what() << "\n";  // neither account changed
  }
  // [transaction-use-end]
  Account owner4 = co_await orm::get<Account>(Q("owner", "owner4"));
  std::cout << "owner4 balance " << owner4.balance.str() << "\n";

  // [paginate-begin]
  orm::Paginator pages(orm::objects<Account>().order_by("owner"), 2);
  orm::Page<Account> page1 = co_await pages.page(1);
  std::cout << "page " << page1.number << " of " << page1.total_pages << ", next " << page1.next_number().value_or(0) << "\n";
  co_await pages.for_each_page([](const orm::Page<Account>& p) -> asio::awaitable<void> {
    std::cout << "  page " << p.number << ": items " << p.start_index() << "-" << p.end_index() << "\n";
    co_return;
  });
  // [paginate-end]

  // [raw-begin]
  const auto min_balance = pg::Params::of(orm::Numeric("100"));
  std::vector<Account> big = co_await orm::raw<Account>(
      "SELECT id, owner, plan, balance, tags, version FROM accounts WHERE balance > $1 ORDER BY owner", min_balance);
  pg::Result totals = co_await orm::raw_sql("SELECT plan::text, sum(balance) FROM accounts GROUP BY plan ORDER BY 1");
  // [raw-end]
  std::cout << "raw: " << big.size() << " accounts; " << totals.rows() << " plans\n";

  // [upsert-begin]
  const std::vector<std::string> by_owner{"owner"}, balance_only{"balance"};
  Account incoming{.owner = "owner3", .balance = orm::Numeric("1.00")};
  bool created = co_await orm::upsert(incoming, by_owner, balance_only);  // owner3 exists: updated
  // [upsert-end]
  std::cout << "upsert created: " << created << ", balance " << incoming.balance.str() << "\n";

  // [annotate-begin]
  // Annotations: expressions selected next to the fields, read by alias.
  auto ranked = orm::objects<Account>()
                    .annotate("owner_upper", orm::Upper(orm::F("owner")))
                    .annotate("rank", orm::Window(orm::Rank(), {}, {"-balance"}))
                    .order_by("rank", "owner");
  const auto ranked_rows = co_await ranked.all_annotated();
  for (const auto& row : ranked_rows)
    std::cout << row.get<std::int64_t>("rank") << ". " << row.get<std::string>("owner_upper") << "\n";

  // GROUP BY with HAVING on an aggregate; a grouped query returns JSON rows.
  auto per_plan = orm::objects<Account>()
                      .group_by("plan")
                      .annotate("accounts", orm::Count())
                      .annotate("total", orm::Sum("balance"))
                      .having("accounts__gte", 1)
                      .order_by("plan");
  const auto groups = co_await per_plan.values();
  for (const auto& group : groups) std::cout << group.dump() << "\n";

  // Column-to-column conditions, a correlated EXISTS and an IN (subquery).
  auto above_version = orm::objects<Account>().filter(orm::F("balance") > orm::F("version") * 100);
  auto richer = orm::objects<Account>().filter(orm::Q("balance__gt", orm::OuterRef("balance")));
  auto not_the_richest = orm::objects<Account>().filter(orm::Exists(richer));
  auto in_pro = orm::objects<Account>().filter(orm::Q("id__in", pro.as_subquery("id")));
  const std::int64_t above = co_await above_version.count();
  const std::int64_t not_richest = co_await not_the_richest.count();
  const std::int64_t pro_count = co_await in_pro.count();
  // [annotate-end]
  std::cout << "expressions: " << above << " " << not_richest << " " << pro_count << "\n";

  // [signals-begin]
  orm::signals<Account>::pre_save().connect([](Account& a, const orm::SignalContext&) -> asio::awaitable<void> {
    if (a.owner.empty()) throw orm::ValidationError("an account needs an owner");  // vetoes the save
    co_return;
  });
  Account nameless{.id = orm::Uuid::random()};
  try {
    co_await orm::save(nameless);
  } catch (const orm::ValidationError& e) {
    std::cout << "save vetoed: " << e.message() << "\n";
  }
  // [signals-end]
}

int main() {
  const char* url = std::getenv("DATABASE_URL");
  pg::DatabaseConfig config = url ? pg::DatabaseConfig::from_url("main", url) : pg::DatabaseConfig{.name = "main"};
  config.pool.max_size = 1;  // TEMP tables and a session enum type: one connection
  pg::register_database(config);
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, tour(), [&](std::exception_ptr e) {
    failure = e;
    pg::close_all_databases();
  });
  io.run();
  if (failure) {
    try { std::rethrow_exception(failure); } catch (const std::exception& e) { std::cerr << e.what() << "\n"; }
    return 1;
  }
  std::cout << "querying OK\n";
  return 0;
}
