"""What "good" means (`[policy]`): every threshold of the controls, and the bounds of trust.

Controls import `Policy` from here; the trusted-network floor (how broad a network may be and
still be called trusted) is checked when the file is loaded and again by controls/networks.py.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from collectors.regions import EU_EEA_REGIONS, KNOWN_AZURE_REGIONS, normalise_region, region_hint
from reports.setting_types import DAYS_MAX, ConfigSection, Port

TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

TRUSTED_PREFIX_FLOOR_V4 = 8
TRUSTED_PREFIX_FLOOR_V6 = 16
"""The broadest trusted networks the auditor accepts, and the default floors.

A trusted location is a network an organisation controls; the largest block one organisation
ever held is an IPv4 /8. `policy.trusted_network_min_prefix_v4/_v6` can raise the floor, never
lower it, so `0.0.0.0/0`, `::/0` or half of the Internet can never be called trusted.
"""
IPV4_EMBEDDINGS: tuple[tuple[ipaddress.IPv6Network, int], ...] = (
    (ipaddress.IPv6Network("::ffff:0:0/96"), 96),  # IPv4-mapped (RFC 4291 2.5.5.2)
    (ipaddress.IPv6Network("::/96"), 96),  # IPv4-compatible, deprecated (RFC 4291 2.5.5.1)
    (ipaddress.IPv6Network("64:ff9b::/96"), 96),  # NAT64 well-known prefix (RFC 6052)
    (ipaddress.IPv6Network("2002::/16"), 16),  # 6to4 (RFC 3056): the IPv4 address is bits 16-47
)
"""IPv6 ranges whose addresses carry an IPv4 address: a network inside one is as broad as its IPv4 part."""
EVERYONE_SERVICE_TAGS = frozenset({"*", "any", "internet"})
"""NSG sources that mean anyone, never a trusted location whatever policy.trusted_service_tags says."""
ANY_TENANT_SERVICE_TAGS = ("azurecloud",)
"""Service tags (and their regional forms, AzureCloud.westeurope) holding every Azure customer's addresses.

