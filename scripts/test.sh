#!/usr/bin/env bash
# Run the whole test suite. On a fresh machine it first installs what the tests need:
# the Python package with its test extras (.venv), the real OpenCode binary (.cache/),
# and Debian's Chromium for the browser tests (apt-get, when run as root).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not browser" -x`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "test.sh: $*" >&2; }

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            PY="$candidate"; break
        fi
    done
fi
[[ -n "$PY" ]] || { log "Python 3.11 or newer is needed"; exit 1; }

[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

scripts/install-opencode.sh >/dev/null

chromium_found() {
    [[ -n "${CHROMIUM_PATH:-}" && -x "${CHROMIUM_PATH}" ]] || [[ -x /usr/lib/chromium/chromium ]] \
        || command -v chromium >/dev/null || command -v chromium-browser >/dev/null
}
if ! chromium_found; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        log "installing Chromium and fonts for the browser tests"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core fonts-liberation >&2
    else
        log "Chromium is missing: run 'sudo apt-get install chromium fonts-dejavu-core fonts-liberation'"
        log "(or set CHROMIUM_PATH), then run this again"
        exit 1
    fi
fi

exec .venv/bin/python -m pytest "$@"
