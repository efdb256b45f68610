#!/usr/bin/env bash
# Installs what the build, the demo and the tests need, skipping whatever is already there, so a
# second run costs a few checks. Usage: scripts/setup.sh [rust] [browsers] [node] [size] (default:
# rust, browsers and node; size, for scripts/size-report.sh, only when asked).
set -euo pipefail
cd "$(dirname "$0")/.."

want() { [ $# -eq 0 ] && return 0; for w in "${PARTS[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
PARTS=("$@"); [ ${#PARTS[@]} -gt 0 ] || PARTS=(rust browsers node)
log() { printf '[setup] %s\n' "$*"; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

apt_missing=()
need() { command -v "$1" >/dev/null || apt_missing+=("$2"); }
want browsers && { need chromium chromium; need firefox-esr firefox-esr; need WebKitWebDriver webkit2gtk-driver; need xvfb-run xvfb; }
if [ ${#apt_missing[@]} -gt 0 ]; then
  log "apt-get install ${apt_missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

if want rust; then
  rustup target list --installed | grep -qx wasm32-unknown-unknown || { log "rustup target add wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }
  # The shipped build rebuilds core and alloc (-Zbuild-std), which needs their sources.
  rustup component list --installed | grep -q '^rust-src' || { log "rustup component add rust-src"; rustup component add rust-src; }
fi
if want size; then
  command -v twiggy >/dev/null || { log "cargo install twiggy"; cargo install twiggy --locked; }
fi
if want browsers; then
  command -v geckodriver >/dev/null || { log "cargo install geckodriver"; cargo install geckodriver --locked; }
fi
if want node; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules
  fi
fi
