#!/usr/bin/env bash
# Throwaway PostgreSQL 15 (+ PgBouncer in transaction mode) for one command.
#
#   tools/testdb.sh run [--standby] [--tls] -- CMD ARGS...
#   tools/testdb.sh ctl stop|start primary|standby     (from inside CMD: $TESTDB_CTL ...)
#   tools/testdb.sh ctl promote | follow
#
# initdb into a short temp dir (as the postgres user when run as root), Unix socket in
# that dir plus a free 127.0.0.1 port, fsync=off. CMD runs with PGHOST/PGPORT/PGUSER/
# PGDATABASE, DATABASE_URL (TCP) and PGBOUNCER_URL (transaction pooling) exported.
#   --standby  a hot standby of it made by pg_basebackup -R, streaming (RELIABILITY.md A6):
#              TESTDB_STANDBY_PORT, STANDBY_URL. `ctl promote` promotes it; `ctl follow`
#              turns the (stopped) first server into a standby of the promoted one.
#   --tls      ssl=on with a CA, a server certificate for CN=localhost and two CRLs made
#              here with openssl (D1), in TESTDB_TLS_DIR: root.crt, other-root.crt,
#              empty.crl, revoked.crl. Role matrx_tls may only connect over TLS.
# The servers, the bouncer and the directory are removed on every exit path (success,
# failure, SIGINT/SIGTERM); CMD's exit code is passed through.
set -euo pipefail

usage() {
  echo "usage: $0 run [--standby] [--tls] -- CMD [ARGS...]  |  $0 ctl stop|start primary|standby|promote|follow" >&2
  exit 2
}

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PGBIN/initdb" ] || { echo "testdb: $PGBIN/initdb not found (apt-get install postgresql-15)" >&2; exit 2; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Fault steps for a test that runs under `run --standby`: the servers are the test's own.
if [ "${1:-}" = "ctl" ]; then
  : "${TESTDB_DIR:?ctl runs inside testdb.sh run}"
  datadir() { case "$1" in primary) echo "$TESTDB_DIR/data" ;; standby) echo "$TESTDB_DIR/standby" ;; *) usage ;; esac; }
  case "${2:-}" in
    stop) as_pg "$PGBIN/pg_ctl" -D "$(datadir "${3:-}")" -m fast -w -t 30 stop >/dev/null ;;
    start) as_pg "$PGBIN/pg_ctl" -D "$(datadir "${3:-}")" -l "$TESTDB_DIR/${3}.log" -w -t 30 start >/dev/null ;;
    promote) as_pg "$PGBIN/pg_ctl" -D "$TESTDB_DIR/standby" -w -t 30 promote >/dev/null ;;
    follow)
      # The first server was stopped cleanly, so the promoted standby has all of its WAL and
      # it can follow the new timeline (recovery_target_timeline = latest, the default).
      as_pg touch "$TESTDB_DIR/data/standby.signal"
      printf "primary_conninfo = 'host=%s port=%s user=postgres'\n" "$TESTDB_DIR" "$TESTDB_STANDBY_PORT" |
        as_pg tee -a "$TESTDB_DIR/data/postgresql.auto.conf" >/dev/null
      as_pg "$PGBIN/pg_ctl" -D "$TESTDB_DIR/data" -l "$TESTDB_DIR/primary.log" -w -t 30 start >/dev/null ;;
    *) usage ;;
  esac
  exit 0
fi

[ "${1:-}" = "run" ] || usage
shift
STANDBY="" TLS=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    --standby) STANDBY=1 ;;
    --tls) TLS=1 ;;
    *) usage ;;
  esac
  shift
