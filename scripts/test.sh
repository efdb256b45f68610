#!/usr/bin/env bash
# Runs every test: native unit tests, the browser tests (wasm-bindgen-test in headless Chromium,
# Firefox and WebKit), the package build and its release check (packed as published, publint, attw), and
# the compatibility matrix (scripts/ecosystem.sh: one fresh project per bundler, framework and test
# runner), and the end-to-end tests (Playwright against the real demo server, started by the tests
# themselves on a free 127.0.0.1 port; the packed package in plain Node and in a Web Worker).
# Installs whatever is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Both drivers are on PATH; wasm-pack needs to be told which is which.
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
export GECKODRIVER="${GECKODRIVER:-$(command -v geckodriver)}"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-180}"

echo "== native unit tests: cargo test"
cargo test --quiet

echo "== browser tests: wasm-pack test, headless Chromium"
wasm-pack test --headless --chrome --mode no-install

echo "== browser tests: wasm-pack test, headless Firefox"
wasm-pack test --headless --firefox --mode no-install

echo "== browser tests: wasm-bindgen-test-runner, WebKit (WebKitGTK's MiniBrowser under Xvfb)"
# wasm-pack drives Safari's safaridriver only; WebKitGTK's WebDriver speaks the same protocol, so
# the runner is called directly with a config that names the MiniBrowser binary.
minibrowser=$(dpkg -L libwebkit2gtk-4.1-0 2>/dev/null | grep '/MiniBrowser$' | head -1)
[ -n "$minibrowser" ] || { echo "WebKitGTK's MiniBrowser not found (package libwebkit2gtk-4.1-0, brought by webkit2gtk-driver)" >&2; exit 1; }
mkdir -p target/webkit
printf '{ "webkitgtk:browserOptions": { "binary": "%s", "args": ["--automation"] } }\n' "$minibrowser" > target/webkit/webdriver.json
SAFARIDRIVER="$(command -v WebKitWebDriver)" WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/target/webkit/webdriver.json" \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  xvfb-run -a cargo test --target wasm32-unknown-unknown

echo "== package build"
SKIP_SETUP=1 bash scripts/build.sh

echo "== the shell build (issue 29, stage 2): the core behind numbers and strings, and pkg-template/shell.js"
SKIP_SETUP=1 bash scripts/build-shell.sh
echo "== the package's browser scenarios against the shell build: those listed as passing must pass"
node scripts/shell-scenarios.mjs --gate tests/e2e/shell-passing.txt

echo "== release check: the tarball as published, publint, @arethetypeswrong/cli"
node scripts/check-package.mjs pkg

echo "== TypeScript: a consumer file type-checks against the package's types"
node_modules/.bin/tsc -p tests/types

echo "== ecosystem matrix: the packed package in one fresh project per tool (Vite, webpack, esbuild, Rollup, Parcel, Next.js, Vitest, Jest, workers, Node, TypeScript), each a real refresh cycle"
# About two minutes with its npm ci; ECOSYSTEM=fast runs the fast subset (scripts/ecosystem.sh --fast).
if [ "${ECOSYSTEM:-full}" = fast ]; then bash scripts/ecosystem.sh --fast; else bash scripts/ecosystem.sh; fi

echo "== end-to-end: demo server + Playwright (Chromium), WebKit via WebDriver, Vite consumer app, the packed package in Node and a worker"
node --test --test-concurrency=1 tests/e2e/
echo "screenshots are in $(pwd)/test-results/"
