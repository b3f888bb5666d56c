"""The tracker collector against the Jira and GitHub emulators: requests, incidents, paging, record/replay, privacy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collectors.config.estate import EstateConfig
from collectors.config.policy import Policy
from collectors.facts import FactStore
from collectors.messages import english_text
from collectors.recording import Recording
from collectors.trackers.collect import collect_trackers
from collectors.trackers.facts import BREACH_POPULATION, DSR_POPULATION
from controls import test_10_data_subject_requests as c10
from controls import test_13_breach_notification as c13
from demo.standins.ticket_emulators.github import GitHubEmulator
from demo.standins.ticket_emulators.jira import JiraEmulator
from tests.control_calls import verdict

CANARY = "jan.jansen.canary@example.nl"
NOW = datetime.now(UTC)


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


def jira_section(emulator: JiraEmulator, **extra: Any) -> dict[str, Any]:
    return {
        "tracker": "jira",
        "url": emulator.url,
        "ca_bundle": str(emulator.ca_file),
        "project": "SEC",
        "token_env": "JIRA_TOKEN",
        "user_env": "JIRA_USER",
        "timeout_seconds": 5.0,
        **extra,
    }


def config(**sections: Any) -> EstateConfig:
    return EstateConfig.model_validate({"path": Path("/tmp/audit.toml"), "sha256": "0" * 64, **sections})


def collect(cfg: EstateConfig, **kwargs: Any) -> FactStore:
    store = FactStore()
    collect_trackers(cfg, store, **kwargs)
    return store


def verdicts(store: FactStore) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, control in (
        (DSR_POPULATION, c10.test_data_subject_request_is_resolved_within_working_days),
        (BREACH_POPULATION, c13.test_customers_are_notified_of_a_breach_in_time),
    ):
        population = store.get(name)
        if population is None or population.out_of_scope is not None:
            continue
        for subject in population.subjects:
            out[subject.id] = (
                "error"
                if subject.fact is None
                else verdict(control, subject.fact, policy=cfg_policy()).status
            )
    return out


def cfg_policy() -> Policy:
    return Policy()


def seed_requests(jira: JiraEmulator) -> dict[str, str]:
    def ago(days: int) -> datetime:
        return NOW - timedelta(days=days)

    keys = {
        "in_time": jira.add_issue(
            summary=f"Inzageverzoek van {CANARY}",
            description=f"Stuur alles naar {CANARY}",
            labels=["avg-verzoek"],
            created=ago(40),
            resolved=ago(39),
        ),
        "late": jira.add_issue(
            summary="Verwijderverzoek",
            labels=["avg-verzoek"],
            created=ago(40),
            resolved=ago(20),
        ),
        "open_old": jira.add_issue(summary="Correctie", labels=["avg-verzoek"], created=ago(30)),
        "open_fresh": jira.add_issue(summary="Correctie", labels=["avg-verzoek"], created=ago(0)),
        "unreadable": jira.add_issue(
            summary="Inzage",
            labels=["avg-verzoek"],
            created=ago(3),
            fields={"created": f"ergens {CANARY}"},
        ),
    }
    jira.add_issue(summary="not a request", labels=["other"], created=ago(3))
    return keys


def test_jira_requests_are_judged_per_ticket_key(jira: JiraEmulator) -> None:
    keys = seed_requests(jira)
    store = collect(config(data_subject_requests=jira_section(jira, label="avg-verzoek")))
    result = verdicts(store)
    assert result == {
        keys["in_time"]: "pass",
        keys["late"]: "fail",
        keys["open_old"]: "fail",
        keys["open_fresh"]: "pass",
        keys["unreadable"]: "error",
    }
    assert store.population(BREACH_POPULATION).out_of_scope is not None


def test_jira_search_asks_for_no_text_fields_and_pages_with_next_page_token(jira: JiraEmulator) -> None:
    seed_requests(jira)
    collect(config(data_subject_requests=jira_section(jira, label="avg-verzoek", issue_type="Task")))
    searches = [r.json() for r in jira.requests if r.path == "/rest/api/3/search/jql"]
    assert len(searches) == 3  # five hits, two per page
    for body in searches:
        assert not {"summary", "description", "comment"} & set(body["fields"])
        assert (
            body["jql"]
            == 'project = "SEC" AND labels = "avg-verzoek" AND issuetype = "Task" ORDER BY created DESC'
        )


def test_recording_keeps_no_ticket_text_and_replays_to_the_same_verdicts(
    jira: JiraEmulator, tmp_path: Path
) -> None:
    seed_requests(jira)
    key = jira.add_issue(
        summary=f"Datalek bij {CANARY}",
        labels=["incident", "klant-informeren"],
        created=NOW - timedelta(days=2),
    )
    jira.add_history(
        key,
        NOW - timedelta(days=1),
        [
            {
                "field": "labels",
                "fieldtype": "jira",
                "fieldId": "labels",
                "from": None,
                "fromString": "incident klant-informeren",
                "to": None,
                "toString": "incident klant-informeren klant-geinformeerd",
            }
        ],
        author_email=CANARY,
    )
    cfg = config(
        data_subject_requests=jira_section(jira, label="avg-verzoek"),
        breach_notifications=jira_section(
            jira,
            label="incident",
            notify_label="klant-informeren",
            no_notify_label="klant-niet-informeren",
            notified_label="klant-geinformeerd",
        ),
    )
    recording = Recording(endpoint="", run_date="2026-01-01")
    live = collect(cfg, recording=recording)
    path = tmp_path / "recording.json"
    recording.save(path)
    text = path.read_text(encoding="utf-8")
    assert CANARY not in text
    assert "jan.jansen" not in text
    replayed = collect(cfg, replay=Recording.load(path))
    assert verdicts(replayed) == verdicts(live)
    assert verdicts(live)[key] == "pass"


def incident_config(jira: JiraEmulator, **extra: Any) -> EstateConfig:
    return config(breach_notifications=jira_section(jira, issue_type="Incident", **extra))


def test_jira_notification_time_from_a_status_transition(jira: JiraEmulator) -> None:
    detected = NOW - timedelta(days=5)
    on_time = jira.add_issue(
        summary="x", issue_type="Incident", labels=["klant-informeren"], created=detected
    )
    late = jira.add_issue(summary="y", issue_type="Incident", labels=["klant-informeren"], created=detected)
    never = jira.add_issue(summary="z", issue_type="Incident", labels=["klant-informeren"], created=detected)
    not_needed = jira.add_issue(
        summary="w", issue_type="Incident", labels=["klant-niet-informeren"], created=detected
    )
    unanalysed = jira.add_issue(summary="v", issue_type="Incident", labels=[], created=detected)
    for key, hours in ((on_time, 23), (late, 30)):
        for index in range(3):  # changelog paging: other changes first
            jira.add_history(
                key,
                detected + timedelta(hours=index),
                [{"field": "priority", "fieldId": "priority", "fromString": "Low", "toString": "High"}],
                author_email=CANARY,
            )
        jira.add_history(
            key,
            detected + timedelta(hours=hours),
            [
                {
                    "field": "status",
                    "fieldId": "status",
                    "fromString": "In Progress",
                    "toString": "Klant geïnformeerd",
                }
            ],
            author_email=CANARY,
        )
    store = collect(
        incident_config(
            jira,
            notify_label="klant-informeren",
            no_notify_label="klant-niet-informeren",
            notified_status="Klant geïnformeerd",
        )
    )
    assert verdicts(store) == {
        on_time: "pass",
        late: "fail",
        never: "fail",
        not_needed: "not_applicable",
        unanalysed: "fail",
    }


def test_jira_fields_for_detection_analysis_and_notification(jira: JiraEmulator) -> None:
    created = NOW - timedelta(days=5)

    def jt(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    ok = jira.add_issue(
        summary="a",
        issue_type="Incident",
        created=created,
        fields={
            "customfield_1": {"value": "Ja"},
            "customfield_2": jt(created + timedelta(hours=40)),
            "customfield_3": jt(created + timedelta(hours=20)),
        },
    )
    unanalysed = jira.add_issue(
        summary="b",
        issue_type="Incident",
        created=created,
        fields={"customfield_1": None, "customfield_3": jt(created)},
    )
    undetected = jira.add_issue(
        summary="f", issue_type="Incident", created=created, fields={"customfield_1": None}
    )
    no = jira.add_issue(
        summary="c", issue_type="Incident", created=created, fields={"customfield_1": {"value": "Nee"}}
    )
    unrecognised = jira.add_issue(
        summary="e",
        issue_type="Incident",
        created=created,
        fields={"customfield_1": {"value": "Misschien"}, "customfield_3": jt(created)},
    )
    bad_time = jira.add_issue(
        summary="d",
        issue_type="Incident",
        created=created,
        fields={"customfield_1": {"value": "ja"}, "customfield_2": "morgen", "customfield_3": jt(created)},
    )
    store = collect(
        incident_config(
            jira,
            notify_field="customfield_1",
            notify_values=["Ja"],
            no_notify_values=["Nee"],
            notified_field="customfield_2",
            detected_field="customfield_3",
        )
    )
    assert verdicts(store) == {
        ok: "pass",
        unanalysed: "fail",  # an empty analysis field five days after detection
        no: "not_applicable",
        unrecognised: "fail",  # a value in neither list is no analysis
        undetected: "error",  # no analysis and no detection time: no deadline to judge it by
        bad_time: "error",
    }


def test_unreadable_register_is_one_error_item(jira: JiraEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_TOKEN", "wrong")
    store = collect(config(data_subject_requests=jira_section(jira, label="avg-verzoek")))
    subjects = store.population(DSR_POPULATION).subjects
    assert len(subjects) == 1
    assert subjects[0].fact is None
    assert subjects[0].error is not None
    assert "HTTP 401" in english_text(subjects[0].error)


def test_github_requests_and_label_notifications(github: GitHubEmulator) -> None:
    base = NOW - timedelta(days=20)
    done = github.add_issue(
        title=f"AVG {CANARY}",
        body=CANARY,
        labels=["avg-verzoek"],
        created=base,
        closed=base + timedelta(hours=2),
    )
    still_open = github.add_issue(title="AVG", body="", labels=["avg-verzoek"], created=base)
    github.add_pull_request(["avg-verzoek"])
    incident = github.add_issue(
        title=f"Datalek {CANARY}",
        body=CANARY,
        labels=["incident", "klant-informeren"],
        created=base,
        actor=CANARY,
    )
    github.add_label_event(incident, "klant-geinformeerd", base + timedelta(hours=5), actor=CANARY)
    quiet = github.add_issue(
        title="Datalek", body="", labels=["incident", "klant-niet-informeren"], created=base
    )
    unanalysed = github.add_issue(title="Datalek", body="", labels=["incident"], created=base)
    section = {
        "tracker": "github",
        "url": github.url,
        "ca_bundle": str(github.ca_file),
        "repository": "lucrasoft/ops",
        "token_env": "GH_TOKEN",
        "timeout_seconds": 5.0,
    }
    cfg = config(
        data_subject_requests={**section, "label": "avg-verzoek"},
        breach_notifications={
            **section,
            "label": "incident",
            "notify_label": "klant-informeren",
            "no_notify_label": "klant-niet-informeren",
            "notified_label": "klant-geinformeerd",
        },
    )
    recording = Recording(endpoint="", run_date="2026-01-01")
    store = collect(cfg, recording=recording)
    assert verdicts(store) == {
        f"lucrasoft/ops#{done}": "pass",
        f"lucrasoft/ops#{still_open}": "fail",
        f"lucrasoft/ops#{incident}": "pass",
        f"lucrasoft/ops#{quiet}": "not_applicable",
        f"lucrasoft/ops#{unanalysed}": "fail",
    }
    assert CANARY not in json.dumps(recording.trackers)
