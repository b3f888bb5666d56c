"""The os-release and kernel sections: which Linux distribution and kernel a host runs."""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from collectors.hosts.facts import OperatingSystem
from collectors.hosts.linux.sections import Section
from collectors.messages import Reason
from reports.evidence import msg


def parse_os_release(text: str) -> dict[str, str]:
    """Return the KEY=value pairs of an os-release file (quotes removed)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key.strip()] = " ".join(parts)
    return values


def read_operating_system(sections: Mapping[str, Section], errors: dict[str, Reason]) -> OperatingSystem:
    """Return the OS from os-release and the kernel; an unreadable os-release is noted in `errors["os"]`."""
    release = sections.get("os-release")
    kernel_section = sections.get("kernel")
    kernel = kernel_section.stdout.strip() or None if kernel_section and kernel_section.ok else None
    if release is None or not release.ok:
        errors["os"] = (
            release.failure("reading /etc/os-release")
            if release
            else msg("{what} was not reported", what="os-release")
        )
        return OperatingSystem(
            family="linux", product="Linux (os-release unreadable)", version="", kernel=kernel
        )
    values = parse_os_release(release.stdout)
    product = values.get("PRETTY_NAME") or " ".join(
        p for p in (values.get("NAME"), values.get("VERSION")) if p
    )
    return OperatingSystem(
        family="linux",
        product=product or "Linux",
        version=values.get("VERSION_ID", ""),
        distribution=values.get("ID"),
        kernel=kernel,
    )
