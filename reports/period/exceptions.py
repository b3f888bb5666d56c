"""Exceptions over a period: per resource, every interval in which a control did not pass.

An interval opens on the first counted night an item is `fail`, `error` or `waived`, and closes
on the first counted night it passes again (fixed), is not applicable, or is no longer evaluated
(gone from scope). Nights that are missing or do not verify are not counted and do not close an
interval: the auditor cannot tell what happened on them. An interval still open at the period's
end is "still failing". Each interval is judged against the remediation SLA, counted from its
first night not covered by a valid waiver.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

NOT_PASSING = ("fail", "error", "waived")


@dataclass(frozen=True)
class TicketRef:
    """The ticket of an interval: its key, link and state at the end of the interval."""

    key: str
    url: str | None
    state: str


@dataclass(frozen=True)
class WaiverRef:
    """A waiver in force during an interval."""

    approved_by: str
    justification: str
    expires: str


@dataclass
class Interval:
    """One resource's run of not-passing nights for one control."""

    control: str
    resource: str
    first: date
    last: date
    ended: str = "still failing"
    """"fixed", "not applicable", "gone from scope" or "still failing"."""
    fixed: date | None = None
    nights: int = 0
    statuses: set[str] = field(default_factory=set)
    first_unwaived: date | None = None
    finding: dict[str, Any] | None = None
    waivers: list[WaiverRef] = field(default_factory=list)
    ticket: TicketRef | None = None
    sla_days: int = 30
    period_end: date | None = None

    @property
    def end_reference(self) -> date:
        """Return the night the interval is measured to: its fixing night, else the period's end or its last night."""
        if self.fixed is not None:
            return self.fixed
        if self.ended == "still failing" and self.period_end is not None:
            return self.period_end
        return self.last

    @property
    def duration_days(self) -> int:
        """Return the days from the first not-passing night to the fixing night (or through the end)."""
        return (self.end_reference - self.first).days + (0 if self.fixed is not None else 1)

    @property
    def days_unwaived(self) -> int | None:
        """Return the days counted against the SLA (from the first night without a valid waiver), None if always waived."""
        if self.first_unwaived is None:
            return None
        return (self.end_reference - self.first_unwaived).days

    @property
    def sla_verdict(self) -> str:
        """Return "accepted (waived)", "within SLA", "remediated late", "open, within SLA" or "open, overdue"."""
        days = self.days_unwaived
        if days is None:
            return "accepted (waived)"
        still_open = self.ended == "still failing"
        if days > self.sla_days:
            return "open, overdue" if still_open else "remediated late"
        return "open, within SLA" if still_open else "within SLA"


@dataclass(frozen=True)
class NightResult:
    """One item's result on one counted night: status and the ids of its finding and waiver documents."""

    status: str
    finding: int | None
    waiver: int | None


def item_intervals(
    control: str,
    resource: str,
    nights: Sequence[date],
    results: Mapping[date, NightResult],
    documents: Mapping[int, str],
    *,
    sla_days: int,
) -> list[Interval]:
    """Return the item's not-passing intervals over the counted `nights` (sorted), from its `results`."""
    intervals: list[Interval] = []
    current: Interval | None = None
    for night in nights:
        result = results.get(night)
        if result is not None and result.status in NOT_PASSING:
            if current is None:
                current = Interval(control, resource, night, night, sla_days=sla_days, period_end=nights[-1])
                intervals.append(current)
            current.last = night
            current.nights += 1
            current.statuses.add(result.status)
            if result.finding is not None:
                current.finding = json.loads(documents[result.finding])
            waiver = json.loads(documents[result.waiver]) if result.waiver is not None else None
            if waiver is not None:
                ref = WaiverRef(
                    str(waiver["approved_by"]), str(waiver["justification"]), str(waiver["expires"])
                )
                if ref not in current.waivers:
                    current.waivers.append(ref)
            if (result.status != "waived") and current.first_unwaived is None:
                current.first_unwaived = night
            continue
        if current is not None:
            if result is None:
                current.ended = "gone from scope"
            elif result.status == "pass":
                current.ended, current.fixed = "fixed", night
            else:
                current.ended = "not applicable"
            current = None
    return intervals


def ticket_state(action: str) -> str:
    """Return the state a ticket is left in by a night's action (create, comment, resolve, reopen, ...)."""
    return {"resolve": "resolved", "reopen": "reopened", "create": "open"}.get(action, "open")
