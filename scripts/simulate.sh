#!/usr/bin/env bash
# The long run of the deterministic simulation (issue 29): SIM_SCHEDULES schedules (default
# 1,000,000) from seed SIM_FIRST (default 0), optimised (profile `sim`). The CI run (10,000, debug)
# is part of `cargo test`. A failing seed prints its shrunk trace and the command that replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
export SIM_SCHEDULES="${SIM_SCHEDULES:-1000000}" SIM_FIRST="${SIM_FIRST:-0}"
start=$(date +%s)
cargo test --profile sim --lib machine::sim::schedules -- --exact --nocapture
echo "simulate.sh: ${SIM_SCHEDULES} schedules in $(( $(date +%s) - start )) s (build included)"
