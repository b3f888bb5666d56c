"""Tickets reduced at the boundary, and the facts built from them (no I/O: live runs and replays share it).

A reader (jira.py, github.py, azure_devops.py) keeps of every ticket only what a control needs, as a JSON
record: {"key", "created", "resolved", "done", "notify", "notified", "detected", "events",
"sources"}. Times are kept as the tracker wrote them when they parse, and as UNREADABLE when
they do not (so that no free text typed into a date field reaches a recording). Titles,
descriptions, comments, authors and other labels are never kept. The recording stores these
records; a replay builds the facts from them with the same code as a live run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from collectors.config.trackers import BreachNotificationSettings, TrackerSource
from collectors.facts import Subject, observed, unobservable
from collectors.trackers.facts import BreachIncident, DataSubjectRequest
from reports.evidence import Message, Source, msg

UNREADABLE = "unreadable"


def parse_time(value: Any) -> datetime | None:
    """Return a timezone-aware time from a tracker's ISO 8601 text (Jira "+0100", GitHub "Z"), else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def kept_time(value: Any) -> str | None:
    """Return a tracker's time as kept in a record: the text if it parses, None if absent, else UNREADABLE."""
    if value is None or value == "":
        return None
    return value if parse_time(value) is not None else UNREADABLE


def record_sources(record: dict[str, Any]) -> list[Source]:
    """Return the sources a record cites (the raw answers it was reduced from)."""
    return [
        Source(
            collector="tracker",
            call=str(item["call"]),
            collected_at=datetime.fromisoformat(str(item["collected_at"])),
            sha256=str(item["sha256"]),
        )
        for item in record.get("sources") or []
    ]


def _time(record: dict[str, Any], key: str) -> tuple[datetime | None, bool]:
    """Return (time, readable) of a record's time field: (None, True) when absent."""
    value = record.get(key)
    if value is None:
        return None, True
    when = parse_time(value)
    return when, when is not None


def request_subject(record: dict[str, Any], observed_at: datetime) -> Subject[object]:
    """Return the subject of one data-subject request, or an error naming the time that cannot be read."""
    key = str(record["key"])
    sources = record_sources(record)
    created, _ = _time(record, "created")
    if created is None:
        return unobservable(
            key, msg("the creation time of {key} cannot be read from the tracker", key=key), sources
        )
    resolved, resolved_ok = _time(record, "resolved")
    if not resolved_ok or (record.get("done") and resolved is None):
        return unobservable(
            key,
            msg("{key} is done but its resolution time cannot be read from the tracker", key=key),
            sources,
        )
    return observed(key, DataSubjectRequest(key, created, resolved, observed_at), sources)


def _first_event(record: dict[str, Any], kind: str, name: str) -> tuple[datetime | None, bool]:
    times: list[datetime] = []
    readable = True
    for event in record.get("events") or []:
        if event.get("kind") == kind and event.get("name") == name:
            when = parse_time(event.get("at"))
            if when is None:
                readable = False
            else:
                times.append(when)
    return (min(times) if times else None), readable


def incident_subject(
    record: dict[str, Any], settings: BreachNotificationSettings, observed_at: datetime
) -> Subject[object]:
    """Return the subject of one incident, or an error saying which of its times cannot be read."""
    key = str(record["key"])
    sources = record_sources(record)
    problems: list[Message] = []
    detected_from = f"field {settings.detected_field}" if settings.detected_field else "created"
    detected, _ = _time(record, "detected" if settings.detected_field else "created")
    if detected is None:
        problems.append(msg("the detection time ({where}) cannot be read", where=detected_from))
    notify = record.get("notify")
    if not isinstance(notify, bool):
        problems.append(
            msg(
                "the analysis does not say whether customers must be notified ({field} is empty)",
                field=str(settings.notify_field),
            )
        )
    event = settings.notified_event()
    if event is None:
        notified_from = f"field {settings.notified_field}"
        notified, readable = _time(record, "notified")
    else:
        kind, name = event
        notified_from = f"{kind} {name} added" if kind in ("label", "tag") else f"{kind} {name}"
        notified, readable = _first_event(record, kind, name)
    if not readable:
        problems.append(msg("the notification time ({where}) cannot be read", where=notified_from))
    if notify is False:
        problems = []  # no notification is due: its times are not judged
    elif problems or detected is None or not isinstance(notify, bool):
        return unobservable(key, msg("incident {key}: {problems}", key=key, problems=problems), sources)
    return observed(
        key,
        BreachIncident(
            key=key,
            detected=detected,
            detected_from=detected_from,
            notification_required=bool(notify),
            notified=notified,
            notified_from=notified_from,
            observed_at=observed_at,
        ),
        sources,
    )


def subjects(
    records: list[dict[str, Any]], settings: TrackerSource, observed_at: datetime
) -> list[Subject[object]]:
    """Return the subjects of a register's records (requests, or incidents for breach settings)."""
    if isinstance(settings, BreachNotificationSettings):
        return [incident_subject(r, settings, observed_at) for r in records]
    return [request_subject(r, observed_at) for r in records]
