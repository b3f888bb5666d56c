"""Jira Cloud backend over simulated nights against the local Jira emulator."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from demo.standins.ticket_emulators.base import Fault
from demo.standins.ticket_emulators.jira import JiraEmulator, adf_plain
from reports.tickets.jira import JiraBackend
from reports.tickets.run import run_tickets
from reports.tickets.settings import TicketSettings
from tests import ticket_nights as nights

START = date(2026, 11, 1)
ENV = {"JIRA_USER": "auditor@example.com", "JIRA_TOKEN": "jira-token"}
REPORT = "https://reports.example/nightly/report.html"


@pytest.fixture
def jira() -> Iterator[JiraEmulator]:
    with JiraEmulator(search_lag=1) as emulator:
        yield emulator


def settings_for(emulator: JiraEmulator, **overrides: Any) -> TicketSettings:
    return TicketSettings.model_validate(
        {
            "backend": "jira",
            "url": emulator.url,
            "ca_bundle": str(emulator.ca_file),
            "project": "SEC",
            "token_env": "JIRA_TOKEN",
            "user_env": "JIRA_USER",
            "report_url": REPORT,
            "owner": "security-team",
            "timeout_seconds": 5,
            **overrides,
        }
    )


def night_run(
    emulator: JiraEmulator,
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
    backend = None
    if waits is not None:
        backend = JiraBackend(settings, env["JIRA_USER"], env["JIRA_TOKEN"], sleep=waits.append)
    return run_tickets(bundle, settings, mode, env=env, today=day, state_dir=state_dir, backend=backend)


def plan_of(section: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(a["action"], a["fingerprint"], a["control"], a["scope"]) for a in section["actions"]]


def kinds(sections: list[dict[str, Any]]) -> Counter[str]:
    return Counter(a["action"] for s in sections for a in s["actions"])


def transitions_posted(emulator: JiraEmulator) -> list[str]:
    return [
        r.json()["transition"]["id"] for r in emulator.write_requests() if r.path.endswith("/transitions")
    ]


def test_scenario_creates_once_comments_once_resolves_once_reopens_once(
    jira: JiraEmulator, tmp_path: Path
) -> None:
    sections = [night_run(jira, day, bundle, tmp_path) for day, bundle in nights.scenario_nights(START)]
    assert all(s["errors"] == [] for s in sections)
    counted = kinds(sections)
    assert (counted["create"], counted["comment"], counted["resolve"], counted["reopen"]) == (1, 1, 1, 1)
    assert list(jira.issues) == ["SEC-1"]
    issue = jira.issues["SEC-1"]
    assert issue.fields["status"]["statusCategory"]["key"] != "done"
    assert transitions_posted(jira) == ["31", "11"]
    comments = jira.comments_of("SEC-1")
    assert len(comments) == 3
    assert "changed" in comments[0]
    assert "Resolved" in comments[1]
    assert "Reopened" in comments[2]
    assert issue.properties["statement-auditor"]["failing"] == [nights.storage("sta")]
    assert issue.properties["statement-auditor"]["fingerprint"] in issue.fields["labels"]
    assert [s["actions"][0]["action"] for s in sections if s["actions"]] == [
        "create", "comment", "remember", "remember", "resolve", "reopen",
    ]  # fmt: skip


def test_a_fresh_state_directory_every_night_changes_nothing(jira: JiraEmulator, tmp_path: Path) -> None:
    with JiraEmulator(search_lag=1) as cached:
        kept = [night_run(cached, d, b, tmp_path / "kept") for d, b in nights.scenario_nights(START)]
        kept_writes = [(r.method, r.path) for r in cached.write_requests()]
    fresh = [
        night_run(jira, d, b, tmp_path / f"fresh-{i}")
        for i, (d, b) in enumerate(nights.scenario_nights(START))
    ]
    assert [[(a["action"], a["fingerprint"]) for a in s["actions"]] for s in fresh] == [
        [(a["action"], a["fingerprint"]) for a in s["actions"]] for s in kept
    ]
    assert [(r.method, r.path) for r in jira.write_requests()] == kept_writes
    last_day, last_bundle = nights.scenario_nights(START)[-1]
    stateless = night_run(jira, last_day, last_bundle, None)
    assert stateless["actions"] == []  # the tracker already has the reopened ticket: nothing to do
    assert len(jira.write_requests()) == len(kept_writes)


def test_the_removed_search_endpoint_answers_410(jira: JiraEmulator) -> None:
    import ssl

    import httpx

    response = httpx.post(
        f"{jira.url}/rest/api/3/search",
        json={"jql": "project = SEC"},
        auth=("auditor@example.com", "jira-token"),
        verify=ssl.create_default_context(cafile=str(jira.ca_file)),
    )
    assert response.status_code == 410
    assert "/rest/api/3/search/jql" in response.text


def test_search_follows_next_page_token(jira: JiraEmulator, tmp_path: Path) -> None:
    settings = settings_for(jira)
    backend = JiraBackend(settings, ENV["JIRA_USER"], ENV["JIRA_TOKEN"])
    for _ in range(5):
        jira._create(
            {
                "fields": {
                    "project": {"key": "SEC"},
                    "issuetype": {"name": "Task"},
                    "summary": "s",
                    "labels": ["ctlfp-00000000000000aa"],
                    "description": {"type": "doc", "version": 1, "content": []},
                }
            }
        )
    jira.searches += 10
    found = backend.find("ctlfp-00000000000000aa")
    assert [t.key for t in found] == ["SEC-5", "SEC-4", "SEC-3", "SEC-2", "SEC-1"]
    tokens = [r.json().get("nextPageToken") for r in jira.requests if r.path.endswith("/search/jql")]
    assert tokens == [None, "2", "4"]


def test_a_retry_in_the_same_run_does_not_double_create_despite_search_lag(tmp_path: Path) -> None:
    with JiraEmulator(search_lag=1000) as lagging:
        day, bundle = nights.scenario_nights(START)[0]
        first = night_run(lagging, day, bundle, tmp_path)
        again = night_run(lagging, day, bundle, tmp_path)
        settings = settings_for(lagging)
        backend = JiraBackend(settings, ENV["JIRA_USER"], ENV["JIRA_TOKEN"])
        in_memory = run_tickets(bundle, settings, "on", env=ENV, today=day, state_dir=None, backend=backend)
        repeated = run_tickets(bundle, settings, "on", env=ENV, today=day, state_dir=None, backend=backend)
        assert [a["action"] for a in first["actions"]] == ["create"]
        assert again["actions"] == []
        assert [a["action"] for a in in_memory["actions"]] == ["create"]  # no state dir: a second ticket
        assert repeated["actions"] == []  # ... but the same backend remembers what it created
        assert len(lagging.issues) == 2


def test_a_persons_wont_fix_is_respected(jira: JiraEmulator, tmp_path: Path) -> None:
    day, bundle = nights.scenario_nights(START)[0]
    night_run(jira, day, bundle, tmp_path)
    jira.close_by_person("SEC-1", "Won't Do")
    writes = len(jira.write_requests())
    later = [night_run(jira, d, b, tmp_path) for d, b in nights.scenario_nights(START)[1:3]]
    assert len(jira.write_requests()) == writes
    assert all(s["actions"] == [] for s in later)
    assert later[-1]["wont_fix"] == [
        {
            "control": nights.STORAGE_CONTROL,
            "scope": f"subscription {nights.PROD}",
            "ticket": "SEC-1",
            "url": f"{jira.url}/browse/SEC-1",
            "resolution": "Won't Do",
        }
    ]
    assert list(jira.issues) == ["SEC-1"]


def test_thirty_new_failures_trip_the_circuit_breaker(jira: JiraEmulator, tmp_path: Path) -> None:
    bundle = nights.mass_failure("2026-11-01", 30)
    section = night_run(jira, START, bundle, tmp_path)
    assert [a["action"] for a in section["actions"] if a["action"] != "none"] == ["summary"]
    assert len(jira.issues) == 1
    summary = jira.issues["SEC-1"]
    assert "30 new problems" in summary.fields["summary"]
    assert adf_plain(summary.fields["description"]).count("12b.mass-") == 30
    again = night_run(jira, date(2026, 11, 2), nights.mass_failure("2026-11-02", 30), tmp_path)
    assert [a for a in again["actions"] if a["action"] != "none"] == []
    assert len(jira.issues) == 1


def test_dry_run_makes_no_write_call_and_shows_the_same_plan(jira: JiraEmulator, tmp_path: Path) -> None:
    day, bundle = nights.scenario_nights(START)[0]
    planned = night_run(jira, day, bundle, tmp_path, mode="dry-run")
    assert jira.write_requests() == []
    done = night_run(jira, day, bundle, tmp_path)
    assert plan_of(planned) == plan_of(done)
    assert planned["actions"][0]["ticket"] is None
    assert done["actions"][0]["ticket"] == "SEC-1"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (None, "HTTP 401"),
        (Fault(500, path="/search/jql", times=None), "HTTP 500"),
        (Fault(200, path="/search/jql", times=None, delay=0.6), "timed out"),
    ],
)
def test_a_broken_tracker_is_one_error_and_changes_no_status(
    jira: JiraEmulator, tmp_path: Path, fault: Fault | None, expected: str
) -> None:
    env = ENV if fault else {**ENV, "JIRA_TOKEN": "wrong-token"}
    if fault:
        jira.add_fault(fault)
    bundle = nights.night("2026-11-01", frozenset({"a"}))
    before = copy.deepcopy(bundle)
    waits: list[float] = []
    section = night_run(jira, START, bundle, tmp_path, env=env, waits=waits, timeout_seconds=0.3)
    assert len(section["errors"]) == 1
    assert expected in section["errors"][0]
    assert section["actions"] == []
    assert bundle == before
    assert jira.write_requests() == []
    assert "wrong-token" not in json.dumps(section)


def test_429_retry_after_is_honoured(jira: JiraEmulator, tmp_path: Path) -> None:
    jira.add_fault(Fault(429, path=r"^/rest/api/3/issue$", method="POST", retry_after="2"))
    waits: list[float] = []
    day, bundle = nights.scenario_nights(START)[0]
    section = night_run(jira, day, bundle, tmp_path, waits=waits)
    assert section["errors"] == []
    assert waits == [2.0]
    assert len(jira.issues) == 1


def test_hostile_resource_names_stay_text_in_adf(jira: JiraEmulator, tmp_path: Path) -> None:
    section = night_run(jira, START, nights.hostile("2026-11-01"), tmp_path)
    assert section["errors"] == []
    description = jira.issues["SEC-1"].fields["description"]
    assert nights.HOSTILE_NAME in adf_plain(description)
    hrefs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            hrefs.extend(m["attrs"]["href"] for m in node.get("marks") or [] if m.get("type") == "link")
            for child in node.get("content") or []:
                walk(child)

    walk(description)
    assert hrefs
    assert all(href.startswith(REPORT + "#") for href in hrefs)
    assert "mention" not in json.dumps(description)


def test_errors_open_one_ticket_for_the_owner(jira: JiraEmulator, tmp_path: Path) -> None:
    section = night_run(jira, START, nights.erroring("2026-11-01"), tmp_path)
    made = {a["control"]: a for a in section["actions"]}
    assert set(made) == {nights.STORAGE_CONTROL, "statement-auditor.could-not-evaluate"}
    owner_issue = jira.issues[made["statement-auditor.could-not-evaluate"]["ticket"]]
    assert "security-team" in owner_issue.fields["summary"]
    assert "AuthorizationFailed" in adf_plain(owner_issue.fields["description"])
    assert "ENV" not in json.dumps(section)
    assert ENV["JIRA_TOKEN"] not in json.dumps([i.fields for i in jira.issues.values()])
