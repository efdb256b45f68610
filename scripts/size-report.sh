#!/usr/bin/env bash
# Where the shipped wasm's bytes go: the release build exactly as scripts/build.sh makes it, but
# kept with function names (wasm-opt -g), broken down by twiggy. The names section itself is left
# out of the figures; last, what the library's own functions weigh by themselves
# (scripts/size-floor.mjs). Usage: scripts/size-report.sh [rows] (default 30). docs/size.md holds a run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh rust node size
out=target/size
rm -rf "$out" && mkdir -p "$out"
# The same build with function names (build.sh's own wasm-opt flags, plus -g), then the shipped one.
KEEP_NAMES=1 SKIP_SETUP=1 bash scripts/build.sh >/dev/null
cp pkg/seamless_fetch_bg.wasm "$out/named.wasm"
SKIP_SETUP=1 bash scripts/build.sh >/dev/null
echo "shipped wasm: $(stat -c %s pkg/seamless_fetch_bg.wasm) B raw, $(gzip -9 -c pkg/seamless_fetch_bg.wasm | wc -c) B gzip"
echo
echo "largest items (twiggy top; bytes before compression):"
twiggy top -n "${1:-30}" "$out/named.wasm" | grep -v '"function names" subsection' | sed -E 's/\[[0-9a-f]{16}\]//g' | node -e 'process.stdin.pipe(new (require("stream").Transform)({ transform(c, _, done) { this.buf = (this.buf || "") + c; const lines = this.buf.split("\n"); this.buf = lines.pop(); done(null, lines.map((l) => [...l].slice(0, 160).join("") + "\n").join("")); }, flush(done) { done(null, this.buf || ""); } })).pipe(process.stdout)'
echo
echo "by crate (bytes before compression, every item, grouped by the path's first segment):"
twiggy top -n 100000 -f csv "$out/named.wasm" | node -e '
  const rows = require("fs").readFileSync(0, "utf8").trim().split("\n").slice(1);
  const by = {};
  for (const r of rows) {
    const m = /^"?(.*?)"?,(\d+),/.exec(r);
    if (!m || m[1].includes("function names")) continue;
    const name = m[1].replace(/\[[0-9a-f]{16}\]/g, "").replace(/^<+/, "");
    const key = /^authfetch_/.test(name) ? "seamless_fetch (AuthFetch methods, with what is inlined into them)" : /^data segment/.test(name) ? "(string and table data)" : /^(import|export|type|table|elem|global|memory|code section|wasm magic)/.test(name) ? "(module structure)" : (/^([a-z_]+)::/.exec(name) || [, "(wasm-bindgen shims and other)"])[1];
    by[key] = (by[key] || 0) + Number(m[2]);
  }
  for (const [k, v] of Object.entries(by).sort((a, b) => b[1] - a[1])) console.log("  " + String(v).padStart(7) + " B  " + k);
'
echo
echo "what no toolchain, crate or allocator change can take off (function bodies replaced by unreachable; scripts/size-floor.mjs):"
node scripts/size-floor.mjs "$out/named.wasm"
