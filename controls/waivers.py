"""Accepted exceptions: a valid waiver turns a `fail` into `waived`; an expired one changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase

from collectors.config import Waiver
from controls.framework import Verdict


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
        return WaivedVerdict(verdict, waiver if verdict.status == "fail" else None, expired=False)
    if waiver.expires < today:
        message = f"{verdict.message} (waiver approved by {waiver.approved_by} expired on {waiver.expires})"
        return WaivedVerdict(Verdict("fail", message), waiver, expired=True)
    message = (
        f"{verdict.message} (waived by {waiver.approved_by} until {waiver.expires}: {waiver.justification})"
    )
    return WaivedVerdict(Verdict("waived", message), waiver, expired=False)
