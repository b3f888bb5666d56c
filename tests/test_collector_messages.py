"""The collectors' words as messages: English text without the catalogs, recordings, and the run's scope."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from collectors.estate import Estate
from collectors.fact_json import check_subject_json, subject_from_json, subject_to_json
from collectors.facts import FactStore, Population, observed, unobservable
from collectors.hosts.commands import HostError
from collectors.messages import (
    ReasonError,
    comma_list,
    english_text,
    reason_from_json,
    reason_json,
    semicolon_list,
)
from collectors.recording import HostRun, Recording, RecordingError
from reports.evidence import Message, msg, msg_n, verbatim
from reports.i18n.translation import translator

SAMPLES: list[Message] = [
    msg("databases of server {server} could not be listed", server="sql-legacy"),
    msg("{what}: {failure} ({call})", what=msg("the answer"), failure="HTTP 403 Forbidden", call="GET /x"),
    msg_n(
        "{n} endpoint published by Azure was not scanned",
        "{n} endpoints published by Azure were not scanned",
        "n",
        n=1,
    ),
    msg_n(
        "{n} endpoint published by Azure was not scanned",
        "{n} endpoints published by Azure were not scanned",
        "n",
        n=1234,
    ),
    msg("port {port} of {address}", port=1433, address="198.51.100.7"),
    msg("{calls} and {n} more", calls=["GET /a", "GET /b"], n=3),
    msg("{list}", list=["a: 1", msg("{peer} answered on no probed port", peer="b")]),
    msg(
        "valid until {until}, read at {at}",
        until=date(2026, 12, 4),
        at=datetime(2026, 12, 4, 9, 8, tzinfo=UTC),
    ),
    msg("{value} and {ratio} and {flag} and {missing}", value=None, ratio=0.5, flag=True, missing="x"),
    verbatim("an API's own {text}"),
]


@pytest.mark.parametrize("message", SAMPLES, ids=[m.id[:40] for m in SAMPLES])
def test_english_text_is_what_the_english_catalog_renders(message: Message) -> None:
    assert english_text(message) == translator("en").render(message)


def test_plain_text_stays_as_it_is() -> None:
    assert english_text("HTTP 403 {not a field}") == "HTTP 403 {not a field}"


def test_list_helpers_join_like_the_english_text_always_did() -> None:
    parts = [msg("#{index} ({what})", index=1, what="x; y"), msg("#{index} ({what})", index=2, what="z")]
    assert english_text(comma_list(parts)) == "#1 (x; y), #2 (z)"
    assert english_text(semicolon_list(["a", "b"])) == "a; b"
    assert english_text(semicolon_list(["a", msg("b {c}", c=1)])) == "a; b 1"
    assert semicolon_list([msg("one")]) == msg("one")


def test_an_exception_with_a_reason_reads_in_english_and_keeps_the_message() -> None:
    reason = msg("{host}: connection refused (nothing listens on port {port})", host="web01", port=22)
    error = HostError(reason)
    assert isinstance(error, ReasonError)
    assert error.reason == reason
    assert str(error) == "web01: connection refused (nothing listens on port 22)"


def test_a_reason_survives_a_recording() -> None:
    nested = msg("host {host}: {error}", host="web01", error=msg("{n} thing", n=2))
    assert reason_from_json(reason_json(nested)) == nested
    assert reason_from_json("text of an older recording") == "text of an older recording"
    with pytest.raises(ValueError, match="text or a message"):
        reason_from_json(5)


def test_a_host_error_message_is_recorded_and_replayed_as_a_message(tmp_path: Path) -> None:
    recording = Recording(endpoint="", run_date="2026-12-04")
    error = msg("{host}: no TCP connection within {seconds} s (connect timeout)", host="web01", seconds="5")
    recording.put_host(
        HostRun("web01", "auto", "", -1, b"", b"", datetime(2026, 12, 4, tzinfo=UTC), error=error)
    )
    recording.put_host(
        HostRun("web02", "auto", "", -1, b"", b"", datetime(2026, 12, 4, tzinfo=UTC), error="old")
    )
    path = tmp_path / "recording.json"
    recording.save(path)
    again = Recording.load(path)
    assert again.host_runs["web01"].error == error
    assert again.host_runs["web02"].error == "old"
    path.write_text(path.read_text().replace('"old"', "7"))
    with pytest.raises(RecordingError, match=r"hosts\[1\]\.error"):
        Recording.load(path)


def test_a_subject_error_message_survives_the_tls_part_of_a_recording() -> None:
    subject = unobservable(
        "https://shop.example.nl:443/", msg("the scan of {endpoint} did not complete", endpoint="x")
    )
    data = subject_to_json(subject)
    check_subject_json(data)
    assert subject_from_json(object, data) == subject


def test_scope_notes_and_out_of_scope_reasons_are_written_in_the_run_language() -> None:
    store = FactStore()
    store.population("p").notes.append(msg("no [[hosts]] in the config"))
    store.population("p").notes.append("a plain note")
    store.mark_out_of_scope(["q"], msg("hosts are out of scope: the config has no [[hosts]]"))
    estate = Estate(store=store, azure=None, recording=None)
    scope = estate.scope_json(lambda message: f"<{message.id}>")
    populations = scope["populations"]
    assert isinstance(populations, dict)
    assert populations["p"] == {
        "count": 0,
        "out_of_scope": None,
        "notes": ["<no [[hosts]] in the config>", "a plain note"],
    }
    assert populations["q"]["out_of_scope"] == "<hosts are out of scope: the config has no [[hosts]]>"


def test_duplicate_subjects_name_each_other_in_the_english_text_as_before() -> None:
    population = Population("p")
    population.add(observed("x", 1))
    population.add(unobservable("x", msg("{what} could not be read", what="y")))
    first = population.subjects[0].error
    assert first is not None
    assert english_text(first) == (
        "two subjects share the id x (this is #1): #1 (a collected fact; from no source recorded), "
        "#2 (error: y could not be read; from no source recorded); none is judged, since a verdict by id "
        "would hide the others (check the inventory, or the collector or source that produced the duplicate)"
    )
