// FieldInfo and ModelInfo: the run-time description of a model, built once per model by
// MATRX_MODEL (model.hpp). Everything that works by name — Django-style lookups, order_by,
// migrations, the CLI — reads this; nothing is sent to the server that is not in it.
#pragma once

#include <cstddef>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "matrx/orm/pg/oid.hpp"

namespace matrx::orm {

/// What a column's value is, independent of its exact SQL spelling.
enum class ValueKind {
  boolean, int16, int32, int64, float32, float64, numeric, money, text, bytes, uuid,
  timestamptz, timestamp, date, time, interval, json, inet, cidr, macaddr, point, hstore,
  vector, enumeration, array,
};
const char* to_string(ValueKind kind) noexcept;

/// Where a default value comes from when an INSERT does not give one.
enum class DefaultKind {
  none,       ///< no default: NOT NULL columns must be given a value
  value,      ///< a client-side value set on the C++ member before inserting
  database,   ///< a database expression (DEFAULT now(), gen_random_uuid(), identity)
};

struct ModelInfo;

/// A foreign key: this field stores a key of `target` (by type, or by registered name for
/// self-references and cycles), in `to_field` (default: the target's primary key).
struct ForeignKeyInfo {
  const ModelInfo& (*target_info)() = nullptr;  ///< set for references<Target>()
  std::string target_name{};                    ///< set for references("Target")
  std::string to_field{};
  std::string on_delete = "NO ACTION";
  std::string on_update = "NO ACTION";
  std::string to_db{};      ///< the target lives in another registered database
  std::string to_schema{};  ///< informational: the target model's schema decides
  std::string name{};       ///< the constraint's name (empty: <table>_<column>_fkey)
  bool match_full = false;
  bool deferrable = false, initially_deferred = false;
  bool not_valid = false;   ///< added NOT VALID (existing rows never checked)
  /// The target's description (resolved through the registry for names).
  const ModelInfo& target() const;
};

/// A many-to-many relation through a junction table: rows (source_column, target_column).
struct ManyToManyInfo {
  std::string name;
  std::string junction;
  std::string source_column;
  std::string target_column;
  std::string target_name;
  std::string junction_schema{};
};

/// An inverse foreign key declared on the referenced model: rows of `from_model` whose
/// `from_field` refers to this model's `referenced_field` (empty: its primary key).
struct InverseForeignKeyInfo {
  std::string name;
  std::string from_model;
  std::string from_field;
  std::string referenced_field{};
};

/// One key of an index: a column or an expression, with its collation, operator class and
/// order. Expressions are SQL as PostgreSQL prints them (`pg_get_indexdef`): an index is
/// matched to the database's by this text, so write it the way the server does
/// (`lower((email)::text)`), or name the index and it is matched by name.
struct IndexKey {
  std::string column{};      ///< a column name, or
  std::string expression{};  ///< an expression
  std::string collation{};
  std::string opclass{};
  bool descending = false;
  std::optional<bool> nulls_first{};  ///< empty: the direction's default (LAST for ASC)
  bool operator==(const IndexKey&) const = default;
};

/// A model-level index: several columns (or keys with expressions and orders), a method
/// (btree, gin, gist, brin, hnsw, ivfflat …), an operator class for vector indexes, a
/// partial-index predicate, INCLUDE columns, storage parameters, or unique.
struct IndexInfo {
  std::string name{};                 ///< empty: <table>_<columns>_idx
  std::vector<std::string> columns{};
  bool unique = false;
  std::string method{};               ///< empty: btree
  std::string opclass{};              ///< e.g. "vector_cosine_ops" (applies to every column)
  std::string where{};                ///< partial index predicate (SQL, written by the model's author)
  std::vector<IndexKey> keys{};       ///< instead of `columns`: keys with expressions, orders, opclasses
  std::vector<std::string> include{}; ///< INCLUDE (…) columns
  std::string with{};                 ///< storage parameters: "fillfactor=70"
  bool nulls_not_distinct = false;
};

/// A CHECK constraint: SQL written by the model's author.
struct CheckInfo {
  std::string name;
  std::string expression;
};

/// A named unique constraint with its options (unique_together names its own).
struct UniqueInfo {
  std::string name{};
  std::vector<std::string> columns{};
  bool nulls_not_distinct = false;
  bool deferrable = false, initially_deferred = false;
};

/// A foreign key over several columns (a single column's is a field option:
/// orm::references<T>()). The target is named by table, in any schema.
struct ForeignKeyConstraintInfo {
  std::string name{};
  std::vector<std::string> columns{};
  std::string ref_schema = "public", ref_table{};
  std::vector<std::string> ref_columns{};
  std::string on_delete = "NO ACTION", on_update = "NO ACTION";
  bool match_full = false;
  bool deferrable = false, initially_deferred = false;
  bool not_valid = false;
};

struct FieldInfo {
  std::string name{};          ///< column name (and lookup name)
  std::string sql_type{};      ///< DDL spelling: "bigint", "varchar(50)", "numeric(10,2)", "mood"
  pg::Oid oid = 0;           ///< parameter/result type OID (0 for enums and extension types)
  ValueKind kind = ValueKind::text;
  ValueKind element_kind = ValueKind::text;  ///< for arrays
  bool nullable = false;     ///< std::optional<T> member
  bool primary_key = false;
  bool unique = false;
  bool index = false;
  bool identity = false;     ///< GENERATED BY DEFAULT AS IDENTITY (server-assigned integer key)
  bool version = false;      ///< optimistic-locking counter
  bool auto_now = false;     ///< set to the current time by every create/save/upsert
  bool auto_now_add = false; ///< set to the current time on insert when unset
  std::optional<std::size_t> max_length{};
  std::optional<int> precision{}, scale{};   ///< numeric(p, s)
  std::optional<int> dimensions{};             ///< vector(n)
  std::vector<std::string> choices{};          ///< enum labels (allowed values)
  std::string enum_type{};                     ///< SQL enum type name
  DefaultKind default_kind = DefaultKind::none;
  std::string db_default{};                    ///< SQL expression for DefaultKind::database
  std::string member{};                        ///< C++ member name
  std::optional<ForeignKeyInfo> foreign_key{};
  std::string declared_type{};     ///< orm::column_type("…"): the column's SQL type as given (a domain, tsvector, …)
  bool text_results = false;       ///< read in text form (types without a binary codec: tsvector, ranges, …)
  bool identity_always = false;    ///< GENERATED ALWAYS AS IDENTITY
  std::string identity_options{};  ///< "START WITH 100 INCREMENT BY 5"
  std::string generated{};         ///< GENERATED ALWAYS AS (expr) STORED: never written by the ORM
  std::string collation{};         ///< COLLATE (SQL: "\"C\"")
  std::string comment{};

