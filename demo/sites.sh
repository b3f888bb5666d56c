#!/usr/bin/env bash
# Sets up a fresh machine and runs the two-site demo in one command: a real Redis broker, two real
# Celery workers (rivium: trusted, reads the demo estate's Azure from the ARM emulator; amsterdam:
# untrusted, sends the exposure probes) and `pytest controls/` as the coordinator; everything it
# started is stopped at the end. Usage: bash demo/sites.sh [--out DIR] [--lang nl|en]
# Exit code: the audit run's (1: the demo estate has findings on purpose).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing redis-server (the demo's broker)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server >/dev/null; } \
      || exit 2
  else
    echo "redis-server is not installed: sudo apt-get install redis-server (or run as root)" >&2
    exit 2
  fi
fi
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || exit 2
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e . || exit 2
.venv/bin/python -m reports.i18n.catalogs compile || exit 2
exec .venv/bin/python -m demo.sites "$@"
