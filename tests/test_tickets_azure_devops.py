"""Azure DevOps Boards backend against the emulator: WIQL + batch GET, JSON Patch, states, hidden state."""

from __future__ import annotations

import html
import json
import ssl
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.standins.ticket_emulators.azure_devops import (
    AGILE,
    BASIC,
    SCRUM,
    AzureDevOpsEmulator,
    Process,
    WorkItem,
)
from demo.standins.ticket_emulators.base import Fault
from reports.i18n.translation import Language, translator
from reports.tickets.azure_devops import AzureDevOpsBackend, read_state, state_comment, with_state
from reports.tickets.model import TicketDraft, TicketState, TicketText, TrackerError
from reports.tickets.run import run_tickets
from reports.tickets.settings import TicketSettings
from tests import ticket_nights as nights
from tests.ticket_nights import STORAGE_CONTROL, erroring, hostile, mass_failure, scenario_nights

PAT = "ado-pat-canary-5f1e"
FP = "ctlfp-0123456789abcdef"
HOSTILE = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"

pytestmark = pytest.mark.integration


class Tracker:
    """An emulator served over HTTPS plus settings pointing at it."""

    def __init__(self, emulator: AzureDevOpsEmulator) -> None:
        self.emulator = emulator

    def settings(self, **overrides: Any) -> TicketSettings:
        values: dict[str, Any] = {
            "backend": "azure-devops",
            "mode": "on",
            "url": self.emulator.base_url,
            "project": "Security Ops",
            "token_env": "ADO_PAT",
            "ca_bundle": self.emulator.ca_file,
            "timeout_seconds": 5,
        }
        values.update(overrides)
        return TicketSettings.model_validate(values)

    def backend(
        self, pat: str = PAT, waits: list[float] | None = None, **overrides: Any
    ) -> AzureDevOpsBackend:
        sleep = waits.append if waits is not None else (lambda _seconds: None)
        return AzureDevOpsBackend(self.settings(**overrides), pat, sleep=sleep)


def _serve(process: Process) -> Iterator[Tracker]:
    with AzureDevOpsEmulator(pat=PAT, process=process) as emulator:
        yield Tracker(emulator)


@pytest.fixture
def ado() -> Iterator[Tracker]:
    yield from _serve(AGILE)


@pytest.fixture
def scrum() -> Iterator[Tracker]:
    yield from _serve(SCRUM)


@pytest.fixture
def basic() -> Iterator[Tracker]:
    yield from _serve(BASIC)


def _draft(title: str = "[12e.azure-sql-tde] TDE off — sub-1 (2 resources)", **state: Any) -> TicketDraft:
    return TicketDraft(
        fingerprint=FP,
        text=TicketText(
            title=title,
            paragraphs=("Clause 12e: encryption at rest.",),
            table=(("resource", "message"), ("db-1", "TDE Disabled"), (HOSTILE, "x & y")),
            links=(("evidence report", "https://reports.example/run/report.html#control-12e"),),
        ),
        labels=("statement-auditor",),
        state=TicketState(**state),
    )


def test_create_posts_json_patch_with_title_tags_and_escaped_description(ado: Tracker) -> None:
    ticket = ado.backend().create(_draft(failing=("db-1",), last_comment="2026-11-01"))
    item = ado.emulator.items[int(ticket.key)]
    assert item.type == "Task"
    assert item.fields["System.Title"].startswith("[12e.azure-sql-tde]")
    assert set(item.fields["System.Tags"].split("; ")) == {"statement-auditor", FP}
    description = item.fields["System.Description"]
    assert "<img" not in description
    assert "<script>" not in description
    assert html.escape(HOSTILE) in description
    assert '<a href="https://reports.example/run/report.html#control-12e">' in description
    create = next(r for r in ado.emulator.requests if r.method == "POST" and "/workitems/" in r.path)
    assert create.path.endswith("/_apis/wit/workitems/$Task")
    assert create.headers["content-type"] == "application/json-patch+json"
    assert create.query["api-version"] == ["7.1"]
    assert ticket.url.endswith(f"/org/Security%20Ops/_workitems/edit/{ticket.key}")
    assert ticket.open


