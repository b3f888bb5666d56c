"""12g: "Onze webservers worden maandelijks gepatched naar de laatste Windows updates." (Windows hosts)

Our web servers are patched monthly to the latest Windows updates. On a Windows host reached
over SSH the evidence is the Windows Update Agent: its history says which cumulative update
(LCU) was installed and when, its search says what is still offered. Get-HotFix is recorded
for reference only (it lists CBS updates alone and its dates are often blank). A host whose
update source (WSUS) offers nothing is not patched for that reason: the newest installed
cumulative update must itself be from the current or previous Patch Tuesday cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from collectors.config.policy import Policy
from collectors.hosts.facts import HostFacts, PendingUpdate, UpdateHistoryEntry
from controls.framework import Evidence, EvidenceMissing, control
from controls.patch_age import overdue_message, overdue_pending
from reports.evidence import Message, msg, msg_n

# --- Patch Tuesday ---------------------------------------------------------------------------------

TUESDAY = 1


def patch_tuesday(year: int, month: int) -> date:
    """Return the second Tuesday of a month: Microsoft's monthly security release ("B" release)."""
    first = date(year, month, 1)
    return first + timedelta(days=(TUESDAY - first.weekday()) % 7 + 7)


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def release_month(tuesday: date) -> str:
    """Return the month of a Patch Tuesday as update titles name it: "YYYY-MM"."""
    return f"{tuesday:%Y-%m}"


def patch_cycles(run_date: date) -> tuple[date, date]:
    """Return the Patch Tuesday of the current cycle (the latest on or before the run date) and the one before."""
    current = patch_tuesday(run_date.year, run_date.month)
    if current > run_date:
        current = patch_tuesday(*_month_before(run_date.year, run_date.month))
    previous = patch_tuesday(*_month_before(current.year, current.month))
    return current, previous


# --- cumulative updates in the Windows Update history ----------------------------------------------

CUMULATIVE_UPDATE = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{2})\s+"
    r"(?:Cumulative Update|Cumulatieve update|Security Monthly Quality Rollup)\b",
    re.IGNORECASE,
)
"""An LCU title: "2026-11 Cumulative Update for Microsoft server operating system version 21H2 for
x64-based Systems (KB…)", its Dutch form "2026-11 Cumulatieve update voor …", or the monthly rollup
of Server 2012 R2. The YYYY-MM prefix is the month of the release."""
NOT_CUMULATIVE = re.compile(r"\.NET|Preview|Voorbeeld|Dynamic|Dynamische", re.IGNORECASE)
"""Titles that match the pattern but are not the OS's monthly update (.NET, optional previews, setup)."""
SUCCEEDED = (2, 3)
"""OperationResultCode Succeeded and SucceededWithErrors."""
INSTALLATION, UNINSTALLATION = 1, 2
SEARCH_RESULTS = {
    0: "NotStarted",
    1: "InProgress",
    2: "Succeeded",
    3: "SucceededWithErrors",
    4: "Failed",
    5: "Aborted",
}
URGENT_CATEGORIES = ("security updates", "critical updates")


@dataclass(frozen=True)
class CumulativeUpdate:
    """An installed cumulative update: its history entry and the month it was released for."""

    entry: UpdateHistoryEntry
    year: int
    month: int

    @property
    def release(self) -> str:
        """The release month as "YYYY-MM"."""
        return f"{self.year:04d}-{self.month:02d}"


def cumulative_update_month(title: str) -> tuple[int, int] | None:
    """Return the (year, month) of an OS cumulative update's title, or None when it is not one."""
    match = CUMULATIVE_UPDATE.match(title.strip())
    if match is None or NOT_CUMULATIVE.search(title):
        return None
    year, month = int(match.group("year")), int(match.group("month"))
    return (year, month) if 1 <= month <= 12 else None


def installed_cumulative_updates(history: tuple[UpdateHistoryEntry, ...]) -> list[CumulativeUpdate]:
    """Return the cumulative updates that are installed, newest release first.

    Only successful installations count; an update whose latest successful event is its
    uninstallation (a rollback) does not.
    """
    latest: dict[str, UpdateHistoryEntry] = {}
    for entry in sorted(history, key=lambda e: e.date):
        if entry.result not in SUCCEEDED or entry.operation not in (INSTALLATION, UNINSTALLATION):
            continue
        latest[entry.kb or entry.title] = entry
    updates = []
    for entry in latest.values():
        month = cumulative_update_month(entry.title)
        if month is not None and entry.operation == INSTALLATION:
            updates.append(CumulativeUpdate(entry, *month))
    return sorted(updates, key=lambda u: (u.year, u.month, u.entry.date), reverse=True)


def pending_is_urgent(update: PendingUpdate) -> bool:
    """Return True for a pending update rated Critical or classified Security/Critical Updates."""
    if (update.severity or "").lower() == "critical":
        return True
    return any(c.lower() in URGENT_CATEGORIES for c in update.categories)


def pending_overdue(update: PendingUpdate, run_date: date, grace_days: int) -> Message | None:
    """Return why an urgent pending update is overdue on the run date, or None while within grace.

    An update without a release date cannot be shown to be within the grace period (fail closed).
    """
    return overdue_message(update.released, run_date, grace_days)


