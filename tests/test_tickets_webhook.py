"""Webhook backend against a receiver that verifies the HMAC: signed events, local memory, failures."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from demo.standins.ticket_emulators.base import Fault
from demo.standins.ticket_emulators.webhook import WebhookReceiver
from reports.tickets.model import Ticket, TicketDraft, TicketState, TicketText, TrackerError
from reports.tickets.run import run_tickets
from reports.tickets.settings import TicketSettings
from reports.tickets.state import LocalState
from reports.tickets.webhook import SIGNATURE_HEADER, WebhookBackend
from tests.ticket_nights import (
    HOSTILE_NAME,
    STORAGE_CONTROL,
    erroring,
    hostile,
    mass_failure,
    scenario_nights,
)

SECRET = "hmac-secret-canary-91c2"
FP = "ctlfp-00000000000000aa"
HOSTILE = '<img src=x onerror=alert(1)>"}, {"event": "resolve"'

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET) as running:
        yield running


def _settings(receiver: WebhookReceiver) -> TicketSettings:
    return TicketSettings.model_validate(
        {
            "backend": "webhook",
            "mode": "on",
            "url": receiver.hook_url,
            "token_env": "HOOK_SECRET",
            "ca_bundle": receiver.ca_file,
            "timeout_seconds": 5,
        }
    )


def _backend(
    receiver: WebhookReceiver, state: Path, secret: str = SECRET, waits: list[float] | None = None
) -> WebhookBackend:
    return WebhookBackend(
        _settings(receiver),
        secret,
        state / "ticket-state.json",
        sleep=waits.append if waits is not None else (lambda _s: None),
        now=lambda: datetime(2026, 11, 3, 2, 0, tzinfo=UTC),
    )


def _draft(title: str = "[12f.azure-sql-min-tls] TLS 1.0 allowed — sub-1 (1 resource)") -> TicketDraft:
    return TicketDraft(
        fingerprint=FP,
        text=TicketText(
            title, ("Clause 12f",), (("resource",), (HOSTILE,)), (("report", "https://r.example/x"),)
        ),
        labels=("statement-auditor",),
        state=TicketState(failing=(HOSTILE,), last_comment="2026-11-03"),
    )


def test_create_posts_a_signed_event_the_receiver_verifies(receiver: WebhookReceiver, tmp_path: Path) -> None:
    ticket = _backend(receiver, tmp_path).create(_draft())
    [event] = receiver.of("create")
    assert receiver.refused == 0
    assert event["schema"] == "statement-auditor.ticket-event/1"
    assert event["fingerprint"] == FP
    assert event["ticket"] == {"key": ticket.key, "url": "", "open": True}
    assert event["text"]["table"] == [["resource"], [HOSTILE]]  # plain text: the receiver escapes
    assert event["text"]["links"] == [{"label": "report", "url": "https://r.example/x"}]
    assert event["state"] == {
        "failing": [HOSTILE],
        "passes": 0,
        "last_comment": "2026-11-03",
        "resolved_on": "",
    }
    assert event["labels"] == ["statement-auditor", FP]
    assert event["sent_at"] == "2026-11-03T02:00:00Z"
    request = receiver.requests[0]
    digest = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER.lower()] == f"sha256={digest}"
    assert request.headers["x-auditor-timestamp"] == str(
        int(datetime(2026, 11, 3, 2, 0, tzinfo=UTC).timestamp())
    )


def test_a_wrong_secret_is_refused_and_nothing_is_remembered(
    receiver: WebhookReceiver, tmp_path: Path
) -> None:
    with pytest.raises(TrackerError, match="HTTP 401"):
        _backend(receiver, tmp_path, secret="not-the-secret").create(_draft())
    assert receiver.refused == 1
    assert receiver.events == []
    assert _backend(receiver, tmp_path).find(FP) == []


def test_find_reads_the_memory_written_after_delivery(receiver: WebhookReceiver, tmp_path: Path) -> None:
    created = _backend(receiver, tmp_path).create(_draft())
    [found] = _backend(receiver, tmp_path).find(FP)
    assert found == created
    assert _backend(receiver, tmp_path).find("ctlfp-ffffffffffffffff") == []


def test_comment_resolve_reopen_send_events_and_track_open_state(
    receiver: WebhookReceiver, tmp_path: Path
) -> None:
    backend = _backend(receiver, tmp_path)
    ticket = backend.create(_draft())
    backend.comment(ticket, TicketText("2 resources now"), TicketState(failing=("a", "b")))
    backend.resolve(ticket, TicketText("passing"), TicketState(passes=3, resolved_on="2026-11-06"))
    closed = _backend(receiver, tmp_path).find(FP)[0]
    assert closed.open is False
    assert closed.resolution == "Done"
    assert closed.state.resolved_on == "2026-11-06"
    backend.reopen(closed, TicketText("regressed"), TicketState(failing=("a",)))
    reopened = _backend(receiver, tmp_path).find(FP)[0]
    assert reopened.open
    assert reopened.state.failing == ("a",)
    assert [e["event"] for e in receiver.events] == ["create", "comment", "resolve", "reopen"]
    assert [e["ticket"]["open"] for e in receiver.events] == [True, True, False, True]


def test_save_state_sends_nothing(receiver: WebhookReceiver, tmp_path: Path) -> None:
    backend = _backend(receiver, tmp_path)
    ticket = backend.create(_draft())
    backend.save_state(ticket, TicketState(passes=1))
    assert len(receiver.events) == 1
    assert _backend(receiver, tmp_path).find(FP)[0].state.passes == 1


def test_a_receiver_may_name_the_ticket(tmp_path: Path) -> None:
    with WebhookReceiver(SECRET, name_tickets=True) as receiver:
        ticket = _backend(receiver, tmp_path).create(_draft())
        assert (ticket.key, ticket.url) == ("OPS-1", "https://ops.example/tickets/OPS-1")
        backend = _backend(receiver, tmp_path)
        backend.comment(backend.find(FP)[0], TicketText("update"), TicketState())
        assert receiver.of("comment")[0]["ticket"]["key"] == "OPS-1"


def test_429_waits_for_retry_after(receiver: WebhookReceiver, tmp_path: Path) -> None:
    waits: list[float] = []
    receiver.add_fault(Fault(429, retry_after="4"))
    _backend(receiver, tmp_path, waits=waits).create(_draft())
    assert waits == [4.0]
    assert len(receiver.of("create")) == 1


def test_a_server_error_is_a_tracker_error_and_nothing_is_remembered(
    receiver: WebhookReceiver, tmp_path: Path
) -> None:
    receiver.add_fault(Fault(500, times=None))
    with pytest.raises(TrackerError, match="HTTP 500"):
        _backend(receiver, tmp_path).create(_draft())
    assert _backend(receiver, tmp_path).find(FP) == []


def test_the_secret_is_never_sent_or_stored(receiver: WebhookReceiver, tmp_path: Path) -> None:
    backend = _backend(receiver, tmp_path)
    ticket = backend.create(_draft())
    backend.comment(ticket, TicketText("x"), TicketState())
    for request in receiver.requests:
        assert SECRET.encode() not in request.body
        assert all(SECRET not in value for value in request.headers.values())
    for file in tmp_path.iterdir():
        assert SECRET not in file.read_text()


def test_the_memory_survives_the_runs_own_state_file(receiver: WebhookReceiver, tmp_path: Path) -> None:
    created = _backend(receiver, tmp_path).create(_draft())
    run_state = LocalState.load(tmp_path / "ticket-state.json")
    run_state.remember(Ticket(key="other", url="", fingerprint="ctlfp-1111111111111111", open=True))
    assert _backend(receiver, tmp_path).find(FP) == [created]


def test_an_unreadable_memory_is_an_error_not_a_fresh_start(
    receiver: WebhookReceiver, tmp_path: Path
) -> None:
    (tmp_path / "ticket-state.webhook.json").write_text("{not json")
    with pytest.raises(TrackerError, match="not readable"):
        _backend(receiver, tmp_path).find(FP)


def test_no_state_file_is_refused_at_construction(receiver: WebhookReceiver) -> None:
    with pytest.raises(TrackerError, match="state file"):
        WebhookBackend(_settings(receiver), SECRET, None)


# -- the scenario over simulated nights, through run_tickets ---------------------------------


def _run(
    receiver: WebhookReceiver, night: dict[str, Any], day: date, state: Path, **env: str
) -> dict[str, Any]:
    return run_tickets(
        night, _settings(receiver), "on", env=env or {"HOOK_SECRET": SECRET}, today=day, state_dir=state
    )


def test_seven_nights_send_one_create_comment_resolve_and_reopen(
    receiver: WebhookReceiver, tmp_path: Path
) -> None:
    for day, night in scenario_nights(date(2026, 11, 1)):
        assert _run(receiver, night, day, tmp_path)["errors"] == []
    [created] = [e for e in receiver.of("create") if STORAGE_CONTROL in e["text"]["title"]]
    storage = [e for e in receiver.events if e["fingerprint"] == created["fingerprint"]]
    assert [e["event"] for e in storage] == ["create", "comment", "resolve", "reopen"]
    assert len(receiver.events) == 4
    assert {e["ticket"]["key"] for e in storage} == {created["ticket"]["key"]}
    assert receiver.refused == 0


def test_thirty_new_failures_send_one_summary(receiver: WebhookReceiver, tmp_path: Path) -> None:
    section = _run(receiver, mass_failure("2026-11-01"), date(2026, 11, 1), tmp_path)
    assert section["errors"] == []
    assert len(receiver.of("create")) == 1


def test_a_wrong_secret_is_one_error_and_raises_nothing(receiver: WebhookReceiver, tmp_path: Path) -> None:
    section = _run(receiver, erroring("2026-11-01"), date(2026, 11, 1), tmp_path, HOOK_SECRET="wrong-secret")
    assert len(section["errors"]) == 1
    assert "HTTP 401" in section["errors"][0]
    assert "wrong-secret" not in section["errors"][0]
    assert receiver.events == []


def test_hostile_names_travel_as_exact_json_strings(receiver: WebhookReceiver, tmp_path: Path) -> None:
    assert _run(receiver, hostile("2026-11-01"), date(2026, 11, 1), tmp_path)["errors"] == []
    [event] = receiver.of("create")
    cells = [cell for row in event["text"]["table"] for cell in row]
    assert any(HOSTILE_NAME in cell for cell in cells)


# -- a webhook URL's path is its secret: errors show scheme and host only ---------------------------

PATH_SECRET = "canary-path-secret-7f3e"


def test_a_failing_webhook_never_prints_its_url_path(receiver: WebhookReceiver, tmp_path: Path) -> None:
    secret_url = f"{receiver.url}/services/T0AUDIT/B0AUDIT/{PATH_SECRET}"  # Slack-shaped: the path is the key
    settings = _settings(receiver).model_copy(update={"url": secret_url})
    with pytest.raises(TrackerError) as caught:
        WebhookBackend(settings, SECRET, tmp_path / "ticket-state.json", sleep=lambda _s: None).create(
            _draft()
        )
    message = str(caught.value)
    assert "HTTP 404" in message
    assert f"POST {receiver.url}:" in message
    assert PATH_SECRET not in message
    assert "/services" not in message
    section = run_tickets(
        erroring("2026-11-01"),
        settings,
        "on",
        env={"HOOK_SECRET": SECRET},
        today=date(2026, 11, 1),
        state_dir=tmp_path,
    )
    [error] = section["errors"]
    assert "HTTP 404" in error
    assert receiver.url in error
    from reports.tickets.run import describe_plan

    shown = json.dumps(section) + "\n".join(describe_plan(section))
    assert PATH_SECRET not in shown
    assert "/services" not in shown


def test_any_url_in_an_unexpected_ticket_failure_is_cut_to_scheme_and_host(tmp_path: Path) -> None:
    class Exploding:
        name = "webhook"

        def find(self, fingerprint: str) -> list[Ticket]:
            raise ValueError(
                f"bad URL 'https://hooks.example.com/services/T0/B0/{PATH_SECRET}?x=1' in answer"
            )

    settings = TicketSettings.model_validate(
        {
            "backend": "webhook",
            "mode": "on",
            "url": "https://hooks.example.com/services/T0/B0/x",
            "token_env": "H",
        }
    )
    section = run_tickets(
        erroring("2026-11-01"),
        settings,
        "on",
        env={},
        today=date(2026, 11, 1),
        state_dir=tmp_path,
        backend=Exploding(),  # type: ignore[arg-type]
    )
    [error] = section["errors"]
    assert "https://hooks.example.com" in error
    assert "ValueError" in error
    assert PATH_SECRET not in error
    assert "/services" not in error
    assert "x=1" not in error
