#!/usr/bin/env bash
# Installs what building and testing Roster needs, from package registries only.
# Idempotent: every step checks a version or a marker first, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen crate pinned in Cargo.toml
log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# 1. A Rust standard library for wasm32: rustup's when it has one, else Debian's
#    compiler and std sources (std is then built from source with -Zbuild-std).
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "wasm32 target: rustup"
else
  timeout 180 rustup target add wasm32-unknown-unknown >/dev/null 2>&1 && log "wasm32 target: rustup (just added)" || {
    log "wasm32 target: Debian rustc-web + std from source"
    for p in rustc-web cargo-web rust-web-src lld-22; do have_pkg "$p" || need_apt+=("$p"); done
  }
fi

# 2. A browser for the end-to-end tests; venv for the SCIM tester; PostgreSQL's
#    server binaries for the tests' throwaway clusters (scripts/pg-throwaway.sh).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need_apt+=(python3-venv)

if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# 3. The wasm-bindgen CLI, exactly the crate's version.
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes, once)"
  # No --locked: the CLI's lock file pins a yanked crate.
  cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# 4. Node packages: Playwright (tests) and binaryen's wasm-opt (release wasm).
if [ ! -f end2end/node_modules/.package-lock.json ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  log "npm ci (end2end)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
# 5. PyPI scim2-cli (SCIM 2.0 conformance tester), in a venv of its own.
SCIM2_CLI_VERSION=0.6.0
if [ "$(.tools/scim-venv/bin/pip show scim2-cli 2>/dev/null | awk '/^Version/{print $2}')" != "$SCIM2_CLI_VERSION" ]; then
  log "pip install scim2-cli $SCIM2_CLI_VERSION (venv in .tools/scim-venv)"
  python3 -m venv .tools/scim-venv
  .tools/scim-venv/bin/pip install -q --disable-pip-version-check "scim2-cli==$SCIM2_CLI_VERSION"
fi
# 6. PyPI aiosmtpd: the real SMTP server the failure-notification tests mail to.
AIOSMTPD_VERSION=1.4.6
if [ "$(.tools/smtp-venv/bin/pip show aiosmtpd 2>/dev/null | awk '/^Version/{print $2}')" != "$AIOSMTPD_VERSION" ]; then
  log "pip install aiosmtpd $AIOSMTPD_VERSION (venv in .tools/smtp-venv)"
  python3 -m venv .tools/smtp-venv
  .tools/smtp-venv/bin/pip install -q --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
fi
log "ready"
