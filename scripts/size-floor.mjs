// How small the wasm could get by toolchain, crates and allocator alone: the wasm's gzip size with
// the bodies of some functions replaced by `unreachable` (binaryen), names dropped. "The library's
// own functions" are those whose path starts with `seamless_fetch::` (generic code instantiated for
// its types counts as its crate's, so the figure is a floor) and the AuthFetch export shims, which
// inline them. Usage: node scripts/size-floor.mjs <wasm built with names, wasm-opt -g>
import binaryen from "binaryen";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const wasm = readFileSync(process.argv[2]);
const plain = (name) => name.replace(/\[[0-9a-f]{16}\]/g, "").replace(/^(<|&|mut )+/, "");
const own = (name) => /^(seamless_fetch::|authfetch_)/.test(plain(name));

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
