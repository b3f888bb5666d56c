"""`since` (the start of the audit period) never hides a request or incident that is still open.

A register read with `since` keeps the tickets created in the period, those resolved in it, and
every ticket still open whatever its age: an old request left open past its deadline is exactly
what the period's evidence must show. Tested on Jira (the JQL itself), GitHub and Azure DevOps
(filtered after reading), each against its emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from collectors.trackers.facts import DSR_POPULATION
from collectors.trackers.jira import jql
from collectors.trackers.records import in_period
from demo.standins.ticket_emulators.azure_devops import AzureDevOpsEmulator
from demo.standins.ticket_emulators.github import GitHubEmulator
from demo.standins.ticket_emulators.jira import JiraEmulator
from tests import test_trackers_azure_devops as trackers_ado
from tests import test_trackers_read as trackers_read
from tests.test_trackers_azure_devops import close, section
from tests.test_trackers_read import collect, config, jira_section, verdicts

NOW = datetime.now(UTC)
START = (NOW - timedelta(days=30)).date()
"""The audit period began 30 days ago."""


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[JiraEmulator]:
    yield from trackers_read.jira.__wrapped__(monkeypatch)  # type: ignore[attr-defined]


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubEmulator]:
    yield from trackers_read.github.__wrapped__(monkeypatch)  # type: ignore[attr-defined]


@pytest.fixture
def ado(monkeypatch: pytest.MonkeyPatch) -> Iterator[AzureDevOpsEmulator]:
    yield from trackers_ado.ado.__wrapped__(monkeypatch)  # type: ignore[attr-defined]


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def keys(store: Any) -> set[str]:
    return {subject.id for subject in store.population(DSR_POPULATION).subjects}


def test_a_ticket_belongs_to_the_period_when_created_resolved_in_it_or_still_open() -> None:
    def record(created: str, resolved: str | None, done: bool) -> dict[str, Any]:
        return {"created": created, "resolved": resolved, "done": done}

    since = date(2026, 1, 1)
    assert in_period(record("2026-01-02T10:00:00Z", None, False), since)
    assert in_period(record("2025-06-01T10:00:00Z", None, False), since), "old and still open"
    assert in_period(record("2025-12-20T10:00:00Z", "2026-01-03T10:00:00Z", True), since), "resolved in it"
    assert not in_period(record("2025-06-01T10:00:00Z", "2025-06-03T10:00:00Z", True), since)
    assert in_period(record("unreadable", "2025-06-03T10:00:00Z", True), since), "unreadable stays (error)"
    assert in_period(record("2025-06-01T10:00:00Z", None, True), since), "done without a time stays (error)"


def test_jira_selects_the_period_and_every_open_request(jira: JiraEmulator) -> None:
    old_open = jira.add_issue(summary="Inzage", labels=["avg-verzoek"], created=ago(60))
    old_done = jira.add_issue(summary="Inzage", labels=["avg-verzoek"], created=ago(60), resolved=ago(58))
    late_in_period = jira.add_issue(
        summary="Inzage", labels=["avg-verzoek"], created=ago(40), resolved=ago(20)
    )
    fresh = jira.add_issue(summary="Inzage", labels=["avg-verzoek"], created=ago(1))
    source = config(data_subject_requests=jira_section(jira, label="avg-verzoek", since=START))
    assert (
        f'(created >= "{START.isoformat()}" OR resolutiondate >= "{START.isoformat()}" OR statusCategory != Done)'
        in jql(
            source.data_subject_requests  # type: ignore[arg-type]
        )
    )
    store = collect(source)
    assert keys(store) == {old_open, late_in_period, fresh}
    assert old_done not in keys(store)
    assert verdicts(store)[old_open] == "fail", "60 days open: never hidden by the period's start"


def test_github_keeps_every_open_request_whatever_its_age(github: GitHubEmulator) -> None:
    old_open = github.add_issue(title="Inzage", body="", labels=["avg-verzoek"], created=ago(60))
    old_done = github.add_issue(
        title="Inzage", body="", labels=["avg-verzoek"], created=ago(60), closed=ago(58)
    )
    fresh = github.add_issue(title="Inzage", body="", labels=["avg-verzoek"], created=ago(1))
    store = collect(
        config(
            data_subject_requests={
                "tracker": "github",
                "url": github.url,
                "ca_bundle": str(github.ca_file),
                "repository": "lucrasoft/ops",
                "token_env": "GH_TOKEN",
                "timeout_seconds": 5.0,
                "label": "avg-verzoek",
                "since": START,
            }
        )
    )
    found = keys(store)
    assert {f"lucrasoft/ops#{old_open}", f"lucrasoft/ops#{fresh}"} <= found
    assert f"lucrasoft/ops#{old_done}" not in found
    assert verdicts(store)[f"lucrasoft/ops#{old_open}"] == "fail"


def test_azure_devops_keeps_every_open_request_whatever_its_age(ado: AzureDevOpsEmulator) -> None:
    def request(created: datetime) -> int:
        return ado.plant_work_item(
            title="Inzage", work_item_type="AVG-verzoek", tags=["avg-verzoek"], created=created
        )

    old_open, old_done, fresh = request(ago(60)), request(ago(60)), request(ago(1))
    close(ado, old_done, ago(58))
    store = collect(config(data_subject_requests=section(ado, work_item_type="AVG-verzoek", since=START)))
    assert keys(store) == {f"Ops#{old_open}", f"Ops#{fresh}"}
    assert verdicts(store)[f"Ops#{old_open}"] == "fail"
