#!/usr/bin/env bash
# The benchmark (not part of the tests): builds the release package, then runs bench/ in headless
# Chromium against raw fetch, axios + axios-auth-refresh and ky. Prints the table and writes
# bench/results/ and the table in docs/performance.md. BENCH_N sets the request count (default 10000).
# Then DPoP beside bearer (bench/dpop.mjs: "seamless-fetch/dpop" with dpop: true, the signing
# itself): prints its rows and writes bench/results/dpop.json (docs/performance.md, "DPoP").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh rust browsers node
SKIP_SETUP=1 bash scripts/build.sh
node bench/run.mjs
node bench/dpop.mjs
