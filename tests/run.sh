#!/usr/bin/env bash
# Sets up a fresh machine and runs the auditor's own checks: ruff, mypy and the test suite.
# Usage: bash tests/run.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

# The host tests start a real OpenSSH sshd (Debian's openssh-server) on loopback addresses;
# the TLS tests start real nginx and `openssl s_server` servers; the ticket tests a real SMTP server (aiosmtpd).
missing=()
{ command -v sshd >/dev/null 2>&1 || test -x /usr/sbin/sshd; } || missing+=(openssh-server)
{ command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx; } || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The database tests start a real PostgreSQL (initdb in a temporary folder); the report tests
# drive Debian's headless Chromium with Playwright.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
test -x /usr/bin/chromium || missing+=(chromium)
# The PDF report's text is read back with poppler's pdftotext; the exposure-probe tests create a
# network namespace with iproute2's `ip`. Without them those tests fail (they never skip).
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
{ command -v ip >/dev/null 2>&1 || test -x /usr/sbin/ip || test -x /sbin/ip; } || missing+=(iproute2)
# The blob archive tests run Azurite (npm `azurite`, pinned in demo/standins/node) on Node.js >= 20.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# The Linux fact script (collectors/hosts/linux/gather.sh) is linted with Debian's shellcheck.
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
# The scheduling templates' systemd units are checked with systemd-analyze (Debian's systemd).
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
# The distributed-run tests start a real Redis broker (Debian's redis-server) and Celery workers.
{ command -v redis-server >/dev/null 2>&1 || test -x /usr/bin/redis-server; } || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${missing[*]} (the tests run real servers)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "${missing[*]} not installed and this is not root with apt-get: install them" \
      "(sudo apt-get install ${missing[*]}), or the server tests fail" >&2
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
# Azurite for the blob archive tests (demo/standins/azurite.py): the pinned version, reinstalled when the lock file changes.
if [ ! -f demo/standins/node/node_modules/.package-lock.json ] \
   || [ demo/standins/node/package-lock.json -nt demo/standins/node/node_modules/.package-lock.json ]; then
  echo "== installing Azurite (npm ci --prefix demo/standins/node)"
  npm ci --prefix demo/standins/node --loglevel=error
fi
# The report's and the findings' languages: compile the gettext catalogs (reports/locale).
.venv/bin/python -m reports.i18n.catalogs compile

export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== shellcheck (the Linux fact script: POSIX sh, run by sh -s on each host)"
shellcheck --shell=sh collectors/hosts/linux/gather.sh
echo "== mypy"
.venv/bin/mypy
echo "== import contracts (which room may use which: [tool.importlinter] in pyproject.toml)"
.venv/bin/lint-imports --no-cache
echo "== pytest"
# One worker per core (pytest-xdist): every server fixture picks its own free port and folder.
# PYTEST_WORKERS=0 runs in one process (easier to read when debugging one test).
.venv/bin/python -m pytest tests/ -p no:cacheprovider -q -n "${PYTEST_WORKERS:-auto}" "$@"
