// Checks the package in pkg/ as it would be published: packs it into a temporary folder, then fails
// when the tarball lacks a file that package.json or an entry point refers to (followed through
// every relative import), carries a file it should not (sources, tests, logs, maps), or has a
// version that differs from Cargo.toml's; then runs publint and @arethetypeswrong/cli on it.
// Usage: node scripts/check-package.mjs [pkg]. Prints the packed tarball's path on success.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";

const dir = process.argv[2] || "pkg";
const problems = [];
const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const cargoVersion = /^version = "([^"]+)"/m.exec(readFileSync("Cargo.toml", "utf8"))[1];
if (manifest.version !== cargoVersion) problems.push(`version: package.json ${manifest.version}, Cargo.toml ${cargoVersion}`);

const out = mkdtempSync(join(tmpdir(), "seamless-fetch-pack-"));
const [packed] = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: dir, encoding: "utf8" }));
const files = new Set(packed.files.map((f) => f.path));

// Everything the manifest names, and everything those files import, must be in the tarball.
const named = [manifest.main, manifest.module, manifest.types];
const walk = (v) => (typeof v === "string" ? named.push(v) : v && Object.values(v).forEach(walk));
walk(manifest.exports);
const wanted = new Set(["package.json", "README.md", "LICENSE"]);
const queue = named.filter(Boolean).map((p) => normalize(p));
while (queue.length) {
  const file = queue.pop();
  if (wanted.has(file)) continue;
  wanted.add(file);
  if (!file.endsWith(".js") || !files.has(file)) continue;
  const text = readFileSync(join(dir, file), "utf8");
  for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*|new URL\(\s*)["'](\.{1,2}\/[^"']+)["']/g)) queue.push(normalize(join(dirname(file), m[1])));
}
for (const f of wanted) if (!files.has(f)) problems.push(`missing from the tarball: ${f}`);
for (const f of files) {
  if (/(^|\/)(src|tests|target|node_modules)\/|\.(rs|log|map|tgz)$|^Cargo\./.test(f)) problems.push(`should not be published: ${f}`);
}

const tarball = join(out, packed.filename);
const run = (bin, args) => {
  try {
    console.log(execFileSync(join("node_modules", ".bin", bin), args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim());
  } catch (e) {
    problems.push(`${bin} failed:\n${e.stdout}${e.stderr}`);
  }
};
run("publint", ["run", tarball, "--strict"]);
// The default and DPoP entries under every profile (node10, CommonJS and ESM under node16,
// bundler). The manual entry is ES-module-only by design (it finds its .wasm through
// import.meta.url), so it is checked under the ESM profile; the `.wasm` export is an asset, which
// attw cannot type.
run("attw", [tarball, "--entrypoints", ".", "./dpop"]);
run("attw", [tarball, "--profile", "esm-only", "--entrypoints", "./manual"]);

if (problems.length) {
  console.error("package check failed:\n- " + problems.join("\n- "));
  process.exit(1);
}
console.log(`package check: ${files.size} files, ${packed.size} B packed; every referenced file present, nothing extra`);
console.log(tarball);
