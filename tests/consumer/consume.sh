#!/usr/bin/env bash
# Builds tests/consumer as a user of matrx-orm would and runs it against the throwaway server
# (DATABASE_URL):
#   consume.sh package|subdirectory|fetchcontent|pkgconfig SOURCE_DIR BUILD_DIR
# package and pkgconfig first install BUILD_DIR into a temporary prefix (cmake --install) and
# check what it holds; fetchcontent clones SOURCE_DIR's git HEAD (committed changes only).
set -euo pipefail
mode=$1 src=$(cd "$2" && pwd) build=$(cd "$3" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/matrx_consumer_$mode.XXXXXX")
trap 'rm -rf "$work"' EXIT
: "${DATABASE_URL:?run under tools/testdb.sh}"

install_prefix() {
  cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
  for f in include/matrx/orm.hpp include/matrx/orm/version.hpp bin/matrx-orm share/matrx_orm/matrx_orm_cli_main.cpp; do
    [ -e "$work/prefix/$f" ] || { echo "FAIL: the install has no $f" >&2; exit 1; }
  done
  libdir=$(dirname "$(find "$work/prefix" -name libmatrx_orm.a | head -1)")
  for f in libmatrx_orm.a libmatrx_orm_cli.a cmake/matrx_orm/matrx_ormConfig.cmake cmake/matrx_orm/matrx_ormConfigVersion.cmake \
           cmake/matrx_orm/matrx_ormTargets.cmake cmake/matrx_orm/MatrxOrmManage.cmake pkgconfig/matrx-orm.pc; do
    [ -e "$libdir/$f" ] || { echo "FAIL: the install has no lib/$f" >&2; exit 1; }
  done
  # The installed tool runs.
  "$work/prefix/bin/matrx-orm" --help >/dev/null
}

args=()
case "$mode" in
  package)
    install_prefix
    args+=(-DCMAKE_PREFIX_PATH="$work/prefix")
    ;;
  subdirectory)
    args+=(-DMATRX_SOURCE="$src")
    ;;
  fetchcontent)
    args+=(-DMATRX_SOURCE="$src" -DMATRX_GIT_TAG="$(git -C "$src" rev-parse HEAD)")
    ;;
  pkgconfig)
    install_prefix
    # shellcheck disable=SC2046
    ${CXX:-g++} -o "$work/app" "$src/tests/consumer/main.cpp" \
      $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs matrx-orm)
    "$work/app" | tee "$work/out"
    grep -q "consumer OK" "$work/out"
    exit 0
    ;;
  *) echo "usage: $0 package|subdirectory|fetchcontent|pkgconfig SOURCE_DIR BUILD_DIR" >&2; exit 2 ;;
esac

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src/tests/consumer" -B "$work/build" -G Ninja -DMATRX_CONSUME="$mode" "${launcher[@]}" "${args[@]}" \
  >"$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; exit 1; }
start=$(date +%s)
cmake --build "$work/build" >"$work/build.log" 2>&1 || { tail -50 "$work/build.log" >&2; exit 1; }
echo "consumer ($mode) built in $(( $(date +%s) - start )) s"
"$work/build/app" | tee "$work/out"
grep -q "consumer OK" "$work/out"
if [ -x "$work/build/manage" ]; then
  "$work/build/manage" --help >/dev/null
  echo "manage command built and runs"
fi
