// Makes the package's entries in pkg/ from the core's wasm (pkg/seamless_fetch_bg.wasm) and
// pkg-template/: entry.js bundled with the shell into one ES module (index.js) and one CommonJS
// module (index.cjs), with the wasm embedded as a string of one character per byte; the same for
// entry-dpop.js with the core built with DPoP (the second argument: core-dpop.wasm) as dpop.js and
// dpop.cjs ("seamless-fetch/dpop"); manual.js with the shell as seamless_fetch.js
// ("seamless-fetch/manual", which loads the .wasm as a file); and their types (index.d.ts,
// index.d.cts, dpop.d.ts, dpop.d.cts, seamless_fetch.d.ts) from pkg-template/types.d.ts.
//
// Why one character per byte: the string is UTF-8 in the file (bytes 128-255 take two), which
// gzip takes back almost entirely, where base64 costs about 6 KB more in an app's minified and
// gzipped bundle (docs/size.md). An app's bundler prints the string again, and esbuild's default
// ASCII output writes 0x00 as \0 and 0x7F-0xFF as \xNN: so the wasm's most frequent such bytes are
// swapped with its rarest printable ones, chosen here from the wasm itself; the pairs travel as
// SWAPS beside the string, and entry.js swaps them back (about 2 KB less min + gzip).
// Usage: node scripts/bundle-entry.mjs pkg target/shell-pkg/core-dpop.wasm
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const dir = resolve(process.argv[2] || "pkg");
const fail = (why) => { console.error("bundle-entry: " + why); process.exit(1); };
if (!process.argv[3]) fail("usage: node scripts/bundle-entry.mjs pkg core-dpop.wasm");

// What a character costs inside a string literal in esbuild's ASCII output: \0 \b \v \f \r \\ \`
// take 2 bytes, \x07 \x1B and 0x7F-0xFF take 4, the rest (other control characters too) 1.
const cost = (c) => (c === 7 || c === 0x1b || c >= 0x7f ? 4 : [0, 8, 0x0b, 0x0c, 0x0d, 0x5c, 0x60].includes(c) ? 2 : 1);
// Printable characters that no printer escapes, in any quotes, nor a tool that inlines the bundle into HTML.
const plain = (c) => c >= 0x20 && c < 0x7f && !"\\\"'`$<".includes(String.fromCharCode(c));
/** `wasm` as the embedded string, and the SWAPS that undo its swaps. */
function embedded(wasm) {
  const count = new Array(256).fill(0);
  for (const b of wasm) count[b]++;
  const codes = [...count.keys()];
  const costly = codes.filter((c) => cost(c) > 1).sort((a, b) => count[b] * (cost(b) - 1) - count[a] * (cost(a) - 1) || a - b);
  const rare = codes.filter(plain).sort((a, b) => count[a] - count[b] || a - b);
  // The i-th costliest byte value with the i-th rarest printable one, while a swap saves at least
  // 100 bytes before compression (each costs 3 in SWAPS; the last few pay nothing after gzip).
  const char = codes.slice(); // the character each byte value travels as
  let swaps = "";
  for (let i = 0; i < rare.length && (count[costly[i]] - count[rare[i]]) * (cost(costly[i]) - 1) >= 100; i++) {
    [char[costly[i]], char[rare[i]]] = [rare[i], costly[i]];
    swaps += costly[i].toString(16).padStart(2, "0") + String.fromCharCode(rare[i]);
  }

  // Escaped: what ends or breaks a string literal (\ " CR LF), NUL (some tools choke on it), and
  // "<" (so "</script" cannot appear if a tool inlines the bundle into HTML).
  let text = "";
  for (const b of wasm) {
    const c = char[b];
    if (c === 0x5c) text += "\\\\";
    else if (c === 0x22) text += '\\"';
    else if (c === 0x0a) text += "\\n";
    else if (c === 0x0d) text += "\\r";
    else if (c === 0x00 || c === 0x3c) text += "\\x" + c.toString(16).padStart(2, "0");
    else text += String.fromCharCode(c);
  }
  return { text, swaps };
}

