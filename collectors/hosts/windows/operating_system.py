"""The os section: product name and build from the registry's CurrentVersion key."""

from __future__ import annotations

from collectors.hosts.facts import OperatingSystem
from collectors.hosts.windows.shapes import as_int, as_object, as_text


def read_operating_system(raw: object) -> OperatingSystem:
    os_data = as_object(raw, "os")
    build = as_int(os_data.get("current_build"))
    major, minor = as_int(os_data.get("major")), as_int(os_data.get("minor"))
    if major is not None and minor is not None:
        prefix = f"{major}.{minor}"
    else:
        prefix = as_text(os_data.get("current_version")) or "?"
    return OperatingSystem(
        family="windows",
        product=as_text(os_data.get("product_name")) or "Windows (product name not reported)",
        version=f"{prefix}.{build}" if build is not None else prefix,
        build=build,
        ubr=as_int(os_data.get("ubr")),
    )
