#!/usr/bin/env bash
# The soak test (about a minute, not part of ./scripts/test.sh): two real tabs against the demo
# server with short-lived tokens and a refresh endpoint that fails at random. SOAK_SECONDS (60) and
# SOAK_CHAOS (0.3, the share of refresh calls disrupted) tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh rust browsers node
SKIP_SETUP=1 bash scripts/build.sh >/dev/null
node --test --test-concurrency=1 tests/soak/
