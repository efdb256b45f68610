#!/usr/bin/env bash
# Builds the npm package into pkg/: wasm-pack's release build, wasm-opt -Oz, and pkg-template/
# laid over it, then prints what the browser downloads.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh rust node

cargo_version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
template_version=$(node -p 'require("./pkg-template/package.json").version')
if [ "$cargo_version" != "$template_version" ]; then
  echo "version mismatch: Cargo.toml has $cargo_version, pkg-template/package.json has $template_version" >&2
  exit 1
fi

wasm-pack build --target web --release --mode no-install --no-pack --out-dir pkg -- --no-default-features >/dev/null 2>build.log || { cat build.log >&2; rm -f build.log; exit 1; }
rm -f build.log pkg/.gitignore
node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  pkg/seamless_fetch_bg.wasm -o pkg/seamless_fetch_bg.wasm
cp pkg-template/package.json pkg-template/README.md pkg/
node scripts/size.mjs pkg
