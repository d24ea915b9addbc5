#!/usr/bin/env bash
# The project's virtualenv (.venv) with the package and its test, qt and build extras, at the
# exact versions of constraints.txt (the lock file): the same everywhere, CI and the bundle
# included. Used by scripts/test.sh and, in CI, before scripts/lint.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            PY="$candidate"; break
        fi
    done
fi
[[ -n "$PY" ]] || { echo "setup.sh: Python 3.11 or newer is needed" >&2; exit 1; }

[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test,qt,build]'