def test_find_uses_wiql_then_batch_get_and_reads_the_hidden_state(ado: Tracker) -> None:
    created = ado.backend().create(_draft(failing=("db-1", "db-2"), passes=0, last_comment="2026-11-01"))
    ado.emulator.requests.clear()
    found = ado.backend().find(FP)  # a fresh backend: nothing cached
    assert [t.key for t in found] == [created.key]
    assert found[0].open
    assert found[0].resolution is None
    assert found[0].state == TicketState(failing=("db-1", "db-2"), passes=0, last_comment="2026-11-01")
    wiql, batch = ado.emulator.requests[0], ado.emulator.requests[1]
    assert wiql.method == "POST"
    assert wiql.path.endswith("/_apis/wit/wiql")
    assert f"[System.Tags] CONTAINS '{FP}'" in wiql.body.decode()
    assert batch.method == "GET"
    assert batch.query["ids"] == [created.key]
    assert "System.Description" in batch.query["fields"][0]


def test_find_returns_nothing_for_an_unknown_fingerprint(ado: Tracker) -> None:
    ado.backend().create(_draft())
    assert ado.backend().find("ctlfp-ffffffffffffffff") == []
    assert not any(r.method == "GET" and r.path.endswith("/workitems") for r in ado.emulator.requests)


def test_find_lists_newest_first_with_closed_ones(ado: Tracker) -> None:
    backend = ado.backend()
    old = backend.create(_draft())
    backend.resolve(old, TicketText("fixed"), TicketState(resolved_on="2026-11-02"))
    new = backend.create(_draft())
    found = ado.backend().find(FP)
    assert [t.key for t in found] == [new.key, old.key]
    assert found[1].open is False
    assert found[1].closed_at is not None
    assert found[1].state.resolved_on == "2026-11-02"


def test_comment_adds_history_and_state_without_changing_the_work_item_state(ado: Tracker) -> None:
    backend = ado.backend()
    ticket = backend.create(_draft())
    backend.comment(ticket, TicketText("Now 3 resources", (HOSTILE,)), TicketState(failing=("a", "b", "c")))
    item = ado.emulator.items[int(ticket.key)]
    assert len(item.comments) == 1
    assert "&lt;img" in item.comments[0]
    assert "<img" not in item.comments[0]
    assert item.fields["System.State"] == "New"
    assert ado.backend().find(FP)[0].state.failing == ("a", "b", "c")


def test_save_state_edits_the_description_only(ado: Tracker) -> None:
    ticket = ado.backend().create(_draft())
    fresh = ado.backend()  # must fetch the description before rewriting it
    fresh.save_state(ticket, TicketState(passes=2))
    item = ado.emulator.items[int(ticket.key)]
    assert item.comments == []
    assert item.fields["System.State"] == "New"
    assert "Clause 12e" in item.fields["System.Description"]
    assert item.fields["System.Description"].count("statement-auditor-state:") == 1
    assert ado.backend().find(FP)[0].state.passes == 2


def test_resolve_and_reopen_use_the_configured_state_names(scrum: Tracker) -> None:
    backend = scrum.backend(issue_type="Bug", resolved_state="Done", reopened_state="Committed")
    ticket = backend.create(_draft())
    assert scrum.emulator.items[int(ticket.key)].fields["System.State"] == "New"
    backend.resolve(ticket, TicketText("passing for 3 nights"), TicketState(resolved_on="2026-11-05"))
    closed = scrum.backend(issue_type="Bug").find(FP)[0]
    assert scrum.emulator.items[int(ticket.key)].fields["System.State"] == "Done"
    assert closed.open is False
    assert closed.resolution == "Completed"
    backend.reopen(closed, TicketText("regressed"), TicketState(failing=("db-1",)))
    reopened = scrum.backend(issue_type="Bug").find(FP)[0]
    assert scrum.emulator.items[int(ticket.key)].fields["System.State"] == "Committed"
    assert reopened.open
    assert reopened.resolution is None
    assert len(scrum.emulator.items[int(ticket.key)].comments) == 2


