#!/usr/bin/env bash
# Builds the core and the shell into target/shell-pkg/: the core's release wasm behind its boundary
# of numbers and strings (`--no-default-features`: its own allocator and exports, no imports at
# all) as core.wasm, and pkg-template/shell.js beside it; then prints what a browser downloads,
# minified and gzipped. scripts/build.sh wraps these two into the package; the browser scenarios
# (scripts/browser-tests.mjs) load the package built from them.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh rust node
# -Zmir-opt-level=1 (no MIR inlining), LLVM's inline threshold 10 (opt-level "z" uses 5), and core
# and alloc built optimize_for_size: 1 KB more raw but 0.2 KB less gzip (docs/size.md, issue 29
# stage 4); a request whose token is ready does not enter the core at all.
out=target/shell-pkg
rm -rf "$out" && mkdir -p "$out"
# Twice: core.wasm without DPoP (the default entries), core-dpop.wasm with it (`--features dpop`,
# for "seamless-fetch/dpop"), each in its own target directory.
for variant in core core-dpop; do
  features=""
  [ "$variant" = core-dpop ] && features="--features dpop"
  RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none -Zmir-opt-level=1 -Cllvm-args=-inline-threshold=10" \
    cargo build --quiet --release --target wasm32-unknown-unknown --no-default-features $features \
    -Zbuild-std=core,alloc -Zbuild-std-features=optimize_for_size --target-dir "target/shell-$variant"
  # wasm-opt: -Oz, then -Oz again after --gufa (whole-module inference of constants), on code
  # re-structured by --flatten --rereloop; --reorder-functions gives the most-called functions the
  # shortest indices. --low-memory-unused (-lmu) lets `x + C` become a load offset: the low 1 KiB
  # is the bottom of the 1 MiB stack (stack first), which the core never reaches. ~1 KB gzip less
  # than -Oz --converge alone.
  node_modules/.bin/wasm-opt -lmu --flatten --rereloop -Oz --converge --gufa -Oz --converge --reorder-functions ${KEEP_NAMES:+-g} --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --strip-producers --strip-target-features \
    "target/shell-$variant/wasm32-unknown-unknown/release/seamless_fetch.wasm" -o "$out/$variant.wasm"
done
cp pkg-template/shell.js "$out/shell.js"
node - "$out" <<'EOF'
const { readFileSync } = require("fs");
const { gzipSync } = require("zlib");
const esbuild = require("esbuild");
const dir = process.argv[2];
const wasm = readFileSync(dir + "/core.wasm");
const js = esbuild.transformSync(readFileSync(dir + "/shell.js", "utf8"), { minify: true, format: "esm", define: { DPOP: "false" } }).code;
const gz = (b) => gzipSync(b, { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(1) + " KB";
console.log(`core.wasm ${wasm.length} B, ${gz(wasm)} B gzip -9; shell.js minified ${js.length} B, ${gz(js)} B gzip -9; together ${kb(gz(wasm) + gz(js))}`);
EOF
