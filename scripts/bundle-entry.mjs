// Makes the package's default entry in pkg/: pkg-template/entry.js bundled with wasm-bindgen's glue
// and its snippet into one ES module (index.js) and one CommonJS module (index.cjs), with the wasm
// embedded as a string of one character per byte, and their types (index.d.ts, index.d.cts).
//
// Why one character per byte: the string is UTF-8 in the file (bytes 128-255 take two), which
// gzip takes back almost entirely: an app's minified bundle grows 3.5 KB gzip over the glue plus
// the separate .wasm (4.1 KB when the minifier escapes it to ASCII), where base64 costs about
// 12 KB (docs/size.md). Usage: node scripts/bundle-entry.mjs pkg
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const dir = resolve(process.argv[2] || "pkg");
const wasm = readFileSync(join(dir, "seamless_fetch_bg.wasm"));
const fail = (why) => { console.error("bundle-entry: " + why); process.exit(1); };

// Escaped: what ends or breaks a string literal (\ " CR LF), NUL (some tools choke on it), and
// "<" (so "</script" cannot appear if a tool inlines the bundle into HTML).
let text = "";
for (const b of wasm) {
  if (b === 0x5c) text += "\\\\";
  else if (b === 0x22) text += '\\"';
  else if (b === 0x0a) text += "\\n";
  else if (b === 0x0d) text += "\\r";
  else if (b === 0x00 || b === 0x3c) text += "\\x" + b.toString(16).padStart(2, "0");
  else text += String.fromCharCode(b);
}

for (const [format, file] of [["esm", "index.js"], ["cjs", "index.cjs"]]) {
  const out = await build({
    entryPoints: [resolve("pkg-template/entry.js")],
    // The entry imports "./seamless_fetch.js": the glue just built in `dir`.
    // The glue, with its instantiation steps exported (init() instantiates asynchronously, which
    // the glue's own async init would do only with its `import.meta.url` fallback attached). For
    // CommonJS, its TextDecoder and TextEncoder become pkg-template/text.js's, which fall back to a
    // small UTF-8 codec where the platform has none (Jest's jsdom).
    plugins: [{
      name: "glue",
      setup: (b) => {
        b.onResolve({ filter: /^\.\/seamless_fetch\.js$/ }, () => ({ path: join(dir, "seamless_fetch.js") }));
        b.onLoad({ filter: /seamless_fetch\.js$/ }, ({ path }) => {
          let glue = readFileSync(path, "utf8");
          for (const step of ["function __wbg_get_imports()", "function __wbg_finalize_init(instance, module)"]) {
            if (!glue.includes(step)) fail("the glue has no `" + step + "`: wasm-bindgen changed its output");
          }
          glue += "\nexport { __wbg_get_imports, __wbg_finalize_init };\n";
          if (format === "cjs") {
            const uses = (glue.match(/new TextDecoder\(/g) || []).length + (glue.match(/new TextEncoder\(/g) || []).length;
            if (uses !== 3) fail("the glue creates " + uses + " text codecs, not 3 (two decoders, one encoder): wasm-bindgen changed its output");
            glue = 'import { Decoder, Encoder } from "' + resolve("pkg-template/text.js") + '";\n' + glue.replaceAll("new TextDecoder(", "new Decoder(").replaceAll("new TextEncoder(", "new Encoder(");
          }
          return { contents: glue, loader: "js" };
        });
      },
    }],
    bundle: true,
    format,
    platform: "neutral",
    charset: "utf8",
    legalComments: "none",
    write: false,
    logLevel: "error",
  });
  let code = out.outputFiles[0].text;
  if (/import\.meta|\bimport\(/.test(code)) fail(file + " still refers to import.meta or a dynamic import: the glue's async init was not left out");
  const parts = code.split('"__SEAMLESS_FETCH_WASM__"');
  if (parts.length !== 2) fail("the wasm placeholder is not in " + file + " exactly once");
  code = parts.join('"' + text + '"').replace("var LENGTH = -1;", "var LENGTH = " + wasm.length + ";");
  if (!code.includes("var LENGTH = " + wasm.length + ";")) fail("the length placeholder is not in " + file);
  writeFileSync(join(dir, file), code);
}

// Types: the glue's, without its init functions (their types need the DOM lib, and this entry has
// no init to call), with `init` as this entry has it, and `Symbol.dispose` declared for projects
// whose `lib` lacks it (declared as TypeScript's own esnext.disposable declares it).
const glueTypes = readFileSync(join(dir, "seamless_fetch.d.ts"), "utf8");
const cut = glueTypes.indexOf("export type InitInput");
if (cut < 0) fail("the glue's types have no InitInput: wasm-bindgen changed its output");
const types = glueTypes.slice(0, cut).trimEnd() + `

declare global {
    interface SymbolConstructor {
        readonly dispose: unique symbol;
    }
}

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
`;
writeFileSync(join(dir, "index.d.ts"), types);
writeFileSync(join(dir, "index.d.cts"), types);
