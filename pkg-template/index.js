// The entry for browsers, workers and bundlers: the module is compiled and instantiated here, once,
// with top-level await, so `import { AuthFetch } from "seamless-fetch"` is all an app writes. The
// `.wasm` is found next to this file (`new URL(..., import.meta.url)`, which bundlers understand).
// Apps that must load it from elsewhere import "seamless-fetch/manual" and call `init` themselves.
import init from "./seamless_fetch.js";

await init({ module_or_path: new URL("./seamless_fetch_bg.wasm", import.meta.url) });

export * from "./seamless_fetch.js";
export { default } from "./seamless_fetch.js";
