"""Tickets reduced at the boundary, and the facts built from them (no I/O: live runs and replays share it).

A reader (jira.py, github.py, azure_devops.py) keeps of every ticket only what a control needs, as a JSON
record: {"key", "created", "resolved", "done", "resolution", "analysis", "notified", "detected",
"events", "sources"}. Times are kept as the tracker wrote them when they parse, and as UNREADABLE
when they do not (so that no free text typed into a date field reaches a recording). A resolution
is kept only as a short workflow word (`kept_resolution`), the analysis of an incident only as one
of ANALYSES, never the label or field value itself. Titles, descriptions, comments, authors and
other labels are never kept. The recording stores these records; a replay builds the facts from
them with the same code as a live run.

Recordings made before the analysis was kept carry `"notify": true | false | null` instead of
"analysis": only `true` is read as an outcome ("notify"); anything else counts as not analysed,
because those recordings cannot tell "no notification needed" from "nobody looked".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from collectors.config.trackers import BreachNotificationSettings, TrackerSource
from collectors.facts import Subject, observed, unobservable
from collectors.trackers.facts import BreachIncident, DataSubjectRequest
from reports.evidence import Message, Source, msg

UNREADABLE = "unreadable"

NOTIFY = "notify"
"""The analysis says customers must be notified (the notify label / tag, or a notify value)."""
NO_NOTIFY = "no_notify"
"""The analysis says customers need not be notified (the no-notify label / tag, or a no-notify value)."""
NOT_ANALYSED = "none"
"""No analysis is recorded: neither label / tag, an empty field, or a value in neither list."""
CONTRADICTORY = "both"
"""Both outcomes are recorded (both labels / tags, or values of both lists)."""
ANALYSES = (NOTIFY, NO_NOTIFY, NOT_ANALYSED, CONTRADICTORY)

OTHER_RESOLUTION = "other"
_RESOLUTION = re.compile(r"[A-Za-z][A-Za-z' _-]{0,39}")
"""A resolution kept as written: a short workflow word ("Done", "Won't Do", "not_planned"), no free text."""


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


def kept_resolution(value: Any) -> str | None:
    """Return a ticket's resolution as kept in a record: None if absent, the text if it is a short
    workflow word (letters, space, apostrophe, underscore, hyphen; at most 40 characters), else "other".

    A resolution is the tracker's word for how a ticket was closed, not personal data; the pattern
    keeps free text typed into a resolution out of every record.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str) and _RESOLUTION.fullmatch(value):
        return value
    return OTHER_RESOLUTION


def analysis_of(notify: bool, no_notify: bool) -> str:
    """Return the analysis recorded by two markers (labels, tags, or value lists): one of ANALYSES."""
    if notify and no_notify:
        return CONTRADICTORY
    if notify:
        return NOTIFY
    return NO_NOTIFY if no_notify else NOT_ANALYSED


def field_analysis(settings: BreachNotificationSettings, texts: Iterable[str]) -> str:
    """Return the analysis recorded in notify_field's texts: a notify value, a no-notify value, or
    neither (empty or unrecognised: not analysed). Compared case-insensitively."""
    found = {text.casefold() for text in texts}
    notify = {value.casefold() for value in settings.notify_values}
    no_notify = {value.casefold() for value in settings.no_notify_values}
    return analysis_of(bool(found & notify), bool(found & no_notify))


def duplicate_keys(records: Iterable[dict[str, Any]]) -> list[str]:
    """Return the keys that occur more than once in a register's records (overlapping pages), sorted."""
    counts = Counter(str(record.get("key")) for record in records)
    return sorted(key for key, count in counts.items() if count > 1)


def in_period(record: dict[str, Any], since: date | None) -> bool:
    """Return True when a ticket belongs to an audit period starting `since` (None: every ticket).

    Created on or after the start, resolved on or after it, or still open whatever its age: an old
    request or incident left open is exactly what the period must show, never filtered out. A
    ticket whose times cannot be read is kept (its item is then an `error`, not silently gone).
    """
    if since is None:
        return True
    created = parse_time(record.get("created"))
    resolved = parse_time(record.get("resolved"))
    if created is None or not record.get("done"):
        return True
    return created.date() >= since or (resolved is None or resolved.date() >= since)


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


