#!/usr/bin/env bash
# Builds and installs pgvector for PostgreSQL 15 from Debian trixie's source package
# (Debian 12 ships no binary package; see docs/design.md). Takes ~10 s; needs root or sudo.
set -euo pipefail
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
if [ -f "$("$PG_CONFIG" --sharedir)/extension/vector.control" ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
work=$(mktemp -d)
list=/etc/apt/sources.list.d/matrx-orm-trixie-src.list
cleanup() {
  $sudo rm -f "$list"
  rm -rf "$work"
}
trap cleanup EXIT
echo "==> building pgvector from Debian trixie's source package"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  dpkg-dev postgresql-server-dev-15 >/dev/null
echo "deb-src http://deb.debian.org/debian trixie main" | $sudo tee "$list" >/dev/null
# Only this list is refreshed, so the machine's other package lists stay as they were.
$sudo apt-get update -q -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts="-" \
  -o APT::Get::List-Cleanup="0" >/dev/null
(cd "$work" && apt-get source -q pgvector >/dev/null 2>&1)
src=$(find "$work" -maxdepth 1 -type d -name 'pgvector-*' | head -1)
[ -n "$src" ] || { echo "install-pgvector: could not fetch the pgvector source package" >&2; exit 1; }
make -C "$src" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" with_llvm=no -j"$(nproc)" >/dev/null
$sudo make -C "$src" PG_CONFIG="$PG_CONFIG" with_llvm=no install >/dev/null
echo "==> pgvector installed: $(basename "$src")"
