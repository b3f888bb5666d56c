"""Benchmark: what one silent TLS endpoint (TCP accepted, no answer) costs a scan, with and without the first handshake.

Scans `--healthy` real `openssl s_server` endpoints plus one listener that accepts TCP and never
answers, with the default settings (timeout 5 s), `--repeat` times each way:
- default: the first handshake finds the silent server in one timeout and skips its scan;
- baseline: the same scan without that probe (sslyze's connectivity test and its retries).
Prints the median seconds of each, the silent endpoint's verdict, and the ratio.

    .venv/bin/python bench/tls_silent.py [--healthy 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import trustme

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors.messages import english_text  # noqa: E402
from collectors.tls import scanner  # noqa: E402
from collectors.tls.facts import TlsTarget  # noqa: E402
from demo.standins.tls_servers import TlsServers, issue_cert  # noqa: E402

HOST = "www.example.test"


def _scan(targets: list[TlsTarget], probe: bool) -> tuple[float, str]:
    """Return (seconds, the silent endpoint's error) of one scan with default settings."""
    started = time.monotonic()
    if probe:
        subjects = scanner.scan_endpoints(targets)
    else:
        with mock.patch.object(scanner, "silent_targets", return_value={}):
            subjects = scanner.scan_endpoints(targets)
    seconds = time.monotonic() - started
    silent = subjects[-1]
    return seconds, english_text(silent.error) if silent.error is not None else "NOT AN ERROR"


def main() -> int:
    """Start the servers, scan both ways, print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--healthy", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as scratch:
        folder = Path(scratch)
        ca = trustme.CA()
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        with silent, TlsServers(folder) as servers:
            good = issue_cert(folder, ca, "good", HOST)
            targets = [
                TlsTarget(HOST, servers.openssl(good), address="127.0.0.1", http_port=None)
                for _ in range(args.healthy)
            ]
            targets.append(TlsTarget(HOST, silent.getsockname()[1], address="127.0.0.1", http_port=None))
            figures: dict[str, list[float]] = {"default (first handshake)": [], "baseline (sslyze only)": []}
            said: dict[str, str] = {}
            for _ in range(args.repeat):
                for name, probe in (("default (first handshake)", True), ("baseline (sslyze only)", False)):
                    seconds, error = _scan(targets, probe)
                    figures[name].append(seconds)
                    said[name] = error
    print(f"scan of {args.healthy} healthy endpoints + 1 silent one, timeout 5 s, median of {args.repeat}:")
    for name, values in figures.items():
        print(f"  {name}: {statistics.median(values):.1f} s   silent endpoint: {said[name][:110]}")
    default = statistics.median(figures["default (first handshake)"])
    baseline = statistics.median(figures["baseline (sslyze only)"])
    print(f"  baseline / default: x{baseline / default:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
