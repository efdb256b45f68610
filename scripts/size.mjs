// Prints what the package in DIR costs a visitor: raw, gzip -9 and brotli bytes of the wasm and the
// JS (glue plus snippets). Usage: node scripts/size.mjs pkg [--json]
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const dir = process.argv[2] || "pkg";
const files = (d) => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? files(join(d, f)) : [join(d, f)]));
// node.js is the Node entry: no browser downloads it.
const shipped = files(dir).filter((f) => /\.(wasm|js)$/.test(f) && !f.endsWith("node.js"));
const measure = (bufs) => {
  const buf = Buffer.concat(bufs);
  return {
    raw: buf.length,
    gzip: bufs.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0),
    brotli: bufs.reduce((n, b) => n + brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length, 0),
  };
};
const wasm = measure(shipped.filter((f) => f.endsWith(".wasm")).map((f) => readFileSync(f)));
const js = measure(shipped.filter((f) => f.endsWith(".js")).map((f) => readFileSync(f)));
const total = { raw: wasm.raw + js.raw, gzip: wasm.gzip + js.gzip, brotli: wasm.brotli + js.brotli };
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ wasm, js, total }));
} else {
  const row = (name, s) => `  ${name.padEnd(22)} ${String(s.raw).padStart(7)} B raw  ${String(s.gzip).padStart(6)} B gzip  ${String(s.brotli).padStart(6)} B brotli`;
  console.log(`package in ${dir}/ (what a browser downloads):`);
  console.log(row("wasm", wasm));
  console.log(row("JS glue + snippets", js));
  console.log(row("total", total));
}
