// Models that live in the registered database "migrations" (a fresh database per test): the
// schema makemigrations creates and diffs. They cover a schema of their own, an enum, identity
// and uuid keys, a composite key, defaults, unique (single and composite), a check, indexes
// (composite, partial unique, hnsw), foreign keys with actions, a foreign-key cycle, and a
// declarative many-to-many whose junction no model describes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "matrx/orm.hpp"

namespace mgm {

namespace orm = matrx::orm;

enum class Mood { happy, calm, grumpy };
BOOST_DESCRIBE_ENUM(Mood, happy, calm, grumpy)

struct Account {
  std::int64_t id = 0;
  std::string email{};
  Mood mood = Mood::calm;
  orm::Numeric balance{};
  std::optional<orm::Uuid> favorite_project_id{};
  orm::Timestamp created_at{};
};
MATRX_MODEL(Account, orm::table("accounts").schema("billing").database("migrations").check("balance_not_negative", "balance >= 0"),
            (id, orm::primary_key, orm::identity),
            (email, orm::max_length(120), orm::unique),
            (mood),
            (balance, orm::precision(12, 2), orm::db_default("0")),
            (favorite_project_id, orm::references("Project").on_delete("SET NULL")),  // closes a cycle
            (created_at, orm::db_default("now()")))

struct Project {
  orm::Uuid id{};
  std::int64_t owner_id = 0;
  std::string name{};
  bool archived = false;
  std::vector<std::string> labels{};
  std::optional<nlohmann::json> settings{};
  std::optional<orm::Vector> embedding{};
};
// [project-begin]
MATRX_MODEL(Project,
            orm::table("projects").database("migrations").many_to_many("watchers", "Account")
                .index({.columns = {"owner_id", "name"}})
                .index({.name = "projects_live_name", .columns = {"name"}, .unique = true, .where = "NOT archived"})
                .index({.name = "projects_embedding_hnsw", .columns = {"embedding"}, .method = "hnsw",
                        .opclass = "vector_cosine_ops"}),
            (id, orm::primary_key, orm::db_default("gen_random_uuid()")),
            (owner_id, orm::references<Account>().on_delete("CASCADE"), orm::index),
            (name),
            (archived, orm::db_default("false")),
            (labels),
            (settings),
            (embedding, orm::dimensions(3)))
// [project-end]

struct Task {
  orm::Uuid project_id{};
  std::int32_t number = 0;
  std::string title{};
  std::optional<std::int32_t> parent_number{};
};
MATRX_MODEL(Task, orm::table("tasks").database("migrations").unique_together({"project_id", "title"}),
            (project_id, orm::primary_key, orm::references<Project>().on_delete("CASCADE")),
            (number, orm::primary_key),
            (title, orm::max_length(200)),
            (parent_number))

}  // namespace mgm
