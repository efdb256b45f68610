// The entry for Node (SSR, Vitest, Jest with ESM): Node's fetch cannot read file: URLs, so the
// module is read from disk and instantiated synchronously. No top-level await, so `require()` of
// this file works where Node supports requiring ES modules.
import { readFileSync } from "node:fs";
import { initSync } from "./seamless_fetch.js";

initSync({ module: readFileSync(new URL("./seamless_fetch_bg.wasm", import.meta.url)) });

export * from "./seamless_fetch.js";
export { default } from "./seamless_fetch.js";
