"""The Linux fact script's output, read into `HostFacts`: each fact on its own, from its sections.

Each fact (os, pending updates, volumes, firewall, admins, sshd_config) is built by its section
module; an exception a builder did not foresee makes that fact an error too (`_guarded`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from collectors.config.inventory import HostEntry
from collectors.hosts.commands import CommandResult, HostOutputError
from collectors.hosts.facts import HostFacts, OperatingSystem
from collectors.hosts.linux.admins import read_admins
from collectors.hosts.linux.firewall import read_firewall
from collectors.hosts.linux.os_release import read_operating_system
from collectors.hosts.linux.sections import Section, split_sections
from collectors.hosts.linux.sshd import read_sshd_config
from collectors.hosts.linux.updates import read_updates
from collectors.hosts.linux.volumes import read_volumes
from collectors.messages import Reason
from reports.evidence import msg

T = TypeVar("T")


def _guarded(
    fact: str,
    builder: Callable[[Mapping[str, Section], dict[str, Reason]], T],
    sections: Mapping[str, Section],
    errors: dict[str, Reason],
) -> T | None:
    """Return `builder(sections, errors)`; an exception it did not foresee makes `fact` an error, never a traceback.

    The builders turn every shape they know to be wrong into a section error themselves; this is
    the net under them, so that one malformed output costs that fact only, not the host or the run.
    """
    try:
        return builder(sections, errors)
    except Exception as exc:  # any surprise in one section's output is that section's error
        error = type(exc).__name__ + ": " + str(exc)[:200]
        errors[fact] = msg(
            "{fact} could not be read from the fact script's output ({error})", fact=fact, error=error
        )
        return None


def parse_linux(result: CommandResult, host: HostEntry) -> HostFacts:
    """Return the facts in the Linux fact script's output; raise HostOutputError when it is not that.

    Each fact (os, pending updates, volumes, firewall, admins, sshd_config) is read on its own: one
    that cannot be read is None with its reason in `section_errors`, whatever went wrong.
    """
    if result.exit_code != 0:
        detail = " ".join(result.stderr.decode("utf-8", errors="replace").split())[:300]
        raise HostOutputError(
            msg(
                "Linux host {host}: the fact script exited {code}: {detail}",
                host=host.name,
                code=result.exit_code,
                detail=detail,
            )
            if detail
            else msg(
                "Linux host {host}: the fact script exited {code}", host=host.name, code=result.exit_code
            )
        )
    sections = split_sections(result.stdout, msg("Linux host {host}", host=host.name))
    errors: dict[str, Reason] = {}
    os_facts = _guarded("os", read_operating_system, sections, errors) or OperatingSystem(
        family="linux", product="Linux (os-release unreadable)", version=""
    )
    return HostFacts(
        name=host.name,
        address=host.address,
        roles=tuple(host.roles),
        os=os_facts,
        firewall=_guarded("firewall", read_firewall, sections, errors),
        admins=_guarded("admins", read_admins, sections, errors),
        volumes=_guarded("volumes", read_volumes, sections, errors),
        linux_updates=_guarded("linux_updates", read_updates, sections, errors),
        sshd_config=_guarded("sshd_config", read_sshd_config, sections, errors),
        section_errors=errors,
    )
