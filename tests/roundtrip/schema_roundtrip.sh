#!/usr/bin/env bash
# A real schema read and rebuilt: load SCHEMA_SQL into a fresh database, read it with
# `matrx-orm inspect --json`, make the migration that builds it from an empty database,
# apply it, and compare `pg_dump --schema-only` of the two (statements sorted; functions,
# aggregates, triggers, policies, views and materialized views, owners and grants left out:
# not in the schema model, docs/introspection.md). Then: no changes against either database, a second inspect
# gives a byte-identical snapshot, and the migration's down leaves the new database empty.
#
# With a build directory and the source directory, the same again through C++: `inspect
# --out` writes model headers, a program built from them (tests/roundtrip/consumer) reads one
# row of every table and view, and its own makemigrations and migrate rebuild the schema in
# an empty database, compared the same way; a second inspect rewrites no file.
#
#   schema_roundtrip.sh MATRX_ORM_CLI SCHEMA_SQL [BUILD_DIR SOURCE_DIR]   (PG* variables name the server)
set -euo pipefail
cli=$1
schema_sql=$2
build_dir=${3:-}
source_dir=${4:-}
[ -f "$schema_sql" ] || { echo "schema file not found: $schema_sql" >&2; exit 1; }

src=rt_src_$$
dst=rt_dst_$$
dst2=rt_dst2_$$
work=$(mktemp -d)
trap 'dropdb --if-exists "$src"; dropdb --if-exists "$dst"; dropdb --if-exists "$dst2"; rm -rf "$work"' EXIT
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
[ -n "$build_dir" ] || exit 0

# ---- through generated C++ models ----
"$cli" --database-url "dbname=$src" inspect --out "$work/models" --namespace gen --managers 2>/dev/null
again=$("$cli" --database-url "dbname=$src" inspect --out "$work/models" --namespace gen --managers 2>/dev/null)
case "$again" in "wrote 0 file(s),"*) ;; *) echo "FAIL: a second inspect rewrote files: $again" >&2; exit 1 ;; esac
types=$(sed -n 's/^struct \([A-Za-z0-9_]*\) {$/\1/p' "$work/models"/*.hpp)
managers=$(sed -n 's/^class \([A-Za-z0-9_]*Manager\) : .*/\1/p' "$work/models"/*_manager.hpp)
[ -n "$managers" ] || { echo "FAIL: no manager in the generated headers" >&2; exit 1; }
# No helper calls itself: the line after each helper's signature returns something else.
awk '/^  boost::asio::awaitable<.*> [a-z_0-9]+\(/ { match($0, /> [a-z_0-9]+\(/); name = substr($0, RSTART + 2, RLENGTH - 3); next }
     name != "" && index($0, " " name "(") { print FILENAME ": " name " calls itself"; bad = 1 } { name = "" }
     END { exit bad }' "$work/models"/*_manager.hpp
[ -n "$types" ] || { echo "FAIL: no model in the generated headers" >&2; exit 1; }
{
  echo '// Written by schema_roundtrip.sh: one row of every generated model, through the ORM.'
  echo '#include <cstdlib>'
  echo '#include <iostream>'
  echo '#include <matrx/orm/sync.hpp>'
  echo '#include "models.hpp"'
  for h in "$work/models"/*_manager.hpp; do echo "#include \"$(basename "$h")\""; done
  echo 'namespace orm = ::matrx::orm;'
  echo 'template <class M> boost::asio::awaitable<std::size_t> one_row() {'
  echo '  auto query = orm::objects<M>().limit(1);'
  echo '  auto rows = co_await query.all();'
  echo '  co_return rows.size();'
  echo '}'
  echo 'boost::asio::awaitable<void> all_rows(std::size_t& models, std::size_t& rows) {'
  for t in $types; do echo "  rows += co_await one_row<gen::$t>(); ++models;"; done
  echo '}'
  echo '// Every manager is made: its base class and helpers compile under -Werror.'
  echo 'void make_managers() {'
  for m in $managers; do echo "  [[maybe_unused]] gen::$m $(echo "$m" | tr 'A-Z' 'a-z');"; done
  echo '}'
  echo 'int read_rows(int argc, char** argv) {'
  echo '  if (argc < 3) { std::cerr << "usage: manage read-rows URL\n"; return 2; }'
  echo '  orm::pg::register_database(orm::pg::DatabaseConfig::from_url("main", argv[2]));'
  echo '  std::size_t models = 0, rows = 0;'
  echo '  orm::sync(all_rows(models, rows));'
  echo '  std::cout << "read-rows: " << models << " models, " << rows << " rows\n";'
  echo '  orm::pg::close_all_databases();'
  echo '  return 0;'
  echo '}'
} > "$work/read_rows.cpp"
cmake -S "$source_dir/tests/roundtrip/consumer" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DMATRX_ORM_BUILD_DIR="$build_dir" -DMODELS_DIR="$work/models" -DREAD_ROWS_SOURCE="$work/read_rows.cpp" \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
start=$(date +%s)
cmake --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; echo "FAIL: the generated headers do not compile" >&2; exit 1; }
echo "generated headers compiled in $(( $(date +%s) - start )) s"
manage=$work/build/manage
# A materialized view made WITH NO DATA cannot be read until it is refreshed.
psql -X -q -At -d "$src" -c "SELECT format('REFRESH MATERIALIZED VIEW %I.%I', schemaname, matviewname)
    FROM pg_matviews WHERE NOT ispopulated" | psql -X -q -v ON_ERROR_STOP=1 -d "$src"
read=$("$manage" read-rows "dbname=$src")
echo "$read"
expected=$(echo "$types" | wc -w)
case "$read" in "read-rows: $expected models, "*) ;; *) echo "FAIL: expected $expected models read" >&2; exit 1 ;; esac
# A schema file that says so has a row in every table and view: each one must come back.
if grep -q '^-- roundtrip: every model has a row' "$schema_sql"; then
  [ "$read" = "read-rows: $expected models, $expected rows" ] || { echo "FAIL: expected a row from each model" >&2; exit 1; }
fi

createdb "$dst2"
"$manage" --database-url "dbname=$dst2" makemigrations --dir "$work/model_migrations" --name initial
"$manage" --database-url "dbname=$dst2" migrate --dir "$work/model_migrations"
dump "$dst2" > "$work/dst2.sql"
if ! diff -u "$work/src.sql" "$work/dst2.sql"; then
  echo "FAIL: the schema built from the generated models differs from the source (- source, + from models)" >&2
  exit 1
fi
echo "pg_dump identical through the generated models"
for db in "$src" "$dst2"; do
  out=$("$manage" --database-url "dbname=$db" makemigrations --dir "$work/again2" --check)
  [ "$out" = "no changes: the database matches the models" ] || { echo "FAIL: models vs $db: $out" >&2; exit 1; }
done
echo "model round trip OK"
