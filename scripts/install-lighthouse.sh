#!/usr/bin/env bash
# Install Lighthouse (the npm CLI) into <repo>/.cache/lighthouse/ (idempotent), for bench/lighthouse.py.
#
# Prints the absolute path of the CLI entry point on stdout (and nothing else there):
#   LIGHTHOUSE_CLI=$(scripts/install-lighthouse.sh)
# Pinned to 12.2.3: Lighthouse 13 needs Node 22, and 12.x runs on Node 18/20. It drives any
# Chromium given as CHROME_PATH (bench/lighthouse.py uses Debian's /usr/bin/chromium), so
# Puppeteer's browser download is skipped. HOME and the npm cache live under .cache/.
#
# Env: LIGHTHOUSE_VERSION (default 12.2.3).
set -euo pipefail

VERSION="${LIGHTHOUSE_VERSION:-12.2.3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.cache/lighthouse"
PKG_DIR="$PREFIX/node_modules/lighthouse"
CLI="$PKG_DIR/cli/index.js"

log() { echo "install-lighthouse: $*" >&2; }

installed_version() {
    [[ -f "$CLI" && -f "$PKG_DIR/package.json" ]] || return 0
    node -p 'require(process.argv[1]).version' "$PKG_DIR/package.json" 2>/dev/null || true
}

if [[ "$(installed_version)" == "$VERSION" ]]; then
    log "lighthouse@$VERSION already installed"
else
    command -v npm >/dev/null || { log "npm not found (apt-get install nodejs npm)"; exit 1; }
    log "installing lighthouse@$VERSION into $PREFIX"
    mkdir -p "$PREFIX/home"
    # A package.json makes $PREFIX its own npm project, so npm never walks up into the repo.
    [[ -f "$PREFIX/package.json" ]] || echo '{"name":"nexus-lighthouse-cache","private":true}' >"$PREFIX/package.json"
    HOME="$PREFIX/home" npm_config_cache="$ROOT/.cache/npm" PUPPETEER_SKIP_DOWNLOAD=1 \
        npm install --prefix "$PREFIX" --no-audit --no-fund --no-update-notifier \
        --save-exact --loglevel=error "lighthouse@$VERSION" >&2
    [[ "$(installed_version)" == "$VERSION" ]] || { log "install failed: $CLI missing or wrong version"; exit 1; }
fi

echo "$CLI"
