#!/usr/bin/env bash
# matrx-orm: the two commands of README.md.
#   ./run.sh example   install deps, build, run the quickstart (throwaway PostgreSQL unless DATABASE_URL is set)
#   ./run.sh test      install deps, build, run every test against a throwaway PostgreSQL
#   ./run.sh bench     install deps, build, run the benchmark (bench/, docs/performance.md) on a throwaway PostgreSQL
#   ./run.sh fuzz [S]  build the libFuzzer targets (clang) and run each for S seconds (default 600)
#
# `test` also runs the sanitizer builds (docs/reliability.md): the whole suite under ASan+UBSan,
# the concurrency tests under TSan, and each fuzzer for FUZZ_SECONDS (20). SANITIZERS=0 skips them.
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
  # locales: the sources testdb.sh compiles a German locale from (A7); ccache: the sanitizer
  # builds compile everything again; clang and its runtime: libFuzzer; openssl: the TLS
  # fixture of testdb.sh --tls (D1).
  install_packages locales ccache clang libclang-rt-14-dev openssl
  tools/install-pgvector.sh  # the vector type is tested against the real extension
}

launcher() {
  if command -v ccache >/dev/null; then echo "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"; fi
}
# ccache hits across checkouts in different folders (CI clones afresh each time).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

# build [TARGET...]: everything, or only the named targets (and what they need).
build() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" $(launcher) >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS" ${1:+--target "$@"}
}

# A sanitizer build in a directory of its own: DIR SANITIZERS [cmake --build args...]
sanitizer_build() {
  local dir=$1 sanitizers=$2
  shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O1" -DMATRX_ORM_BUILD_BENCH=OFF \
        -DMATRX_ORM_BUILD_EXAMPLES="${SANITIZE_EXAMPLES:-ON}" \
        -DMATRX_ORM_SANITIZE="$sanitizers" $(launcher) >/dev/null
  cmake --build "$dir" -j "$JOBS" "$@"
}

# Every target on its seed corpus (tests/fuzz/corpus/NAME, read only) for SECONDS each; what a
# run discovers goes to a scratch directory. A crash stops with the reproducer's path.
run_fuzzers() {
  local seconds=$1 seed=${2:-0}  # seed 0: a new random sequence each run
  shift 2 || shift $#
  local extra=("$@")  # more libFuzzer flags
  # -g1: line numbers in crash reports.
  CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DMATRX_ORM_BUILD_FUZZERS=ON \
        -DCMAKE_CXX_FLAGS="-g1" \
        -DMATRX_ORM_SANITIZE=address,undefined,fuzzer-no-link -DMATRX_ORM_BUILD_TESTS=OFF \
        -DMATRX_ORM_BUILD_EXAMPLES=OFF -DMATRX_ORM_BUILD_BENCH=OFF $(launcher) >/dev/null
  cmake --build build-fuzz -j "$JOBS" --target fuzzers
  local scratch
  scratch=$(mktemp -d)
  for name in decoders identifier migration_file conninfo query_compiler; do
    echo "==> fuzz_$name for ${seconds}s"
    mkdir -p "$scratch/$name"
    if ! ( cd "$scratch" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
             "$OLDPWD/build-fuzz/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -seed="$seed" -print_final_stats=1 "${extra[@]}" \
             "$scratch/$name" "$OLDPWD/tests/fuzz/corpus/$name" >"$scratch/$name.log" 2>&1 ); then
      tail -60 "$scratch/$name.log"
      echo "fuzz_$name failed; the input that did it is in $scratch" >&2
      return 1
    fi
    grep -E "^stat::(number_of_executed_units|new_units_added)" "$scratch/$name.log"
  done
  rm -rf "$scratch"
}

sanitizer_tests() {
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  echo "==> the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan)"
  sanitizer_build build-asan address,undefined
  # The consumer builds check packaging, which sanitizers do not change: once, in the normal run.
  tools/testdb.sh run -- ctest --test-dir build-asan --output-on-failure -j "$JOBS" --timeout 600 -E "^consumer: "
  echo "==> the concurrency tests under ThreadSanitizer (build-tsan)"
  sanitizer_build build-tsan thread --target concurrency_tests
  tools/testdb.sh run -- build-tsan/tests/concurrency_tests
  # A fixed seed: the same inputs on every CI run, so CI stays reproducible; `./run.sh fuzz`
  # explores new ones.
  echo "==> every fuzzer for ${FUZZ_SECONDS:-20}s (seed ${FUZZ_SEED:-1})"
  # Leaks are the ASan suite's to find: libFuzzer's own leak check once failed a short run here
  # without a report that could be kept (docs/contributing.md).
  run_fuzzers "${FUZZ_SECONDS:-20}" "${FUZZ_SEED:-1}" -detect_leaks=0
}

case "${1:-}" in
  example)
    install_deps
    build quickstart  # the library and this one program: no tests
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
    if [ "${SANITIZERS:-1}" != 0 ]; then sanitizer_tests; fi
    ;;
  fuzz)
    install_test_deps
    run_fuzzers "${2:-600}" 0
    ;;
  bench)
    install_deps
    build
    # PERFORMANCE.md's server: fsync, synchronous_commit and full_page_writes off, jit off, 256 MB buffers.
    TESTDB_SHARED_BUFFERS=256MB tools/testdb.sh run -- sh -c '"$0/bench/bench" && "$0/bench/schema_bench"' "$BUILD_DIR"
    ;;
  *)
    echo "usage: $0 example|test|bench|fuzz [seconds]" >&2
    exit 2
    ;;
esac
