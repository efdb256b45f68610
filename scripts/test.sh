#!/usr/bin/env bash
# Runs every test: native unit tests (the core, its simulation of many tabs, property tests of
# every function that reads outside input), the package build, the browser tests (every scenario
# of tests/support/ against the built package in Chromium, Firefox and WebKit), the release check
# (packed as published, publint, attw), the compatibility matrix (scripts/ecosystem.sh: one fresh
# project per bundler, framework and test runner), and the end-to-end tests (Playwright against
# the real demo server, started by the tests themselves on a free 127.0.0.1 port; the packed
# package in plain Node and in a Web Worker). Installs whatever is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== native unit tests: cargo test"
cargo test --quiet

echo "== package build"
SKIP_SETUP=1 bash scripts/build.sh

echo "== browser tests: the scenarios against the package, in Chromium, Firefox and WebKit (WebKitGTK's MiniBrowser under Xvfb)"
node scripts/browser-tests.mjs --engine all

echo "== release check: the tarball as published, publint, @arethetypeswrong/cli"
node scripts/check-package.mjs pkg

echo "== TypeScript: a consumer file type-checks against the package's types"
node_modules/.bin/tsc -p tests/types

echo "== ecosystem matrix: the packed package in one fresh project per tool (Vite, webpack, esbuild, Rollup, Parcel, Next.js, Vitest, Jest, workers, Node, TypeScript), each a real refresh cycle"
# About two minutes with its npm ci; ECOSYSTEM=fast runs the fast subset (scripts/ecosystem.sh --fast).
if [ "${ECOSYSTEM:-full}" = fast ]; then bash scripts/ecosystem.sh --fast; else bash scripts/ecosystem.sh; fi

echo "== end-to-end: demo server + Playwright (Chromium), DPoP against oidc-provider, WebKit via WebDriver, Vite consumer app, the packed package in Node and a worker"
node --test --test-concurrency=1 tests/e2e/
echo "screenshots are in $(pwd)/test-results/"
