#!/usr/bin/env bash
# Lint and types, as CI runs them before the tests: ruff and mypy, both configured in
# pyproject.toml (the rules chosen and the strictness are stated there). Any finding fails.
# Run scripts/setup.sh first on a fresh checkout (.ci/run does).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
paths=(nexus tests bench app.py)
compgen -G "build/*.py" >/dev/null && paths+=(build/*.py)
.venv/bin/ruff check "${paths[@]}"
.venv/bin/mypy  # its files and settings: [tool.mypy] in pyproject.toml