  /// A server-side value exists when an INSERT omits the column.
  bool has_server_default() const noexcept {
    return identity || default_kind == DefaultKind::database || !generated.empty();
  }
  /// The ORM may send a value for it (a generated column only ever takes the server's).
  bool writable() const noexcept { return generated.empty(); }
};

/// How long the StateManager keeps a model's objects: permanent (until a write evicts them),
/// long_term (4 h), short_term (10 min, the default), instant (1 min), or none (never cached).
enum class CachePolicy { permanent, long_term, short_term, instant, none };

struct ModelInfo {
  std::string name{};          ///< C++ type name, e.g. "User"
  std::string table{};         ///< table name (default: snake_case of the type name)
  std::string schema{};        ///< empty: the search_path's (public)
  std::string database{};      ///< registered database name; empty: the first registered
  std::vector<FieldInfo> fields{};
  std::vector<std::size_t> primary_keys{};  ///< indexes into fields, in key order
  std::optional<std::size_t> version_field{};
  bool abstract = false;
  CachePolicy cache_policy = CachePolicy::short_term;
  std::optional<std::chrono::seconds> cache_timeout{};  ///< overrides the policy's duration
  std::size_t cache_max_entries = 100'000;             ///< the oldest entries go beyond this
  bool unfetchable = false;  ///< relation fetches to this model log one warning and return nothing
  std::vector<ManyToManyInfo> many_to_many{};
  std::vector<InverseForeignKeyInfo> inverse_foreign_keys{};
  std::vector<IndexInfo> indexes{};                       ///< beyond the fields' own `index`
  std::vector<std::vector<std::string>> unique_together{};  ///< composite unique constraints
  std::vector<CheckInfo> checks{};
  std::vector<UniqueInfo> uniques{};                       ///< named unique constraints with options
  std::vector<CheckInfo> exclusions{};                     ///< EXCLUDE constraints: name and definition
  std::vector<ForeignKeyConstraintInfo> foreign_keys{};    ///< foreign keys over several columns
  std::string primary_key_name{};  ///< empty: PostgreSQL's <table>_pkey
  std::string partition_by{};      ///< a partitioned table: "RANGE (created_at)"
  std::string comment{};
  /// A view (or materialized view): read-only, never created nor dropped by makemigrations,
  /// and it may have no primary key.
  bool view = false;
  bool keyless = false;  ///< declared without_primary_key()
  bool text_results = false;  ///< a field needs text-form results: the model's reads ask for text
  /// SQL the compiler would otherwise rebuild for every query, set once by the model's
  /// registration (empty for a ModelInfo built by hand): the quoted table, and every
  /// column qualified by it ("t"."a", "t"."b", …).
  std::string quoted_table{};
  std::string select_all{};
  std::vector<std::string> quoted_columns{};  ///< per field: "t"."a"

  /// The field named `name`, or nullptr.
  const FieldInfo* find(std::string_view name) const noexcept;
  std::optional<std::size_t> index_of(std::string_view name) const noexcept;
  /// The field named `name`; throws FieldError listing the model's fields.
  const FieldInfo& field(std::string_view name) const;
  /// "schema"."table" or "table", quoted.
  std::string qualified_table() const;
  /// JSON description used by migrations and the CLI.
  nlohmann::json to_json() const;
};

/// "MyFancyModel" → "my_fancy_model", "HTTPLog" → "http_log".
std::string snake_case(std::string_view name);
/// Quotes an identifier ("user" → "\"user\"", doubling embedded quotes). Throws
/// FieldError on an empty identifier or one with a NUL byte.
std::string quote_identifier(std::string_view name);
/// quote_identifier appended to `out` (no temporary: the query compiler's hot path).
void append_quoted_identifier(std::string& out, std::string_view name);

}  // namespace matrx::orm