def test_a_state_the_process_does_not_have_is_a_tracker_error(basic: Tracker) -> None:
    backend = basic.backend(issue_type="Issue")  # Basic has To Do/Doing/Done: no "Closed"
    ticket = backend.create(_draft())
    with pytest.raises(TrackerError, match="HTTP 400"):
        backend.resolve(ticket, TicketText("fixed"), TicketState())
    assert basic.emulator.items[int(ticket.key)].fields["System.State"] == "To Do"


def test_a_persons_wont_fix_is_closed_with_that_reason(ado: Tracker) -> None:
    ticket = ado.backend().create(_draft())
    ado.emulator.person_close(int(ticket.key), "Closed", "Won't Fix")
    found = ado.backend().find(FP)[0]
    assert found.open is False
    assert found.resolution == "Won't Fix"


def test_a_removed_work_item_counts_as_closed(ado: Tracker) -> None:
    ticket = ado.backend().create(_draft())
    ado.emulator.person_close(int(ticket.key), "Removed", "Removed from the backlog")
    assert ado.backend().find(FP)[0].open is False


def test_related_tickets_are_linked(ado: Tracker) -> None:
    backend = ado.backend()
    old = backend.create(_draft())
    new = backend.create(
        TicketDraft(fingerprint=FP, text=TicketText("again"), related=(old.key,), state=TicketState())
    )
    relations = ado.emulator.items[int(new.key)].relations
    assert relations == [
        {
            "rel": "System.LinkTypes.Related",
            "url": f"{ado.emulator.base_url}/_apis/wit/workItems/{old.key}",
            "attributes": {},
        }
    ]


def test_a_wrong_pat_is_a_tracker_error_that_does_not_show_the_token(ado: Tracker) -> None:
    with pytest.raises(TrackerError, match="HTTP 401") as caught:
        ado.backend(pat="wrong-pat-canary").find(FP)
    assert "wrong-pat-canary" not in str(caught.value)
    assert PAT not in str(caught.value)


def test_a_server_error_is_a_tracker_error(ado: Tracker) -> None:
    ado.emulator.add_fault(Fault(500, times=None))
    with pytest.raises(TrackerError, match="HTTP 500"):
        ado.backend().create(_draft())


def test_429_waits_for_retry_after_then_succeeds(ado: Tracker) -> None:
    waits: list[float] = []
    ado.emulator.add_fault(Fault(429, retry_after="7"))
    ticket = ado.backend(waits=waits).create(_draft())
    assert waits == [7.0]
    assert len(ado.emulator.items) == 1
    assert ticket.key in {str(k) for k in ado.emulator.items}


def test_the_emulator_refuses_plain_json_patches_with_415(ado: Tracker) -> None:
    response = httpx.post(
        f"{ado.emulator.base_url}/Security%20Ops/_apis/wit/workitems/$Task?api-version=7.1",
        json=[{"op": "add", "path": "/fields/System.Title", "value": "x"}],
        auth=("", PAT),
        verify=ssl.create_default_context(cafile=str(ado.emulator.ca_file)),
    )
    assert response.status_code == 415
    assert "application/json-patch+json" in response.json()["message"]
    assert ado.emulator.items == {}


def test_hidden_state_survives_hostile_values_and_cannot_close_the_comment() -> None:
    state = TicketState(failing=("--><script>x</script>", "a'b\"c"), passes=1, last_comment="2026-11-01")
    comment = state_comment(state)
    assert comment.count("-->") == 1
    assert "<script>" not in comment
    assert read_state("<p>body</p>" + comment) == state
    assert read_state(with_state("<p>body</p>" + comment, TicketState(passes=3))) == TicketState(passes=3)


def test_an_unreadable_hidden_state_gives_a_fresh_state() -> None:
    assert read_state("<p>no state</p>") == TicketState()
    assert read_state("<!-- statement-auditor-state:!!notbase64 -->") == TicketState()


# -- the issue's scenario over simulated nights, through run_tickets ---------------------------------


def _night_actions(section: dict[str, Any]) -> list[str]:
    return [entry["action"] for entry in section["actions"] if entry["action"] != "none"]


def _storage_item(ado: Tracker) -> list[WorkItem]:
    return [i for i in ado.emulator.items.values() if STORAGE_CONTROL in i.fields["System.Title"]]


