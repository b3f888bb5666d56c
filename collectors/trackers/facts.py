"""What the tracker says about data-subject requests and incidents: keys and times, never a ticket's text.

Free of I/O (no HTTP client): controls import these types. A time is timezone-aware; an
unreadable or missing time that the control needs makes the subject an `error` at collection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DSR_POPULATION = "trackers.data_subject_requests"
"""Every data-subject request of the configured register (clause 10)."""
BREACH_POPULATION = "trackers.breach_incidents"
"""Every incident of the configured register (clause 13)."""
TRACKER_POPULATIONS = (DSR_POPULATION, BREACH_POPULATION)
CLOCK_SKEW = timedelta(minutes=5)
"""How far the tracker's clock may run ahead of the auditor's: a time later than the read by more
than this cannot have been written yet, so it is not judged (`error`)."""


@dataclass(frozen=True)
class DataSubjectRequest:
    """One data-subject request: when it was created and resolved (None: still open), and how it was closed."""

    key: str
    created: datetime
    resolved: datetime | None
    """None while the ticket is not done (a reopened ticket's old resolution time is not used)."""
    observed_at: datetime
    """When the tracker answered about this ticket: an open request's age is judged at this moment."""
    resolution: str | None = None
    """How the tracker says the request was closed, a short workflow word ("Done", "Won't Do",
    "not_planned", "Duplicate", ...; "other" for anything else, see `records.kept_resolution`); None
    while open or when the tracker records none."""


@dataclass(frozen=True)
class BreachIncident:
    """One incident: when it was detected, whether customers must be told, and when they were."""

    key: str
    detected: datetime | None
    """None only when no notification is required (its times are then not judged)."""
    detected_from: str
    """Where the detection time comes from: "created" or "field <id>"."""
    notification_required: bool | None
    """What the recorded analysis says: True (customers must be told), False (they need not be), or
    None: no analysis is recorded (neither label / tag, or an empty or unrecognised field)."""
    notified: datetime | None
    """When customers were notified (None: the tracker records no notification)."""
    notified_from: str
    """Where the notification time is read: "field <id>", "label <name> added", "status <name>",
    "tag <name> added" or "state <name>" (Azure DevOps)."""
    observed_at: datetime
    """When the tracker last answered about this incident: a pending analysis is judged at this moment."""
    analysis_from: str = ""
    """Where the analysis is read, e.g. "label klant-informeren / label klant-niet-informeren"."""
