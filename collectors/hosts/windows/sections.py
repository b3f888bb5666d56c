"""The envelope's sections, which facts are built from which, and why a section could not be read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from collectors.hosts.windows.shapes import short
from collectors.messages import Reason
from reports.evidence import N_, Message, msg, verbatim

if TYPE_CHECKING:  # the stand-in imports this package under a bare system python3 (no pydantic)
    from collectors.config.inventory import HostEntry

T = TypeVar("T")

SECTION_OF_FACT = {
    "os": ("os",),
    "windows_updates": ("wua_history",),
    "wua_search": ("wua_search",),
    "hotfixes": ("hotfixes",),
    "reboot": ("reboot",),
    "update_source": ("update_source",),
    "volumes": ("bitlocker",),
    "firewall": ("firewall", "listeners"),
    "admins": ("admins",),
    "schannel": ("schannel",),
    "sql_force_encryption": ("sql_server",),
}
"""Which script sections each `HostFacts` field (or `section_errors` key) is built from."""

WHAT = {
    "os": N_("the OS version (registry CurrentVersion)"),
    "wua_history": N_("the Windows Update Agent history"),
    "wua_search": N_("the Windows Update Agent search for pending updates"),
    "hotfixes": N_("Get-HotFix"),
    "reboot": N_("the reboot-required registry keys"),
    "update_source": N_("the Windows Update policy (WSUS) keys"),
    "bitlocker": N_("BitLocker (Get-BitLockerVolume / Win32_EncryptableVolume)"),
    "firewall": N_("the Windows Firewall ActiveStore (profiles and inbound allow rules)"),
    "listeners": N_("the list of listening TCP ports (Get-NetTCPConnection)"),
    "admins": N_("the local Administrators group (S-1-5-32-544) and administrators' authorized keys"),
    "schannel": N_("the SCHANNEL protocol keys"),
    "sql_server": N_("the SQL Server network settings (SuperSocketNetLib)"),
}


def _what(section: str) -> Message:
    """Return the words for a script section (a catalog text), or its name when it has none."""
    return msg(WHAT[section]) if section in WHAT else verbatim(section)


class Sections:
    """The envelope's sections, and why any of them could not be read."""

    def __init__(self, document: Mapping[str, Any], host: HostEntry) -> None:
        self.host = host
        self.data: Mapping[str, Any] = document["data"]
        errors = document.get("errors")
        self.errors: Mapping[str, Any] = errors if isinstance(errors, Mapping) else {}
        self.section_errors: dict[str, Reason] = {}

    def failure(self, section: str) -> Reason | None:
        """Return why the script could not read `section`, or None when its data is there."""
        if section in self.errors:
            reason = short(str(self.errors[section]))
            return msg(
                "{what} could not be read on {host}: {reason}",
                what=_what(section),
                host=self.host.name,
                reason=reason,
            )
        if section not in self.data or self.data[section] is None:
            return msg(
                "{what} is missing from the output of {host}", what=_what(section), host=self.host.name
            )
        return None

    def build(self, fact: str, builder: Callable[..., T]) -> T | None:
        """Return `builder(*sections)` for a fact; on a missing or misshapen section record why, return None."""
        sections = SECTION_OF_FACT[fact]
        for section in sections:
            reason = self.failure(section)
            if reason is not None:
                self.section_errors[fact] = reason
                return None
        try:
            return builder(*(self.data[s] for s in sections))
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError) as exc:
            # ShapeError names the field; anything else is a shape the builders did not foresee.
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
            self.section_errors[fact] = msg(
                "{what} on {host} came back in an unexpected shape: {detail}",
                what=_what(sections[0]),
                host=self.host.name,
                detail=short(detail, 200),
            )
            return None
