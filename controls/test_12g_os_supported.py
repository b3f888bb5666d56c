"""12g: "Onze webservers worden maandelijks gepatched naar de laatste Windows updates." (every host)

An operating system that no longer receives security updates cannot be patched at all, so
every host (Windows and Linux) must also run a release that is still supported on the run date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from collectors.hosts.facts import HostFacts, OperatingSystem
from controls.framework import Evidence, EvidenceMissing, control
from reports.evidence import N_, Message, msg

EXTENDED_SUPPORT = N_("extended support")
DEBIAN_LTS = N_("Debian LTS")
STANDARD_SUPPORT = N_("standard support")
MAINTENANCE_SUPPORT = N_("maintenance support")
SECURITY_SUPPORT = N_("security support")
"""The support phases whose end the lifecycle tables date (catalog texts)."""


@dataclass(frozen=True)
class Lifecycle:
    """A release and the last day it receives security updates without a paid extension."""

    release: str
    support_ends: date
    phase: str
    """What the date ends: "extended support", "Debian LTS", "standard support", "maintenance support"
    (a catalog text)."""
    paid_extension: str | None = None
    """The paid extension that may follow (ESU, Ubuntu Pro ESM, ELS): a product name."""
    paid_extension_until: date | None = None
    """The last day of the paid extension, where it has a fixed one."""


WINDOWS_SERVER_LIFECYCLE: dict[int, Lifecycle] = {
    9200: Lifecycle("Windows Server 2012", date(2023, 10, 10), EXTENDED_SUPPORT, "ESU", date(2026, 10, 13)),
    9600: Lifecycle(
        "Windows Server 2012 R2", date(2023, 10, 10), EXTENDED_SUPPORT, "ESU", date(2026, 10, 13)
    ),
    14393: Lifecycle("Windows Server 2016", date(2027, 1, 12), EXTENDED_SUPPORT),
    17763: Lifecycle("Windows Server 2019", date(2029, 1, 9), EXTENDED_SUPPORT),
    20348: Lifecycle("Windows Server 2022", date(2031, 10, 14), EXTENDED_SUPPORT),
    26100: Lifecycle("Windows Server 2025", date(2034, 10, 10), EXTENDED_SUPPORT),
}
"""Windows Server (LTSC) by CurrentBuild: Microsoft's extended support end (learn.microsoft.com lifecycle
pages, endoflife.date). Extended Security Updates are paid and not observable from the host, so they
do not count."""

LINUX_LIFECYCLE: dict[tuple[str, str], Lifecycle] = {
    ("debian", "10"): Lifecycle("Debian 10 (buster)", date(2024, 6, 30), DEBIAN_LTS, "Freexian ELTS"),
    ("debian", "11"): Lifecycle("Debian 11 (bullseye)", date(2026, 8, 31), DEBIAN_LTS, "Freexian ELTS"),
    ("debian", "12"): Lifecycle("Debian 12 (bookworm)", date(2028, 6, 30), DEBIAN_LTS, "Freexian ELTS"),
    ("debian", "13"): Lifecycle("Debian 13 (trixie)", date(2030, 6, 30), DEBIAN_LTS, "Freexian ELTS"),
    ("ubuntu", "20.04"): Lifecycle("Ubuntu 20.04 LTS", date(2025, 5, 31), STANDARD_SUPPORT, "Ubuntu Pro ESM"),
    ("ubuntu", "22.04"): Lifecycle("Ubuntu 22.04 LTS", date(2027, 4, 1), STANDARD_SUPPORT, "Ubuntu Pro ESM"),
    ("ubuntu", "24.04"): Lifecycle("Ubuntu 24.04 LTS", date(2029, 5, 31), STANDARD_SUPPORT, "Ubuntu Pro ESM"),
    ("rhel", "8"): Lifecycle("Red Hat Enterprise Linux 8", date(2029, 5, 31), MAINTENANCE_SUPPORT, "ELS"),
    ("rhel", "9"): Lifecycle("Red Hat Enterprise Linux 9", date(2032, 5, 31), MAINTENANCE_SUPPORT, "ELS"),
    ("rocky", "8"): Lifecycle("Rocky Linux 8", date(2029, 5, 31), SECURITY_SUPPORT),
    ("rocky", "9"): Lifecycle("Rocky Linux 9", date(2032, 5, 31), SECURITY_SUPPORT),
    ("almalinux", "8"): Lifecycle("AlmaLinux 8", date(2029, 3, 1), SECURITY_SUPPORT),
    ("almalinux", "9"): Lifecycle("AlmaLinux 9", date(2032, 5, 31), SECURITY_SUPPORT),
}
"""Linux releases by os-release ID and version (endoflife.date; Debian LTS announcements). Debian counts
its free LTS phase; Ubuntu counts standard support only (ESM needs an Ubuntu Pro subscription); the
RHEL family counts its whole 10-year life, judged on the major version."""

MAJOR_VERSIONED = frozenset({"debian", "rhel", "rocky", "almalinux"})


def lifecycle_of(os: OperatingSystem) -> Lifecycle | Message:
    """Return the OS's lifecycle entry, or why the table does not know it."""
    if os.family == "windows":
        if os.build is None:
            return msg("{product}: no build number was reported", product=os.product)
        if "server" not in os.product.lower():
            return msg(
                "{product} (build {build}) is not a Windows Server release in the lifecycle table",
                product=os.product,
                build=os.build,
            )
        known = WINDOWS_SERVER_LIFECYCLE.get(os.build)
        return known or msg(
            "{product} (build {build}) is not in the Windows Server lifecycle table",
            product=os.product,
            build=os.build,
        )
    distribution = (os.distribution or "").lower()
    version = os.version.strip()
    if distribution in MAJOR_VERSIONED:
        version = version.split(".")[0]
    known = LINUX_LIFECYCLE.get((distribution, version))
    return known or msg(
        "{product} (ID={distribution}, VERSION_ID={version}) is not in the Linux lifecycle table",
        product=os.product,
        distribution=os.distribution or msg("not reported"),
        version=os.version or msg("not reported"),
    )


