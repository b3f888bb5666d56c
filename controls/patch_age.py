"""How long a pending patch has been out: the grace-period arithmetic shared by the patch controls."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from reports.evidence import Message, msg, msg_n
from reports.i18n.translation import english


def overdue_message(
    released: datetime | None, run_date: date, grace_days: int, verb: str = "released"
) -> Message | None:
    """Return why a pending urgent patch is overdue on the run date, or None while it is within grace.

    A patch without a release date cannot be shown to be within the grace period, so it counts
    as overdue (fail closed). `verb` is "released" (Windows Update) or "published" (Update Manager).
    """
    published = verb == "published"
    if released is None:
        if published:
            return msg("publish date not reported, so it cannot be shown to be within the grace period")
        return msg("release date not reported, so it cannot be shown to be within the grace period")
    age = (run_date - released.date()).days
    if age <= grace_days:
        return None
    if published:
        return msg_n(
            "published {date}, {days} day before the run date",
            "published {date}, {days} days before the run date",
            "days",
            date=released.date(),
            days=age,
        )
    return msg_n(
        "released {date}, {days} day before the run date",
        "released {date}, {days} days before the run date",
        "days",
        date=released.date(),
        days=age,
    )


def overdue_reason(
    released: datetime | None, run_date: date, grace_days: int, verb: str = "released"
) -> str | None:
    """Return overdue_message(...) in English (None while the patch is within grace)."""
    reason = overdue_message(released, run_date, grace_days, verb)
    return None if reason is None else english(reason)


def overdue_pending(
    overdue: list[Message], grace_days: int, *, noun: Literal["patch", "update"]
) -> Message | None:
    """Return the sentence both patch controls end with, "N Critical/Security patches|updates pending
    beyond the grace period: ...", or None when nothing is overdue. Azure Update Manager says
    "patch", Windows Update "update"."""
    if not overdue:
        return None
    if noun == "patch":
        return msg_n(
            "{n} Critical/Security patch pending beyond the {grace}-day grace period: {patches}",
            "{n} Critical/Security patches pending beyond the {grace}-day grace period: {patches}",
            "n",
            n=len(overdue),
            grace=grace_days,
            patches=overdue,
        )
    return msg_n(
        "{n} Critical/Security update pending beyond the {grace}-day grace period: {updates}",
        "{n} Critical/Security updates pending beyond the {grace}-day grace period: {updates}",
        "n",
        n=len(overdue),
        grace=grace_days,
        updates=overdue,
    )
