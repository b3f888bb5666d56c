#!/usr/bin/env bash
# Sets up a fresh machine and writes a period report over a generated demo archive, in one command:
# 120 signed, chained nights from 2026-06-01 made from a real demo run, with planted events (a
# missing night, a night altered after archiving, a code and a policy change, a resource failing 12
# nights, one failing with an open ticket, a waiver expiring, a subscription in error), then
# `python -m reports verify-chain` and `python -m reports period` over them as an auditor runs them.
# Usage: bash demo/period.sh [OUT] [--lang nl|en]   (OUT default: evidence/period-demo, replaced)
# The period command exits 1: the generated archive has deviations on purpose.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-evidence/period-demo}
shift $(( $# > 0 ? 1 : 0 ))
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || exit 2
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e . || exit 2
.venv/bin/python -m reports.i18n.catalogs compile || exit 2
rm -rf "$out"
key="$out.signing-key.pem"
mkdir -p "$(dirname "$out")"
openssl genpkey -algorithm ed25519 -out "$key" 2>/dev/null || exit 2
.venv/bin/python -m demo.period_archive --out "$out" --signing-key "$key" --with-reports || exit 2
.venv/bin/python -m reports verify-chain "$out/archive" --public-key "$out/signing-key.pub.pem" | tail -n 6
.venv/bin/python -m reports period --archive "$out/archive" --from 2026-06-01 --to 2026-09-28 \
  --sample 10 --seed 20261201 --public-key "$out/signing-key.pub.pem" --out "$out/report" "$@"
