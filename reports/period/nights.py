"""The nights of a period: expected, present, verified, and every deviation of the archive.

Every calendar night of the period is expected to have an archived run. A night without one is
missing; a run that started more than a day after its night is late (backfilled); a run that
does not verify is altered (a file or signature), inserted (archived elsewhere than its chain.json
says, or claiming to be the first night), incomplete (no manifest) or unverifiable (a link or
timestamp that cannot be checked); a run whose link shows a night before it removed, altered or
inserted is a chain deviation, but its own evidence still counts. Each is a deviation the
auditor sees on the cover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from reports.archive.chain import RunKey
from reports.archive.verify_chain import ChainReport, RunCheck

LATE_AFTER = timedelta(days=1)
"""A run that started this long after its night began (00:00 UTC) was not the nightly run."""

DEVIATION_ORDER = ("missing", "late", "altered", "inserted", "incomplete", "unverifiable", "chain")


@dataclass(frozen=True)
class Deviation:
    """One night that is not a present, verified, punctual run: its kind and what was found."""

    night: date
    kind: str
    detail: str
    run_key: str | None = None


@dataclass
class PeriodNights:
    """The period's nights: which run counts for each, and the deviations."""

    start: date
    end: date
    runs: dict[date, RunCheck] = field(default_factory=dict)
    """The run that counts for each present night: its last archived run."""
    deviations: list[Deviation] = field(default_factory=list)

    @property
    def expected(self) -> int:
        """Return how many nights the period has."""
        return (self.end - self.start).days + 1

    @property
    def present(self) -> int:
        """Return how many nights have an archived run."""
        return len(self.runs)

    @property
    def verified(self) -> int:
        """Return how many nights' runs are authentic: files, signature and timestamp verify and the
        run is where its chain.json says (a link that shows trouble before it does not discount it)."""
        return sum(1 for check in self.runs.values() if check.authentic)


def _started(run: RunKey) -> datetime:
    return datetime.strptime(run.run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def period_nights(chain: ChainReport, start: date, end: date) -> PeriodNights:
    """Return the period's nights from verify-chain's report over the same window."""
    nights = PeriodNights(start, end)
    for check in chain.runs:
        nights.runs[check.run.night] = check  # runs come sorted: the night's last run wins
    for night in chain.missing_nights:
        nights.deviations.append(Deviation(night, "missing", "no run was archived for this night"))
    for night, check in sorted(nights.runs.items()):
        night_start = datetime(night.year, night.month, night.day, tzinfo=UTC)
        started = _started(check.run)
        if started - night_start > LATE_AFTER:
            nights.deviations.append(
                Deviation(night, "late", f"the run started {started:%Y-%m-%d %H:%M} UTC", check.run.prefix)
            )
        for kind in DEVIATION_ORDER:
            if kind in check.kinds:
                detail = "; ".join(check.problems)
                nights.deviations.append(Deviation(night, kind, detail, check.run.prefix))
                break
    nights.deviations.sort(key=lambda d: (d.night, DEVIATION_ORDER.index(d.kind)))
    return nights
