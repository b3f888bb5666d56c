"""Benchmark: 40 local TLS endpoints, the auditor's scanner against testssl.sh (Debian package).

    apt-get install -y nginx testssl.sh     # testssl.sh's binary is `testssl` on Debian
    python -m bench.tls_scan [--endpoints 40] [--runs 3] [--sequential 9] [--concurrency 20]

Starts `--endpoints` TLS servers on 127.0.0.1 with the stand-ins' real-server harness
(`demo/standins/tls_servers.py`: one nginx for the modern sites, `openssl s_server` for the rest; every
leaf from a trustme CA made here, except the self-signed one), cycling nine configurations:
modern TLS 1.2 + 1.3 (nginx), TLS 1.0 enabled, TLS 1.1 only, expired, self-signed, wrong host
name, expiring in 5 days, RSA 1024 and a CBC-only TLS 1.2 suite list. Then:

* **ours**: `collectors.tls.scanner.scan_endpoints` over every endpoint at once (bounded pool),
  the median of `--runs` runs;
* **testssl.sh sequential**: one endpoint after another with protocols + certificate + headers
  (`--protocols --server-defaults --headers`), the test CA added with `--add-ca`. At ~10 s an
  endpoint, only the first `--sequential` endpoints (default 9: one of each configuration) are
  timed and the total is scaled to all endpoints (the printout says so); `--sequential 0` runs all;
* **testssl.sh mass testing**: the same checks for every endpoint with `--file` and `--parallel`
  (testssl.sh's own limit of parallel children, MAX_PARALLEL, 20 by default).

Verdicts compared per endpoint: the TLS protocol versions each tool saw offered, and the
certificate's validity as four observations: chain trusted (expiry aside), expired, expiring
within 30 days, host name matches. Every difference is listed. All servers are started here and stopped by pid on exit.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trustme

from collectors.messages import english_text
from collectors.tls.scanner import TlsEndpoint, TlsTarget, scan_endpoints
from demo.standins.tls_servers import CertFiles, NginxSite, TlsServers, issue_cert, self_signed_cert

HOST = "localhost"
ADDRESS = "127.0.0.1"
MODERN_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
LEGACY_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:@SECLEVEL=0"
MODERN = ("-min_protocol", "TLSv1.2", "-cipher", MODERN_CIPHERS)
KINDS = (
    "modern",
    "tls10",
    "tls11_only",
    "expired",
    "self_signed",
    "wrong_host",
    "expiring_5d",
    "rsa1024",
    "cbc_only",
)
TESTSSL_CHECKS = ("--protocols", "--server-defaults", "--headers")
TESTSSL_PROTOCOLS = {
    "SSLv2": "SSL 2.0",
    "SSLv3": "SSL 3.0",
    "TLS1": "TLS 1.0",
    "TLS1_1": "TLS 1.1",
    "TLS1_2": "TLS 1.2",
    "TLS1_3": "TLS 1.3",
}
SOON_DAYS = 30
SHORT = {
    "SSL 2.0": "S2",
    "SSL 3.0": "S3",
    "TLS 1.0": "1.0",
    "TLS 1.1": "1.1",
    "TLS 1.2": "1.2",
    "TLS 1.3": "1.3",
}


@dataclass(frozen=True)
class Endpoint:
    """One started server: its configuration and where it listens."""

    name: str
    kind: str
    port: int
    http_port: int | None


@dataclass(frozen=True)
class Verdict:
    """What one tool saw at one endpoint, in terms both tools can be compared on."""

    protocols: tuple[str, ...]
    trusted: bool | None
    expired: bool | None
    hostname_ok: bool | None
    expires_soon: bool | None
    """Not expired, but expiring within SOON_DAYS (testssl.sh's "expires < 30 days")."""
    note: str = ""

    def cert_text(self) -> str:
        """Return e.g. `trust=Y exp=N host=Y`."""

        def flag(value: bool | None) -> str:
            return "?" if value is None else ("Y" if value else "N")

        return (
            f"trust={flag(self.trusted)} exp={flag(self.expired)} "
            f"<30d={flag(self.expires_soon)} host={flag(self.hostname_ok)}"
        )

    def protocol_text(self) -> str:
        """Return the offered versions, short: `1.2,1.3`."""
        return ",".join(SHORT[p] for p in self.protocols) or "-"

    def key(self) -> tuple[tuple[str, ...], bool | None, bool | None, bool | None, bool | None]:
        """Return what must agree between the tools."""
        return (self.protocols, self.trusted, self.expired, self.expires_soon, self.hostname_ok)


# --- servers ---------------------------------------------------------------------------------------


def start_servers(servers: TlsServers, folder: Path, ca: trustme.CA, count: int) -> list[Endpoint]:
    """Start `count` endpoints cycling through KINDS; return them in order."""
    now = datetime.now(UTC)
    good = issue_cert(folder, ca, "good", HOST)
    certs: dict[str, CertFiles] = {
        "expired": issue_cert(
            folder,
            ca,
            "expired",
            HOST,
            not_before=now - timedelta(days=90),
            not_after=now - timedelta(days=1),
        ),
        "self_signed": self_signed_cert(folder, HOST),
        "wrong_host": issue_cert(folder, ca, "wrong-host", "other.test"),
        "expiring_5d": issue_cert(folder, ca, "expiring", HOST, not_after=now + timedelta(days=5)),
        "rsa1024": issue_cert(folder, ca, "rsa1024", HOST, rsa_bits=1024),
    }
    options: dict[str, tuple[CertFiles, tuple[str, ...]]] = {
        "tls10": (good, ("-min_protocol", "TLSv1", "-cipher", LEGACY_CIPHERS)),
        "tls11_only": (
            good,
            ("-min_protocol", "TLSv1.1", "-max_protocol", "TLSv1.1", "-cipher", LEGACY_CIPHERS),
        ),
        "expired": (certs["expired"], MODERN),
        "self_signed": (certs["self_signed"], MODERN),
        "wrong_host": (certs["wrong_host"], MODERN),
        "expiring_5d": (certs["expiring_5d"], MODERN),
        "rsa1024": (
            certs["rsa1024"],
            ("-min_protocol", "TLSv1.2", "-cipher", f"{MODERN_CIPHERS}:@SECLEVEL=0"),
        ),
        "cbc_only": (
            good,
            (
                "-min_protocol",
                "TLSv1.2",
                "-max_protocol",
                "TLSv1.2",
                "-cipher",
                "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384",
            ),
        ),
    }
    names = [f"{KINDS[i % len(KINDS)]}-{i:02d}" for i in range(count)]
    modern = [name for name in names if name.startswith("modern-")]
    sites = servers.nginx([NginxSite(name, good) for name in modern]) if modern else {}
    endpoints: list[Endpoint] = []
    for name in names:
        kind = name.rsplit("-", 1)[0]
        if kind == "modern":
            endpoints.append(Endpoint(name, kind, sites[name].https, sites[name].http))
        else:
            files, extra = options[kind]
            endpoints.append(Endpoint(name, kind, servers.openssl(files, *extra), None))
    return endpoints


# --- ours ------------------------------------------------------------------------------------------


def targets_of(endpoints: list[Endpoint], trust: Path) -> list[TlsTarget]:
    """Return the scanner's targets, built as the tests build them."""
    return [
        TlsTarget(HOST, e.port, address=ADDRESS, ca_bundle=trust, http_port=e.http_port) for e in endpoints
    ]


def our_verdict(endpoint: TlsEndpoint | None, error: str | None) -> Verdict:
    """Reduce one scanner fact to the comparable verdict."""
    if endpoint is None:
        return Verdict((), None, None, None, None, f"error: {error}")
    certificate = endpoint.certificate
    if certificate is None:
        return Verdict(endpoint.protocols_offered, None, None, None, None, "no certificate")
    now = datetime.now(UTC)
    return Verdict(
        endpoint.protocols_offered,
        certificate.chain_valid,
        certificate.not_after < now,
        certificate.hostname_matches,
        now <= certificate.not_after < now + timedelta(days=SOON_DAYS),
        english_text(certificate.validation_error) if certificate.validation_error else "",
    )


def run_ours(
    endpoints: list[Endpoint], trust: Path, runs: int, concurrency: int, timeout: float
) -> tuple[list[float], dict[int, Verdict]]:
    """Scan every endpoint `runs` times; return the wall times and the last run's verdicts by port."""
    targets = targets_of(endpoints, trust)
    times: list[float] = []
    verdicts: dict[int, Verdict] = {}
    for _ in range(runs):
        started = time.monotonic()
        subjects = scan_endpoints(targets, max_concurrency=concurrency, timeout=timeout)
        times.append(time.monotonic() - started)
        by_id = {subject.id: subject for subject in subjects}
        for target in targets:
            subject = by_id.get(target.id)
            fact = subject.fact if subject is not None else None
            error = subject.error if subject is not None else "no subject"
            verdicts[target.port] = our_verdict(
                fact if isinstance(fact, TlsEndpoint) else None,
                None if fact else english_text(error or "no subject"),
            )
    return times, verdicts


# --- testssl.sh ------------------------------------------------------------------------------------


def testssl_binary() -> str:
    """Return testssl.sh's binary (`testssl` on Debian), or exit saying how to install it."""
    for name in ("testssl", "testssl.sh"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("testssl.sh is not installed: run `apt-get install -y testssl.sh`")


def testssl_common(trust: Path) -> list[str]:
    """Return the options every testssl.sh run gets."""
    return [*TESTSSL_CHECKS, "--quiet", "--warnings", "off", "--add-ca", str(trust), "--color", "0"]


def testssl_verdicts(records: list[dict[str, Any]]) -> dict[int, Verdict]:
    """Reduce testssl.sh's flat JSON findings to the comparable verdict, by port."""
    by_port: dict[int, dict[str, str]] = {}
    for record in records:
        try:
            port = int(str(record.get("port", "")))
        except ValueError:
            continue
        by_port.setdefault(port, {})[str(record.get("id", ""))] = str(record.get("finding", ""))
    verdicts: dict[int, Verdict] = {}
    for port, findings in by_port.items():
        offered = tuple(
            name for tid, name in TESTSSL_PROTOCOLS.items() if findings.get(tid, "").startswith("offered")
        )
        chain = findings.get("cert_chain_of_trust")
        expiry = findings.get("cert_expirationStatus")
        trust = findings.get("cert_trust")
        # testssl.sh's chain check is openssl verify at the current time: an expired leaf fails it
        # with "expired" although the chain itself builds; ours judges the chain at a moment inside
        # the leaf's validity and reports expiry separately. "expired" alone counts as chain ok.
        trusted = (
            None if chain is None else (chain.startswith("passed") or chain.strip() == "failed (expired).")
        )
        expired = None if expiry is None else "expired" in expiry.lower()
        hostname_ok = None if trust is None else trust.lower().startswith("ok via")
        soon = None if expiry is None else expiry.startswith(f"expires < {SOON_DAYS} days")
        note = f"chain: {chain!r}; expiry: {expiry!r}; trust: {trust!r}"
        verdicts[port] = Verdict(offered, trusted, expired, hostname_ok, soon, note)
    return verdicts


def read_json(path: Path) -> list[dict[str, Any]]:
    """Return testssl.sh's flat JSON findings ([] when the file is missing or broken)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if isinstance(data, dict):
        data = data.get("scanResult", [])
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def run_testssl_sequential(
    binary: str, endpoints: list[Endpoint], trust: Path, folder: Path
) -> tuple[float, dict[int, Verdict], list[str]]:
    """Run testssl.sh on each endpoint in turn; return wall time, verdicts and any failures."""
    records: list[dict[str, Any]] = []
    failures: list[str] = []
    started = time.monotonic()
    for endpoint in endpoints:
        out = folder / f"seq-{endpoint.port}.json"
        command = [binary, *testssl_common(trust), "--ip", ADDRESS, "--jsonfile", str(out)]
        done = subprocess.run(
            [*command, f"{HOST}:{endpoint.port}"], capture_output=True, text=True, check=False, timeout=300
        )
        found = read_json(out)
        if not found:  # testssl.sh exits non-zero for findings too: only missing output is a failure
            failures.append(f"{endpoint.name}: exit {done.returncode}, no JSON: {done.stderr.strip()[-300:]}")
        records += found
    return time.monotonic() - started, testssl_verdicts(records), failures


def run_testssl_parallel(
    binary: str, endpoints: list[Endpoint], trust: Path, folder: Path
) -> tuple[float, dict[int, Verdict], list[str]]:
    """Run testssl.sh's mass testing (`--file` + `--parallel`) over every endpoint."""
    commands = folder / "mass.txt"
    # Mass testing hands every child `--warnings=batch`, which aborts a scan when the local OpenSSL
    # cannot connect (Debian's OpenSSL 3 and a TLS 1.1-only server); `--warnings off` on each line
    # comes after it and keeps the child going, as the sequential runs do.
    commands.write_text("".join(f"--warnings off --ip {ADDRESS} {HOST}:{e.port}\n" for e in endpoints))
    out = folder / "mass.json"
    log = folder / "mass.log"
    command = [binary, *testssl_common(trust), "--jsonfile", str(out), "--parallel", "--file", str(commands)]
    started = time.monotonic()
    with log.open("w") as handle:
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False, timeout=900)
    seconds = time.monotonic() - started
    verdicts = testssl_verdicts(read_json(out))
    failures = [f"mass testing exit {done.returncode}"] if done.returncode != 0 else []
    failures += [f"{e.name}: no findings in mass testing" for e in endpoints if e.port not in verdicts]
    return seconds, verdicts, failures


# --- report ----------------------------------------------------------------------------------------


def differences(
    endpoints: list[Endpoint], ours: dict[int, Verdict], theirs: dict[int, Verdict], label: str
) -> list[str]:
    """Return one line per endpoint where the verdicts differ."""
    lines: list[str] = []
    for e in endpoints:
        mine, other = ours.get(e.port), theirs.get(e.port)
        if mine is None or other is None:
            lines.append(f"  {e.name} (:{e.port}): {label} has no result")
            continue
        if mine.key() != other.key():
            lines.append(
                f"  {e.name} (:{e.port}): ours {mine.protocol_text()} {mine.cert_text()} [{mine.note}] "
                f"vs {label} {other.protocol_text()} {other.cert_text()} [{other.note}]"
            )
    return lines


def table(endpoints: list[Endpoint], columns: list[tuple[str, dict[int, Verdict]]]) -> list[str]:
    """Return the per-endpoint verdict table."""
    header = f"{'endpoint':<16}{'port':>6}  " + "  ".join(f"{label:<50}" for label, _ in columns)
    lines = [header, "-" * len(header)]
    for e in endpoints:
        cells = []
        for _, verdicts in columns:
            v = verdicts.get(e.port)
            cells.append(f"{'(not run)':<50}" if v is None else f"{v.protocol_text():<18}{v.cert_text():<32}")
        agree = {v.key() for _, vs in columns if (v := vs.get(e.port)) is not None}
        lines.append(
            f"{e.name:<16}{e.port:>6}  " + "  ".join(cells) + ("" if len(agree) <= 1 else "  DIFFERS")
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Start the servers, run the three scans, print the figures and every verdict difference."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoints", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3, help="runs of our scanner (median reported)")
    parser.add_argument(
        "--sequential", type=int, default=9, help="endpoints testssl.sh scans one by one (0: all), scaled"
    )
    parser.add_argument("--no-parallel", action="store_true", help="skip testssl.sh's mass testing")
    parser.add_argument("--concurrency", type=int, default=20, help="our scanner's max_concurrency")
    parser.add_argument("--timeout", type=float, default=5.0, help="our scanner's network timeout (s)")
    args = parser.parse_args(argv)
    # sslyze loads its bundled Mozilla store on start; one of its roots has a non-positive serial.
    warnings.filterwarnings("ignore", message="Parsed a serial number which wasn't positive")
    binary = testssl_binary()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"testssl\S*\s+(\d+\.\d+\S*)", re.sub(r"\x1b\[[0-9;]*m", "", version))
    version_line = f"testssl.sh {found.group(1) if found else '?'} ({binary})"

    with tempfile.TemporaryDirectory(prefix="bench-tls-") as tmp:
        folder = Path(tmp)
        ca = trustme.CA()
        trust = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(trust))
        with TlsServers(folder) as servers:
            endpoints = start_servers(servers, folder, ca, args.endpoints)
            print(f"started {len(endpoints)} endpoints on {ADDRESS} ({', '.join(KINDS)} cycled)", flush=True)

            print(f"[{datetime.now(UTC):%H:%M:%S}] ours: scan_endpoints x{args.runs} ...", flush=True)
            ours_times, ours = run_ours(endpoints, trust, args.runs, args.concurrency, args.timeout)

            subset = endpoints if args.sequential <= 0 else endpoints[: args.sequential]
            print(
                f"[{datetime.now(UTC):%H:%M:%S}] testssl.sh sequential on {len(subset)} endpoints ...",
                flush=True,
            )
            seq_seconds, seq, seq_failures = run_testssl_sequential(binary, subset, trust, folder)

            par_seconds: float | None = None
            par: dict[int, Verdict] = {}
            par_failures: list[str] = []
            if not args.no_parallel:
                print(
                    f"[{datetime.now(UTC):%H:%M:%S}] testssl.sh --file --parallel on {len(endpoints)} ...",
                    flush=True,
                )
                par_seconds, par, par_failures = run_testssl_parallel(binary, endpoints, trust, folder)

    n = len(endpoints)
    ours_median = statistics.median(ours_times)
    seq_scaled = seq_seconds * n / len(subset)
    print()
    print(f"TLS scan benchmark: {n} endpoints on {ADDRESS}; {version_line}")
    print(f"checks: protocols + certificate + headers; testssl.sh {' '.join(TESTSSL_CHECKS)}")
    print()
    print(f"{'tool':<46}{'wall time':>12}{'vs ours':>10}")
    runs = ", ".join(f"{t:.2f}" for t in ours_times)
    print(
        f"{'ours: scan_endpoints (median of ' + str(len(ours_times)) + ')':<46}{ours_median:>10.2f} s{'1.0x':>10}"
    )
    print(f"{'  runs':<46}{runs:>12}")
    seq_label = (
        f"testssl.sh sequential ({n} endpoints)"
        if len(subset) == n
        else f"testssl.sh sequential ({len(subset)} timed, x{n}/{len(subset)})"
    )
    print(f"{seq_label:<46}{seq_scaled:>10.2f} s{seq_scaled / ours_median:>9.1f}x")
    if len(subset) != n:
        print(f"{'  measured on ' + str(len(subset)) + ' endpoints':<46}{seq_seconds:>10.2f} s")
    if par_seconds is not None:
        print(
            f"{'testssl.sh --file --parallel (' + str(n) + ' endpoints)':<46}{par_seconds:>10.2f} s"
            f"{par_seconds / ours_median:>9.1f}x"
        )
    print()
    print(
        f"target >= 10x faster than testssl.sh sequential: {'met' if seq_scaled >= 10 * ours_median else 'NOT met'} "
        f"({seq_scaled / ours_median:.1f}x)"
    )
    if par_seconds is not None:
        print(
            f"target faster than testssl.sh parallel: {'met' if par_seconds > ours_median else 'NOT met'} "
            f"({par_seconds / ours_median:.1f}x)"
        )
    print()
    columns: list[tuple[str, dict[int, Verdict]]] = [("ours", ours), ("testssl.sh sequential", seq)]
    if par_seconds is not None:
        columns.append(("testssl.sh --parallel", par))
    print(
        "verdicts (protocols offered; certificate: chain trusted / expired / expiring within"
        f" {SOON_DAYS} days / host name matches):"
    )
    for line in table(endpoints, columns):
        print(line)
    print()
    diff_seq = differences(subset, ours, seq, "testssl.sh sequential")
    diff_par = differences(endpoints, ours, par, "testssl.sh --parallel") if par_seconds is not None else []
    print(f"differences ours vs testssl.sh sequential ({len(subset)} endpoints): {len(diff_seq)}")
    for line in diff_seq:
        print(line)
    if par_seconds is not None:
        print(f"differences ours vs testssl.sh --parallel ({n} endpoints): {len(diff_par)}")
        for line in diff_par:
            print(line)
    for failure in seq_failures + par_failures:
        print(f"testssl.sh failure: {failure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
