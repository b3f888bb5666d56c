"""The package manager sections (apt, dnf, yum and their index times): the pending updates of a host.

apt: a suite containing `-security` is a security update; the index age is the newest
`/var/lib/apt/lists/*Release` mtime (apt stamps it with the archive's Last-Modified) or
APT::Periodic's update-success-stamp. dnf/yum are read from the metadata cache (`-C`):
`updateinfo list --security`, else `check-update --security` (exit 100 = updates, 0 = none).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from collectors.hosts.facts import LinuxPendingUpdate, LinuxUpdates
from collectors.hosts.linux.sections import Section
from collectors.messages import Reason, semicolon_list
from reports.evidence import msg

_APT_LINE = re.compile(r"^(?P<pkg>[^/\s]+)/(?P<suites>\S+)\s+(?P<version>\S+)\s+\S+(?:\s+\[.*\])?$")


def parse_apt_upgradable(text: str) -> tuple[LinuxPendingUpdate, ...]:
    """Return the packages `apt list --upgradable` lists; security when a suite ends in -security.

    apt always prints "Listing..." first, also when nothing is upgradable: output without it is
    not apt's answer (cut off, or another program), so it is refused rather than read as "none".
    """
    if not any(line.strip().startswith("Listing") for line in text.splitlines()):
        raise ValueError("apt list printed no 'Listing...' line")
    pending = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("Listing", "WARNING", "N:", "W:", "E:")):
            continue
        match = _APT_LINE.match(line)
        if match is None:
            raise ValueError(f"unrecognised apt list line {line[:100]!r}")
        suites = match.group("suites")
        pending.append(
            LinuxPendingUpdate(
                package=match.group("pkg"),
                version=match.group("version"),
                origin=suites,
                security=any("-security" in suite for suite in suites.split(",")),
            )
        )
    return tuple(pending)


def _split_nevra(nevra: str) -> tuple[str, str]:
    """Return (name, epoch:version-release) of an RPM NEVRA such as openssl-1:3.0.7-25.el9_3.x86_64."""
    base = (
        nevra.rsplit(".", 1)[0]
        if re.search(r"\.(x86_64|aarch64|noarch|i686|ppc64le|s390x|src)$", nevra)
        else nevra
    )
    parts = base.rsplit("-", 2)
    if len(parts) < 3:
        return base, ""
    return parts[0], f"{parts[1]}-{parts[2]}"


def parse_dnf_updateinfo(text: str) -> tuple[LinuxPendingUpdate, ...]:
    """Return the packages of `dnf updateinfo list --security` (dnf 4, yum and dnf 5 layouts)."""
    pending = []
    dnf5 = False
    for line in text.splitlines():
        tokens = line.split()
        if not tokens:
            continue
        if tokens[0] == "Name" and "Type" in tokens:
            dnf5 = True
            continue
        if line.startswith(("Last metadata", "Updating", "Loaded plugins")):
            continue
        if dnf5 and len(tokens) >= 4:
            advisory, severity, nevra = tokens[0], tokens[2], tokens[3]
        elif len(tokens) == 3:
            advisory, severity, nevra = tokens[0], tokens[1].removesuffix("/Sec."), tokens[2]
        else:
            raise ValueError(f"unrecognised updateinfo line {line.strip()[:100]!r}")
        name, version = _split_nevra(nevra)
        pending.append(
            LinuxPendingUpdate(
                package=name, version=version, origin=f"{advisory} ({severity})", security=True
            )
        )
    return tuple(pending)


def parse_dnf_check_update(text: str) -> tuple[LinuxPendingUpdate, ...]:
    """Return the packages of `dnf check-update --security` ("name.arch  version  repo" lines)."""
    pending = []
    for line in text.splitlines():
        tokens = line.split()
        if not tokens:
            continue
        if tokens[0] in ("Obsoleting", "Security:") or line.startswith(("Last metadata", " ")):
            if tokens[0] == "Obsoleting":
                break
            continue
        if len(tokens) != 3:
            raise ValueError(f"unrecognised check-update line {line.strip()[:100]!r}")
        name = tokens[0].rsplit(".", 1)[0]
        pending.append(LinuxPendingUpdate(package=name, version=tokens[1], origin=tokens[2], security=True))
    return tuple(pending)


def parse_index_times(text: str) -> datetime | None:
    """Return the newest of the `stat -c '%Y %n'` times listed, as a UTC datetime."""
    newest: int | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        stamp, _, path = line.partition(" ")
        if not stamp.isdigit() or not path:
            raise ValueError(f"unrecognised package index time {line.strip()[:80]!r}")
        newest = max(newest or 0, int(stamp))
    if newest is None:
        return None
    try:
        return datetime.fromtimestamp(newest, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"package index time {newest} is not a date") from None


def read_updates(sections: Mapping[str, Section], errors: dict[str, Reason]) -> LinuxUpdates | None:
    """Return the pending updates of apt, dnf or yum; None with the reason in `errors["linux_updates"]`."""
    dnf_index = sections.get("dnf-index")
    apt = sections.get("apt")
    try:
        index_updated = (
            parse_index_times(dnf_index.stdout) if dnf_index is not None and dnf_index.ok else None
        )
        if apt is not None:
            if not apt.ok:
                errors["linux_updates"] = apt.failure("apt list --upgradable")
                return None
            apt_index = sections.get("apt-index")
            updated = parse_index_times(apt_index.stdout) if apt_index is not None and apt_index.ok else None
            return LinuxUpdates(
                manager="apt", pending=parse_apt_upgradable(apt.stdout), index_updated=updated
            )
        for manager, prefix in (("dnf", "dnf"), ("yum", "yum")):
            info, check = sections.get(f"{prefix}-updateinfo"), sections.get(f"{prefix}-check-update")
            if info is None and check is None:
                continue
            kind: Literal["dnf", "yum"] = "dnf" if manager == "dnf" else "yum"
            if info is not None and info.ok:
                return LinuxUpdates(
                    manager=kind, pending=parse_dnf_updateinfo(info.stdout), index_updated=index_updated
                )
            if check is not None and check.rc in (0, 100):
                # exit 100: updates are available; 0: none.
                pending = parse_dnf_check_update(check.stdout)
                if check.rc == 100 and not pending:
                    raise ValueError("check-update exited 100 (updates available) but listed none")
                return LinuxUpdates(manager=kind, pending=pending, index_updated=index_updated)
            reasons = [
                s.failure(f"{manager} {s.name.split('-', 1)[1]}") for s in (info, check) if s is not None
            ]
            errors["linux_updates"] = semicolon_list(reasons)
            return None
    except ValueError as exc:
        errors["linux_updates"] = msg("pending updates cannot be read: {detail}", detail=str(exc))
        return None
    errors["linux_updates"] = msg("no supported package manager (apt, dnf or yum) was found")
    return None
