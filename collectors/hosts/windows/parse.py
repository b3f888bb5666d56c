"""The Windows fact script's output, read into `HostFacts`: each fact on its own, from its sections."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collectors.hosts.commands import CommandResult
from collectors.hosts.facts import HostFacts, OperatingSystem, WindowsUpdates
from collectors.hosts.windows.admins import read_admins
from collectors.hosts.windows.bitlocker import read_volumes
from collectors.hosts.windows.envelope import find_envelope
from collectors.hosts.windows.firewall import read_firewall
from collectors.hosts.windows.operating_system import read_operating_system
from collectors.hosts.windows.sections import Sections
from collectors.hosts.windows.transit_encryption import read_schannel, read_sql_force_encryption
from collectors.hosts.windows.updates import (
    read_history,
    read_hotfixes,
    read_pending,
    read_reboot_required,
    read_update_source,
)
from reports.evidence import msg

if TYPE_CHECKING:  # the stand-in imports this package under a bare system python3 (no pydantic)
    from collectors.config.inventory import HostEntry


def parse_windows(result: CommandResult, host: HostEntry) -> HostFacts:
    """Return the facts in the output of `windows_command()` on `host`.

    Raises HostOutputError when the output is not a complete, well-formed envelope from the
    script (garbage, cut off, a failed script, a non-zero exit without an envelope). A section
    the script could not read, or that came back misshapen, is None with its reason in
    `section_errors`.
    """
    document = find_envelope(result, host)
    sections = Sections(document, host)

    os_facts = sections.build("os", read_operating_system)
    if os_facts is None:
        os_facts = OperatingSystem(family="windows", product="unknown", version="unknown")

    history = sections.build("windows_updates", read_history)
    updates = None
    if history is not None:
        searched = sections.build("wua_search", read_pending)
        search_result, pending = searched if searched is not None else (None, ())
        updates = WindowsUpdates(
            history=history,
            pending=pending,
            search_result=search_result,
            hotfixes=sections.build("hotfixes", read_hotfixes) or (),
            reboot_required=bool(sections.build("reboot", read_reboot_required)),
            update_source=sections.build("update_source", read_update_source),
        )

    sql = sections.build("sql_force_encryption", read_sql_force_encryption)
    if sql is None and "sql_force_encryption" not in sections.section_errors and "db" in host.roles:
        sections.section_errors["sql_force_encryption"] = msg(
            "no SQL Server instance was found in the registry of database host {host}", host=host.name
        )

    return HostFacts(
        name=host.name,
        address=host.address,
        roles=tuple(host.roles),
        os=os_facts,
        firewall=sections.build("firewall", read_firewall),
        admins=sections.build("admins", read_admins),
        volumes=sections.build("volumes", read_volumes),
        schannel=sections.build("schannel", read_schannel),
        windows_updates=updates,
        sql_force_encryption=sql,
        section_errors=dict(sections.section_errors),
    )
