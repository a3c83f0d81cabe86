// SQL for each schema operation, every identifier quoted. The diff (diff.hpp) pairs these
// into up and down steps.
#pragma once

#include <string>

#include "matrx/orm/migrate/schema.hpp"

namespace matrx::orm::migrate::ddl {

/// "name" type [COLLATE c] [GENERATED … AS IDENTITY | GENERATED ALWAYS AS (expr) STORED]
/// [NOT NULL] [DEFAULT expr]
std::string column(const ColumnDef& c);
/// CREATE TABLE with its columns, primary key, unique, check and exclusion constraints, and
/// the foreign keys `with_foreign_keys` says (the others are added later with
/// add_foreign_key); PARTITION BY for a partitioned table; PARTITION OF … FOR VALUES for a
/// partition, which takes its columns from its partitioned table. NOT VALID checks and
/// foreign keys are left out: add them with add_check / add_foreign_key.
std::string create_table(const TableDef& t, bool with_foreign_keys);
/// What a partition's columns set differently from its partitioned table's (defaults, NOT
/// NULL), as ALTER statements each preceded by a newline; empty when nothing differs.
std::string partition_column_changes(const TableDef& parent, const TableDef& partition);
std::string drop_table(const TableDef& t);
std::string add_column(const TableDef& t, const ColumnDef& c);
std::string drop_column(const TableDef& t, const ColumnDef& c);
/// ALTER COLUMN … TYPE new USING "col"::new
std::string alter_type(const TableDef& t, const ColumnDef& c, const std::string& type);
std::string set_nullable(const TableDef& t, const ColumnDef& c, bool nullable);
/// SET DEFAULT expr, or DROP DEFAULT for an empty one.
std::string set_default(const TableDef& t, const ColumnDef& c, const std::string& default_sql);
std::string set_identity(const TableDef& t, const ColumnDef& c, bool identity);
/// SET GENERATED ALWAYS / BY DEFAULT on an identity column.
std::string set_identity_kind(const TableDef& t, const ColumnDef& c, bool always);
std::string rename_constraint(const TableDef& t, const std::string& from, const std::string& to);
std::string add_primary_key(const TableDef& t, const std::vector<std::string>& columns);
std::string drop_primary_key(const TableDef& t);
std::string add_unique(const TableDef& t, const UniqueDef& u);
std::string add_check(const TableDef& t, const CheckDef& c);
std::string add_exclusion(const TableDef& t, const ExclusionDef& x);
std::string add_foreign_key(const TableDef& t, const ForeignKeyDef& f);
std::string drop_constraint(const TableDef& t, const std::string& name);
std::string create_index(const TableDef& t, const IndexDef& i);
/// CREATE INDEX on any relation (a materialized view's too).
std::string create_index(const std::string& qualified_relation, const IndexDef& i);
/// One index key: "col", "(expr)", with COLLATE, operator class, DESC and NULLS as given.
std::string index_key(const IndexKey& k);
std::string drop_index(const TableDef& t, const IndexDef& i);
std::string create_enum(const EnumDef& e);
std::string drop_enum(const EnumDef& e);
std::string add_enum_value(const EnumDef& e, const std::string& label, const std::string& after);
/// CREATE EXTENSION IF NOT EXISTS "name" WITH SCHEMA "schema"
std::string create_extension(const ExtensionDef& e);
std::string drop_extension(const ExtensionDef& e);
std::string create_composite_type(const CompositeTypeDef& c);
/// DROP TYPE for a qualified (quoted) type name.
std::string drop_type(const std::string& qualified);
std::string create_domain(const DomainDef& d);
std::string drop_domain(const DomainDef& d);
/// CREATE SEQUENCE with every option written out (no OWNED BY: the table comes later).
std::string create_sequence(const SequenceDef& q);
/// ALTER SEQUENCE setting every option to `q`'s.
std::string alter_sequence(const SequenceDef& q);
/// DROP SEQUENCE IF EXISTS (dropping a serial column's table drops its sequence first).
std::string drop_sequence(const SequenceDef& q);
/// ALTER SEQUENCE … OWNED BY table.column, or OWNED BY NONE.
std::string sequence_owned_by(const SequenceDef& q);
/// COMMENT ON … IS 'text', or IS NULL for an empty comment.
std::string comment_on_table(const TableDef& t, const std::string& comment);
std::string comment_on_column(const TableDef& t, const ColumnDef& c, const std::string& comment);
std::string create_schema(const std::string& schema);
std::string drop_schema(const std::string& schema);
/// A SQL string literal ('it''s').
std::string literal(const std::string& text);

}  // namespace matrx::orm::migrate::ddl
