// `seamless-fetch/manual`: the shell, for apps that load the core's .wasm themselves (a CDN, a
// runtime that takes only a compiled `WebAssembly.Module`). `await init()` or `initSync()` before
// the first `new AuthFetch`; calling either again does nothing. An ES module only: with no
// argument, `init` finds the .wasm beside this file through `import.meta.url`.
import { AuthFetch, useCore } from "./shell.js";

export { AuthFetch };

let exports_ = null;

function use(instance) {
  exports_ ||= instance.exports;
  useCore(exports_);
  return exports_;
}

/**
 * Loads the core: `input` (or `{ module_or_path: input }`, as earlier versions took it) is a
 * URL, a path, a `Request`, a `Response` (or a promise of one), bytes or a compiled module;
 * without one, the `seamless_fetch_bg.wasm` beside this file. Resolves to the core's exports.
 */
export default async function init(input) {
  if (exports_) return exports_;
  if (input !== null && typeof input === "object" && "module_or_path" in input) input = input.module_or_path;
  input = await (input ?? new URL("seamless_fetch_bg.wasm", import.meta.url));
  if (input instanceof WebAssembly.Module) return use(await WebAssembly.instantiate(input, {}));
  if (typeof input === "string" || input instanceof URL || (typeof Request === "function" && input instanceof Request)) input = await fetch(input);
  if (typeof Response === "function" && input instanceof Response) {
    if (!input.ok) throw new Error("seamless-fetch: the .wasm could not be loaded: HTTP " + input.status + " from " + input.url);
    // A server that does not send `application/wasm` still works, compiled from the bytes.
    const { instance } = input.headers.get("content-type") === "application/wasm" ? await WebAssembly.instantiateStreaming(input, {}) : await WebAssembly.instantiate(await input.arrayBuffer(), {});
    return use(instance);
  }
  return use((await WebAssembly.instantiate(input, {})).instance);
}

/** `init` without waiting: `module` (or `{ module }`) is a compiled module or its bytes. */
export function initSync(module) {
  if (exports_) return exports_;
  if (module !== null && typeof module === "object" && "module" in module) module = module.module;
  return use(new WebAssembly.Instance(module instanceof WebAssembly.Module ? module : new WebAssembly.Module(module), {}));
}
