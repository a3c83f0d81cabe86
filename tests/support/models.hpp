// Models shared by the tests: a table named "user", reserved-word columns, every kind of field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "matrx/orm.hpp"

namespace testmodels {

namespace orm = matrx::orm;

enum class Role { admin, member, guest };
BOOST_DESCRIBE_ENUM(Role, admin, member, guest)

struct User {
  std::int64_t id = 0;
  std::string username{};
  std::optional<std::string> email{};
  std::int32_t age = 0;
  std::optional<double> score{};
  bool is_active = true;
  Role role = Role::member;
  std::vector<std::string> tags{};
  std::optional<nlohmann::json> meta{};
  orm::Timestamp created_at{};
};
MATRX_MODEL(User, orm::table("user"),
            (id, orm::primary_key, orm::identity),
            (username, orm::max_length(50), orm::unique),
            (email),
            (age),
            (score),
            (is_active),
            (role),
            (tags),
            (meta),
            (created_at, orm::db_default("now()")))

struct Order {  // a table named "order" with a column named "group"
  orm::Uuid id{};
  std::int64_t user_id = 0;
  std::string group{};
  orm::Numeric total{};
  std::int32_t version = 1;
};
MATRX_MODEL(Order, orm::defaults(),
            (id, orm::primary_key, orm::db_default("gen_random_uuid()")),
            (user_id, orm::index),
            (group),
            (total, orm::precision(10, 2)),
            (version, orm::version_field))

struct Membership {  // composite primary key
  std::int64_t org_id = 0;
  std::int64_t user_id = 0;
  std::string role{};
};
MATRX_MODEL(Membership, orm::table("memberships").schema("auth"),
            (org_id, orm::primary_key),
            (user_id, orm::primary_key),
            (role, orm::choices({"owner", "member"})))

struct Document {  // pgvector
  std::int64_t id = 0;
  std::string title{};
  std::optional<orm::Vector> embedding{};
};
MATRX_MODEL(Document, orm::defaults(),
            (id, orm::primary_key, orm::identity),
            (title),
            (embedding, orm::dimensions(3)))

struct Ticket {  // a client-side key made by a callable default
  orm::Uuid id{};
  std::string subject{};
  std::int64_t serial = 0;
};
inline std::int64_t next_serial() {
  static std::int64_t n = 0;
  return ++n;
}
MATRX_MODEL(Ticket, orm::defaults(),
            (id, orm::primary_key, orm::default_fn([] { return orm::Uuid::random(); })),
            (subject),
            (serial, orm::default_fn(next_serial)))

// An abstract model: its fields (with their options) are inherited; it has no table.
// [abstract-begin]
struct Timestamped {
  orm::Timestamp created_at{};
  orm::Timestamp updated_at{};
};
MATRX_ABSTRACT_MODEL(Timestamped,
                     (created_at, orm::auto_now_add),
                     (updated_at, orm::auto_now))

struct Note : Timestamped {
  std::int64_t id = 0;
  std::string body{};
};
MATRX_MODEL_EXTENDS(Note, Timestamped, orm::defaults(),
                    (id, orm::primary_key, orm::identity),
                    (body, orm::unique))
// [abstract-end]

}  // namespace testmodels
