// Shortens the names that link the wasm to its JS glue, in both files together (and keeps the
// `fetch` getter's answer on the instance, and drops a `free()` that another one replaces: see
// below). wasm-bindgen names each import `__wbg_<name>_<16 hex digits>` and each closure shim
// after its whole Rust type (up to 334 characters); every app ships those names twice (the wasm's
// import and export sections, and the glue, where a bundler cannot shorten property names), and
// hashes do not compress.
//
// What is renamed: the import module `./seamless_fetch_bg.js` and its fields, the snippet modules
// (not their fields: those are the helper module's own export names), and every export but
// `memory` (apps read `init()`'s result for it). Every old name must be found exactly where the
// glue is expected to use it, or nothing is written: a wasm-bindgen upgrade that changes the glue
// fails the build here rather than shipping a module that cannot link.
// Usage: node scripts/minify-names.mjs pkg
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] || "pkg";
const wasmPath = join(dir, "seamless_fetch_bg.wasm");
const gluePath = join(dir, "seamless_fetch.js");
const bytes = readFileSync(wasmPath);
let glue = readFileSync(gluePath, "utf8");
const fail = (why) => { console.error("minify-names: " + why + "; nothing was written"); process.exit(1); };

// ---- the wasm's binary format, as far as the import and export sections need ----
let at = 0;
const u32 = () => { let r = 0, shift = 0, b; do { b = bytes[at++]; r |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80); return r >>> 0; };
const name = () => { const n = u32(); const s = bytes.subarray(at, at + n).toString("utf8"); at += n; return s; };
const limits = () => { const flag = bytes[at++]; u32(); if (flag & 1) u32(); };
const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return Buffer.from(out); };
const enc = (s) => { const b = Buffer.from(s, "utf8"); return Buffer.concat([leb(b.length), b]); };

const ids = (function* () {
  const abc = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (let len = 1; ; len++) {
    const walk = function* (prefix) { if (prefix.length === len) { yield prefix; return; } for (const c of abc) yield* walk(prefix + c); };
    yield* walk("");
  }
});
const fieldIds = ids(), exportIds = ids(), moduleIds = ids();
const modules = new Map(), fields = new Map(), exportsMap = new Map();
const BG = "./seamless_fetch_bg.js";

const out = [bytes.subarray(0, 8)];
at = 8;
while (at < bytes.length) {
  const id = bytes[at++];
  const size = u32();
  const start = at, end = at + size;
  if (id !== 2 && id !== 7) { out.push(bytes.subarray(start - 1 - leb(size).length, end)); at = end; continue; }
  const count = u32();
  const parts = [leb(count)];
  for (let i = 0; i < count; i++) {
    if (id === 2) {
      const mod = name(), field = name();
      const descStart = at;
      const kind = bytes[at++];
      if (kind === 0) u32();
      else if (kind === 1) { at++; limits(); }
      else if (kind === 2) limits();
      else if (kind === 3) { at += 2; }
      else if (kind === 4) { at++; u32(); }
      else fail("unknown import kind " + kind);
      if (!modules.has(mod)) modules.set(mod, moduleIds.next().value);
      let newField = field;
      if (mod === BG) { if (!fields.has(field)) fields.set(field, fieldIds.next().value); newField = fields.get(field); }
      parts.push(enc(modules.get(mod)), enc(newField), bytes.subarray(descStart, at));
    } else {
      const exp = name();
      const descStart = at;
      at++; u32();
      const renamed = exp === "memory" ? exp : exportIds.next().value;
      exportsMap.set(exp, renamed);
      parts.push(enc(renamed), bytes.subarray(descStart, at));
    }
  }
  if (at !== end) fail("section " + id + " did not parse to its end");
  const payload = Buffer.concat(parts);
  out.push(Buffer.from([id]), leb(payload.length), payload);
}

// ---- the glue ----
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const exactly = (text, pattern, replacement, expected, what) => {
  const matches = text.match(pattern) || [];
  if (expected !== null ? matches.length !== expected : matches.length === 0) fail(`${what}: found ${matches.length} times`);
  return text.replace(pattern, replacement);
};
const replaceExactly = (pattern, replacement, expected, what) => { glue = exactly(glue, pattern, replacement, expected, what); };
// `AuthFetch` defines `free()` itself (api.rs: it is `dispose()`, which `Symbol.dispose` calls;
// the garbage collector's finalizer does not end the instance), after wasm-bindgen's own: that
// first definition is dead, and bundlers warn of a duplicate class member. Its type goes too.
replaceExactly(/\n    free\(\) \{\n        const ptr = this\.__destroy_into_raw\(\);\n        wasm\.__wbg_authfetch_free\(ptr, 0\);\n    \}(?=\n)/g, "", 1, "wasm-bindgen's free()");
// Disposal is idempotent (a `using` block plus an explicit call, a cleanup that runs twice):
// wasm-bindgen's glue would pass the pointer it already zeroed, and Rust throws "null pointer
// passed to rust". Any other method on a disposed instance still throws.
replaceExactly(/(?<=\n    (?:dispose|free)\(\) \{\n)(?=        const ptr = this\.__destroy_into_raw\(\);\n)/g,
  "        if (this.__wbg_ptr === 0) return;\n", 2, "dispose() and free()");
const typesPath = join(dir, "seamless_fetch.d.ts");
const types = exactly(readFileSync(typesPath, "utf8"), /\n    free\(\): void;(?=\n    \[Symbol\.dispose\]\(\): void;)/g, "", 1, "the type of wasm-bindgen's free()");
for (const [mod, short] of modules) {
  // The import object's keys, `"<module>": importN,`, not the `import ... from "<module>"` lines.
  const key = new RegExp(`${escape(JSON.stringify(mod))}(?=: import\\d+,)`, "g");
  replaceExactly(key, JSON.stringify(short), null, "import module " + mod);
}
for (const [field, short] of fields) replaceExactly(new RegExp(`(?<![\\w$])${escape(field)}(?=: function\\()`, "g"), short, 1, "import " + field);
for (const [exp, short] of exportsMap) {
  if (exp === short) continue;
  // Some exports (wasm-bindgen's abort hooks) are not used by this glue: renamed all the same.
  glue = glue.replace(new RegExp(`(?<=\\bwasm\\.)${escape(exp)}(?![\\w$])`, "g"), short);
}
// `api.fetch` is a getter that calls into wasm for the same bound function each time, and apps
// write `api.fetch(url)` on every request: the first read keeps the function on the instance, so
// the next ones are a property read. (After `dispose()` the function rejects every request.)
// Not on an instance that cannot take it: a state library may have frozen it.
replaceExactly(/(?<=\n    get fetch\(\) \{\n        const ret = wasm\.[\w$]+\(this\.__wbg_ptr\);\n)(?=        return ret;\n)/g,
  '        if (Object.isExtensible(this)) Object.defineProperty(this, "fetch", { value: ret });\n', 1, "the fetch getter");
const left = [...glue.matchAll(/\bwasm\.([\w$]+)/g)].map((m) => m[1]).filter((n) => ![...exportsMap.values()].includes(n));
if (left.length) fail("the glue uses exports the module does not have: " + [...new Set(left)].join(", "));

const wasm = Buffer.concat(out);
new WebAssembly.Module(wasm); // still a valid module
writeFileSync(wasmPath, wasm);
writeFileSync(gluePath, glue);
writeFileSync(typesPath, types);
console.log(`minify-names: ${fields.size} imports, ${exportsMap.size - 1} exports and ${modules.size} modules renamed; wasm ${bytes.length} -> ${wasm.length} B`);