done
[ "${1:-}" = "--" ] && [ $# -ge 2 ] || usage
shift

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
  for d in "$DIR/standby" "$DIR/data"; do
    [ -f "$d/postmaster.pid" ] || continue
    as_pg "$PGBIN/pg_ctl" -D "$d" -m fast -w -t 20 stop >/dev/null 2>&1 || {
      pid=$(head -1 "$d/postmaster.pid" 2>/dev/null || true)
      [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    }
  done
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

if [ -n "$TLS" ]; then
  # D1: a CA, a server certificate for CN=localhost signed by it, a second CA that signed
  # nothing, and two CRLs of the first (one empty, one revoking the server's certificate).
  T="$DIR/tls"
  mkdir -p "$T"
  ec() { openssl req -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "$@" 2>/dev/null; }
  ec -x509 -days 2 -keyout "$T/ca.key" -out "$T/root.crt" -subj "/CN=matrx test CA"
  ec -x509 -days 2 -keyout "$T/other.key" -out "$T/other-root.crt" -subj "/CN=matrx other CA"
  ec -keyout "$T/server.key" -out "$T/server.csr" -subj "/CN=localhost"
  printf 'subjectAltName=DNS:localhost\n' >"$T/ext.cnf"
  openssl x509 -req -in "$T/server.csr" -CA "$T/root.crt" -CAkey "$T/ca.key" -set_serial 4242 -days 2 \
    -extfile "$T/ext.cnf" -out "$T/server.crt" 2>/dev/null
  : >"$T/index.txt"
  echo 01 >"$T/crlnumber"
  printf '[ca]\ndefault_ca = test_ca\n[test_ca]\ndatabase = %s\ncrlnumber = %s\ndefault_md = sha256\ndefault_crl_days = 2\n' \
    "$T/index.txt" "$T/crlnumber" >"$T/ca.cnf"
  ca() { openssl ca -config "$T/ca.cnf" -keyfile "$T/ca.key" -cert "$T/root.crt" "$@" >/dev/null 2>&1; }
  ca -gencrl -out "$T/empty.crl"
  ca -revoke "$T/server.crt"
  ca -gencrl -out "$T/revoked.crl"
  [ -s "$T/revoked.crl" ] || { echo "testdb: openssl could not make the TLS fixture" >&2; exit 1; }
  chmod 600 "$T/server.key"
  [ "$(id -u)" = 0 ] && chown -R postgres "$T"
  chmod 644 "$T"/*.crt "$T"/*.crl
  cat >>"$DIR/data/postgresql.conf" <<CONF
ssl = on
ssl_cert_file = '$T/server.crt'
ssl_key_file = '$T/server.key'
CONF
  { printf 'hostssl all matrx_tls 127.0.0.1/32 trust\nhostnossl all matrx_tls 127.0.0.1/32 reject\n'
    cat "$DIR/data/pg_hba.conf"; } >"$DIR/hba.tmp"
  mv "$DIR/hba.tmp" "$DIR/data/pg_hba.conf"
  [ "$(id -u)" = 0 ] && chown postgres "$DIR/data/pg_hba.conf"
  export TESTDB_TLS_DIR="$T"
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
if [ -n "$TLS" ]; then
  as_pg "$PGBIN/psql" -h "$DIR" -p "$PORT" -U postgres -d postgres -qAtc "CREATE ROLE matrx_tls LOGIN" >/dev/null
fi
export TESTDB_CTL="$(cd "$(dirname "$0")" && pwd)/$(basename "$0") ctl"

if [ -n "$STANDBY" ]; then
  # A6: a hot standby streaming from the server above, on the next free port.
  as_pg "$PGBIN/pg_basebackup" -h "$DIR" -p "$PORT" -U postgres -D "$DIR/standby" -R -X stream -c fast \
    --no-sync >"$DIR/basebackup.log" 2>&1 || { cat "$DIR/basebackup.log" >&2; exit 1; }
  SPORT=""
  for attempt in 1 2 3 4 5; do
    p=$(free_port)
    printf 'port = %s\n' "$p" | as_pg tee -a "$DIR/standby/postgresql.conf" >/dev/null
    if as_pg env LOCPATH="$DIR/locale" "$PGBIN/pg_ctl" -D "$DIR/standby" -l "$DIR/standby.log" -w -t 30 start >/dev/null 2>&1; then
      SPORT=$p; break
    fi
  done
  [ -n "$SPORT" ] || { cat "$DIR/standby.log" >&2; exit 1; }
  export TESTDB_STANDBY_PORT="$SPORT"
  export STANDBY_URL="postgresql://postgres@127.0.0.1:$SPORT/postgres"
fi

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