Consistent with 12b.azure-sql-firewall, which fails "allow Azure services" (any Azure IP of any
tenant): such a tag is not a trusted location either.
"""


def effective_prefix(network: IpNetwork) -> tuple[int, int]:
    """Return (IP version, prefix length) that measure how broad `network` really is.

    An IPv6 network inside an IPv4-embedding range (IPv4-mapped, NAT64, 6to4) is measured by its
    IPv4 part: `::ffff:0:0/96` is as broad as `0.0.0.0/0`.
    """
    if isinstance(network, ipaddress.IPv6Network):
        for embedding, offset in IPV4_EMBEDDINGS:
            if network.subnet_of(embedding):
                return 4, min(network.prefixlen, offset + 32) - offset
    return network.version, network.prefixlen


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"expected a CIDR such as 192.0.2.0/24 or 2001:db8::/32 ({exc})") from None
    return value


def _tls_version(value: str) -> str:
    if value not in TLS_VERSIONS:
        raise ValueError(f"expected one of {', '.join(TLS_VERSIONS)}")
    return value


def _iso_duration(value: str) -> str:
    import isodate

    try:
        isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError):
        raise ValueError("expected an ISO-8601 duration such as P3M, P12W or P90D") from None
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
IsoDuration = Annotated[str, AfterValidator(_iso_duration)]
TlsVersion = Annotated[str, AfterValidator(_tls_version)]


class Policy(ConfigSection):
    """What "good" means; every threshold of the controls lives here."""

    trusted_networks: list[Cidr] = Field(default_factory=list)
    trusted_network_min_prefix_v4: int = Field(
        default=TRUSTED_PREFIX_FLOOR_V4, ge=TRUSTED_PREFIX_FLOOR_V4, le=32
    )
    """No trusted IPv4 network (alone or merged with its neighbours) may be broader than this prefix."""
    trusted_network_min_prefix_v6: int = Field(
        default=TRUSTED_PREFIX_FLOOR_V6, ge=TRUSTED_PREFIX_FLOOR_V6, le=128
    )
    """No trusted IPv6 network (alone or merged with its neighbours) may be broader than this prefix."""
    min_tls: TlsVersion = "1.2"
    allowed_regions: list[str] = Field(default_factory=lambda: list(EU_EEA_REGIONS))
    additional_region_names: list[str] = Field(default_factory=list)
    """Region names allowed_regions may use although Microsoft's list lacks them (a region opened
    after this release, an Azure Stack Hub region)."""
    attestation_max_age_days: int = Field(default=92, gt=0, le=DAYS_MAX)
    certificate_min_days_left: int = Field(default=30, ge=0, le=DAYS_MAX)
    sensitive_ports: list[Port] = Field(default_factory=lambda: [22, 1433, 3306, 3389, 5432, 5985, 5986])
    trusted_service_tags: list[str] = Field(default_factory=lambda: ["VirtualNetwork", "AzureLoadBalancer"])
    privileged_roles: list[str] = Field(
        default_factory=lambda: [
            "Owner",
            "Contributor",
            "User Access Administrator",
            "Role Based Access Control Administrator",
            "SQL Server Contributor",
            "SQL Security Manager",
            "SQL DB Contributor",
            "Virtual Machine Contributor",
            "Virtual Machine Administrator Login",
            "Storage Account Contributor",
            "Storage Blob Data Owner",
            "Website Contributor",
            "Key Vault Administrator",
        ]
    )
    authorized_principals: list[str] = Field(default_factory=list)
    require_infrastructure_encryption: bool = False
    require_customer_managed_keys: bool = False
    vm_disk_encryption: Literal["host", "cmk", "ade"] = "host"
    pending_grace_days: int = Field(default=14, ge=0, le=DAYS_MAX)
    patch_assessment_max_age_days: int = Field(default=7, gt=0, le=DAYS_MAX)
    backup_max_retention: IsoDuration = "P3M"
    audit_min_retention_days: int = Field(default=90, ge=0, le=DAYS_MAX)
    security_alert_min_severity: Literal["High", "Medium", "Low"] = "Medium"
    require_tls13: bool = False
    cert_min_days: int = Field(default=21, ge=0, le=DAYS_MAX)
    hsts_min_max_age: int = Field(default=31536000, ge=0, le=DAYS_MAX * 86400)
    authorized_admins: list[str] = Field(default_factory=list)
    authorized_ssh_keys: list[str] = Field(default_factory=list)
    patch_max_age_days: int = Field(default=35, gt=0, le=DAYS_MAX)
    delivered_message_max_days: int = Field(default=7, ge=0, le=DAYS_MAX)
    failed_message_max_days: int = Field(default=30, ge=0, le=DAYS_MAX)
    password_sample_limit: int = Field(default=10000, ge=1, le=10_000_000)
    card_sample_limit: int = Field(default=10000, ge=1, le=10_000_000)
    """6c: rows read per scanned column (the newest first where the table says which)."""
    dsr_working_days: int = Field(default=5, ge=1, le=DAYS_MAX)
    """10: Dutch working days within which a data-subject request is resolved."""
    breach_notification_hours: int = Field(default=24, ge=1, le=DAYS_MAX * 24)
    """13: hours from an incident's detection to the customers' notification."""
    termination_delete_days: int = Field(default=0, ge=0, le=DAYS_MAX)
    """11: days after an application's terminated_on by which its databases are gone."""
    remediation_days: int = Field(default=30, gt=0, le=DAYS_MAX)
    """The period report's remediation SLA: a failing interval longer than this is late."""
    remediation_days_by_clause: dict[str, int] = Field(default_factory=dict)
    """Per statement clause ("12e": 14), overriding remediation_days for that clause's controls."""

    @field_validator("remediation_days_by_clause")
    @classmethod
    def _clause_days(cls, value: dict[str, int]) -> dict[str, int]:
        for clause, days in value.items():
            if not 0 < days <= DAYS_MAX:
                raise ValueError(f"{clause}: expected a number of days from 1 to {DAYS_MAX}")
        return value

    @field_validator("allowed_regions", "additional_region_names")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return [normalise_region(region) for region in value]

    @model_validator(mode="after")
    def _known_regions(self) -> Policy:
        known = KNOWN_AZURE_REGIONS | set(self.additional_region_names)
        for index, region in enumerate(self.allowed_regions):
            if region not in known:
                hint = region_hint(region)
                raise ValueError(
                    f"allowed_regions[{index}]: {region!r} is not an Azure region name"
                    + (f" (did you mean {hint!r}?)" if hint else "")
                    + "; a region Microsoft opened after this release, or an Azure Stack Hub region, "
                    "can be named in policy.additional_region_names"
                )
        return self

    def networks(self) -> list[IpNetwork]:
        """Return the trusted networks as ipaddress objects."""
        return [ipaddress.ip_network(cidr) for cidr in self.trusted_networks]

    def prefix_floor(self, version: int) -> int:
        """Return the floor of IP `version`: the shortest prefix a trusted network of it may have."""
        return self.trusted_network_min_prefix_v4 if version == 4 else self.trusted_network_min_prefix_v6

    def within_floor(self, network: IpNetwork) -> bool:
        """Return True when `network` is no broader than the floor of its (effective) IP version."""
        version, prefix = effective_prefix(network)
        return prefix >= self.prefix_floor(version)

    def trust_problems(self) -> list[str]:
        """Return why trusted_networks or trusted_service_tags would trust too much (empty when sound).

        Checked when a config file is loaded; controls/networks.py also ignores any network
        broader than the floor, so a Policy built in code cannot trust the Internet either.
        """
        problems = []
        for index, network in enumerate(self.networks()):
            if not self.within_floor(network):
                version, prefix = effective_prefix(network)
                key = f"trusted_network_min_prefix_v{version}"
                problems.append(
                    f"policy.trusted_networks[{index}]: {network} is as broad as an IPv{version} "
                    f"/{prefix}, broader than the floor /{self.prefix_floor(version)} (policy.{key}); "
                    "a trusted location is a network you control: list the narrower networks you use"
                )
        if not problems:
            for version in (4, 6):
                family = [n for n in self.networks() if n.version == version]
                for block in ipaddress.collapse_addresses(family):  # type: ignore[type-var]
                    if not self.within_floor(block):
                        parts = [str(n) for n in family if n.subnet_of(block)]  # type: ignore[arg-type]
                        problems.append(
                            f"policy.trusted_networks: {', '.join(parts)} together form {block}, broader "
                            f"than the floor /{self.prefix_floor(version)} "
                            f"(policy.trusted_network_min_prefix_v{version})"
                        )
        for index, tag in enumerate(self.trusted_service_tags):
            lowered = tag.strip().lower()
            if lowered in EVERYONE_SERVICE_TAGS:
                problems.append(
                    f"policy.trusted_service_tags[{index}]: {tag!r} means any address and is never trusted"
                )
            elif lowered.split(".", 1)[0] in ANY_TENANT_SERVICE_TAGS:
                problems.append(
                    f"policy.trusted_service_tags[{index}]: {tag!r} holds the addresses of every Azure "
                    "customer (like 'allow Azure services', which 12b.azure-sql-firewall fails) and is "
                    "never trusted"
                )
        return problems
