#!/usr/bin/env bash
# matrx-orm: the two commands of README.md.
#   ./run.sh example   install deps, build, run the quickstart (throwaway PostgreSQL unless DATABASE_URL is set)
#   ./run.sh test      install deps, build, run every test against a throwaway PostgreSQL
#   ./run.sh bench     install deps, build, run the benchmark (bench/, docs/performance.md) on a throwaway PostgreSQL
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake pkg-config ninja-build libpq-dev libssl-dev libboost1.81-dev libfmt-dev
          nlohmann-json3-dev catch2 libcli11-dev libpg-query-dev postgresql-15 pgbouncer iproute2)
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

# Installs whichever of the given Debian packages are missing.
install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_deps() {
  install_packages "${PACKAGES[@]}"
}

install_test_deps() {
  install_deps
  install_packages locales  # locale sources: testdb.sh builds a German one for the A7 test
  tools/install-pgvector.sh  # the vector type is tested against the real extension
}

build() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

case "${1:-}" in
  example)
    install_deps
    build
    if [ -n "${DATABASE_URL:-}" ]; then
      "$BUILD_DIR/examples/quickstart"
    else
      tools/testdb.sh run -- "$BUILD_DIR/examples/quickstart"
    fi
    ;;
  test)
    install_test_deps
    build
    tools/testdb.sh run -- ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 300
    ;;
  bench)
    install_deps
    build
    # PERFORMANCE.md's server: fsync, synchronous_commit and full_page_writes off, jit off, 256 MB buffers.
    TESTDB_SHARED_BUFFERS=256MB tools/testdb.sh run -- sh -c '"$0/bench/bench" && "$0/bench/schema_bench"' "$BUILD_DIR"
    ;;
  *)
    echo "usage: $0 example|test|bench" >&2
    exit 2
    ;;
esac
