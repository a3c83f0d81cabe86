// PERFORMANCE.md's compile-time probe: one translation unit that defines 10 models and runs
// 20 typical queries. It is built with the benchmark (so it keeps compiling) and timed by
// hand: see docs/performance.md, "Build time". It only needs to compile and link; running
// it queries whatever database the PG* variables name.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "matrx/orm.hpp"

namespace orm = matrx::orm;
using orm::col;
using orm::Q;

namespace shop {

enum class Status { draft, paid, shipped };
BOOST_DESCRIBE_ENUM(Status, draft, paid, shipped)

struct Customer {
  std::int64_t id = 0;
  std::string email{};
  std::optional<std::string> name{};
  orm::Timestamp created_at{};
};
MATRX_MODEL(Customer, orm::defaults(), (id, orm::primary_key, orm::identity), (email, orm::unique), (name),
            (created_at, orm::auto_now_add))

struct Address {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  std::string city{};
  std::string street{};
};
MATRX_MODEL(Address, orm::defaults(), (id, orm::primary_key, orm::identity),
            (customer_id, orm::references<Customer>()), (city), (street))

struct Product {
  orm::Uuid id{};
  std::string title{};
  orm::Numeric price{};
  std::vector<std::string> tags{};
  std::optional<nlohmann::json> attributes{};
};
MATRX_MODEL(Product, orm::defaults(), (id, orm::primary_key, orm::db_default("gen_random_uuid()")), (title),
            (price, orm::precision(10, 2)), (tags), (attributes))

struct Category {
  std::int32_t id = 0;
  std::string name{};
};
MATRX_MODEL(Category, orm::table("categories"), (id, orm::primary_key, orm::identity), (name, orm::unique))

struct Order {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  Status status = Status::draft;
  orm::Numeric total{};
  std::int32_t version = 1;
  orm::Timestamp placed_at{};
};
MATRX_MODEL(Order, orm::table("orders"), (id, orm::primary_key, orm::identity),
            (customer_id, orm::references<Customer>()), (status), (total, orm::precision(12, 2)),
            (version, orm::version_field), (placed_at, orm::auto_now_add))

struct OrderLine {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  orm::Uuid product_id{};
  std::int32_t quantity = 1;
};
MATRX_MODEL(OrderLine, orm::defaults(), (id, orm::primary_key, orm::identity),
            (order_id, orm::references<Order>()), (product_id, orm::references<Product>()), (quantity))

struct Review {
  std::int64_t id = 0;
  orm::Uuid product_id{};
  std::int16_t stars = 5;
  std::optional<std::string> body{};
};
MATRX_MODEL(Review, orm::defaults(), (id, orm::primary_key, orm::identity),
            (product_id, orm::references<Product>()), (stars), (body))

struct Coupon {
  std::string code{};
  double discount = 0;
  bool active = true;
  orm::Date expires{};
};
MATRX_MODEL(Coupon, orm::defaults(), (code, orm::primary_key), (discount), (active), (expires))

struct Shipment {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  orm::Inet origin{};
  orm::Interval eta{};
};
MATRX_MODEL(Shipment, orm::defaults(), (id, orm::primary_key, orm::identity),
            (order_id, orm::references<Order>()), (origin), (eta))

struct AuditEntry {
  std::int64_t id = 0;
  std::string action{};
  nlohmann::json payload{};
  orm::Timestamp at{};
};
MATRX_MODEL(AuditEntry, orm::table("audit_log"), (id, orm::primary_key, orm::identity), (action), (payload),
            (at, orm::auto_now_add))

boost::asio::awaitable<void> twenty_queries() {
  // 1–5: reads with typed columns and lookups.
  Customer c = co_await orm::get<Customer>(col<&Customer::id> == 1);
  auto by_email = orm::objects<Customer>().filter("email__iendswith", "@example.com").order_by("-created_at");
  std::vector<Customer> recent = co_await by_email.limit(20).all();
  auto paid = orm::objects<Order>().filter(col<&Order::status> == Status::paid && col<&Order::customer_id> == c.id);
  std::int64_t n_paid = co_await paid.count();
  auto cities = orm::objects<Address>().filter(Q("city", "Berlin") || Q("city__startswith", "Ham"));
  bool any_city = co_await cities.exists();
  // 6–10: writes.
  Customer fresh;
  fresh.email = "new@example.com";
  co_await orm::create(fresh);
  fresh.name = "New";
  co_await orm::save(fresh);
  std::vector<Product> products(3);
  for (auto& p : products) p.title = "product";
  co_await orm::bulk_create(products);
  auto cheap = orm::objects<Product>().filter(col<&Product::price> < orm::Numeric("5"));
  co_await cheap.update("price", orm::F("price") + orm::Numeric("1"));
  co_await orm::objects<Coupon>().filter("active", false).remove();
  // 11–15: aggregates, values, expressions, JSON.
  auto totals = orm::objects<Order>().filter("status", "paid");
  nlohmann::json sums = co_await totals.aggregate(orm::Count(), orm::Sum("total"));
  auto stars = orm::objects<Review>().filter("stars__gte", 4);
  std::vector<nlohmann::json> rows = co_await stars.values("product_id", "stars");
  auto ranked = orm::objects<Order>().annotate("rank", orm::Window(orm::Rank(), {}, {"-total"}));
  auto ranked_rows = co_await ranked.all_annotated();
  auto tagged = orm::objects<Product>().filter("attributes__color", "red");
  std::vector<Product> red = co_await tagged.all();
  auto lines = orm::objects<OrderLine>().filter("quantity__in", std::vector<std::int64_t>{1, 2, 3});
  std::vector<OrderLine> some_lines = co_await lines.all();
  // 16–20: relations, streaming, pagination, transactions, raw SQL.
  auto shipments = orm::objects<Shipment>().filter("order_id", 1);
  std::vector<Shipment> ships = co_await shipments.all();
  std::uint64_t streamed = 0;
  const auto count_chunk = [&](std::vector<AuditEntry>& chunk) { streamed += chunk.size(); };
  co_await orm::objects<AuditEntry>().for_each_chunk(1000, count_chunk);
  orm::Paginator<Category> pages(orm::objects<Category>().order_by("name"), 10);
  auto first_page = co_await pages.page(1);
  auto body = [&]() -> boost::asio::awaitable<void> {
    Order o;
    o.customer_id = fresh.id;
    co_await orm::create(o);
  };
  co_await orm::transaction(body());
  const auto raw = co_await orm::raw<Customer>("SELECT * FROM customer WHERE id = $1", orm::pg::Params::of(1));
  (void)recent, (void)n_paid, (void)any_city, (void)sums, (void)rows, (void)ranked_rows, (void)red, (void)some_lines,
      (void)ships, (void)first_page, (void)raw;
}

}  // namespace shop

int main() {
  // Compiling is the point; the queries would need their tables.
  return 0;
}
