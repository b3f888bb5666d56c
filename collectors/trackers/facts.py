"""What the tracker says about data-subject requests and incidents: keys and times, never a ticket's text.

Free of I/O (no HTTP client): controls import these types. A time is timezone-aware; an
unreadable or missing time that the control needs makes the subject an `error` at collection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DSR_POPULATION = "trackers.data_subject_requests"
"""Every data-subject request of the configured register (clause 10)."""
BREACH_POPULATION = "trackers.breach_incidents"
"""Every incident of the configured register (clause 13)."""
TRACKER_POPULATIONS = (DSR_POPULATION, BREACH_POPULATION)


@dataclass(frozen=True)
class DataSubjectRequest:
    """One data-subject request: when it was created and resolved (None: still open)."""

    key: str
    created: datetime
    resolved: datetime | None
    observed_at: datetime
    """When the tracker was read: an open request's age is judged at this moment."""


@dataclass(frozen=True)
class BreachIncident:
    """One incident: when it was detected, whether customers must be told, and when they were."""

    key: str
    detected: datetime | None
    """None only when no notification is required (its times are then not judged)."""
    detected_from: str
    """Where the detection time comes from: "created" or "field <id>"."""
    notification_required: bool
    notified: datetime | None
    """When customers were notified (None: the tracker records no notification)."""
    notified_from: str
    """Where the notification time is read: "field <id>", "label <name> added", "status <name>",
    "tag <name> added" or "state <name>" (Azure DevOps)."""
    observed_at: datetime
