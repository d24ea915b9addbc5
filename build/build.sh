#!/usr/bin/env bash
# Build the one-folder app for this platform: build/dist/nexus/ (the `nexus` executable and its files).
# From a clean checkout: python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e '.[qt,build]' && build/build.sh
# (constraints.txt pins every dependency, so a bundle ships exactly what the tests ran)
# (on Windows and macOS `.[build]` plus pywebview is enough: they use the system webview).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# NEXUS_DIST puts the result elsewhere (the bundle test builds into a temporary folder).
PY="${PYTHON:-.venv/bin/python}"
DIST="${NEXUS_DIST:-build/dist}"
rm -rf "$DIST/nexus" "$DIST/work"
"$PY" -m PyInstaller build/nexus.spec --noconfirm --clean --log-level WARN --distpath "$DIST" --workpath "$DIST/work"
rm -rf "$DIST/work"
echo "built $DIST/nexus ($(du -sh "$DIST/nexus" | cut -f1))"