def _pending_label(update: PendingUpdate) -> str:
    kbs = [kb for kb in update.kbs if kb.lower() not in update.title.lower()]
    rated = ", ".join(filter(None, [update.severity, *update.categories[:2]]))
    return f"{update.title}{' (' + ', '.join(kbs) + ')' if kbs else ''} [{rated}]"


def _search_problem(host: HostFacts, code: int | None) -> Message | str | None:
    if code is None:
        return host.missing("wua_search")
    if code != 2:
        return msg(
            "host {host}: the Windows Update search for pending updates did not succeed "
            "(result code {code}, {name}), so overdue updates cannot be ruled out",
            host=host.name,
            code=code,
            name=SEARCH_RESULTS.get(code) or msg("unknown"),
        )
    return None


def _overdue_text(update: PendingUpdate, reason: Message) -> Message:
    return msg("{update}: {reason}", update=_pending_label(update), reason=reason)


def _with_update_source(problem: Message, source: str | None) -> Message:
    """Return a problem with the WSUS server that serves the host's updates, when it has one."""
    if not source:
        return problem
    return msg("{problem} (update source: WSUS {source})", problem=problem, source=source)


@control("12g.windows-monthly-patching", over="hosts.windows")
def test_windows_host_is_patched_monthly(
    host: HostFacts, policy: Policy, run_date: date, evidence: Evidence
) -> None:
    updates = host.windows_updates
    if updates is None:
        raise EvidenceMissing(host.missing("windows_updates"))
    current, previous = patch_cycles(run_date)
    installed = installed_cumulative_updates(updates.history)
    newest = installed[0] if installed else None
    age = (run_date - newest.entry.date.date()).days if newest else None
    urgent = [u for u in updates.pending if pending_is_urgent(u)]
    evidence.observed(
        build=f"{host.os.build}.{host.os.ubr}" if host.os.build is not None else None,
        ubr=host.os.ubr,
        newest_cumulative_update=(
            {
                "release": newest.release,
                "kb": newest.entry.kb,
                "title": newest.entry.title,
                "installed": newest.entry.date,
            }
            if newest
            else None
        ),
        installed_days_ago=age,
        current_patch_tuesday=current,
        previous_patch_tuesday=previous,
        history_entries=len(updates.history),
        search_result=updates.search_result,
        pending_count=len(updates.pending),
        pending_critical_or_security=[
            {"title": u.title, "kbs": u.kbs, "severity": u.severity, "released": u.released} for u in urgent
        ],
        update_source=updates.update_source or "Windows Update",
        reboot_required=updates.reboot_required,
        hotfix_count=len(updates.hotfixes),
        hotfixes_without_date=sum(1 for h in updates.hotfixes if h.installed_on is None),
    )
    evidence.expected(
        newest_cumulative_update=msg(
            "released {release} or later (Patch Tuesdays {previous} and {current})",
            release=release_month(previous),
            previous=previous,
            current=current,
        ),
        installed_days_ago=f"<= {policy.patch_max_age_days}",
        pending_critical_or_security=msg_n(
            "none released more than {days} day ago",
            "none released more than {days} days ago",
            "days",
            days=policy.pending_grace_days,
        ),
        search_result="2 (Succeeded)",
    )
    if not updates.history:
        raise EvidenceMissing(
            msg(
                "host {host}: the Windows Update history is empty (cleared or never used), so the installed "
                "cumulative update cannot be shown",
                host=host.name,
            )
        )
    problems: list[Message] = []
    if newest is None:
        none_installed = msg_n(
            "no installed cumulative update in the Windows Update history ({n} entry)",
            "no installed cumulative update in the Windows Update history ({n} entries)",
            "n",
            n=len(updates.history),
        )
        problems.append(_with_update_source(none_installed, updates.update_source))
    else:
        if (newest.year, newest.month) < (previous.year, previous.month):
            outdated = msg(
                "the newest installed cumulative update is {update} (installed {installed}), older than the "
                "{previous_release} and {current_release} releases (Patch Tuesdays {previous} and {current})",
                update=" ".join(filter(None, [newest.release, newest.entry.kb])),
                installed=newest.entry.date.date(),
                previous_release=release_month(previous),
                current_release=release_month(current),
                previous=previous,
                current=current,
            )
            outdated = _with_update_source(outdated, updates.update_source)
            if not updates.pending and updates.search_result == 2:
                outdated = msg(
                    "{problem}; the update source offers nothing pending, so a check of pending updates alone "
                    "would pass this host",
                    problem=outdated,
                )
            problems.append(outdated)
        if age is not None and age > policy.patch_max_age_days:
            problems.append(
                msg_n(
                    "the newest cumulative update ({update}) was installed {days} day before the run date "
                    "(at most {max_days} allowed)",
                    "the newest cumulative update ({update}) was installed {days} days before the run date "
                    "(at most {max_days} allowed)",
                    "days",
                    update=newest.entry.kb or newest.release,
                    days=age,
                    max_days=policy.patch_max_age_days,
                )
            )
    overdue = [
        _overdue_text(u, reason)
        for u in urgent
        if (reason := pending_overdue(u, run_date, policy.pending_grace_days)) is not None
    ]
    if (pending := overdue_pending(overdue, policy.pending_grace_days, noun="update")) is not None:
        problems.append(pending)
    assert not problems, evidence.fails("host {host}: {problems}", host=host.name, problems=problems)
    missing = _search_problem(host, updates.search_result)
    if missing:
        raise EvidenceMissing(missing)
