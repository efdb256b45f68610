// Preloaded (node --require) by the plain-Node rows: takes away the globals Node 20 has and Node 18
// has not, so that code reaching for them fails here as it would there. An approximation (the
// matrix runs on Node 20): only globals and static methods are removed; prototype methods newer
// than Node 18 (Array.prototype.toSorted, ...) stay, since Node 20's own fetch uses them.
delete globalThis.navigator; // Node 21
delete globalThis.crypto; // global Web Crypto: Node 19 (18 only with --experimental-global-webcrypto)
delete globalThis.File; // Node 20
delete globalThis.CustomEvent; // Node 19 (18 behind a flag)
delete AbortSignal.any; // Node 20.3
delete Symbol.dispose; // Node 20.x
delete Symbol.asyncDispose;
delete Object.groupBy; // Node 21
delete Map.groupBy;
delete Promise.withResolvers; // Node 22