/** pkg-template/`entry` with the shell, as `format`; CommonJS gets text.js's codecs (Jest's jsdom has none). */
async function bundle(entry, format) {
  const out = await build({
    entryPoints: [resolve("pkg-template", entry)],
    plugins: [{
      name: "codecs",
      setup: (b) => {
        if (format !== "cjs") return;
        b.onLoad({ filter: /shell\.js$/ }, ({ path }) => {
          const shell = readFileSync(path, "utf8");
          const uses = (shell.match(/new TextDecoder\(/g) || []).length + (shell.match(/new TextEncoder\(/g) || []).length;
          if (uses !== 2) fail("shell.js creates " + uses + " text codecs, not 2 (a decoder, an encoder)");
          const codecs = 'import { Decoder, Encoder } from "' + resolve("pkg-template/text.js") + '";\n';
          return { contents: codecs + shell.replaceAll("new TextDecoder(", "new Decoder(").replaceAll("new TextEncoder(", "new Encoder("), loader: "js" };
        });
      },
    }],
    bundle: true,
    // shell.js's DPoP code only in the DPoP entry's bundle.
    define: { DPOP: String(entry === "entry-dpop.js") },
    format,
    platform: "neutral",
    charset: "utf8",
    legalComments: "none",
    write: false,
    logLevel: "error",
  });
  return out.outputFiles[0].text;
}

const entries = [
  ["entry.js", readFileSync(join(dir, "seamless_fetch_bg.wasm")), [["esm", "index.js"], ["cjs", "index.cjs"]]],
  ["entry-dpop.js", readFileSync(process.argv[3]), [["esm", "dpop.js"], ["cjs", "dpop.cjs"]]],
];
for (const [entry, wasm, files] of entries) {
  const { text, swaps } = embedded(wasm);
  for (const [format, file] of files) {
    let code = await bundle(entry, format);
    if (/import\.meta|\bimport\(/.test(code)) fail(file + " refers to import.meta or a dynamic import");
    for (const [name, value] of [["WASM", text], ["SWAPS", swaps]]) {
      const parts = code.split('"__SEAMLESS_FETCH_' + name + '__"');
      if (parts.length !== 2) fail("the " + name + " placeholder is not in " + file + " exactly once");
      code = parts.join('"' + value + '"');
    }
    code = code.replace("var LENGTH = -1;", "var LENGTH = " + wasm.length + ";");
    if (!code.includes("var LENGTH = " + wasm.length + ";")) fail("the length placeholder is not in " + file);
    writeFileSync(join(dir, file), code);
  }
}
writeFileSync(join(dir, "seamless_fetch.js"), await bundle("manual.js", "esm"));

// The DPoP entry's types are types.d.ts as written; the others' take no `dpop: true` (their core
// has no DPoP, and refuses it).
const dpopTypes = readFileSync("pkg-template/types.d.ts", "utf8").trimEnd();
const DPOP_OPTION = "    dpop?: boolean;";
if (dpopTypes.split(DPOP_OPTION).length !== 2) fail("types.d.ts declares `" + DPOP_OPTION.trim() + "` not exactly once");
const types = dpopTypes.replace(DPOP_OPTION, "    /** Only in `seamless-fetch/dpop`. */\n    dpop?: false;");
writeFileSync(join(dir, "index.d.ts"), types + `

/** The WebAssembly module's exports that an app may read. */
export interface Ready { readonly memory: { readonly buffer: ArrayBuffer } }

/**
 * Never needed, except on Chromium before 114, which compiles only asynchronously on the main
 * thread (the first \`new AuthFetch\` says so): compiles and instantiates the module without
 * blocking, and resolves to its exports. Takes no argument: the module is inside the package.
 */
export default function init(): Promise<Ready>;

/** \`init()\` done synchronously (what the first \`new AuthFetch\` does anyway). Takes no argument. */
export function initSync(): Ready;
`);
writeFileSync(join(dir, "index.d.cts"), readFileSync(join(dir, "index.d.ts")));
for (const file of ["dpop.d.ts", "dpop.d.cts"]) writeFileSync(join(dir, file), readFileSync(join(dir, "index.d.ts"), "utf8").replace(types, () => dpopTypes));
writeFileSync(join(dir, "seamless_fetch.d.ts"), types + `

/** Where \`init\` loads the core's \`.wasm\` from (a URL or path, a Request, a Response), or it as bytes or a compiled module. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/** The core's exports that an app may read. */
export interface InitOutput { readonly memory: WebAssembly.Memory }

/** What \`initSync\` takes: the module's bytes, or it compiled. */
export type SyncInitInput = BufferSource | WebAssembly.Module;

/** Loads the core: before the first \`new AuthFetch\`. Without an argument, the \`seamless_fetch_bg.wasm\` beside this file. */
export default function init(module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;

/** \`init\` without waiting, from the module or its bytes. */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;
`);
