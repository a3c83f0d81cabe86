// The schema model migrations compare: tables, columns, keys, constraints, indexes, enums
// and schemas — built from the registered models or read from the live catalog (pg_catalog),
// and serialisable as JSON (the snapshot `matrx-orm makemigrations --models FILE` reads).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json_fwd.hpp>

#include "matrx/orm/meta/field_info.hpp"

namespace matrx::orm::pg { class Connection; }

namespace matrx::orm::migrate {

struct ColumnDef {
  std::string name{};
  std::string type{};              ///< normalized (format_type spelling): "character varying(50)"
  bool nullable = true;
  std::string default_sql{};     ///< empty: none
  bool identity = false;         ///< GENERATED … AS IDENTITY
  bool identity_always = false;  ///< GENERATED ALWAYS (else BY DEFAULT)
  std::string identity_options{};  ///< the identity's sequence options that are not the defaults: "START WITH 100"
  std::string generated{};       ///< GENERATED ALWAYS AS (expr) STORED: the expression
  std::string collation{};       ///< a collation other than the type's default ("C", "de_DE")
  std::string comment{};
  bool operator==(const ColumnDef&) const = default;
};

/// FOREIGN KEY … REFERENCES …, with its actions, MATCH FULL and deferral.
struct ForeignKeyDef {
  std::string name{};
  std::vector<std::string> columns{};
  std::string ref_schema{}, ref_table{};
  std::vector<std::string> ref_columns{};
  std::string on_delete = "NO ACTION", on_update = "NO ACTION";
  bool match_full = false;
  bool deferrable = false, initially_deferred = false;
  bool not_valid = false;  ///< added NOT VALID: existing rows were never checked
  bool operator==(const ForeignKeyDef&) const = default;
};

struct UniqueDef {
  std::string name{};
  std::vector<std::string> columns{};
  bool nulls_not_distinct = false;  ///< PostgreSQL 15's UNIQUE NULLS NOT DISTINCT
  bool deferrable = false, initially_deferred = false;
  bool operator==(const UniqueDef&) const = default;
};

struct CheckDef {
  std::string name{};
  std::string expression{};  ///< "(age >= 0)", possibly followed by NO INHERIT / NOT VALID
  /// Added with NOT VALID (existing rows never checked): only ALTER TABLE can make one.
  bool not_valid() const { return expression.ends_with(" NOT VALID"); }
  bool operator==(const CheckDef&) const = default;
};

/// An EXCLUDE constraint, carried as PostgreSQL prints it ("EXCLUDE USING gist (room WITH =, …)").
struct ExclusionDef {
  std::string name{};
  std::string definition{};
  bool operator==(const ExclusionDef&) const = default;
};

struct IndexDef {
  std::string name{};
  std::vector<IndexKey> keys{};         ///< columns or expressions, each with its options
  std::vector<std::string> include{};   ///< INCLUDE (…) columns
  bool unique = false;
  bool nulls_not_distinct = false;
  std::string method = "btree";
  std::string with{};                   ///< storage parameters: "fillfactor=70, lists=100"
  std::string where{};
  /// The key columns when every key is a plain column without options (else empty).
  std::vector<std::string> plain_columns() const;
  bool operator==(const IndexDef&) const = default;
};

struct TableDef {
  std::string schema = "public";
  std::string name{};
  std::vector<ColumnDef> columns{};
  std::vector<std::string> primary_key{};
  std::string primary_key_name{};  ///< empty: PostgreSQL's <table>_pkey
  std::vector<UniqueDef> uniques{};
  std::vector<ForeignKeyDef> foreign_keys{};
  std::vector<CheckDef> checks{};
  std::vector<ExclusionDef> exclusions{};
  std::vector<IndexDef> indexes{};
  std::string partition_by{};      ///< a partitioned table: "RANGE (payment_date)"
  std::string parent_schema{}, parent_table{};  ///< a partition: the partitioned table it belongs to
  std::string partition_bound{};   ///< a partition: "FOR VALUES FROM (…) TO (…)", "DEFAULT"
  std::string comment{};