@pytest.mark.parametrize("fresh_state_dir", [False, True], ids=["kept-state", "fresh-state-every-night"])
def test_seven_nights_create_once_comment_once_resolve_once_reopen_once(
    ado: Tracker, tmp_path: Path, fresh_state_dir: bool
) -> None:
    settings = ado.settings()
    done: list[str] = []
    for index, (day, night) in enumerate(scenario_nights(date(2026, 11, 1))):
        state_dir = tmp_path / (f"night-{index}" if fresh_state_dir else "state")
        section = run_tickets(night, settings, "on", env={"ADO_PAT": PAT}, today=day, state_dir=state_dir)
        assert section["errors"] == []
        done += _night_actions(section)
    [item] = _storage_item(ado)
    assert done.count("create") == 1
    assert done.count("comment") == 1
    assert done.count("resolve") == 1
    assert done.count("reopen") == 1
    assert len(item.comments) == 3  # the update, the resolution, the regression
    states = [
        json.loads(r.body)
        for r in ado.emulator.write_requests()
        if r.method == "PATCH" and f"/{item.id}" in r.path
    ]
    changes = [op["value"] for ops in states for op in ops if op["path"] == "/fields/System.State"]
    assert changes == ["Closed", "Active"]
    assert item.fields["System.State"] == "Active"


def test_a_persons_wont_fix_is_never_reopened_or_recreated(ado: Tracker, tmp_path: Path) -> None:
    settings = ado.settings()
    nights = scenario_nights(date(2026, 11, 1))
    day, first = nights[0]
    run_tickets(first, settings, "on", env={"ADO_PAT": PAT}, today=day, state_dir=tmp_path)
    [item] = _storage_item(ado)
    ado.emulator.person_close(item.id, "Closed", "Won't Fix")
    writes_before = len(ado.emulator.write_requests())
    day, second = nights[2]  # still failing, and one more resource
    section = run_tickets(second, settings, "on", env={"ADO_PAT": PAT}, today=day, state_dir=tmp_path)
    assert [w["ticket"] for w in section["wont_fix"]] == [str(item.id)]
    assert section["wont_fix"][0]["resolution"] == "Won't Fix"
    assert len(_storage_item(ado)) == 1
    assert ado.emulator.items[item.id].fields["System.State"] == "Closed"
    assert len(ado.emulator.write_requests()) == writes_before


def test_thirty_new_failures_trip_the_circuit_breaker(ado: Tracker, tmp_path: Path) -> None:
    section = run_tickets(
        mass_failure("2026-11-01"),
        ado.settings(max_new=20),
        "on",
        env={"ADO_PAT": PAT},
        today=date(2026, 11, 1),
        state_dir=tmp_path,
    )
    assert section["errors"] == []
    assert len(ado.emulator.items) == 1
    assert _night_actions(section).count("summary") == 1


@pytest.mark.parametrize("broken", ["wrong-pat", "http-500"])
def test_a_broken_tracker_is_one_error_and_raises_nothing(ado: Tracker, tmp_path: Path, broken: str) -> None:
    waits: list[float] = []
    backend = ado.backend(waits=waits) if broken == "http-500" else None  # record the retries' waits
    if broken == "http-500":
        ado.emulator.add_fault(Fault(500, times=None))
    night = erroring("2026-11-01")
    statuses = [r["status"] for r in night["results"]]
    section = run_tickets(
        night,
        ado.settings(),
        "on",
        env={"ADO_PAT": "wrong-pat" if broken == "wrong-pat" else PAT},
        today=date(2026, 11, 1),
        state_dir=tmp_path,
        backend=backend,
    )
    assert len(section["errors"]) == 1
    assert ("HTTP 401" if broken == "wrong-pat" else "HTTP 500") in section["errors"][0]
    assert "wrong-pat" not in section["errors"][0]
    assert PAT not in section["errors"][0]
    assert ado.emulator.items == {}
    assert [r["status"] for r in night["results"]] == statuses


