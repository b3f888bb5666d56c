"""12g: "Onze webservers worden maandelijks gepatched naar de laatste Windows updates." (hosts)

Our web servers are patched monthly to the latest Windows updates. On a Windows host reached
over SSH the evidence is the Windows Update Agent: its history says which cumulative update
(LCU) was installed and when, its search says what is still offered. Get-HotFix is recorded
for reference only (it lists CBS updates alone and its dates are often blank). A host whose
update source (WSUS) offers nothing is not patched for that reason: the newest installed
cumulative update must itself be from the current or previous Patch Tuesday cycle.

An operating system that no longer receives security updates cannot be patched at all, so
every host (Windows and Linux) must also run a release that is still supported on the run date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from collectors.config import Policy
from collectors.hosts.facts import HostFacts, OperatingSystem, PendingUpdate, UpdateHistoryEntry
from controls.framework import Evidence, EvidenceMissing, control
from controls.patch_age import overdue_reason

# --- Patch Tuesday ---------------------------------------------------------------------------------

TUESDAY = 1


def patch_tuesday(year: int, month: int) -> date:
    """Return the second Tuesday of a month: Microsoft's monthly security release ("B" release)."""
    first = date(year, month, 1)
    return first + timedelta(days=(TUESDAY - first.weekday()) % 7 + 7)


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


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


def pending_overdue(update: PendingUpdate, run_date: date, grace_days: int) -> str | None:
    """Return why an urgent pending update is overdue on the run date, or None while within grace.

    An update without a release date cannot be shown to be within the grace period (fail closed).
    """
    return overdue_reason(update.released, run_date, grace_days)


def _pending_label(update: PendingUpdate) -> str:
    kbs = [kb for kb in update.kbs if kb.lower() not in update.title.lower()]
    rated = ", ".join(filter(None, [update.severity, *update.categories[:2]]))
    return f"{update.title}{' (' + ', '.join(kbs) + ')' if kbs else ''} [{rated}]"


def _search_problem(host: HostFacts, code: int | None) -> str | None:
    if code is None:
        return host.missing("wua_search")
    if code != 2:
        name = SEARCH_RESULTS.get(code, "unknown")
        return (
            f"host {host.name}: the Windows Update search for pending updates did not succeed "
            f"(result code {code}, {name}), so overdue updates cannot be ruled out"
        )
    return None


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
        newest_cumulative_update=f"released {previous:%Y-%m} or later (Patch Tuesdays {previous} and {current})",
        installed_days_ago=f"<= {policy.patch_max_age_days}",
        pending_critical_or_security=f"none released more than {policy.pending_grace_days} days ago",
        search_result="2 (Succeeded)",
    )
    if not updates.history:
        raise EvidenceMissing(
            f"host {host.name}: the Windows Update history is empty (cleared or never used), so the "
            "installed cumulative update cannot be shown"
        )
    source = f" (update source: WSUS {updates.update_source})" if updates.update_source else ""
    problems: list[str] = []
    if newest is None:
        problems.append(
            f"no installed cumulative update in the Windows Update history ({len(updates.history)} "
            f"entries){source}"
        )
    else:
        if (newest.year, newest.month) < (previous.year, previous.month):
            offered = (
                "; the update source offers nothing pending, so a check of pending updates alone would "
                "pass this host"
                if not updates.pending and updates.search_result == 2
                else ""
            )
            kb = f" {newest.entry.kb}" if newest.entry.kb else ""
            problems.append(
                f"the newest installed cumulative update is {newest.release}{kb} (installed "
                f"{newest.entry.date.date()}), older than the {previous:%Y-%m} and {current:%Y-%m} releases "
                f"(Patch Tuesdays {previous} and {current}){source}{offered}"
            )
        if age is not None and age > policy.patch_max_age_days:
            problems.append(
                f"the newest cumulative update ({newest.entry.kb or newest.release}) was installed "
                f"{age} days before the run date (at most {policy.patch_max_age_days} allowed)"
            )
    overdue = [
        f"{_pending_label(u)}: {reason}"
        for u in urgent
        if (reason := pending_overdue(u, run_date, policy.pending_grace_days)) is not None
    ]
    if overdue:
        problems.append(
            f"{len(overdue)} Critical/Security update(s) pending beyond the {policy.pending_grace_days}-day "
            "grace period: " + "; ".join(overdue)
        )
    assert not problems, f"host {host.name}: " + "; ".join(problems)
    missing = _search_problem(host, updates.search_result)
    if missing:
        raise EvidenceMissing(missing)


# --- operating system lifecycle --------------------------------------------------------------------


@dataclass(frozen=True)
class Lifecycle:
    """A release and the last day it receives security updates without a paid extension."""

    release: str
    support_ends: date
    phase: str
    """What the date ends: "extended support", "Debian LTS", "standard support", "maintenance support"."""
    paid_extension: str | None = None


