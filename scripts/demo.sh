#!/usr/bin/env bash
# Builds the package and serves the demo on http://127.0.0.1:${PORT:-8080}/ (user demo, password
# demo). Extra arguments go to the server: --port, --access-ttl (seconds), --latency (ms).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh rust node
SKIP_SETUP=1 bash scripts/build.sh
exec node www/server.mjs "$@"
