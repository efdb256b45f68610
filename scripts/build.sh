#!/usr/bin/env bash
# Builds the npm package into pkg/: the core's release wasm and the shell (pkg-template/shell.js)
# around it, as the default entry with the wasm embedded and as the manual entry with the wasm
# beside it; pkg-template/ laid over it; then prints what the browser downloads.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh rust node

cargo_version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
template_version=$(node -p 'require("./pkg-template/package.json").version')
if [ "$cargo_version" != "$template_version" ]; then
  echo "version mismatch: Cargo.toml has $cargo_version, pkg-template/package.json has $template_version" >&2
  exit 1
fi

# The core (scripts/build-shell.sh: the sans-IO core behind its boundary of numbers and strings,
# no imports; KEEP_NAMES=1 keeps function names for bench/profile.mjs, never shipped), then the
# entries around it: index.js and index.cjs with the core inside (dpop.js and dpop.cjs with the core
# built with DPoP, for "seamless-fetch/dpop"), seamless_fetch.js for
# "seamless-fetch/manual" with the core beside it as seamless_fetch_bg.wasm (scripts/bundle-entry.mjs).
SKIP_SETUP=1 bash scripts/build-shell.sh
rm -rf pkg && mkdir -p pkg
cp target/shell-pkg/core.wasm pkg/seamless_fetch_bg.wasm
node scripts/bundle-entry.mjs pkg target/shell-pkg/core-dpop.wasm
cp pkg-template/package.json pkg-template/README.md LICENSE CHANGELOG.md SECURITY.md pkg/
node scripts/size.mjs pkg