  const ColumnDef* column(std::string_view n) const;
  bool is_partition() const noexcept { return !parent_table.empty(); }
  /// "schema"."name", quoted.
  std::string qualified() const;
  /// "schema.name" (unquoted, for messages and filters).
  std::string id() const { return schema + "." + name; }
};

struct EnumDef {
  std::string schema = "public";
  std::string name{};
  std::vector<std::string> labels{};
  std::string qualified() const;
};

/// A composite type: CREATE TYPE name AS (attribute type [COLLATE c], …).
struct CompositeTypeDef {
  std::string schema = "public";
  std::string name{};
  std::vector<ColumnDef> attributes{};  ///< name, type and collation of each
  std::string qualified() const;
  bool operator==(const CompositeTypeDef&) const = default;
};

/// An extension the schema uses (vector, citext, hstore): created when missing.
struct ExtensionDef {
  std::string name{};
  std::string schema = "public";
  bool operator==(const ExtensionDef&) const = default;
};

/// CREATE DOMAIN name AS type [COLLATE] [DEFAULT] [NOT NULL] [CONSTRAINT c CHECK (…)]…
struct DomainDef {
  std::string schema = "public";
  std::string name{};
  std::string type{};  ///< the base type (format_type spelling)
  bool not_null = false;
  std::string default_sql{};
  std::string collation{};
  std::vector<CheckDef> checks{};
  std::string qualified() const;
  bool operator==(const DomainDef&) const = default;
};

/// A sequence that is not an identity column's: a serial column's (owned_by set) or one that
/// stands alone. Values are PostgreSQL's; a default (e.g. start 1) is written all the same.
struct SequenceDef {
  std::string schema = "public";
  std::string name{};
  std::string type = "bigint";
  std::int64_t start = 1, increment = 1, min_value = 1, max_value = INT64_MAX, cache = 1;
  bool cycle = false;
  std::string owned_by_table{}, owned_by_column{};  ///< serial: the column it belongs to
  std::string qualified() const;
  bool operator==(const SequenceDef&) const = default;
};

/// A view or materialized view, its definition kept as PostgreSQL prints it.
struct ViewDef {
  std::string schema = "public";
  std::string name{};
  std::string definition{};  ///< the SELECT, without a trailing ';'
  bool materialized = false;
  std::vector<ColumnDef> columns{};  ///< names and types (for read-only models)
  std::vector<IndexDef> indexes{};   ///< a materialized view's indexes
  std::string comment{};
  std::string qualified() const;
};

struct SchemaDef {
  std::vector<std::string> schemas{};  ///< besides public
  std::vector<ExtensionDef> extensions{};
  std::vector<EnumDef> enums{};
  std::vector<CompositeTypeDef> composite_types{};
  std::vector<DomainDef> domains{};
  std::vector<SequenceDef> sequences{};
  std::vector<TableDef> tables{};      ///< partitions after their partitioned table
  std::vector<ViewDef> views{};
  /// Tables ("schema.table") that models describe but do not own (unfetchable stubs such as
  /// Supabase's auth.users): makemigrations neither creates, changes nor reports them.
  std::vector<std::string> external_tables{};
  /// Objects the live database has that the schema model does not describe (functions,
  /// triggers, policies, range and base types), by kind and name: reported, never dropped
  /// nor emitted.
  std::vector<std::string> unsupported{};

  const TableDef* table(std::string_view schema, std::string_view name) const;
  const EnumDef* enumeration(std::string_view schema, std::string_view name) const;
  nlohmann::json to_json() const;
  /// Throws MigrationError naming what is missing or malformed.
  static SchemaDef from_json(const nlohmann::json& j);
};

/// Which tables a command looks at: only `include` (when not empty), or all but `exclude`.
/// Names are "table" (any schema) or "schema.table". Setting both is a ConfigurationError.
struct TableFilter {
  std::vector<std::string> include{};
  std::vector<std::string> exclude{};
  bool matches(std::string_view schema, std::string_view table) const;
  void validate() const;
};

/// The type spelled the way PostgreSQL's format_type() prints it: "varchar(20)" →
/// "character varying(20)", "int8" → "bigint", "timestamptz" → "timestamp with time zone".
std::string normalize_type(std::string_view type);

/// The schema the registered models of `database` (empty: the default database's models)
/// describe, junction tables of many-to-many relations included.
SchemaDef schema_from_models(std::string_view database = {}, const TableFilter& filter = {});

/// The schema in the live database, read from pg_catalog (the migration state table and
/// system schemas left out).
boost::asio::awaitable<SchemaDef> schema_from_database(pg::Connection& connection, TableFilter filter = {});

}  // namespace matrx::orm::migrate
