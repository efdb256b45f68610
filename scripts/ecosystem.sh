#!/usr/bin/env bash
# The compatibility matrix (issue 30, item 5): the packed package installed into one minimal
# project per tool (tests/ecosystem/rows/), each running the real cycle: 401 -> one refresh counted
# on the server -> 200. Installs the tools from tests/ecosystem/package-lock.json (npm ci, only when
# node_modules is missing or older than the lock), then installs the package under test by
# extracting its tarball into tests/ecosystem/node_modules/seamless-fetch (a real copy, never a
# symlink, never in the lock file).
#
#   scripts/ecosystem.sh                 every row
#   scripts/ecosystem.sh --fast          the fast subset (ESM import, CJS require, Jest's default
#                                        config, two bundler builds in Chromium: Vite and esbuild)
#   scripts/ecosystem.sh ROW...          the rows named; --list lists them
#
# The package: $SEAMLESS_FETCH_TGZ if set, else `npm pack` of pkg/ (run scripts/build.sh first).
# Needs Chromium at /usr/bin/chromium (or $CHROMIUM). Exits non-zero when any row fails.
set -euo pipefail
cd "$(dirname "$0")/.."
eco=tests/ecosystem

if [ "${1:-}" = "--list" ]; then exec node "$eco/run.mjs" --list; fi

if [ ! -d "$eco/node_modules" ] || [ "$eco/package-lock.json" -nt "$eco/node_modules/.package-lock.json" ]; then
  echo "== npm ci in $eco"
  start=$(date +%s)
  (cd "$eco" && npm ci --no-audit --no-fund --loglevel=error)
  echo "npm ci: $(( $(date +%s) - start )) s, $(du -sh "$eco/node_modules" | cut -f1)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${SEAMLESS_FETCH_TGZ:-}" ]; then
  tgz=$SEAMLESS_FETCH_TGZ
else
  [ -f pkg/package.json ] || { echo "pkg/ is not built: run scripts/build.sh, or set SEAMLESS_FETCH_TGZ" >&2; exit 1; }
  tgz="$tmp/$(cd pkg && npm pack --silent --pack-destination "$tmp" | tail -1)"
fi
[ -f "$tgz" ] || { echo "no tarball at $tgz" >&2; exit 1; }
rm -rf "$eco/node_modules/seamless-fetch"
mkdir -p "$eco/node_modules/seamless-fetch"
tar -xzf "$tgz" -C "$eco/node_modules/seamless-fetch" --strip-components=1
export SEAMLESS_FETCH_LABEL="$(basename "$tgz"), sha256 $(sha256sum "$tgz" | cut -c1-12)"

exec node "$eco/run.mjs" "$@"
