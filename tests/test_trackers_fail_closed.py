"""Clauses 10 and 13 fail closed: what an incident's analysis, a request's resolution, a time and a page may not hide.

Each test names a way the tracker registers could have yielded `pass` (or a quiet
`not_applicable`) where the evidence does not show the measure: an incident nobody analysed, a
contradictory analysis, times later than the read, pages that overlap, loop or stop short, a
batch answering other work items. And what an auditor samples: how each request was closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collectors.config.policy import Policy
from collectors.facts import FactStore
from collectors.messages import english_text
from collectors.recording import Recording
from collectors.trackers.facts import (
    BREACH_POPULATION,
    CLOCK_SKEW,
    DSR_POPULATION,
    BreachIncident,
    DataSubjectRequest,
)
from collectors.trackers.records import kept_resolution, subjects
from controls import test_10_data_subject_requests as c10
from controls import test_13_breach_notification as c13
from controls.harness.config_file import ConfigError, load_config
from demo.standins.ticket_emulators.azure_devops import AzureDevOpsEmulator
from demo.standins.ticket_emulators.base import Fault
from demo.standins.ticket_emulators.github import GitHubEmulator
from demo.standins.ticket_emulators.jira import JiraEmulator
from tests.control_calls import verdict, verdict_and_evidence
from tests.test_trackers_read import collect, config, jira_section, verdicts

CANARY = "sanne.smit.canary@example.nl"
NOW = datetime.now(UTC)
POLICY = Policy()
LABELS = {"notify_label": "klant-informeren", "no_notify_label": "klant-niet-informeren"}
PAT = "ado-pat-fail-closed"


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[JiraEmulator]:
    monkeypatch.setenv("JIRA_USER", "auditor@example.com")
    monkeypatch.setenv("JIRA_TOKEN", "jira-token")
    with JiraEmulator(search_lag=0) as emulator:
        yield emulator


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubEmulator]:
    monkeypatch.setenv("GH_TOKEN", "gh-token")
    with GitHubEmulator() as emulator:
        yield emulator


def github_section(emulator: GitHubEmulator, **extra: Any) -> dict[str, Any]:
    return {
        "tracker": "github",
        "url": emulator.url,
        "ca_bundle": str(emulator.ca_file),
        "repository": "lucrasoft/ops",
        "token_env": "GH_TOKEN",
        "timeout_seconds": 5.0,
        **extra,
    }


def only_error(store: FactStore, population: str) -> str:
    """Return the English error of a population that holds exactly one subject, an error."""
    found = store.population(population).subjects
    assert len(found) == 1, [s.id for s in found]
    assert found[0].fact is None
    assert found[0].error is not None
    return english_text(found[0].error)


# -- the analysis of an incident ------------------------------------------------------------------


def incident(
    required: bool | None,
    *,
    detected: datetime,
    observed: datetime,
    notified: datetime | None = None,
) -> BreachIncident:
    return BreachIncident(
        key="SEC-7",
        detected=detected,
        detected_from="created",
        notification_required=required,
        notified=notified,
        notified_from="status Klant geïnformeerd",
        observed_at=observed,
        analysis_from="label klant-informeren / label klant-niet-informeren",
    )


def test_unanalysed_incident_within_the_notification_hours_is_pending_until_its_deadline() -> None:
    detected = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    for observed in (detected + timedelta(hours=3), detected + timedelta(hours=24)):
        result = verdict(
            c13.test_customers_are_notified_of_a_breach_in_time,
            incident(None, detected=detected, observed=observed),
            policy=POLICY,
        )
        assert result.status == "not_applicable"
        assert "pending until 2026-05-02T10:00:00+00:00" in result.message


def test_unanalysed_incident_after_the_notification_hours_fails() -> None:
    detected = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    result, evidence = verdict_and_evidence(
        c13.test_customers_are_notified_of_a_breach_in_time,
        incident(None, detected=detected, observed=detected + timedelta(hours=24, minutes=1)),
        policy=POLICY,
    )
    assert result.status == "fail"
    assert result.message == (
        "incident SEC-7 has no recorded analysis 24 hours after detection: whether customers had to be "
        "notified in time cannot be shown"
    )
    assert evidence.observations["notification_required"] is None
    assert evidence.observations["analysis_from"] == "label klant-informeren / label klant-niet-informeren"


def test_required_notification_not_yet_sent_within_the_hours_is_pending_not_a_fail() -> None:
    detected = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    result = verdict(
        c13.test_customers_are_notified_of_a_breach_in_time,
        incident(True, detected=detected, observed=detected + timedelta(hours=5)),
        policy=POLICY,
    )
    assert result.status == "not_applicable"
    assert "due by 2026-05-02T10:00:00+00:00" in result.message


def test_required_notification_not_sent_after_the_hours_fails() -> None:
    detected = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    result = verdict(
        c13.test_customers_are_notified_of_a_breach_in_time,
        incident(True, detected=detected, observed=detected + timedelta(hours=24, minutes=1)),
        policy=POLICY,
    )
    assert result.status == "fail"
    assert "records none" in result.message


def test_unanalysed_incident_with_a_later_notification_still_fails() -> None:
    detected = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    fact = incident(
        None, detected=detected, observed=detected + timedelta(days=3), notified=detected + timedelta(hours=1)
    )
    assert verdict(c13.test_customers_are_notified_of_a_breach_in_time, fact, policy=POLICY).status == "fail"


def test_incident_detected_after_the_read_is_an_error() -> None:
    observed = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    for required in (True, None):
        fact = incident(
            required,
            detected=observed + CLOCK_SKEW + timedelta(seconds=1),
            observed=observed,
            notified=observed + CLOCK_SKEW + timedelta(seconds=2),
        )
        result = verdict(c13.test_customers_are_notified_of_a_breach_in_time, fact, policy=POLICY)
        assert result.status == "error"
        assert "later than the tracker's answer" in result.message


def test_notification_after_the_read_is_an_error() -> None:
    observed = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    fact = incident(
        True,
        detected=observed - timedelta(hours=2),
        observed=observed,
        notified=observed + timedelta(hours=1),
    )
    result = verdict(c13.test_customers_are_notified_of_a_breach_in_time, fact, policy=POLICY)
    assert result.status == "error"
    assert "records its notification at" in result.message


def test_times_within_the_clock_skew_of_the_read_are_judged() -> None:
    observed = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    fact = incident(
        True,
        detected=observed - timedelta(hours=1),
        observed=observed,
        notified=observed + timedelta(minutes=1),
    )
    assert verdict(c13.test_customers_are_notified_of_a_breach_in_time, fact, policy=POLICY).status == "pass"


def breach_settings(jira: JiraEmulator, **extra: Any) -> dict[str, Any]:
    return jira_section(jira, issue_type="Incident", notified_status="Klant geïnformeerd", **extra)


def test_incident_without_either_label_is_not_read_as_needing_no_notification(jira: JiraEmulator) -> None:
    old = jira.add_issue(summary="a", issue_type="Incident", labels=[], created=NOW - timedelta(days=2))
    fresh = jira.add_issue(summary="b", issue_type="Incident", labels=[], created=NOW - timedelta(hours=2))
    answered = jira.add_issue(
        summary="c", issue_type="Incident", labels=["klant-niet-informeren"], created=NOW - timedelta(days=2)
    )
    store = collect(config(breach_notifications=breach_settings(jira, **LABELS)))
    assert verdicts(store) == {old: "fail", fresh: "not_applicable", answered: "not_applicable"}


def test_incident_carrying_both_labels_is_an_error(jira: JiraEmulator) -> None:
    both = jira.add_issue(
        summary="a",
        issue_type="Incident",
        labels=["klant-informeren", "klant-niet-informeren"],
        created=NOW - timedelta(days=2),
    )
    store = collect(config(breach_notifications=breach_settings(jira, **LABELS)))
    assert verdicts(store) == {both: "error"}
    (subject,) = store.population(BREACH_POPULATION).subjects
    assert subject.error is not None
    assert "the analysis contradicts itself" in english_text(subject.error)


def test_field_holding_values_of_both_lists_is_an_error(jira: JiraEmulator) -> None:
    both = jira.add_issue(
        summary="a",
        issue_type="Incident",
        created=NOW - timedelta(days=2),
        fields={"customfield_1": [{"value": "Ja"}, {"value": "Nee"}]},
    )
    store = collect(
        config(
            breach_notifications=jira_section(
                jira,
                issue_type="Incident",
                notify_field="customfield_1",
                notify_values=["Ja"],
                no_notify_values=["Nee"],
                notified_status="Klant geïnformeerd",
            )
        )
    )
    assert verdicts(store) == {both: "error"}


def test_recording_without_the_analysis_reads_an_absent_label_as_not_analysed() -> None:
    """A recording made before the analysis was kept says `notify: false` for "no label": never an outcome."""
    cfg = config(
        breach_notifications={
            "tracker": "jira",
            "url": "https://jira.example",
            "project": "SEC",
            "token_env": "T",
            "user_env": "U",
            "issue_type": "Incident",
            "notified_status": "Klant geïnformeerd",
            **LABELS,
        }
    )
    settings = cfg.breach_notifications
    assert settings is not None
    created = (NOW - timedelta(days=3)).isoformat()
    source = {"call": "POST jira/search", "sha256": "0" * 64, "collected_at": NOW.isoformat()}
    records: list[dict[str, Any]] = [
        {"key": "SEC-1", "created": created, "notify": False, "events": [], "sources": [source]},
        {"key": "SEC-2", "created": created, "notify": True, "events": [], "sources": [source]},
        {"key": "SEC-3", "created": created, "analysis": "maybe", "events": [], "sources": [source]},
    ]
    facts = {s.id: s for s in subjects(records, settings, NOW)}
    first = facts["SEC-1"].fact
    assert isinstance(first, BreachIncident)
    assert first.notification_required is None
    second = facts["SEC-2"].fact
    assert isinstance(second, BreachIncident)
    assert second.notification_required is True
    assert facts["SEC-3"].fact is None
    assert facts["SEC-3"].error is not None
    assert "the recorded analysis" in english_text(facts["SEC-3"].error)


# -- the configuration ----------------------------------------------------------------------------

BREACH_TOML = """[breach_notifications]
tracker = "{tracker}"
url = "https://tracker.example"
token_env = "T"
{where}
notified_label = "klant-geinformeerd"
{analysis}
"""


@pytest.mark.parametrize(
    ("tracker", "where", "analysis", "named"),
    [
        (
            "jira",
            'project = "SEC"\nuser_env = "U"\nissue_type = "Incident"',
            'notify_label = "klant-informeren"',
            "breach_notifications.no_notify_label: required with notify_label",
        ),
        (
            "github",
            'repository = "o/r"\nlabel = "incident"',
            'notify_label = "klant-informeren"',
            "breach_notifications.no_notify_label: required with notify_label",
        ),
        (
            "github",
            'repository = "o/r"\nlabel = "incident"',
            'notify_label = "x"\nno_notify_label = "x"',
            "breach_notifications.no_notify_label: must differ from notify_label",
        ),
        (
            "github",
            'repository = "o/r"\nlabel = "incident"',
            'notify_label = "x"\nno_notify_label = "incident"',
            "breach_notifications.no_notify_label: must differ from label",
        ),
        (
            "github",
            'repository = "o/r"\nlabel = "incident"',
            'notify_label = "x"\nno_notify_label = "klant-geinformeerd"',
            "breach_notifications.no_notify_label: must differ from notified_label",
        ),
        (
            "jira",
            'project = "SEC"\nuser_env = "U"\nissue_type = "Incident"',
            'notify_field = "customfield_1"\nno_notify_label = "n"\nnotify_values = ["Ja"]\nno_notify_values = ["Nee"]',
            "breach_notifications.no_notify_label: only with notify_label",
        ),
        (
            "jira",
            'project = "SEC"\nuser_env = "U"\nissue_type = "Incident"',
            'notify_field = "customfield_1"\nnotify_values = ["Ja"]',
            "breach_notifications.no_notify_values: required with notify_field",
        ),
        (
            "jira",
            'project = "SEC"\nuser_env = "U"\nissue_type = "Incident"',
            'notify_field = "customfield_1"\nnotify_values = ["Ja"]\nno_notify_values = ["JA"]',
            "breach_notifications.no_notify_values: ja is also in notify_values",
        ),
        (
            "jira",
            'project = "SEC"\nuser_env = "U"\nissue_type = "Incident"',
            'notify_label = "x"\nno_notify_label = "y"\nno_notify_values = ["Nee"]',
            "breach_notifications.no_notify_values: only with notify_field",
        ),
    ],
)
def test_an_analysis_that_cannot_tell_not_needed_from_not_analysed_is_refused_naming_file_and_key(
    tmp_path: Path, tracker: str, where: str, analysis: str, named: str
) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(BREACH_TOML.format(tracker=tracker, where=where, analysis=analysis), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"{path.resolve()}: {named}"), text


# -- data-subject requests ------------------------------------------------------------------------


def dsr(created: datetime, resolved: datetime | None, observed: datetime) -> DataSubjectRequest:
    return DataSubjectRequest("SEC-1", created, resolved, observed, resolution="Done" if resolved else None)


def test_request_created_after_the_read_is_an_error() -> None:
    observed = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    fact = dsr(observed + timedelta(days=30), None, observed)
    result = verdict(c10.test_data_subject_request_is_resolved_within_working_days, fact, policy=POLICY)
    assert result.status == "error"
    assert "was created at" in result.message


def test_request_resolved_after_the_read_is_an_error() -> None:
    observed = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    fact = dsr(observed - timedelta(days=1), observed + timedelta(hours=1), observed)
    result = verdict(c10.test_data_subject_request_is_resolved_within_working_days, fact, policy=POLICY)
    assert result.status == "error"
    assert "was resolved at" in result.message


def test_reopened_request_with_an_old_resolution_time_is_judged_open() -> None:
    source = {"call": "POST jira/search", "sha256": "0" * 64, "collected_at": NOW.isoformat()}
    record = {
        "key": "SEC-1",
        "created": (NOW - timedelta(days=30)).isoformat(),
        "resolved": (NOW - timedelta(days=29)).isoformat(),
        "done": False,
        "resolution": "Done",
        "events": [],
        "sources": [source],
    }
    cfg = config(data_subject_requests={**jira_source(), "label": "avg-verzoek"})
    assert cfg.data_subject_requests is not None
    (subject,) = subjects([record], cfg.data_subject_requests, NOW - timedelta(minutes=1))
    fact = subject.fact
    assert isinstance(fact, DataSubjectRequest)
    assert fact.resolved is None
    assert fact.resolution is None
    assert fact.observed_at == NOW  # the tracker's answer, not the start of the read
    result = verdict(c10.test_data_subject_request_is_resolved_within_working_days, fact, policy=POLICY)
    assert result.status == "fail"
    assert "still open" in result.message


def jira_source() -> dict[str, Any]:
    return {
        "tracker": "jira",
        "url": "https://jira.example",
        "project": "SEC",
        "token_env": "T",
        "user_env": "U",
    }


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (None, None),
        ("", None),
        ("Done", "Done"),
        ("Won't Do", "Won't Do"),
        ("not_planned", "not_planned"),
        ("Removed from the backlog", "Removed from the backlog"),
        ("A" * 40, "A" * 40),
        ("A" * 41, "other"),
        (f"Geweigerd {CANARY}", "other"),
        ("Opgelost op 3-5", "other"),
        ("Afgewezen\nzie mail", "other"),
        ("Niet opgelöst", "other"),
        (" Done", "other"),
        (42, "other"),
        ({"name": "Done"}, "other"),
    ],
)
def test_a_resolution_is_kept_only_as_a_short_workflow_word(value: object, kept: str | None) -> None:
    assert kept_resolution(value) == kept


def test_requests_closed_as_not_planned_or_duplicate_count_as_handled_and_show_their_resolution(
    jira: JiraEmulator, github: GitHubEmulator
) -> None:
    created = NOW - timedelta(days=20)
    done = jira.add_issue(
        summary="a", labels=["avg-verzoek"], created=created, resolved=created + timedelta(hours=3)
    )
    wont = jira.add_issue(
        summary="b",
        labels=["avg-verzoek"],
        created=created,
        resolved=created + timedelta(hours=3),
        resolution="Won't Do",
    )
    typed = jira.add_issue(
        summary="c",
        labels=["avg-verzoek"],
        created=created,
        resolved=created + timedelta(hours=3),
        resolution=f"Geweigerd, zie {CANARY}",
    )
    not_planned = github.add_issue(
        title="AVG",
        body="",
        labels=["avg-verzoek"],
        created=created,
        closed=created + timedelta(hours=1),
        state_reason="not_planned",
    )
    duplicate = github.add_issue(
        title="AVG",
        body="",
        labels=["avg-verzoek"],
        created=created,
        closed=created + timedelta(hours=1),
        state_reason="duplicate",
    )
    unknown = github.add_issue(
        title="AVG",
        body="",
        labels=["avg-verzoek"],
        created=created,
        closed=created + timedelta(hours=1),
        state_reason=None,
    )
    shown: dict[str, tuple[str, object]] = {}
    for section in (jira_section(jira, label="avg-verzoek"), github_section(github, label="avg-verzoek")):
        recording = Recording(endpoint="", run_date="2026-01-01")
        store = collect(config(data_subject_requests=section), recording=recording)
        assert CANARY not in json.dumps(recording.trackers)
        for subject in store.population(DSR_POPULATION).subjects:
            result, evidence = verdict_and_evidence(
                c10.test_data_subject_request_is_resolved_within_working_days, subject.fact, policy=POLICY
            )
            shown[subject.id] = (result.status, evidence.observations["resolution"])
    assert shown == {
        done: ("pass", "Done"),
        wont: ("pass", "Won't Do"),
        typed: ("pass", "other"),
        f"lucrasoft/ops#{not_planned}": ("pass", "not_planned"),
        f"lucrasoft/ops#{duplicate}": ("pass", "duplicate"),
        f"lucrasoft/ops#{unknown}": ("pass", None),
    }
    searches = [r.json() for r in jira.requests if r.path == "/rest/api/3/search/jql"]
    assert all("resolution" in body["fields"] for body in searches)


def test_azure_devops_request_keeps_the_reason_of_its_done_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADO_PAT", PAT)
    process = {"AVG-verzoek": (("Nieuw", "Proposed"), ("Gesloten", "Completed"), ("Vervallen", "Removed"))}
    with AzureDevOpsEmulator(pat=PAT, process=process) as ado:
        created = NOW - timedelta(days=10)
        ids = {
            reason: ado.plant_work_item(
                title=CANARY, work_item_type="AVG-verzoek", tags=["avg-verzoek"], created=created
            )
            for reason in ("Completed", "Duplicate", "Removed from the backlog")
        }
        for reason, item in ids.items():
            state = "Vervallen" if reason.startswith("Removed") else "Gesloten"
            ado.plant_update(
                item,
                created + timedelta(hours=2),
                {
                    "System.State": state,
                    "System.Reason": reason,
                    "Microsoft.VSTS.Common.ClosedDate": (created + timedelta(hours=2)).isoformat(),
                },
            )
        open_item = ado.plant_work_item(
            title="x", work_item_type="AVG-verzoek", tags=["avg-verzoek"], created=NOW - timedelta(hours=1)
        )
        store = collect(
            config(
                data_subject_requests={
                    "tracker": "azure-devops",
                    "url": ado.base_url,
                    "ca_bundle": str(ado.ca_file),
                    "project": "Ops",
                    "token_env": "ADO_PAT",
                    "tag": "avg-verzoek",
                    "timeout_seconds": 5.0,
                }
            )
        )
    kept = {
        s.id: s.fact.resolution
        for s in store.population(DSR_POPULATION).subjects
        if isinstance(s.fact, DataSubjectRequest)
    }
    assert kept == {
        **{f"Ops#{item}": reason for reason, item in ids.items()},
        f"Ops#{open_item}": None,
    }


# -- pages ----------------------------------------------------------------------------------------


def seed(jira: JiraEmulator, count: int) -> list[str]:
    return [
        jira.add_issue(
            summary=f"{index}", labels=["avg-verzoek"], created=NOW - timedelta(days=3), resolved=NOW
        )
        for index in range(count)
    ]


def test_jira_pages_that_overlap_make_the_register_one_error(jira: JiraEmulator) -> None:
    seed(jira, 5)
    jira.page_overlap = 1
    store = collect(config(data_subject_requests=jira_section(jira, label="avg-verzoek")))
    assert "more than once, so other tickets may be missing" in only_error(store, DSR_POPULATION)


def test_github_pages_that_overlap_make_the_register_one_error(github: GitHubEmulator) -> None:
    for _ in range(5):
        github.add_issue(title="AVG", body="", labels=["avg-verzoek"], created=NOW - timedelta(days=1))
    github.page_overlap = 1
    store = collect(config(data_subject_requests=github_section(github, label="avg-verzoek")))
    assert "more than once" in only_error(store, DSR_POPULATION)


def search_fault(body: dict[str, Any], times: int | None = 1) -> Fault:
    return Fault(status=200, path=r"^/rest/api/3/search/jql$", method="POST", body=body, times=times)


def issue_json(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "fields": {
            "created": "2026-05-01T10:00:00.000+0000",
            "resolutiondate": "2026-05-01T12:00:00.000+0000",
            "resolution": {"name": "Done"},
            "status": {"statusCategory": {"key": "done"}},
            "labels": ["avg-verzoek"],
        },
    }


def test_jira_search_counting_more_issues_than_its_pages_held_makes_the_register_unreadable(
    jira: JiraEmulator,
) -> None:
    jira.add_fault(search_fault({"issues": [issue_json("SEC-1")], "isLast": True, "total": 3}))
    store = collect(config(data_subject_requests=jira_section(jira, label="avg-verzoek")))
    assert "counts more issues (3) than its pages held (1)" in only_error(store, DSR_POPULATION)


def test_jira_page_saying_more_follow_without_a_token_makes_the_register_unreadable(
    jira: JiraEmulator,
) -> None:
    jira.add_fault(search_fault({"issues": [issue_json("SEC-1")], "isLast": False}))
    store = collect(config(data_subject_requests=jira_section(jira, label="avg-verzoek")))
    assert "says more pages follow but gives no nextPageToken" in only_error(store, DSR_POPULATION)


def test_jira_page_token_that_comes_back_makes_the_register_unreadable(jira: JiraEmulator) -> None:
    jira.add_fault(
        search_fault({"issues": [issue_json("SEC-1")], "isLast": False, "nextPageToken": "t1"}, times=None)
    )
    store = collect(config(data_subject_requests=jira_section(jira, label="avg-verzoek")))
    assert "nextPageToken it had answered before" in only_error(store, DSR_POPULATION)


def test_jira_changelog_that_stops_short_makes_the_register_unreadable(jira: JiraEmulator) -> None:
    """With the notified label on the issue and its addition on an unread page, the label would seem
    to be there from the creation: a notification at 0 hours, a false pass."""
    detected = NOW - timedelta(days=5)
    key = jira.add_issue(
        summary="x",
        issue_type="Incident",
        labels=["klant-informeren", "klant-geinformeerd"],
        created=detected,
    )
    cfg = config(
        breach_notifications=jira_section(
            jira, issue_type="Incident", notified_label="klant-geinformeerd", **LABELS
        )
    )
    assert verdicts(collect(cfg)) == {key: "pass"}  # the label was there at creation: no change recorded
    for body, said in (
        ({"values": [], "isLast": True, "total": 3}, "counts more changes (3) than its pages held (0)"),
        ({"values": [], "total": 3}, "says more changes follow but answered none"),
        ({"values": []}, "says neither isLast nor total"),
        ({"values": [], "isLast": False}, "says more changes follow but answered none"),
    ):
        jira.clear_faults()
        jira.add_fault(Fault(status=200, path=r"/changelog$", method="GET", body=body, times=None))
        assert said in only_error(collect(cfg), BREACH_POPULATION)


def list_fault(emulator: GitHubEmulator, link: str) -> Fault:
    return Fault(
        status=200,
        path=r"^/repos/lucrasoft/ops/issues$",
        method="GET",
        body=[],
        headers={"Link": f'<{link}>; rel="next"'},
        times=None,
    )


def test_github_link_header_that_loops_makes_the_register_unreadable(github: GitHubEmulator) -> None:
    github.add_fault(list_fault(github, f"{github.url}/repos/lucrasoft/ops/issues?page=2"))
    store = collect(config(data_subject_requests=github_section(github, label="avg-verzoek")))
    assert "links to a page it had answered before" in only_error(store, DSR_POPULATION)
    assert len([r for r in github.requests if r.path.endswith("/issues")]) == 2


def test_github_next_link_to_another_host_is_not_followed(github: GitHubEmulator) -> None:
    github.add_fault(list_fault(github, "https://collector.example/repos/lucrasoft/ops/issues?page=2"))
    store = collect(config(data_subject_requests=github_section(github, label="avg-verzoek")))
    assert "links its next page outside" in only_error(store, DSR_POPULATION)


def test_azure_devops_batch_answering_other_work_items_makes_the_register_unreadable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADO_PAT", PAT)
    with AzureDevOpsEmulator(pat=PAT, process={"AVG-verzoek": (("Nieuw", "Proposed"),)}) as ado:
        ado.plant_work_item(title="a", work_item_type="AVG-verzoek", tags=["avg-verzoek"], created=NOW)
        ado.add_fault(
            Fault(
                status=200,
                path=r"/workitemsbatch$",
                method="POST",
                body={"count": 1, "value": [{"id": 99999, "fields": {"System.Tags": "avg-verzoek"}}]},
            )
        )
        store = collect(
            config(
                data_subject_requests={
                    "tracker": "azure-devops",
                    "url": ado.base_url,
                    "ca_bundle": str(ado.ca_file),
                    "project": "Ops",
                    "token_env": "ADO_PAT",
                    "tag": "avg-verzoek",
                    "timeout_seconds": 5.0,
                }
            )
        )
    assert "answered other work items than the ids asked" in only_error(store, DSR_POPULATION)
