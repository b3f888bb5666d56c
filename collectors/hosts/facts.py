"""What a host is, as the host controls see it, whichever OS it runs.

The Windows and Linux gatherers each turn one batched script's output into a `HostFacts`.
A section the script could not read (BitLocker not installed, `nft` missing, ...) is None
with the reason in `HostFacts.section_errors`, so its control reports `error`, never `pass`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from reports.message import msg

if TYPE_CHECKING:
    from collectors.messages import Reason

HOSTS = "hosts.all"
WINDOWS_HOSTS = "hosts.windows"
LINUX_HOSTS = "hosts.linux"
HOST_POPULATIONS = (HOSTS, WINDOWS_HOSTS, LINUX_HOSTS)

OsFamily = Literal["windows", "linux"]


@dataclass(frozen=True)
class OperatingSystem:
    """The OS product and build (Windows: CurrentBuild.UBR; Linux: os-release)."""

    family: OsFamily
    product: str
    """"Windows Server 2022 Datacenter", "Debian GNU/Linux 12 (bookworm)"."""
    version: str
    """Windows: "10.0.20348"; Linux: os-release VERSION_ID ("12", "22.04", "9.4")."""
    build: int | None = None
    """Windows CurrentBuild (20348); None on Linux."""
    ubr: int | None = None
    """Windows Update Build Revision (5139 in 20348.5139); None when absent or on Linux."""
    distribution: str | None = None
    """Linux os-release ID ("debian", "ubuntu", "rhel", "rocky", "almalinux"); None on Windows."""
    kernel: str | None = None


@dataclass(frozen=True)
class FirewallProfile:
    """One firewall scope: a Windows profile (Domain/Private/Public) or a Linux input chain/tool."""

    name: str
    enabled: bool
    default_inbound: str
    """"Block"/"Allow"/"NotConfigured" (Windows) or "drop"/"reject"/"accept" (Linux)."""


def profile_families(profile: FirewallProfile) -> frozenset[str]:
    """Return the address families ("ipv4", "ipv6") a firewall profile filters.

    Linux profile names say it: "nftables ip ..." and "iptables ..." filter IPv4 only,
    "nftables ip6 ..." and "ip6tables ..." IPv6 only; inet chains, ufw, firewalld and Windows
    profiles filter both.
    """
    words = profile.name.split()
    if not words:
        return frozenset({"ipv4", "ipv6"})
    if words[0] == "iptables" or words[:2] == ["nftables", "ip"]:
        return frozenset({"ipv4"})
    if words[0] == "ip6tables" or words[:2] == ["nftables", "ip6"]:
        return frozenset({"ipv6"})
    return frozenset({"ipv4", "ipv6"})


@dataclass(frozen=True)
class InboundAllowRule:
    """An enabled inbound allow rule with its port and remote-address filters."""

    name: str
    protocol: str
    """"TCP", "UDP" or "Any"."""
    local_ports: tuple[str, ...]
    """"3389", "1000-2000" or "Any"."""
    remote_addresses: tuple[str, ...]
    """"Any", CIDRs, ranges "a-b", or keywords such as "LocalSubnet"/"Internet"."""
    profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Listener:
    """A listening socket."""

    protocol: str
    address: str
    port: int
    process: str | None = None


@dataclass(frozen=True)
class HostFirewall:
    """The host firewall: its profiles (or chains), inbound allow rules and the listening sockets."""

    profiles: tuple[FirewallProfile, ...]
    inbound_allow: tuple[InboundAllowRule, ...]
    listeners: tuple[Listener, ...]


@dataclass(frozen=True)
class AdminGrant:
    """Why accounts can administer a host: a sudoers rule, an admin group or a second UID 0 account."""

    members: tuple[str, ...]
    """The accounts it makes administrators (groups and aliases expanded where the host lists them)."""
    source: str
    """Where it is: "sudoers /etc/sudoers.d/ops line 3", "group sudo", "passwd"."""
    rule: str
    """The rule as reduced on the host ("bob ALL = (ALL) NOPASSWD: /bin/bash"; never a command's arguments)."""
    reason: str
    """Why it is root-equivalent ("runs /bin/bash: a shell as any user")."""


@dataclass(frozen=True)
class HostAdmins:
    """Who can administer the host: admin group members / sudoers entries, and SSH keys that log in."""

    members: tuple[str, ...]
    """Windows: members of the local Administrators group; Linux: sudo/wheel/admin members, UID 0 accounts
    and the users of every sudoers rule that can become root."""
    ssh_key_fingerprints: tuple[str, ...]
    """SHA256 fingerprints of authorized_keys (Windows also administrators_authorized_keys)."""
    grants: tuple[AdminGrant, ...] = ()
    """Linux: why each member is an administrator (Windows: membership of Administrators says it)."""


@dataclass(frozen=True)
class Volume:
    """A fixed volume (Windows) or mounted filesystem (Linux) and whether it is encrypted at rest."""

    mount: str
    kind: str
    """"OperatingSystem"/"Data" (Windows) or "root"/"data" (Linux)."""
    encrypted: bool
    """Windows: VolumeStatus FullyEncrypted and ProtectionStatus On; Linux: a crypt device beneath it."""
    detail: str = ""
    """The raw status, e.g. "FullyDecrypted, protection Off" or "vda1 > crypt (luks-…)"."""


@dataclass(frozen=True)
class SchannelProtocol:
    """One SCHANNEL protocol key (server side), raw: None means the value is absent."""

    protocol: str
    """"SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"."""
    enabled: int | None
    disabled_by_default: int | None


@dataclass(frozen=True)
class UpdateHistoryEntry:
    """A Windows Update Agent history entry (UTC date; KB taken from the title)."""

    date: datetime
    title: str
    kb: str | None
    operation: int
    """1 Installation, 2 Uninstallation."""
    result: int
    """2 Succeeded, 3 SucceededWithErrors, 4 Failed, 5 Aborted."""


@dataclass(frozen=True)
class PendingUpdate:
    """An update the Windows Update Agent search offers (not installed)."""

    title: str
    kbs: tuple[str, ...]
    severity: str | None
    """MsrcSeverity: "Critical", "Important", "Moderate", "Low" or None."""
    categories: tuple[str, ...]
    released: datetime | None


@dataclass(frozen=True)
class HotFix:
    """A Get-HotFix (Win32_QuickFixEngineering) row; its date is often blank."""

    kb: str
    description: str
    installed_on: datetime | None


@dataclass(frozen=True)
class WindowsUpdates:
    """Windows Update Agent history and pending search, plus Get-HotFix for reference only."""

    history: tuple[UpdateHistoryEntry, ...]
    pending: tuple[PendingUpdate, ...]
    search_result: int | None
    """OperationResultCode of the search (2 Succeeded); None when the search did not run."""
    hotfixes: tuple[HotFix, ...] = ()
    reboot_required: bool = False
    update_source: str | None = None
    """The WSUS server when one is configured, else None (Windows Update)."""


@dataclass(frozen=True)
class LinuxPendingUpdate:
    """A package with a pending upgrade."""

    package: str
    version: str
    origin: str
    """The suite/repository it comes from ("bookworm-security", "updates")."""
    security: bool


@dataclass(frozen=True)
class LinuxUpdates:
    """Pending upgrades as the package manager reports them."""

    manager: Literal["apt", "dnf", "yum"]
    pending: tuple[LinuxPendingUpdate, ...]
    index_updated: datetime | None = None
    """When the package index was last refreshed (apt lists mtime), if known."""


@dataclass(frozen=True)
class HostFacts:
    """Everything the host controls need about one host."""

    name: str
    address: str
    roles: tuple[str, ...]
    os: OperatingSystem
    firewall: HostFirewall | None = None
    admins: HostAdmins | None = None
    volumes: tuple[Volume, ...] | None = None
    schannel: tuple[SchannelProtocol, ...] | None = None
    windows_updates: WindowsUpdates | None = None
    linux_updates: LinuxUpdates | None = None
    sql_force_encryption: bool | None = None
    sshd_config: dict[str, str] | None = None
    section_errors: dict[str, Reason] = field(default_factory=dict)
    """Why a section is None, as words for a reader: {"volumes": msg("... could not be read on {host}: ..."), ...}."""

    def missing(self, section: str) -> Reason:
        """Return why `section` could not be read (for EvidenceMissing messages)."""
        return self.section_errors.get(
            section, msg("{section} was not collected from {host}", section=section, host=self.name)
        )
