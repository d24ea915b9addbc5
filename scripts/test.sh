#!/usr/bin/env bash
# Run the whole test suite. On a fresh machine it first installs what the tests need:
# the Python package with its test extras (.venv), the real OpenCode binary (.cache/),
# Debian's Chromium for the browser tests and PostgreSQL for the store tests (apt-get,
# when run as root).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not browser" -x`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "test.sh: $*" >&2; }

bash scripts/setup.sh

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

# The store tests also run on a real PostgreSQL: the tests start a throwaway cluster of their
# own with Debian's server programs (initdb, pg_ctl), so only the package is needed here.
postgres_found() {
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || [[ -n "${NEXUS_TEST_PG_BINDIR:-}" ]]
}
if ! postgres_found; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        log "installing PostgreSQL for the store tests"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends postgresql >&2
    else
        log "PostgreSQL is missing: the postgres tests will be skipped (CI fails them instead)."
        log "Run 'sudo apt-get install postgresql' to run them here."
    fi
fi

# The desktop window tests run the real Qt window under Xvfb and screenshot it with ImageMagick.
# Qt's wheels bring Qt itself; these are the X11/GL libraries it loads (found with ldd).
DESKTOP_APT=(xvfb imagemagick libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-cursor0 libxcb-image0
    libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1 libxkbcommon-x11-0 libnss3 libegl1 libgl1
    libopengl0 libfontconfig1 libdbus-1-3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libasound2 libgbm1
    libxshmfence1 libxkbfile1 fonts-dejavu-core)
desktop_deps_missing() {
    ! command -v Xvfb >/dev/null || ! command -v import >/dev/null \
        || [[ -n "$(.venv/bin/python -c 'from nexus.webview_check import missing_qt_libraries as m; print(*m())')" ]]
}
if desktop_deps_missing; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        log "installing Xvfb, ImageMagick and Qt's system libraries for the desktop window tests"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends "${DESKTOP_APT[@]}" >&2
    else
        log "the desktop window tests need: sudo apt-get install ${DESKTOP_APT[*]}"
        exit 1
    fi
fi

# A stuck run fails instead of hanging CI: each test has pytest-timeout's 180 s (pyproject),
# and the whole run has SUITE_TIMEOUT seconds (default 45 min: over three times the ~13 min the
# suite takes on 2 cores), which also catches a thread that keeps pytest from exiting after the
# last test. First an interrupt (pytest reports and tears fixtures down), a kill 120 s later.
SUITE_TIMEOUT="${SUITE_TIMEOUT:-2700}"
set +e
timeout --signal=INT --kill-after=120 "$SUITE_TIMEOUT" .venv/bin/python -m pytest "$@"
status=$?
set -e
if [[ $status -eq 124 || $status -eq 137 ]]; then
    log "FAILED: the test run did not finish within ${SUITE_TIMEOUT} s (SUITE_TIMEOUT) and was stopped;"
    log "a test or a thread it left running is stuck (see the output above for the last test that ran)"
    exit 124
fi
exit $status
