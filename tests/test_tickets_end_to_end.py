"""`pytest controls/ --tickets ...`: the nightly run opens tickets through the real CLI, never changing a verdict.

The demo estate is replayed with a `[tickets]` section pointing at the local GitHub emulator;
the run is a real `pytest controls/` subprocess talking HTTPS to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.standins.ticket_emulators.github import GitHubEmulator
from tests.audit_runs import DEMO, run_audit

TOKEN = "gh-canary-token-0b7d"


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator(token=TOKEN) as emulator:
        yield emulator


def demo_config(emulator: GitHubEmulator, *, mode: str = "off", max_new: int = 100) -> str:
    """Return the demo audit.toml with absolute evidence paths and a [tickets] section."""
    text = (DEMO / "audit.toml").read_text(encoding="utf-8")
    text = text.replace('evidence_file = "evidence/', f'evidence_file = "{DEMO}/evidence/')
    return (
        text
        + f"""
[tickets]
backend = "github"
mode = "{mode}"
url = "{emulator.url}"
ca_bundle = "{emulator.ca_file}"
repository = "lucrasoft/ops"
token_env = "AUDIT_GITHUB_TOKEN"
report_url = "https://audit.example.nl/latest/report.html"
owner = "security-officer"
max_new = {max_new}
"""
    )


def night(
    tmp_path: Path, emulator: GitHubEmulator, *args: str, mode: str = "off", max_new: int = 100
) -> tuple[int, str, dict[str, Any]]:
    """Run one night of the demo estate with tickets; return exit code, output and the bundle."""
    run = run_audit(
        tmp_path,
        demo_config(emulator, mode=mode, max_new=max_new),
        "--replay",
        str(DEMO / "recording.json"),
        *args,
        env={"AUDIT_GITHUB_TOKEN": TOKEN},
    )
    return run.returncode, run.stdout + run.stderr, run.bundle


def verdicts(bundle: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Return {(control, resource): status} of a bundle."""
    return {(r["control"], r["resource"]): r["status"] for r in bundle["results"]}


@pytest.fixture(scope="module")
def plain_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], str]:
    """The demo's verdicts without any ticket work."""
    with GitHubEmulator(token=TOKEN) as emulator:
        _, _, bundle = night(tmp_path_factory.mktemp("plain"), emulator)
    assert "tickets" not in bundle or bundle["tickets"] is None
    return verdicts(bundle)


def test_dry_run_plans_tickets_and_writes_nothing(github: GitHubEmulator, tmp_path: Path) -> None:
    code, output, bundle = night(tmp_path, github, "--tickets", "dry-run")
    assert code == 1, output  # the demo fails controls on purpose
    section = bundle["tickets"]
    assert section["mode"] == "dry-run"
    assert section["errors"] == []
    planned = Counter(a["action"] for a in section["actions"])
    assert planned["create"] > 0
    assert github.write_requests() == []
    assert "create" in output
    assert TOKEN not in output


def test_nightly_run_opens_tickets_once_and_keeps_verdicts(
    github: GitHubEmulator, tmp_path: Path, plain_verdicts: dict[tuple[str, str], str]
) -> None:
    _, _, first = night(tmp_path / "night1", github, "--tickets", "on")
    created = len(github.issues())
    failing_controls = {(r["control"]) for r in first["results"] if r["status"] == "fail"}
    assert created >= len(failing_controls) > 0
    assert verdicts(first) == plain_verdicts
    _, _, second = night(tmp_path / "night2", github, "--tickets", "on")
    assert len(github.issues()) == created, "a second failing night opens nothing new"
    assert not [a for a in second["tickets"]["actions"] if a["action"] == "create"]
    for path in (tmp_path / "night1" / "evidence").rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(encoding="utf-8", errors="replace"), path


def test_broken_tracker_is_reported_once_and_changes_no_verdict(
    tmp_path: Path, plain_verdicts: dict[tuple[str, str], str]
) -> None:
    with GitHubEmulator(token="another-token") as wrong:
        code, output, bundle = night(tmp_path, wrong, "--tickets", "on")
    assert code == 1, output
    assert len(bundle["tickets"]["errors"]) == 1
    assert "401" in bundle["tickets"]["errors"][0]
    assert verdicts(bundle) == plain_verdicts
    assert wrong.write_requests() == []


def test_circuit_breaker_opens_one_summary_ticket(github: GitHubEmulator, tmp_path: Path) -> None:
    _, _, bundle = night(tmp_path, github, "--tickets", "on", max_new=3)
    actions = Counter((a["action"], a["control"]) for a in bundle["tickets"]["actions"])
    assert actions[("summary", "statement-auditor.circuit-breaker")] == 1
    created = [control for (action, control) in actions if action == "create"]
    assert created == ["statement-auditor.could-not-evaluate"], (
        "ops tickets are held back; errors go to the owner"
    )
    assert len(github.issues()) == 2
