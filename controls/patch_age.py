"""How long a pending patch has been out: the grace-period arithmetic shared by the patch controls."""

from __future__ import annotations

from datetime import date, datetime


def overdue_reason(
    released: datetime | None, run_date: date, grace_days: int, verb: str = "released"
) -> str | None:
    """Return why a pending urgent patch is overdue on the run date, or None while it is within grace.

    A patch without a release date cannot be shown to be within the grace period, so it counts
    as overdue (fail closed).
    """
    if released is None:
        noun = {"released": "release", "published": "publish"}.get(verb, verb)
        return f"{noun} date not reported, so it cannot be shown to be within the grace period"
    age = (run_date - released.date()).days
    if age > grace_days:
        return f"{verb} {released.date().isoformat()}, {age} days before the run date"
    return None
