// A consumer app as users build one: Vite bundles seamless-fetch (the built pkg/) with the
// libraries people hand its fetch to. Built into target/consumer, served by the demo server.
import { resolve } from "node:path";
import { defineConfig } from "vite";

const root = resolve(import.meta.dirname, "../..");
export default defineConfig({
  root: import.meta.dirname,
  base: "/consumer/",
  logLevel: "warn",
  // The built package folder, resolved through its package.json `exports` as an installed one is.
  resolve: { alias: { "seamless-fetch": resolve(root, "pkg") } },
  // Vite's default target (baseline-widely-available) takes the entry's top-level await as it is.
  build: { outDir: resolve(root, "target/consumer"), emptyOutDir: true },
});
