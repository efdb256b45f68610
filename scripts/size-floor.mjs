// How small the wasm could get by toolchain, crates and allocator alone: the wasm's gzip size with
// the bodies of some functions replaced by `unreachable` (binaryen), names dropped. "The library's
// own functions" are those whose path starts with `seamless_fetch::` (generic code instantiated for
// its types counts as its crate's, so the figure is a floor) and the boundary's exports, which
// inline them. Usage: node scripts/size-floor.mjs <wasm built with names, wasm-opt -g>
import binaryen from "binaryen";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const wasm = readFileSync(process.argv[2]);
// binaryen sees symbols as the linker left them: Rust's v0 (`_R...C<disambiguator>14seamless_fetch...`)
// or legacy (`_ZN14seamless_fetch...`) mangling. A function is the library's when the first crate in
// its symbol is this one (a generic instantiated for its types starts with `core` or `alloc`), or
// when it is one of the boundary's exports (`#[no_mangle]`, src/boundary/exports.rs: they inline
// what they call, as the wasm-bindgen shims did).
const EXPORTS = new Set(readFileSync(new URL("../src/boundary/exports.rs", import.meta.url), "utf8").match(/(?<=extern "C" fn )\w+/g));
function firstCrate(name) {
  let m = /^_ZN(\d+)/.exec(name);
  if (m) {
    const id = name.slice(m[0].length, m[0].length + Number(m[1]));
    return id.startsWith("_$LT$") ? id.slice(5).split("..")[0] : id;
  }
  m = /^_R[A-Za-z0-9_]*?C(?:s[0-9a-zA-Z]*_)?(\d+)_?/.exec(name);
  return m ? name.slice(m[0].length, m[0].length + Number(m[1])) : null;
}
const own = (name) => EXPORTS.has(name) || firstCrate(name) === "seamless_fetch" || /^(seamless_fetch::|authfetch_)/.test(name.replace(/^(<|&|mut )+/, ""));

/** `{ functions, raw, gzip }` of the wasm with only the bodies `keep(name)` accepts. */
function keeping(keep) {
  const module = binaryen.readBinary(wasm);
  let functions = 0;
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const f = module.getFunctionByIndex(i);
    const { name, module: imported } = binaryen.getFunctionInfo(f);
    if (imported) continue;
    if (keep(name)) functions++;
    else binaryen.Function.setBody(f, module.unreachable());
  }
  binaryen.setDebugInfo(false);
  const bytes = module.emitBinary(); // without the names section
  module.dispose();
  return { functions, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

const rows = [
  ["every function", keeping(() => true)],
  ["the library's own functions only", keeping(own)],
  ["every function but the library's own", keeping((n) => !own(n))],
  ["no function bodies (types, imports, exports, data)", keeping(() => false)],
];
for (const [what, r] of rows) console.log(`  ${what.padEnd(52)} ${String(r.functions).padStart(4)} functions ${String(r.raw).padStart(7)} B raw ${String(r.gzip).padStart(7)} B gzip`);
const [all, mine, others, none] = rows.map((r) => r[1].gzip);
console.log(`  the library's own functions add ${all - others} B gzip to the rest; by themselves, with the data and structure, ${mine} B (structure and data alone: ${none} B)`);