WINDOWS_SERVER_LIFECYCLE: dict[int, Lifecycle] = {
    9200: Lifecycle("Windows Server 2012", date(2023, 10, 10), "extended support", "ESU until 2026-10-13"),
    9600: Lifecycle("Windows Server 2012 R2", date(2023, 10, 10), "extended support", "ESU until 2026-10-13"),
    14393: Lifecycle("Windows Server 2016", date(2027, 1, 12), "extended support"),
    17763: Lifecycle("Windows Server 2019", date(2029, 1, 9), "extended support"),
    20348: Lifecycle("Windows Server 2022", date(2031, 10, 14), "extended support"),
    26100: Lifecycle("Windows Server 2025", date(2034, 10, 10), "extended support"),
}
"""Windows Server (LTSC) by CurrentBuild: Microsoft's extended support end (learn.microsoft.com lifecycle
pages, endoflife.date). Extended Security Updates are paid and not observable from the host, so they
do not count."""

LINUX_LIFECYCLE: dict[tuple[str, str], Lifecycle] = {
    ("debian", "10"): Lifecycle("Debian 10 (buster)", date(2024, 6, 30), "Debian LTS", "Freexian ELTS"),
    ("debian", "11"): Lifecycle("Debian 11 (bullseye)", date(2026, 8, 31), "Debian LTS", "Freexian ELTS"),
    ("debian", "12"): Lifecycle("Debian 12 (bookworm)", date(2028, 6, 30), "Debian LTS", "Freexian ELTS"),
    ("debian", "13"): Lifecycle("Debian 13 (trixie)", date(2030, 6, 30), "Debian LTS", "Freexian ELTS"),
    ("ubuntu", "20.04"): Lifecycle(
        "Ubuntu 20.04 LTS", date(2025, 5, 31), "standard support", "Ubuntu Pro ESM"
    ),
    ("ubuntu", "22.04"): Lifecycle(
        "Ubuntu 22.04 LTS", date(2027, 4, 1), "standard support", "Ubuntu Pro ESM"
    ),
    ("ubuntu", "24.04"): Lifecycle(
        "Ubuntu 24.04 LTS", date(2029, 5, 31), "standard support", "Ubuntu Pro ESM"
    ),
    ("rhel", "8"): Lifecycle("Red Hat Enterprise Linux 8", date(2029, 5, 31), "maintenance support", "ELS"),
    ("rhel", "9"): Lifecycle("Red Hat Enterprise Linux 9", date(2032, 5, 31), "maintenance support", "ELS"),
    ("rocky", "8"): Lifecycle("Rocky Linux 8", date(2029, 5, 31), "security support"),
    ("rocky", "9"): Lifecycle("Rocky Linux 9", date(2032, 5, 31), "security support"),
    ("almalinux", "8"): Lifecycle("AlmaLinux 8", date(2029, 3, 1), "security support"),
    ("almalinux", "9"): Lifecycle("AlmaLinux 9", date(2032, 5, 31), "security support"),
}
"""Linux releases by os-release ID and version (endoflife.date; Debian LTS announcements). Debian counts
its free LTS phase; Ubuntu counts standard support only (ESM needs an Ubuntu Pro subscription); the
RHEL family counts its whole 10-year life, judged on the major version."""

MAJOR_VERSIONED = frozenset({"debian", "rhel", "rocky", "almalinux"})


def lifecycle_of(os: OperatingSystem) -> Lifecycle | str:
    """Return the OS's lifecycle entry, or why the table does not know it."""
    if os.family == "windows":
        if os.build is None:
            return f"{os.product}: no build number was reported"
        if "server" not in os.product.lower():
            return f"{os.product} (build {os.build}) is not a Windows Server release in the lifecycle table"
        known = WINDOWS_SERVER_LIFECYCLE.get(os.build)
        return known or f"{os.product} (build {os.build}) is not in the Windows Server lifecycle table"
    distribution = (os.distribution or "").lower()
    version = os.version.strip()
    if distribution in MAJOR_VERSIONED:
        version = version.split(".")[0]
    known = LINUX_LIFECYCLE.get((distribution, version))
    return known or (
        f"{os.product} (ID={os.distribution or 'not reported'}, VERSION_ID={os.version or 'not reported'}) "
        "is not in the Linux lifecycle table"
    )


@control("12g.os-supported", over="hosts.all")
def test_host_os_is_supported(host: HostFacts, run_date: date, evidence: Evidence) -> None:
    if "os" in host.section_errors:
        raise EvidenceMissing(host.missing("os"))
    os = host.os
    known = lifecycle_of(os)
    evidence.observed(
        product=os.product,
        version=os.version,
        build=f"{os.build}.{os.ubr}" if os.build is not None and os.ubr is not None else os.build,
        distribution=os.distribution,
        release=known.release if isinstance(known, Lifecycle) else None,
        support_ends=known.support_ends if isinstance(known, Lifecycle) else None,
        support_phase=known.phase if isinstance(known, Lifecycle) else None,
    )
    evidence.expected(support_ends=f"after {run_date}")
    if isinstance(known, str):
        raise EvidenceMissing(f"host {host.name}: lifecycle unknown: {known}")
    days_left = (known.support_ends - run_date).days
    evidence.observed(days_left=days_left)
    extension = f" ({known.paid_extension} is paid and not evidenced)" if known.paid_extension else ""
    assert days_left >= 0, (
        f"host {host.name}: {known.release} ({os.product}, {os.version}) left {known.phase} on "
        f"{known.support_ends}, {-days_left} days before the run date: it no longer receives security "
        f"updates{extension}"
    )
