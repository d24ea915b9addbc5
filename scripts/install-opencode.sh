#!/usr/bin/env bash
# Install the real OpenCode binary into <repo>/.cache/opencode/ (idempotent).
#
# Prints the absolute path of the binary on stdout (and nothing else there), so callers can do
#   OPENCODE_BIN=$(scripts/install-opencode.sh)
# Only the platform package is installed: the `opencode-ai` wrapper just points at the same
# binary, and its optional dependencies would pull a second 177 MB "baseline" copy.
# HOME and the npm cache live under .cache/ so nothing is written to the user's home.
#
# Env: OPENCODE_VERSION (default 1.18.33), OPENCODE_PACKAGE (default opencode-linux-x64;
#      use opencode-linux-x64-baseline on CPUs without AVX2).
set -euo pipefail

VERSION="${OPENCODE_VERSION:-1.18.33}"
PACKAGE="${OPENCODE_PACKAGE:-opencode-linux-x64}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.cache/opencode"
PKG_DIR="$PREFIX/node_modules/$PACKAGE"
BIN="$PKG_DIR/bin/opencode"

log() { echo "install-opencode: $*" >&2; }

installed_version() {
    # Reading package.json is instant; `opencode --version` takes ~2 s.
    [[ -x "$BIN" && -f "$PKG_DIR/package.json" ]] || return 0
    node -p 'require(process.argv[1]).version' "$PKG_DIR/package.json" 2>/dev/null || true
}

if [[ "$(installed_version)" == "$VERSION" ]]; then
    log "$PACKAGE@$VERSION already installed"
else
    command -v npm >/dev/null || { log "npm not found (apt-get install nodejs npm)"; exit 1; }
    log "installing $PACKAGE@$VERSION into $PREFIX"
    mkdir -p "$PREFIX/home"
    # A package.json makes $PREFIX its own npm project, so npm never walks up into the repo.
    [[ -f "$PREFIX/package.json" ]] || echo '{"name":"nexus-opencode-cache","private":true}' >"$PREFIX/package.json"
    HOME="$PREFIX/home" npm_config_cache="$ROOT/.cache/npm" \
        npm install --prefix "$PREFIX" --no-audit --no-fund --no-update-notifier \
        --ignore-scripts --omit=optional --save-exact --loglevel=error \
        "$PACKAGE@$VERSION" >&2
    [[ "$(installed_version)" == "$VERSION" ]] || { log "install failed: $BIN missing or wrong version"; exit 1; }
fi

# OpenCode's text search shells out to rg and would try to download it from GitHub otherwise.
if ! [[ -x "$ROOT/.venv/bin/rg" ]] && ! command -v rg >/dev/null; then
    log "warning: rg not found; run: .venv/bin/pip install 'ripgrep==14.1.0' (the newest, 15.x, has no wheel)"
fi

echo "$BIN"
