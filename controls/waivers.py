"""Accepted exceptions: a valid waiver turns a `fail` into `waived`; an expired one changes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase

from collectors.config.waivers import Waiver
from controls.framework import Verdict
from reports.evidence import msg


@dataclass(frozen=True)
class WaivedVerdict:
    """The verdict after waivers, and the waiver that matched (if any)."""

    verdict: Verdict
    waiver: Waiver | None
    expired: bool


def matching_waiver(waivers: Sequence[Waiver], control_id: str, resource: str) -> Waiver | None:
    """Return the waiver for this control and resource (case-insensitive glob), preferring valid ones."""
    matches = [
        w for w in waivers if w.control == control_id and fnmatchcase(resource.lower(), w.resource.lower())
    ]
    return max(matches, key=lambda w: w.expires, default=None)


def apply_waivers(
    verdict: Verdict, waivers: Sequence[Waiver], control_id: str, resource: str, today: date
) -> WaivedVerdict:
    """Return the verdict with waivers applied.

    Only a `fail` can be waived. A waiver past its `expires` date does not waive: the item
    keeps its real status and the message says when the waiver expired.
    """
    waiver = matching_waiver(waivers, control_id, resource)
    if waiver is None or verdict.status != "fail":
        return WaivedVerdict(verdict, None, expired=False)
    if waiver.expires < today:
        expired = msg(
            "{finding} (waiver approved by {approver} expired on {expires})",
            finding=verdict.finding,
            approver=waiver.approved_by,
            expires=waiver.expires,
        )
        return WaivedVerdict(Verdict("fail", expired), waiver, expired=True)
    waived = msg(
        "{finding} (waived by {approver} until {expires}: {justification})",
        finding=verdict.finding,
        approver=waiver.approved_by,
        expires=waiver.expires,
        justification=waiver.justification,
    )
    return WaivedVerdict(Verdict("waived", waived), waiver, expired=False)


@dataclass(frozen=True)
class WaiverCoverage:
    """What one configured waiver matched in a run: the cover's blanket and stale lists come from it."""

    waiver: Waiver
    scope: str
    evaluated: bool
    """The waiver's control has results in this run (it was not deselected with -k)."""
    matched: int
    """Results of the control whose resource the waiver's glob matches, whatever their status."""
    expired: bool

    @property
    def stale(self) -> bool:
        """Return True when the control was evaluated and the waiver matched none of its results."""
        return self.evaluated and self.matched == 0

    @property
    def blanket(self) -> bool:
        """Return True for a waiver of a whole control (`scope = "control"`)."""
        return self.scope == "control"


def waiver_coverage(
    waivers: Sequence[Waiver], results: Iterable[tuple[str, str]], today: date
) -> list[WaiverCoverage]:
    """Return, per configured waiver in config order, what it matched among the (control, resource) results.

    A waiver whose control ran but whose glob matches no result is stale: the resource was
    renamed or removed, or the pattern was mistyped. It is reported, not a failure of the run.
    A waiver of a control that has no result in this run (deselected) is not judged stale.
    """
    by_control: dict[str, list[str]] = {}
    for control_id, resource in results:
        by_control.setdefault(control_id, []).append(resource.lower())
    coverage = []
    for waiver in waivers:
        resources = by_control.get(waiver.control)
        pattern = waiver.resource.lower()
        coverage.append(
            WaiverCoverage(
                waiver=waiver,
                scope=waiver.scope,
                evaluated=resources is not None,
                matched=sum(1 for resource in resources or () if fnmatchcase(resource, pattern)),
                expired=waiver.expires < today,
            )
        )
    return coverage
