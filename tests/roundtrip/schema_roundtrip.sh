#!/usr/bin/env bash
# A real schema read and rebuilt: load SCHEMA_SQL into a fresh database, read it with
# `matrx-orm inspect --json`, make the migration that builds it from an empty database,
# apply it, and compare `pg_dump --schema-only` of the two (statements sorted; functions,
# aggregates, triggers, policies, views and materialized views, owners and grants left out:
# not in the schema model, docs/introspection.md). Then: no changes against either database, a second inspect
# gives a byte-identical snapshot, and the migration's down leaves the new database empty.
#
#   schema_roundtrip.sh MATRX_ORM_CLI SCHEMA_SQL      (PG* variables name the server)
set -euo pipefail
cli=$1
schema_sql=$2
[ -f "$schema_sql" ] || { echo "schema file not found: $schema_sql" >&2; exit 1; }

src=rt_src_$$
dst=rt_dst_$$
work=$(mktemp -d)
trap 'dropdb --if-exists "$src"; dropdb --if-exists "$dst"; rm -rf "$work"' EXIT
createdb "$src"
createdb "$dst"
psql -q -X -v ON_ERROR_STOP=1 -d "$src" -f "$schema_sql" >/dev/null

# The schema's statements, one per line, sorted. TOC entries of kinds outside the schema
# model, indexes on views and the migration state table are left out.
dump() {
  local db=$1
  pg_dump --schema-only -Fc -d "$db" -f "$work/$db.dump"
  local view_indexes
  view_indexes=$(psql -X -At -d "$db" -c "SELECT string_agg(i.relname, '|') FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid WHERE t.relkind IN ('v', 'm')")
  pg_restore -l "$work/$db.dump" |
    grep -Ev '^[0-9]+; [0-9]+ [0-9]+ (FUNCTION|AGGREGATE|PROCEDURE|VIEW|MATERIALIZED VIEW|MATERIALIZED VIEW DATA|TRIGGER|POLICY|ACL) ' |
    grep -v '_matrx_migrations' |
    { if [ -n "$view_indexes" ]; then grep -Ev " INDEX [^ ]+ ($view_indexes) "; else cat; fi; } > "$work/$db.list"
  pg_restore -L "$work/$db.list" -f - "$work/$db.dump" |
    grep -Ev '^(--|SET |SELECT pg_catalog.set_config|\\(un)?restrict )' |
    awk 'NF == 0 { next } { statement = statement (statement == "" ? "" : " ") $0 }
         /;$/ { print statement; statement = "" }' |
    grep -v ' OWNER TO ' |
    LC_ALL=C sort
}

"$cli" --database-url "dbname=$src" inspect --json "$work/schema.json" 2> "$work/inspect.err"
echo "inspect reported as outside the schema model: $(wc -l < "$work/inspect.err") objects"
"$cli" --database-url "dbname=$dst" makemigrations --models "$work/schema.json" --dir "$work/migrations" --name initial
"$cli" --database-url "dbname=$dst" migrate --dir "$work/migrations"

dump "$src" > "$work/src.sql"
dump "$dst" > "$work/dst.sql"
if ! diff -u "$work/src.sql" "$work/dst.sql"; then
  echo "FAIL: the rebuilt schema differs from the source (- source, + rebuilt)" >&2
  exit 1
fi
echo "pg_dump identical: $(wc -l < "$work/src.sql") statements"
grep -q 'CREATE TABLE' "$work/src.sql" || { echo "FAIL: the dump holds no table" >&2; exit 1; }

for db in "$src" "$dst"; do
  out=$("$cli" --database-url "dbname=$db" makemigrations --models "$work/schema.json" --dir "$work/again" --check)
  [ "$out" = "no changes: the database matches the models" ] || { echo "FAIL: $db: $out" >&2; exit 1; }
done
"$cli" --database-url "dbname=$src" inspect --json "$work/again.json" 2>/dev/null
cmp "$work/schema.json" "$work/again.json" || { echo "FAIL: a second inspect read the source differently" >&2; exit 1; }

"$cli" --database-url "dbname=$dst" rollback --dir "$work/migrations"
left=$(psql -X -At -d "$dst" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relname <> '_matrx_migrations' AND c.relname NOT LIKE '\_matrx\_migrations%'")
types=$(psql -X -At -d "$dst" -c "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typtype IN ('d', 'e')")
[ "$left" = 0 ] && [ "$types" = 0 ] || { echo "FAIL: after rollback $left relations and $types types are left" >&2; exit 1; }
echo "schema round trip OK"
