"""Run `pytest controls/` as a user would (a subprocess) and read back what it produced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo.standins.arm_emulator import ArmEmulator
from tests.disrupt_run_plugin import without_root_override

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
TOKEN = "canary-bearer-token-5f1c9e"
"""The bearer token of the test runs: a canary that must never appear in any output."""

RUN_DATE = "2026-11-29"
SUB_PROD = "11111111-1111-4111-8111-111111111111"
SUB_DEV = "22222222-2222-4222-8222-222222222222"

POLICY = """
[policy]
trusted_networks = ["192.0.2.0/24", "203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"]
min_tls = "1.2"
authorized_principals = ["6f1c2a3b-4d5e-4f60-8a71-0b2c3d4e5f60", "7a2b3c4d-5e6f-4071-8b82-1c2d3e4f5a61", "8b3c4d5e-6f70-4182-9c93-2d3e4f5a6b72"]
"""


@dataclass
class AuditRun:
    """The outcome of one `pytest controls/` run."""

    returncode: int
    stdout: str
    stderr: str
    evidence_dir: Path

    @property
    def bundle(self) -> dict[str, Any]:
        """Return the parsed evidence.json of the run."""
        document: dict[str, Any] = json.loads(
            (self.evidence_dir / "evidence.json").read_text(encoding="utf-8")
        )
        return document

    def verdicts(self) -> dict[tuple[str, str], str]:
        """Return {(control id, resource id): status} of every result."""
        return {(r["control"], r["resource"]): r["status"] for r in self.bundle["results"]}

    def result(self, control: str, resource_suffix: str) -> dict[str, Any]:
        """Return the one result of `control` whose resource id ends with `resource_suffix`."""
        found: list[dict[str, Any]] = [
            r
            for r in self.bundle["results"]
            if r["control"] == control and r["resource"].endswith(resource_suffix)
        ]
        assert len(found) == 1, f"{control} {resource_suffix}: {len(found)} results"
        return found[0]


def azure_section(emulator: ArmEmulator, extra: str = "") -> str:
    """Return an [azure] section that points the real SDK clients at `emulator`."""
    return (
        "[probing]\ninclude_azure_sql = false  # the emulator's SQL FQDNs are real-looking internet names\n"
        f'[azure]\nendpoint = "{emulator.url}"\nca_bundle = "{emulator.ca_file}"\n'
        f'credential = "static-token"\nretry_backoff_seconds = 0.01\n{extra}\n'
    )


def run_audit(
    tmp_path: Path, config_text: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> AuditRun:
    """Write `config_text` to tmp_path/audit.toml and run `pytest controls/` on it.

    The run is judged as of RUN_DATE (the demo estate's date) unless `args` name another,
    so that the tests do not drift with the calendar.
    """
    if "--as-of" not in args:
        args = (*args, "--as-of", RUN_DATE)
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "audit.toml"
    config.write_text(config_text, encoding="utf-8")
    evidence_dir = tmp_path / "evidence"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "controls/",
            "-p",
            "no:cacheprovider",
            "-q",
            "--audit-config",
            str(config),
            "--evidence-dir",
            str(evidence_dir),
            *args,
        ],
        cwd=ROOT,
        env={**os.environ, "AUDIT_AZURE_TOKEN": TOKEN, "NO_PROXY": "127.0.0.1,localhost", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return AuditRun(completed.returncode, completed.stdout, completed.stderr, evidence_dir)


def run_demo(
    evidence_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run `pytest controls/ --demo` (the README's demo) into `evidence_dir` with extra options."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "controls/",
            "--demo",
            "-q",
            "-p",
            "no:cacheprovider",
            "--evidence-dir",
            str(evidence_dir),
            *args,
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


PASSING = """
[[subprocessors]]
name = "Microsoft Azure"
services = ["A. webhosting"]
country = "NL"
"""
"""A config whose one source passes: every other control is not applicable."""

FAILING = """
[[subprocessors]]
name = "Active Campaign"
services = ["B. Emma mailing campaigns"]
country = "US"
transfer_basis = "privacy-shield"
reviewed_on = 2026-11-01
"""


def audit(
    tmp_path: Path,
    config_text: str,
    *args: str,
    env: dict[str, str] | None = None,
    evidence_dir: Path | None = None,
    python_flags: tuple[str, ...] = (),
    honour_permissions: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `python [flags] -m pytest controls/` on `config_text` (written to tmp_path/audit.toml).

    `honour_permissions` runs it without root's permission override (see disrupt_run_plugin).
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "audit.toml"
    config.write_text(config_text, encoding="utf-8")
    evidence = evidence_dir if evidence_dir is not None else tmp_path / "evidence"
    return subprocess.run(
        [
            sys.executable,
            *python_flags,
            "-m",
            "pytest",
            "controls/",
            "-q",
            "-p",
            "no:cacheprovider",
            "--audit-config",
            str(config),
            "--evidence-dir",
            str(evidence),
            "--as-of",
            RUN_DATE,
            *args,
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        preexec_fn=without_root_override if honour_permissions else None,
    )


def no_traceback(run: subprocess.CompletedProcess[str]) -> None:
    """Assert that the run printed neither a Python traceback nor a pytest INTERNALERROR."""
    output = run.stdout + run.stderr
    assert "Traceback" not in output, output
    assert "INTERNALERROR" not in output, output


def error_lines(run: subprocess.CompletedProcess[str]) -> list[str]:
    """Return the `ERROR: ...` lines of stderr (a usage error is one such line)."""
    return [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