def answered_at(sources: list[Source], read_started: datetime) -> datetime:
    """Return when the tracker last answered about a ticket (its latest source), at least the read's start."""
    answered = [source.collected_at for source in sources if source.collected_at.tzinfo is not None]
    return max([read_started, *answered])


def request_subject(record: dict[str, Any], observed_at: datetime) -> Subject[object]:
    """Return the subject of one data-subject request, or an error naming the time that cannot be read.

    A ticket that is not done is open, whatever resolution time it still carries (a reopened
    ticket keeps its old one in some workflows): it is judged by its age, never by that time.
    """
    key = str(record["key"])
    sources = record_sources(record)
    created, _ = _time(record, "created")
    if created is None:
        return unobservable(
            key, msg("the creation time of {key} cannot be read from the tracker", key=key), sources
        )
    done = record.get("done") is True
    resolved, resolved_ok = _time(record, "resolved") if done else (None, True)
    if done and (not resolved_ok or resolved is None):
        return unobservable(
            key,
            msg("{key} is done but its resolution time cannot be read from the tracker", key=key),
            sources,
        )
    return observed(
        key,
        DataSubjectRequest(
            key,
            created,
            resolved,
            answered_at(sources, observed_at),
            resolution=kept_resolution(record.get("resolution")) if done else None,
        ),
        sources,
    )


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


def _analysis(record: dict[str, Any]) -> str:
    """Return the record's analysis (one of ANALYSES, or UNREADABLE); see the module docstring for old records."""
    if "analysis" not in record:
        return NOTIFY if record.get("notify") is True else NOT_ANALYSED
    value = record["analysis"]
    return value if value in ANALYSES else UNREADABLE


def incident_subject(
    record: dict[str, Any], settings: BreachNotificationSettings, observed_at: datetime
) -> Subject[object]:
    """Return the subject of one incident, or an error saying which of its times cannot be read.

    Only the times an incident's analysis makes relevant are required: none when no notification
    is needed, the detection when none is recorded yet (its deadline), both when customers must be
    told. A contradictory or unreadable analysis is an error.
    """
    key = str(record["key"])
    sources = record_sources(record)
    analysis = _analysis(record)
    analysis_from = settings.analysis_from()
    detected_from = f"field {settings.detected_field}" if settings.detected_field else "created"
    detected, _ = _time(record, "detected" if settings.detected_field else "created")
    event = settings.notified_event()
    if event is None:
        notified_from = f"field {settings.notified_field}"
        notified, notified_ok = _time(record, "notified")
    else:
        kind, name = event
        notified_from = f"{kind} {name} added" if kind in ("label", "tag") else f"{kind} {name}"
        notified, notified_ok = _first_event(record, kind, name)
    problems: list[Message] = []
    if analysis == UNREADABLE:
        problems.append(msg("the recorded analysis ({where}) cannot be read", where=analysis_from))
    elif analysis == CONTRADICTORY:
        problems.append(
            msg(
                "the analysis contradicts itself: {where} says both that customers must be notified "
                "and that they need not be",
                where=analysis_from,
            )
        )
    if analysis != NO_NOTIFY and detected is None:  # no notification due: its times are not judged
        problems.append(msg("the detection time ({where}) cannot be read", where=detected_from))
    if analysis in (NOTIFY, CONTRADICTORY, UNREADABLE) and not notified_ok:
        problems.append(msg("the notification time ({where}) cannot be read", where=notified_from))
    if problems:
        return unobservable(key, msg("incident {key}: {problems}", key=key, problems=problems), sources)
    return observed(
        key,
        BreachIncident(
            key=key,
            detected=detected,
            detected_from=detected_from,
            notification_required={NOTIFY: True, NO_NOTIFY: False}.get(analysis),
            notified=notified,
            notified_from=notified_from,
            observed_at=answered_at(sources, observed_at),
            analysis_from=analysis_from,
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
