"""The tracker collector against the Azure DevOps emulator: both registers, batches, updates, config, privacy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from collectors.messages import english_text
from collectors.recording import Recording
from collectors.trackers import azure_devops
from collectors.trackers.facts import BREACH_POPULATION, DSR_POPULATION
from demo.standins.ticket_emulators.azure_devops import AzureDevOpsEmulator, ado_time
from tests.audit_runs import run_audit
from tests.test_trackers_read import collect, config, verdicts

CANARY = "pieter.pietersen.canary@example.nl"
NOW = datetime.now(UTC)
PAT = "ado-pat-canary-7d1e"
CLOSED = "Microsoft.VSTS.Common.ClosedDate"
RESOLVED = "Microsoft.VSTS.Common.ResolvedDate"
PROCESS = {
    "AVG-verzoek": (
        ("Nieuw", "Proposed"),
        ("In behandeling", "InProgress"),
        ("Opgelost", "Resolved"),
        ("Afgehandeld", "Completed"),
    ),
    "Incident": (
        ("Nieuw", "Proposed"),
        ("Klant geïnformeerd", "InProgress"),
        ("Gesloten", "Completed"),
    ),
}


@pytest.fixture
def ado(monkeypatch: pytest.MonkeyPatch) -> Iterator[AzureDevOpsEmulator]:
    monkeypatch.setenv("ADO_PAT", PAT)
    with AzureDevOpsEmulator(pat=PAT, process=PROCESS) as emulator:
        yield emulator


def section(emulator: AzureDevOpsEmulator, **extra: Any) -> dict[str, Any]:
    return {
        "tracker": "azure-devops",
        "url": emulator.base_url,
        "ca_bundle": str(emulator.ca_file),
        "project": "Ops",
        "token_env": "ADO_PAT",
        "timeout_seconds": 5.0,
        **extra,
    }


def key(item_id: int) -> str:
    return f"Ops#{item_id}"


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def close(
    ado: AzureDevOpsEmulator,
    item_id: int,
    at: datetime,
    state: str = "Afgehandeld",
    reason: str = "Completed",
) -> None:
    ado.plant_update(
        item_id,
        at,
        {"System.State": state, "System.Reason": reason, CLOSED: ado_time(at)},
        author_email=CANARY,
    )


def seed_requests(ado: AzureDevOpsEmulator) -> dict[str, int]:
    def request(created: datetime, **extra: Any) -> int:
        return ado.plant_work_item(
            title=f"Inzageverzoek van {CANARY}",
            description=f"Stuur alles naar {CANARY}",
            work_item_type="AVG-verzoek",
            tags=["avg-verzoek"],
            created=created,
            author_email=CANARY,
            **extra,
        )

    ids = {name: request(ago(40)) for name in ("in_time", "late", "closed_no_date", "resolved_only")}
    close(ado, ids["in_time"], ago(39))
    close(ado, ids["late"], ago(20))
    ado.plant_update(ids["closed_no_date"], ago(39), {"System.State": "Afgehandeld"})
    ado.plant_update(ids["resolved_only"], ago(39), {"System.State": "Opgelost", RESOLVED: ado_time(ago(39))})
    ids["open_old"] = request(ago(30))
    ids["open_fresh"] = request(ago(0))
    ids["unreadable"] = request(ago(3), fields={"System.CreatedDate": f"ergens {CANARY}"})
    ado.plant_work_item(title="other", work_item_type="AVG-verzoek", tags=["avg-verzoek-oud"], created=ago(3))
    ado.plant_work_item(
        title="other project",
        work_item_type="AVG-verzoek",
        tags=["avg-verzoek"],
        created=ago(3),
        project="Sales",
    )
    return ids


def test_requests_are_judged_per_work_item(ado: AzureDevOpsEmulator) -> None:
    ids = seed_requests(ado)
    store = collect(config(data_subject_requests=section(ado, tag="avg-verzoek")))
    assert verdicts(store) == {
        key(ids["in_time"]): "pass",
        key(ids["late"]): "fail",
        key(ids["closed_no_date"]): "error",
        key(ids["resolved_only"]): "pass",
        key(ids["open_old"]): "fail",
        key(ids["open_fresh"]): "pass",
        key(ids["unreadable"]): "error",
    }
    errors = {s.id: english_text(s.error) for s in store.population(DSR_POPULATION).subjects if s.error}
    assert "resolution time cannot be read" in errors[key(ids["closed_no_date"])]
    assert store.population(BREACH_POPULATION).out_of_scope is not None


def test_wiql_selects_ids_and_the_batch_asks_no_text_fields_200_at_a_time(ado: AzureDevOpsEmulator) -> None:
    for _ in range(201):
        ado.plant_work_item(title=CANARY, work_item_type="AVG-verzoek", tags=["x"], created=ago(1))
    store = collect(
        config(data_subject_requests=section(ado, work_item_type="AVG-verzoek", since=date(2020, 1, 1)))
    )
    assert len(store.population(DSR_POPULATION).subjects) == 201
    wiql = [r for r in ado.requests if r.path.endswith("/wiql")]
    assert len(wiql) == 1
    assert wiql[0].path == "/org/Ops/_apis/wit/wiql"
    assert wiql[0].param("api-version") == "7.1"
    assert wiql[0].json()["query"] == (
        "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND "
        "[System.WorkItemType] = 'AVG-verzoek' ORDER BY [System.CreatedDate] DESC"
    )
    batches = [r for r in ado.requests if r.path == "/org/_apis/wit/workitemsbatch"]
    assert [len(b.json()["ids"]) for b in batches] == [200, 1]
    for batch in batches:
        assert batch.method == "POST"
        assert batch.param("api-version") == "7.1"
        assert not {"System.Title", "System.Description", "System.History"} & set(batch.json()["fields"])
    assert not [r for r in ado.requests if r.path.endswith("/updates")]  # not needed for requests
    assert ado.write_requests() == []


def incident(ado: AzureDevOpsEmulator, created: datetime, tags: list[str], **extra: Any) -> int:
    return ado.plant_work_item(
        title=f"Datalek: mailbox {CANARY}",
        description=CANARY,
        work_item_type="Incident",
        tags=tags,
        created=created,
        author_email=CANARY,
        **extra,
    )


def test_notification_from_a_state_reached_in_the_updates(
    ado: AzureDevOpsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(azure_devops, "UPDATES_PAGE", 2)  # updates paging with $top / $skip
    detected = ago(5)
    on_time, late, never = (incident(ado, detected, ["klant-informeren"]) for _ in range(3))
    not_needed = incident(ado, detected, ["Klant-Niet-Informeren"])  # tags compare case-insensitively
    unanalysed = incident(ado, detected, [])
    for item_id, hours in ((on_time, 23), (late, 30)):
        for index in range(3):  # other changes first
            ado.plant_update(
                item_id,
                detected + timedelta(hours=index),
                {"System.Title": f"{CANARY} {index}"},
                author_email=CANARY,
            )
        ado.plant_update(
            item_id,
            detected + timedelta(hours=hours),
            {"System.State": "Klant geïnformeerd"},
            author_email=CANARY,
        )
    cfg = config(
        breach_notifications=section(
            ado,
            work_item_type="Incident",
            notify_tag="klant-informeren",
            no_notify_tag="klant-niet-informeren",
            notified_state="Klant geïnformeerd",
        )
    )
    recording = Recording(endpoint="", run_date="2026-01-01")
    live = collect(cfg, recording=recording, progress=print)
    assert verdicts(live) == {
        key(on_time): "pass",
        key(late): "fail",
        key(never): "fail",
        key(not_needed): "not_applicable",
        key(unanalysed): "fail",
    }
    updates = [r for r in ado.requests if r.path.endswith("/updates")]
    assert {r.param("$skip") for r in updates} >= {"0", "2", "4"}
    path = tmp_path / "recording.json"
    recording.save(path)
    text = path.read_text(encoding="utf-8")
    replayed = collect(cfg, replay=Recording.load(path))
    assert verdicts(replayed) == verdicts(live)
    out = capsys.readouterr()
    facts = json.dumps(
        [
            [s.id, repr(s.fact), english_text(s.error) if s.error else ""]
            for s in live.population(BREACH_POPULATION).subjects
        ]
    )
    for name, output in (("recording", text), ("stdout", out.out + out.err), ("facts", facts)):
        assert CANARY not in output, name
        assert "pieter" not in output.lower(), name
        assert PAT not in output, name


def test_notification_from_a_tag_added_in_the_updates(ado: AzureDevOpsEmulator) -> None:
    detected = ago(5)
    added = incident(ado, detected, ["incident", "klant-informeren"])
    ado.plant_update(
        added,
        detected + timedelta(hours=5),
        {"System.Tags": "incident; klant-informeren; Klant-Geinformeerd"},
        author_email=CANARY,
    )
    at_creation = incident(ado, detected, ["incident", "klant-informeren", "klant-geinformeerd"])
    late = incident(ado, detected, ["incident", "klant-informeren"])
    ado.plant_update(
        late,
        detected + timedelta(hours=48),
        {"System.Tags": "incident; klant-informeren; klant-geinformeerd"},
    )
    removed_only = incident(
        ado,
        detected,
        ["incident", "klant-informeren", "klant-geinformeerd"],
        fields={"System.CreatedDate": "gisteren"},
    )
    store = collect(
        config(
            breach_notifications=section(
                ado,
                tag="incident",
                notify_tag="klant-informeren",
                no_notify_tag="klant-niet-informeren",
                notified_tag="klant-geinformeerd",
            )
        )
    )
    assert verdicts(store) == {
        key(added): "pass",
        key(at_creation): "pass",
        key(late): "fail",
        key(removed_only): "error",
    }


def test_fields_for_detection_analysis_and_notification(ado: AzureDevOpsEmulator) -> None:
    created = ago(5)
    ok = incident(
        ado,
        created,
        [],
        fields={
            "Custom.Melden": "Ja",
            "Custom.Gemeld": ado_time(created + timedelta(hours=40)),
            "Custom.Ontdekt": ado_time(created + timedelta(hours=20)),
        },
    )
    unanalysed = incident(ado, created, [], fields={"Custom.Ontdekt": ado_time(created)})
    undetected = incident(ado, created, [])
    no = incident(ado, created, [], fields={"Custom.Melden": "Nee"})
    bad_time = incident(
        ado,
        created,
        [],
        fields={"Custom.Melden": "ja", "Custom.Gemeld": "morgen", "Custom.Ontdekt": ado_time(created)},
    )
    person = incident(
        ado,
        created,
        [],
        fields={"Custom.Melden": {"uniqueName": CANARY}, "Custom.Ontdekt": ado_time(created)},
    )
    store = collect(
        config(
            breach_notifications=section(
                ado,
                work_item_type="Incident",
                notify_field="Custom.Melden",
                notify_values=["Ja"],
                no_notify_values=["Nee"],
                notified_field="Custom.Gemeld",
                detected_field="Custom.Ontdekt",
            )
        )
    )
    assert verdicts(store) == {
        key(ok): "pass",
        key(unanalysed): "fail",  # no analysis five days after detection
        key(undetected): "error",  # no analysis and no detection time: no deadline to judge it by
        key(no): "not_applicable",
        key(bad_time): "error",
        key(person): "fail",  # an identity is not a value the analysis chose: not analysed
    }
    assert not [r for r in ado.requests if r.path.endswith("/updates")]
    fields = next(r for r in ado.requests if r.path.endswith("/workitemsbatch")).json()["fields"]
    assert {"Custom.Melden", "Custom.Gemeld", "Custom.Ontdekt"} <= set(fields)


def test_unreadable_register_is_one_error_item(
    ado: AzureDevOpsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_requests(ado)
    monkeypatch.setenv("ADO_PAT", "wrong")
    store = collect(config(data_subject_requests=section(ado, tag="avg-verzoek")))
    subjects = store.population(DSR_POPULATION).subjects
    assert len(subjects) == 1
    assert subjects[0].fact is None
    assert subjects[0].error is not None
    text = english_text(subjects[0].error)
    assert "HTTP 401" in text
    assert "wrong" not in text


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"label": "avg"}, "label: not supported for tracker 'azure-devops' (use tag)"),
        ({"issue_type": "Task"}, "issue_type: not supported for tracker 'azure-devops' (use work_item_type)"),
        ({"tag": "a", "user_env": "ADO_USER"}, "user_env: not supported for tracker 'azure-devops'"),
        ({"tag": "a", "repository": "o/r"}, "repository: not supported for tracker 'azure-devops'"),
        ({}, "tag or work_item_type: one is required"),
        ({"tag": "a", "project": None}, "project: required for tracker 'azure-devops'"),
        ({"tag": "a'b"}, "tag: quotes"),
        ({"tag": "a", "url": "https://dev.azure.com"}, "url: for tracker 'azure-devops'"),
    ],
)
def test_request_register_settings_are_refused_by_key(
    ado: AzureDevOpsEmulator, extra: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError, match=named.replace("(", r"\(").replace(")", r"\)")):
        config(data_subject_requests=section(ado, **extra))


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (
            {"notify_label": "x", "notified_tag": "y"},
            "notify_label: not supported for tracker 'azure-devops' (use notify_tag)",
        ),
        (
            {"notify_tag": "x", "notified_status": "y"},
            "notified_status: not supported for tracker 'azure-devops' (use notified_state)",
        ),
        (
            {"notify_tag": "x", "notified_label": "y"},
            "notified_label: not supported for tracker 'azure-devops' (use notified_tag)",
        ),
        (
            {"notify_tag": "x", "notify_field": "F", "notify_values": ["Ja"], "notified_tag": "y"},
            "notify_tag or notify_field: exactly one",
        ),
        ({"notify_field": "F", "notified_tag": "y"}, "notify_values: required with notify_field"),
        (
            {"notify_tag": "x", "no_notify_tag": "n", "notified_tag": "y", "notified_state": "z"},
            "notified_field, notified_tag or notified_state: exactly one",
        ),
        ({"notify_tag": "x", "notified_tag": "y"}, "no_notify_tag: required with notify_tag"),
        (
            {"notify_tag": "x", "no_notify_label": "n", "notified_tag": "y"},
            "no_notify_label: not supported for tracker 'azure-devops' (use no_notify_tag)",
        ),
        ({"notify_tag": "x", "no_notify_tag": "X", "notified_tag": "y"}, "no_notify_tag: must differ"),
        (
            {"notify_tag": "x", "no_notify_tag": "Incident", "notified_tag": "y"},
            "no_notify_tag: must differ from tag",
        ),
        (
            {"notify_field": "F", "notify_values": ["Ja"], "notified_tag": "y"},
            "no_notify_values: required with notify_field",
        ),
    ],
)
def test_breach_register_settings_are_refused_by_key(
    ado: AzureDevOpsEmulator, extra: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError, match=named.replace("(", r"\(").replace(")", r"\)")):
        config(breach_notifications=section(ado, tag="incident", **extra))


def test_azure_devops_keys_are_refused_for_jira() -> None:
    jira = {
        "tracker": "jira",
        "url": "https://x.atlassian.net",
        "project": "SEC",
        "token_env": "T",
        "user_env": "U",
    }
    with pytest.raises(ValidationError, match="tag: only for tracker 'azure-devops'"):
        config(data_subject_requests={**jira, "label": "a", "tag": "a"})
    with pytest.raises(ValidationError, match="notified_state: only for tracker 'azure-devops'"):
        config(
            breach_notifications={
                **jira,
                "label": "a",
                "notify_label": "n",
                "no_notify_label": "m",
                "notified_status": "s",
                "notified_state": "s",
            }
        )


def test_personal_address_in_a_work_item_reaches_no_output(ado: AzureDevOpsEmulator, tmp_path: Path) -> None:
    request = ado.plant_work_item(
        title=f"Inzageverzoek {CANARY}",
        description=f"Graag alle gegevens naar {CANARY}",
        work_item_type="AVG-verzoek",
        tags=["avg-verzoek"],
        created=ago(30),
        author_email=CANARY,
    )
    close(ado, request, ago(29))
    breach = incident(ado, ago(3), ["klant-informeren"])
    ado.plant_update(breach, ago(2.9), {"System.State": "Klant geïnformeerd"}, author_email=CANARY)
    connection = (
        f'tracker = "azure-devops"\nurl = "{ado.base_url}"\nca_bundle = "{ado.ca_file}"\nproject = "Ops"\n'
        'token_env = "ADO_PAT"\n'
    )
    text = (
        f'[data_subject_requests]\n{connection}tag = "avg-verzoek"\n\n'
        f'[breach_notifications]\n{connection}work_item_type = "Incident"\nnotify_tag = "klant-informeren"\n'
        'no_notify_tag = "klant-niet-informeren"\nnotified_state = "Klant geïnformeerd"\n'
    )
    recording = tmp_path / "recording.json"
    run = run_audit(tmp_path, text, "--allow-empty-scope", "--record", str(recording), env={"ADO_PAT": PAT})
    assert run.verdicts()[("10.data-subject-requests", key(request))] == "pass", run.stdout[-3000:]
    assert run.verdicts()[("13.breach-notification-sla", key(breach))] == "pass"
    outputs = {
        "stdout": run.stdout + run.stderr,
        "recording": recording.read_text(encoding="utf-8"),
        **{
            str(p): p.read_text(encoding="utf-8", errors="replace")
            for p in run.evidence_dir.rglob("*")
            if p.is_file()
        },
    }
    assert "evidence.json" in " ".join(outputs)
    for name, output in outputs.items():
        assert CANARY not in output, name
        assert "pieter" not in output.lower(), name
        assert PAT not in output, name
