// The "seamless-fetch/dpop" entry: the default one (entry.js), with the core built with DPoP
// (scripts/bundle-entry.mjs embeds core-dpop.wasm into this bundle) and DPoP's key and signing
// (dpop.js) handed to the shell. An app without `dpop: true` imports "seamless-fetch", which
// carries none of DPoP's code paths, only the option's refusal and the fields its protocol reads
// (docs/size.md, "Issue 29: DPoP out of the default entry").
import { useDpop } from "./shell.js";
import * as io from "./dpop.js";

useDpop(io);
export { AuthFetch, default, initSync } from "./entry.js";
