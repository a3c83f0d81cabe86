#!/usr/bin/env bash
# Throwaway PostgreSQL 15 (+ PgBouncer in transaction mode) for one command.
#
#   tools/testdb.sh run -- CMD ARGS...
#
# initdb into a short temp dir (as the postgres user when run as root), Unix socket in
# that dir plus a free 127.0.0.1 port, fsync=off. CMD runs with PGHOST/PGPORT/PGUSER/
# PGDATABASE, DATABASE_URL (TCP) and PGBOUNCER_URL (transaction pooling) exported.
# The server, the bouncer and the directory are removed on every exit path (success,
# failure, SIGINT/SIGTERM); CMD's exit code is passed through.
set -euo pipefail

if [ "${1:-}" != "run" ] || [ "${2:-}" != "--" ] || [ $# -lt 3 ]; then
  echo "usage: $0 run -- CMD [ARGS...]" >&2
  exit 2
fi
shift 2

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PGBIN/initdb" ] || { echo "testdb: $PGBIN/initdb not found (apt-get install postgresql-15)" >&2; exit 2; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

DIR=$(mktemp -d "${TMPDIR:-/tmp}/mxpg.XXXXXX")
chmod 755 "$DIR"
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
CHILD=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
  if [ -f "$DIR/pgbouncer.pid" ]; then
    kill -INT "$(cat "$DIR/pgbouncer.pid")" 2>/dev/null || true
    for _ in $(seq 50); do [ -f "$DIR/pgbouncer.pid" ] || break; sleep 0.1; done
  fi
  if [ -f "$DIR/data/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w -t 20 stop >/dev/null 2>&1 || {
      pid=$(head -1 "$DIR/data/postmaster.pid" 2>/dev/null || true)
      [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    }
  fi
  rm -rf "$DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  local p
  for _ in $(seq 50); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && ! ss -Hltn "sport = :$((p+1))" 2>/dev/null | grep -q .; then
      echo "$p"; return
    fi
  done
  echo "testdb: no free port" >&2; return 1
}

as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
  --no-instructions >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }

# One role authenticates with a password over TCP (SCRAM), for the .pgpass/auth tests;
# everything else is trusted.
{ printf 'host all matrx_pw 127.0.0.1/32 scram-sha-256\n'; cat "$DIR/data/pg_hba.conf"; } >"$DIR/hba.tmp"
mv "$DIR/hba.tmp" "$DIR/data/pg_hba.conf"
[ "$(id -u)" = 0 ] && chown postgres "$DIR/data/pg_hba.conf"

# A second language for the server's messages (RELIABILITY.md A7: nothing may depend on message
# text), compiled into the cluster's folder with localedef: no system locale is generated.
mkdir -p "$DIR/locale"
if [ -f /usr/share/i18n/locales/de_DE ]; then
  localedef -i de_DE -f UTF-8 "$DIR/locale/de_DE.UTF-8" >/dev/null 2>&1 || true
  [ -d "$DIR/locale/de_DE.UTF-8" ] && export TESTDB_MESSAGES_LOCALE=de_DE.UTF-8
fi

started=""
for attempt in 1 2 3 4 5; do
  PORT=$(free_port)
  cat >>"$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = ${TESTDB_SHARED_BUFFERS:-128MB}
jit = off
CONF
  if as_pg env LOCPATH="$DIR/locale" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 start >/dev/null 2>&1; then
    started=1; break
  fi
  echo "testdb: start attempt $attempt on port $PORT failed, retrying" >&2
done
[ -n "$started" ] || { cat "$DIR/server.log" >&2; exit 1; }

export PGHOST="$DIR" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres
export DATABASE_URL="postgresql://postgres@127.0.0.1:$PORT/postgres"
export TESTDB_DIR="$DIR"

# PgBouncer in transaction pooling mode, for pooler-mode tests (optional: skipped if absent).
if command -v pgbouncer >/dev/null 2>&1; then
  BPORT=$((PORT + 1))
  printf '"postgres" ""\n' >"$DIR/userlist.txt"
  cat >"$DIR/pgbouncer.ini" <<INI
[databases]
postgres = host=$DIR port=$PORT dbname=postgres user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
INI
  [ "$(id -u)" = 0 ] && chown postgres "$DIR"/pgbouncer.ini "$DIR"/userlist.txt
  if as_pg pgbouncer -d -q "$DIR/pgbouncer.ini" 2>"$DIR/pgbouncer.err"; then
    export PGBOUNCER_URL="postgresql://postgres@127.0.0.1:$BPORT/postgres"
  else
    echo "testdb: pgbouncer did not start; pooler tests will be skipped" >&2
  fi
fi

# Run CMD in the background so a signal reaches our trap at once (bash runs traps only
# after a foreground child exits), keeping stdin.
"$@" <&0 &
CHILD=$!
set +e
wait "$CHILD"
rc=$?
set -e
CHILD=""
exit "$rc"
