#!/usr/bin/env bash
# Installs what the build and the tests need, skipping whatever is already there,
# so the second run costs a few checks. Safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock 2>/dev/null || true)
: "${WASM_BINDGEN_VERSION:=0.2.130}"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

need_apt=()
command -v chromium >/dev/null     || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v wasm-opt >/dev/null     || need_apt+=(binaryen)
if [ "${WITH_FIREFOX:-1}" = 1 ]; then command -v firefox-esr >/dev/null || need_apt+=(firefox-esr); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || { log "rustup target add wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }
command -v wasm-pack >/dev/null || { log "cargo install wasm-pack"; cargo install wasm-pack --locked; }
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\b"; then
  # No --locked: wasm-bindgen-cli's own lock pins a crate this registry lacks.
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" --force
fi
if [ "${WITH_FIREFOX:-1}" = 1 ]; then
  command -v geckodriver >/dev/null || { log "cargo install geckodriver"; cargo install geckodriver --locked || cargo install geckodriver; }
fi
if [ -f package.json ] && [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  log "npm ci"; npm ci --no-audit --no-fund --loglevel=error
fi
log "tools ready"
