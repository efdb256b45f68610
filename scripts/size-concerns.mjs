// Where the core's wasm bytes go, by concern: each function of a wasm built with names is put
// under the concern of the Rust module its code is written in (a method: its impl block's module;
// the exports, which inline what they call, apart), then, per concern, what the module loses,
// raw and gzip -9, when that concern's function bodies become `unreachable` (binaryen; the rest
// unchanged: "what these bodies add"). Inlining moves code into its caller, so a function inlined
// into an export counts as the export's. The llvm-cxxfilt here does not read Rust's default (v0)
// symbols; build for it with legacy ones, which changes the names only:
//   RUSTFLAGS=-Csymbol-mangling-version=legacy (see docs/size.md), then wasm-opt -g.
// Usage: node scripts/size-concerns.mjs <named.wasm>
import binaryen from "binaryen";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, resolve } from "node:path";

const file = process.argv[2];
if (!file) throw new Error("usage: node scripts/size-concerns.mjs <wasm built with names>");
const wasm = readFileSync(file);
const src = resolve(import.meta.dirname, "../src");
const EXPORTS = new Set(readFileSync(join(src, "boundary/exports.rs"), "utf8").match(/(?<=extern "C" fn )\w+/g));

/** Rust's legacy symbols demangled by llvm-cxxfilt, with their `$LT$`-style escapes undone. */
function demangle(names) {
  const out = execFileSync("llvm-cxxfilt", { input: names.join("\n"), encoding: "utf8", maxBuffer: 1 << 26 }).split("\n");
  return out.slice(0, names.length).map((n) => n.replace(/::h[0-9a-f]{16}$/, "").replace(/\$LT\$/g, "<").replace(/\$GT\$/g, ">")
    .replace(/\$u20\$/g, " ").replace(/\$u5b\$/g, "[").replace(/\$u5d\$/g, "]").replace(/\$RF\$/g, "&").replace(/\$C\$/g, ",")
    .replace(/\.\./g, "::").replace(/(^|::)_</g, "$1<"));
}

const MACHINE = {
  mod: "dispatch, state, stats (mod.rs)", flight: "refresh flight, lock, back-off (flight.rs)",
  requests: "requests, queue, replay (requests.rs)", session: "set/clear tokens, logout (session.rs)",
  stored: "stored pair, compare-and-set (stored.rs)", clock: "server clock, token expiry (clock.rs)",
  calls: "getAccessToken, refresh() (calls.rs)", protocol: "protocol types (protocol.rs)",
};
const OWN = {
  boundary: "boundary: inbox, value walk, commands out", options: "options: parse, check, messages",
  policy: "policy: origins, return path, header/token syntax", refresh: "refresh: request body, answer fields",
  expiry: "expiry: JWT payload, HTTP date", backoff: "back-off record encode/decode",
  pair: "pair fingerprint, failure codes", code: "pair fingerprint, failure codes", heap: "heap: the allocator",
};
/** The concern of a function by its demangled path. */
function concern(n) {
  if (n === "create") return "export `create` (option parsing inlined into it)";
  if (EXPORTS.has(n)) return "the other exports (what they call inlined)";
  if (/^core::ptr::drop_in_place/.test(n)) return "drop glue (destructors of the core's types)";
  let m;
  if ((m = /^seamless_fetch::machine(?:::(\w+))?/.exec(n))) return "machine: " + MACHINE[m[1] in MACHINE ? m[1] : "mod"];
  if ((m = /^seamless_fetch::(\w+)/.exec(n))) return OWN[m[1]] || "seamless_fetch::" + m[1];
  if ((m = /^<seamless_fetch::(\w+)(?:::(\w+))?/.exec(n))) return m[1] === "machine" ? "machine: " + MACHINE[m[2] in MACHINE ? m[2] : "mod"] : OWN[m[1]] || "seamless_fetch::" + m[1];
  if (/^<?(&)?(core::str|str|char|core::char|core::unicode)\b|^<core::str|^core::str|^<F as core::str/.test(n)) return "core: str and char (UTF-8 check, patterns, trim, split)";
  if (/^<?(core::slice|\[)/.test(n)) return "core: slices (memchr, contains, compare)";
  if (/core::num|core::fmt|dec2flt|flt2dec/.test(n)) return "core: numbers, fmt";
  if (/^<?alloc::/.test(n)) return "alloc: Vec, String, RawVec, join, clone";
  if (/^<?core::/.test(n)) return "core: Option, Result, iterators, comparisons";
  if (/compiler_builtins|^(memcpy|memset|memmove|memcmp|fmin|fmax)$|^_RNvCs\w+___rustc|^__rustc::/.test(n)) return "compiler builtins, allocator shims";
  if (/^\d+$/.test(n)) return "unnamed (wasm-opt's)";
  return "other: " + n.slice(0, 50);
}

const module0 = binaryen.readBinary(wasm);
const names = [];
for (let i = 0; i < module0.getNumFunctions(); i++) {
  const info = binaryen.getFunctionInfo(module0.getFunctionByIndex(i));
  if (!info.module) names.push(info.name);
}
module0.dispose();
if (names.some((n) => n.startsWith("_RNv") && !/___rustc/.test(n))) throw new Error("v0 symbols: build with RUSTFLAGS=-Csymbol-mangling-version=legacy for llvm-cxxfilt to read them");
const readable = demangle(names);
const byConcern = {};
names.forEach((n, i) => (byConcern[concern(readable[i])] ??= []).push(n));

/** [raw, gzip -9] of the module, names dropped, with the bodies of `drop` replaced by `unreachable`. */
function without(drop) {
  const module = binaryen.readBinary(wasm);
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const f = module.getFunctionByIndex(i);
    const { name, module: imported } = binaryen.getFunctionInfo(f);
    if (!imported && drop.has(name)) binaryen.Function.setBody(f, module.unreachable());
  }
  binaryen.setDebugInfo(false);
  const bytes = module.emitBinary();
  module.dispose();
  return [bytes.length, gzipSync(bytes, { level: 9 }).length];
}

const [fullRaw, full] = without(new Set());
const [noneRaw, none] = without(new Set(names));
const rows = Object.entries(byConcern).map(([c, fns]) => {
  const [raw, gzip] = without(new Set(fns));
  return { c, fns: fns.length, raw: fullRaw - raw, gzip: full - gzip };
}).sort((a, b) => b.gzip - a.gzip);
console.log(`${file}: ${fullRaw} B raw, ${full} B gzip -9 without names; by concern, what the module loses when its function bodies become unreachable:`);
console.log("  " + "concern".padEnd(60) + "fns".padStart(5) + "raw B".padStart(8) + "gzip B".padStart(8));
for (const r of rows) console.log("  " + r.c.padEnd(60) + String(r.fns).padStart(5) + String(r.raw).padStart(8) + String(r.gzip).padStart(8));
console.log(`  every body: ${fullRaw - noneRaw} B raw, ${full - none} B gzip (the rows overlap in what gzip shares between them);`);
console.log(`  no bodies at all (types, exports, data segments: messages, option names, tables): ${noneRaw} B raw, ${none} B gzip`);
if (process.argv.includes("--list")) names.forEach((n, i) => console.log(concern(readable[i]).padEnd(60), readable[i]));
