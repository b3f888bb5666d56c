#!/usr/bin/env bash
# Sets up a fresh machine and runs the auditor's own checks: ruff, mypy and the test suite.
# Usage: bash tests/run.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest tests/ -p no:cacheprovider -q "$@"
