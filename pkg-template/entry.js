// The package's entry, bundled by scripts/bundle-entry.mjs with the shell (shell.js) into index.js
// (ES module) and index.cjs (CommonJS). The core's wasm travels inside the file, so there is no
// asset for a bundler to copy or rewrite, and nothing is awaited on import, so every bundler,
// worker, test runner and `require` can load it. The module is compiled in the background from
// the first task after import; a constructor that runs before that compiles it synchronously
// (every current engine allows it for a module this size), so the API works at once and still
// throws INVALID_OPTIONS where it is called. `init()` does it all asynchronously, for the engines
// that refuse synchronous compiles of this size on the main thread (Chromium before 114).
import { AuthFetch as Shell, useCore } from "./shell.js";

// scripts/bundle-entry.mjs puts the wasm here: one character per byte, UTF-8 in the file, with
// the wasm's most frequent bytes that an app's ASCII bundle would escape (0x00, 0x80…) swapped
// with its rarest printable ones. SWAPS lists the pairs: each a byte's two hex digits, then the
// printable character it swapped with.
const EMBEDDED = "__SEAMLESS_FETCH_WASM__";
const SWAPS = "__SEAMLESS_FETCH_SWAPS__";
const LENGTH = -1; // the byte count, also written by the bundler: a check that no tool rewrote the string

let exports_ = null;
let compiled = null;
let compiling = null;

function bytes() {
  const byte = Uint8Array.from({ length: 256 }, (_, c) => c); // the byte each character stands for
  for (let i = 0; i < SWAPS.length; i += 3) {
    const a = parseInt(SWAPS.slice(i, i + 2), 16);
    const b = SWAPS.charCodeAt(i + 2);
    byte[a] = b;
    byte[b] = a;
  }
  const out = new Uint8Array(EMBEDDED.length);
  let all = 0; // every character code OR-ed: above 255 when one is
  for (let i = 0; i < out.length; i++) {
    const c = EMBEDDED.charCodeAt(i);
    all |= c;
    out[i] = byte[c];
  }
  const bad = EMBEDDED.length !== LENGTH || all > 255;
  // A script served without `charset=utf-8` and read as windows-1252, or a tool that re-encoded
  // the string, changes the bytes; say so instead of failing with a CompileError.
  if (bad) throw new Error("seamless-fetch: this script's embedded WebAssembly was altered: serve the bundle as UTF-8 (`Content-Type: text/javascript; charset=utf-8`, or `<script charset=\"utf-8\">`), or import \"seamless-fetch/manual\" to load the .wasm as a file");
  return out;
}

/** What to tell the app when the module cannot be compiled or instantiated. */
function explained(e) {
  // A Content-Security-Policy without 'wasm-unsafe-eval' is the usual cause.
  if (e instanceof WebAssembly.CompileError || (e && e.name === "EvalError")) {
    return new Error("seamless-fetch could not compile its WebAssembly module (a Content-Security-Policy needs 'wasm-unsafe-eval' in script-src): " + e.message, { cause: e });
  }
  // Chromium before 114 compiled and instantiated at most 4 KB synchronously on the main thread.
  if (e instanceof RangeError && /main thread/.test(e.message)) {
    return new Error("seamless-fetch: this browser compiles WebAssembly only asynchronously here: `await init()` (the package's default export) before the first `new AuthFetch`", { cause: e });
  }
  return e;
}

/** The core's exports, handed to the shell: the core imports nothing. */
function use(instance) {
  exports_ = instance.exports;
  useCore(exports_);
  compiled = null;
  return exports_;
}

function ready() {
  if (exports_) return exports_;
  try {
    return use(new WebAssembly.Instance(compiled || new WebAssembly.Module(bytes()), {}));
  } catch (e) {
    throw explained(e);
  }
}

// Never throws: an altered string or a refused compile rejects, and ready() or init() explains it.
function compile() {
  compiling ||= new Promise((done) => done(WebAssembly.compile(bytes()))).then((m) => {
    compiled = m;
  });
  return compiling;
}

// Off the main thread, from the next task: a constructor in this task has already compiled it.
// (No timer at all in runtimes without one: the first constructor compiles it then.)
if (typeof setTimeout === "function") setTimeout(() => exports_ || compile().catch(() => {}), 0);

/** The class, made ready before its first use. */
export class AuthFetch extends Shell {
  constructor(options) {
    ready();
    super(options);
  }

  static safeReturnPath(value, fallback) {
    ready();
    return Shell.safeReturnPath(value, fallback);
  }
}
// Bundled beside the shell's class of the same name, this one may be renamed: keep its name.
Object.defineProperty(AuthFetch, "name", { value: "AuthFetch" });

/**
 * Never needed, except on Chromium before 114 (see above): compiles and instantiates the module
 * without blocking, and resolves to its exports (`memory` among them). Kept from the versions
 * whose entry needed it; it takes no argument now.
 */
export default async function init() {
  if (exports_) return exports_;
  try {
    await compile();
    const instance = await WebAssembly.instantiate(compiled, {});
    // A constructor may have made it ready meanwhile: the core is used once.
    return exports_ || use(instance);
  } catch (e) {
    throw explained(e);
  }
}

/** `init()` made synchronous, kept from the versions whose entry was the glue: takes no argument. */
export function initSync() {
  return ready();
}
