"""GitHub Issues backend over simulated nights against the local GitHub emulator."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from demo.standins.ticket_emulators.base import Fault
from demo.standins.ticket_emulators.github import GitHubEmulator
from reports.tickets.github import GitHubBackend, md_text, state_in
from reports.tickets.run import run_tickets
from reports.tickets.settings import TicketSettings
from tests import ticket_nights as nights

START = date(2026, 11, 1)
ENV = {"GH_TOKEN": "gh-token"}
REPORT = "https://reports.example/nightly/report.html"


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as emulator:
        yield emulator


def settings_for(emulator: GitHubEmulator, **overrides: Any) -> TicketSettings:
    return TicketSettings.model_validate(
        {
            "backend": "github",
            "url": emulator.url,
            "ca_bundle": str(emulator.ca_file),
            "repository": "lucrasoft/ops",
            "token_env": "GH_TOKEN",
            "report_url": REPORT,
            "owner": "security-team",
            "timeout_seconds": 5,
            **overrides,
        }
    )


def night_run(
    emulator: GitHubEmulator,
    day: date,
    bundle: dict[str, Any],
    state_dir: Path | None,
    *,
    mode: str = "on",
    env: dict[str, str] = ENV,
    waits: list[float] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    settings = settings_for(emulator, **overrides)
    backend = GitHubBackend(settings, env["GH_TOKEN"], sleep=waits.append) if waits is not None else None
    return run_tickets(bundle, settings, mode, env=env, today=day, state_dir=state_dir, backend=backend)


def test_scenario_creates_once_comments_once_resolves_once_reopens_once(
    github: GitHubEmulator, tmp_path: Path
) -> None:
    github.add_pull_request(["statement-auditor"])
    sections = [night_run(github, day, bundle, tmp_path) for day, bundle in nights.scenario_nights(START)]
    assert all(s["errors"] == [] for s in sections)
    counted = Counter(a["action"] for s in sections for a in s["actions"])
    assert (counted["create"], counted["comment"], counted["resolve"], counted["reopen"]) == (1, 1, 1, 1)
    issues = github.issues()
    assert len(issues) == 1
    issue = issues[0]
    assert issue["state"] == "open"
    assert issue["state_reason"] == "reopened"
    assert len(github.comments[issue["number"]]) == 3
    state = state_in(issue["body"])
    assert state.failing == (nights.storage("sta"),)
    assert state.resolved_on == ""
    patches = [r.json() for r in github.write_requests() if r.method == "PATCH"]
    assert [p.get("state") for p in patches if "state" in p] == ["closed", "open"]
    assert [p.get("state_reason") for p in patches if "state" in p] == ["completed", "reopened"]


def test_a_fresh_state_directory_every_night_changes_nothing(github: GitHubEmulator, tmp_path: Path) -> None:
    with GitHubEmulator() as cached:
        kept = [night_run(cached, d, b, tmp_path / "kept") for d, b in nights.scenario_nights(START)]
        kept_writes = [(r.method, r.path) for r in cached.write_requests()]
    fresh = [
        night_run(github, d, b, tmp_path / f"fresh-{i}")
        for i, (d, b) in enumerate(nights.scenario_nights(START))
    ]
    assert [[(a["action"], a["fingerprint"]) for a in s["actions"]] for s in fresh] == [
        [(a["action"], a["fingerprint"]) for a in s["actions"]] for s in kept
    ]
    assert [(r.method, r.path) for r in github.write_requests()] == kept_writes


def test_find_follows_link_pages_and_drops_pull_requests(github: GitHubEmulator) -> None:
    backend = GitHubBackend(settings_for(github), "gh-token")
    for _ in range(4):
        github.add_pull_request(["ctlfp-00000000000000bb"])
    for index in range(4):
        github.handle(
            github_request(github, {"title": f"t{index}", "body": "", "labels": ["ctlfp-00000000000000bb"]})
        )
    found = backend.find("ctlfp-00000000000000bb")
    assert [t.key for t in found] == ["8", "7", "6", "5"]
    assert len([r for r in github.requests if r.method == "GET"]) == 3


def plan_of(section: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(a["action"], a["fingerprint"], a["control"], a["scope"]) for a in section["actions"]]


def github_request(emulator: GitHubEmulator, body: dict[str, Any]) -> Any:
    from demo.standins.ticket_emulators.base import Request

    return Request("POST", f"/repos/{emulator.repository}/issues", {}, {}, json.dumps(body).encode())


def test_a_persons_not_planned_is_respected(github: GitHubEmulator, tmp_path: Path) -> None:
    day, bundle = nights.scenario_nights(START)[0]
    night_run(github, day, bundle, tmp_path)
    github.close_by_person(1, "not_planned")
    writes = len(github.write_requests())
    later = [night_run(github, d, b, tmp_path) for d, b in nights.scenario_nights(START)[1:3]]
    assert len(github.write_requests()) == writes
    assert all(s["actions"] == [] for s in later)
    assert [w["resolution"] for w in later[-1]["wont_fix"]] == ["not_planned"]
    assert len(github.issues()) == 1


def test_thirty_new_failures_trip_the_circuit_breaker(github: GitHubEmulator, tmp_path: Path) -> None:
    section = night_run(github, START, nights.mass_failure("2026-11-01", 30), tmp_path)
    assert [a["action"] for a in section["actions"] if a["action"] != "none"] == ["summary"]
    (summary,) = github.issues()
    assert "30 new problems" in summary["title"]
    assert summary["body"].count("12b\\.mass\\-") == 30
    assert (
        night_run(github, date(2026, 11, 2), nights.mass_failure("2026-11-02", 30), tmp_path)["errors"] == []
    )
    assert len(github.issues()) == 1


def test_dry_run_makes_no_write_call_and_shows_the_same_plan(github: GitHubEmulator, tmp_path: Path) -> None:
    day, bundle = nights.scenario_nights(START)[0]
    planned = night_run(github, day, bundle, tmp_path, mode="dry-run")
    assert github.write_requests() == []
    done = night_run(github, day, bundle, tmp_path)
    assert plan_of(planned) == plan_of(done)
    assert done["actions"][0]["url"].endswith("/issues/1")


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (None, "HTTP 401"),
        (Fault(500, path="/issues$", times=None), "HTTP 500"),
        (Fault(200, path="/issues$", times=None, delay=0.6), "timed out"),
    ],
)
def test_a_broken_tracker_is_one_error_and_changes_no_status(
    github: GitHubEmulator, tmp_path: Path, fault: Fault | None, expected: str
) -> None:
    env = ENV if fault else {"GH_TOKEN": "wrong-token"}
    if fault:
        github.add_fault(fault)
    bundle = nights.night("2026-11-01", frozenset({"a"}))
    before = copy.deepcopy(bundle)
    section = night_run(github, START, bundle, tmp_path, env=env, waits=[], timeout_seconds=0.3)
    assert len(section["errors"]) == 1
    assert expected in section["errors"][0]
    assert section["actions"] == []
    assert bundle == before
    assert github.write_requests() == []
    assert "wrong-token" not in json.dumps(section)


def test_429_retry_after_is_honoured(tmp_path: Path) -> None:
    with GitHubEmulator(throttle_once=True) as throttling:
        waits: list[float] = []
        day, bundle = nights.scenario_nights(START)[0]
        section = night_run(throttling, day, bundle, tmp_path, waits=waits)
        assert section["errors"] == []
        assert waits == [1.0]
        assert throttling.throttled == 1
        assert len(throttling.issues()) == 1


def test_hostile_resource_names_are_escaped(github: GitHubEmulator, tmp_path: Path) -> None:
    section = night_run(github, START, nights.hostile("2026-11-01"), tmp_path)
    assert section["errors"] == []
    (issue,) = github.issues()
    body = issue["body"]
    assert not re.search(r"@(alice|bob)", body)
    assert "](https://evil" not in body
    assert not re.search(r"(?<!\\)<(img|script)", body)
    assert "\\<img" in body  # shown as text
    assert "\n#" not in body
    links = re.findall(r"\]\((https?://[^)]*)\)", body)
    assert links
    assert all(link.startswith(REPORT + "#") for link in links)
    rows = [line for line in body.splitlines() if line.startswith("| ")]
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 3 for row in rows)


def test_md_text_breaks_mentions_links_and_references() -> None:
    escaped = md_text("@octocat see https://x.example www.x.example #12 **b** [l](u) <b>")
    assert "@octocat" not in escaped
    assert "https://" not in escaped
    assert "www." not in escaped
    assert "#12" not in escaped
    assert "**" not in escaped
    assert "](" not in escaped
    assert "<b>" not in escaped


def test_hidden_state_survives_a_resource_that_closes_html_comments(
    github: GitHubEmulator, tmp_path: Path
) -> None:
    bundle = nights.bundle(
        "2026-11-01", [nights.result(nights.STORAGE_CONTROL, nights.storage("x-->y"), "fail")]
    )
    night_run(github, START, bundle, tmp_path)
    (issue,) = github.issues()
    assert state_in(issue["body"]).failing == (nights.storage("x-->y"),)
    assert issue["body"].count("-->") == 1
