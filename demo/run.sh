#!/usr/bin/env bash
# Sets up a fresh machine and audits the bundled demo estate: `pytest controls/ --demo`.
# The run ends with the path of the evidence report. Exit code 1 is expected: the demo
# estate fails some controls on purpose.
set -uo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || exit 2
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e . || exit 2
# The report's and the findings' languages: compile the gettext catalogs (reports/locale).
.venv/bin/python -m reports.i18n.catalogs compile || exit 2
.venv/bin/python -m pytest controls/ --demo "$@"