def paid_extension_text(known: Lifecycle) -> Message | str | None:
    """Return the paid extension that may follow the end of support, with its end date when it has one."""
    if known.paid_extension is None or known.paid_extension_until is None:
        return known.paid_extension
    return msg("{extension} until {date}", extension=known.paid_extension, date=known.paid_extension_until)


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
        support_phase=msg(known.phase) if isinstance(known, Lifecycle) else None,
    )
    evidence.expected(support_ends=msg("after {date}", date=run_date))
    if not isinstance(known, Lifecycle):
        raise EvidenceMissing(msg("host {host}: lifecycle unknown: {reason}", host=host.name, reason=known))
    days_left = (known.support_ends - run_date).days
    evidence.observed(days_left=days_left)
    ended = {
        "host": host.name,
        "release": known.release,
        "product": os.product,
        "version": os.version,
        "phase": msg(known.phase),
        "ended": known.support_ends,
        "days": -days_left,
    }
    extension = paid_extension_text(known)
    assert days_left >= 0, (
        evidence.fails_n(
            "host {host}: {release} ({product}, {version}) left {phase} on {ended}, {days} day before the run "
            "date: it no longer receives security updates",
            "host {host}: {release} ({product}, {version}) left {phase} on {ended}, {days} days before the run "
            "date: it no longer receives security updates",
            "days",
            **ended,
        )
        if extension is None
        else evidence.fails_n(
            "host {host}: {release} ({product}, {version}) left {phase} on {ended}, {days} day before the run "
            "date: it no longer receives security updates ({extension} is paid and not evidenced)",
            "host {host}: {release} ({product}, {version}) left {phase} on {ended}, {days} days before the run "
            "date: it no longer receives security updates ({extension} is paid and not evidenced)",
            "days",
            extension=extension,
            **ended,
        )
    )
