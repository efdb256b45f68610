#!/usr/bin/env bash
# Runs every test: native unit tests, the browser tests (wasm-bindgen-test in headless Chromium
# and Firefox), the package build and its release check (packed as published, publint, attw), and
# the end-to-end tests (Playwright against the real demo server, started by the tests themselves on
# a free 127.0.0.1 port; the packed package in plain Node and in a Web Worker). Installs whatever
# is missing first.
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

echo "== package build"
SKIP_SETUP=1 bash scripts/build.sh

echo "== release check: the tarball as published, publint, @arethetypeswrong/cli"
node scripts/check-package.mjs pkg

echo "== TypeScript: a consumer file type-checks against the package's types"
node_modules/.bin/tsc -p tests/types

echo "== end-to-end: demo server + Playwright (headless Chromium), Vite consumer app"
node --test --test-concurrency=1 tests/e2e/
echo "screenshots are in $(pwd)/test-results/"