def test_the_run_waits_out_a_429(ado: Tracker, tmp_path: Path) -> None:
    waits: list[float] = []
    ado.emulator.add_fault(Fault(429, retry_after="3", path=r"/wiql$"))
    section = run_tickets(
        scenario_nights(date(2026, 11, 1))[0][1],
        ado.settings(),
        "on",
        env={},
        today=date(2026, 11, 1),
        state_dir=tmp_path,
        backend=ado.backend(waits=waits),
    )
    assert section["errors"] == []
    assert waits == [3.0]
    assert len(_storage_item(ado)) == 1


def test_hostile_resource_names_are_escaped_in_the_work_item(ado: Tracker, tmp_path: Path) -> None:
    section = run_tickets(
        hostile("2026-11-01"),
        ado.settings(),
        "on",
        env={"ADO_PAT": PAT},
        today=date(2026, 11, 1),
        state_dir=tmp_path,
    )
    assert section["errors"] == []
    [item] = _storage_item(ado)
    description = item.fields["System.Description"]
    assert "<img" not in description
    assert "<script>" not in description
    assert html.escape("<img src=x onerror=alert(1)>") in description
    assert 'href="https://evil.example"' not in description


def test_dry_run_makes_no_write_call(ado: Tracker, tmp_path: Path) -> None:
    day, night = scenario_nights(date(2026, 11, 1))[0]
    section = run_tickets(
        night, ado.settings(), "dry-run", env={"ADO_PAT": PAT}, today=day, state_dir=tmp_path
    )
    assert _night_actions(section) == ["create"]
    assert ado.emulator.write_requests() == []


def test_get_returns_a_known_work_item_and_none_for_a_deleted_one(ado: Tracker) -> None:
    backend = ado.backend()
    created = backend.create(_draft(failing=("db-1",)))
    fetched = ado.backend().get(created.key)
    assert fetched is not None
    assert fetched.fingerprint == FP
    assert fetched.state.failing == ("db-1",)
    del ado.emulator.items[int(created.key)]
    assert ado.backend().get(created.key) is None


def test_a_sanitised_description_loses_no_pass_count_when_the_state_folder_is_kept(tmp_path: Path) -> None:
    with AzureDevOpsEmulator(pat=PAT, process=AGILE, strip_html_comments=True) as emulator:
        ado = Tracker(emulator)
        settings = ado.settings()
        done: list[str] = []
        for day, night in scenario_nights(date(2026, 11, 1)):
            section = run_tickets(night, settings, "on", env={"ADO_PAT": PAT}, today=day, state_dir=tmp_path)
            assert section["errors"] == []
            done += _night_actions(section)
        [item] = _storage_item(ado)
        assert "<!--" not in item.fields["System.Description"]
    assert (done.count("create"), done.count("comment"), done.count("resolve"), done.count("reopen")) == (
        1,
        1,
        1,
        1,
    )


@pytest.mark.parametrize(
    ("ticket_lang", "report_lang", "dutch"),
    [(None, "nl", True), ("nl", "en", True), ("en", "nl", False), (None, "en", False)],
    ids=["report-nl", "tickets-nl", "tickets-en-over-report-nl", "default-en"],
)
def test_tickets_speak_tickets_lang_else_the_report_language(
    ado: Tracker, tmp_path: Path, ticket_lang: str | None, report_lang: Language, dutch: bool
) -> None:
    """`[tickets] lang` chooses the tickets' language; unset, they follow --report-lang."""
    settings = ado.settings(**({"lang": ticket_lang} if ticket_lang else {}))
    night = nights.night("2026-11-29", frozenset({"a"}))
    section = run_tickets(
        night,
        settings,
        "on",
        env={"ADO_PAT": PAT},
        today=date(2026, 11, 29),
        state_dir=tmp_path,
        lang=report_lang,
    )
    assert section["errors"] == []
    (item,) = _storage_item(ado)
    title, body = item.fields["System.Title"], item.fields["System.Description"]
    nl = translator("nl")
    assert title.startswith("[12f.azure-storage-tls]")
    assert ("Controle 12f.azure-storage-tls voldoet niet" in body) is dutch
    assert ("Control 12f.azure-storage-tls fails for 1 of" in body) is not dutch
    note = section["actions"][0]["note"]
    assert note == (nl.gettext("new failure") if dutch else "new failure")
