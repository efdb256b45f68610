// The "seamless-fetch/dpop" entry: the default one (entry.js), with the core built with DPoP
// (scripts/bundle-entry.mjs embeds core-dpop.wasm into this bundle) and DPoP's key and signing
// (dpop.js) handed to the shell. An app without `dpop: true` imports "seamless-fetch", which
// carries only DPoP's protocol hooks (about 1.4 KB gzip: docs/size.md).
import { useDpop } from "./shell.js";
import * as io from "./dpop.js";

useDpop(io);
export { AuthFetch, default, initSync } from "./entry.js";
