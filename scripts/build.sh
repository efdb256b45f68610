#!/usr/bin/env bash
# Builds the npm package into pkg/: the release wasm (core and alloc rebuilt with panics that abort
# at once, no location strings, no Debug formatting), wasm-bindgen's `--target web` glue, wasm-opt
# -Oz, short import and export names (scripts/minify-names.mjs), and pkg-template/ laid over it;
# the default entry with the wasm embedded (scripts/bundle-entry.mjs); then prints what the browser
# downloads.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh rust node

cargo_version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
template_version=$(node -p 'require("./pkg-template/package.json").version')
if [ "$cargo_version" != "$template_version" ]; then
  echo "version mismatch: Cargo.toml has $cargo_version, pkg-template/package.json has $template_version" >&2
  exit 1
fi

# -Zbuild-std on the stable toolchain (RUSTC_BOOTSTRAP, as Firefox and Linux build): it changes only
# how the shipped .wasm is compiled, never what a consumer needs. Its own target dir keeps the
# test builds' cache apart.
RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
  cargo build --quiet --release --target wasm32-unknown-unknown --no-default-features \
  -Zbuild-std=core,alloc --target-dir target/shipped
rm -rf pkg
wasm-bindgen --target web --out-dir pkg target/shipped/wasm32-unknown-unknown/release/seamless_fetch.wasm
# KEEP_NAMES=1 keeps function names in the wasm (wasm-opt -g), for bench/profile.mjs; never shipped.
# -ocimfs 25: a function with one caller is inlined into it only when small. By default every such
# function is, which made the constructor one 14 KB function (V8 compiles a function on its first
# call: 1.2-6.9 ms for that one in five traced start-ups, at most 1.1 ms for any one after) and
# compressed worse: 39,694 -> 38,515 B gzip (docs/size.md).
node_modules/.bin/wasm-opt -Oz --converge --one-caller-inline-max-function-size 25 ${KEEP_NAMES:+-g} --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  --strip-producers --strip-target-features pkg/seamless_fetch_bg.wasm -o pkg/seamless_fetch_bg.wasm
# Short names for what links the wasm to the glue; the wasm's own .d.ts would then be stale (the
# package exports the .wasm as an asset, not as a module).
node scripts/minify-names.mjs pkg
rm pkg/seamless_fetch_bg.wasm.d.ts
# The default entry: one file with the wasm inside, as an ES module and as CommonJS (index.js,
# index.cjs); the glue and the .wasm stay for "seamless-fetch/manual".
node scripts/bundle-entry.mjs pkg
cp pkg-template/package.json pkg-template/README.md LICENSE CHANGELOG.md SECURITY.md pkg/
node scripts/size.mjs pkg
