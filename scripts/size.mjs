// Prints what the package in DIR costs a visitor: raw, gzip -9 and brotli bytes of the default
// entry (index.js: the shell and the embedded wasm, one file), and for comparison the
// "seamless-fetch/manual" entry's files (the shell, and the .wasm beside it).
// Usage: node scripts/size.mjs pkg [--json]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const dir = process.argv[2] || "pkg";
const measure = (paths) => {
  const bufs = paths.map((f) => readFileSync(f));
  return {
    raw: bufs.reduce((n, b) => n + b.length, 0),
    gzip: bufs.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0),
    brotli: bufs.reduce((n, b) => n + brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length, 0),
  };
};
const entry = measure([join(dir, "index.js")]);
const wasm = measure([join(dir, "seamless_fetch_bg.wasm")]);
const glue = measure([join(dir, "seamless_fetch.js")]);
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ entry, wasm, glue }));
} else {
  const row = (name, s) => `  ${name.padEnd(30)} ${String(s.raw).padStart(7)} B raw  ${String(s.gzip).padStart(6)} B gzip  ${String(s.brotli).padStart(6)} B brotli`;
  console.log(`package in ${dir}/ (what a browser downloads, unminified):`);
  console.log(row("index.js (wasm inside)", entry));
  console.log(row("manual: shell", glue));
  console.log(row("manual: .wasm", wasm));
}
