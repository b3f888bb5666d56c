"""12b: access to the (database) servers only from Lucrasoft's trusted network locations."""

from __future__ import annotations

import ipaddress

from collectors.azure.sql import SqlServerFirewall
from collectors.azure.storage import StorageAccount
from collectors.config import Policy
from controls.framework import Evidence, EvidenceMissing, control
from controls.networks import ALLOW_AZURE_SERVICES, IpAddress, parse_address, range_within


def untrusted_rule_reason(start_ip: str, end_ip: str, policy: Policy) -> str | None:
    """Return why a firewall rule admits untrusted addresses, or None when it is inside trusted networks."""
    if (start_ip, end_ip) == ALLOW_AZURE_SERVICES:
        return "'allow Azure services' (0.0.0.0-0.0.0.0) admits any Azure IP of any tenant"
    start, end = parse_address(start_ip), parse_address(end_ip)
    if start.version != end.version or int(start) > int(end):
        raise ValueError(f"{start_ip}-{end_ip} is not a valid address range")
    if range_within(start, end, policy.networks()):
        return None
    return f"{start_ip}-{end_ip} is not inside the trusted networks"


@control("12b.azure-sql-firewall", over="azure.sql_firewalls")
def test_sql_server_accepts_only_trusted_networks(
    firewall: SqlServerFirewall, policy: Policy, evidence: Evidence
) -> None:
    server = firewall.server
    evidence.observed(public_network_access=server.public_network_access or "Enabled (not set)")
    evidence.expected(
        public_network_access="Disabled, or every firewall rule inside the trusted networks",
        trusted_networks=policy.trusted_networks,
    )
    if server.public_network_access == "Disabled":
        return
    if firewall.rules is None:
        raise EvidenceMissing(firewall.rules_error or "firewall rules could not be read")
    untrusted: list[str] = []
    observed_rules = []
    for rule in firewall.rules:
        try:
            reason = untrusted_rule_reason(rule.start_ip, rule.end_ip, policy)
        except ValueError as exc:
            raise EvidenceMissing(f"firewall rule {rule.name} cannot be read: {exc}") from None
        observed_rules.append(
            {"name": rule.name, "start": rule.start_ip, "end": rule.end_ip, "trusted": reason is None}
        )
        if reason:
            untrusted.append(f"{rule.name}: {reason}")
    evidence.observed(firewall_rules=observed_rules)
    assert not untrusted, (
        f"public network access is {server.public_network_access or 'Enabled'} and "
        f"{len(untrusted)} firewall rule(s) admit untrusted addresses: " + "; ".join(untrusted)
    )


def storage_ip_rule_range(value: str) -> tuple[IpAddress, IpAddress]:
    """Return the first and last address a storage ipRule admits: one address, or a CIDR as a range."""
    if "/" not in value:
        address = parse_address(value)
        return address, address
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or CIDR range") from None
    return network.network_address, network.broadcast_address


@control("12b.azure-storage-network", over="azure.storage_accounts")
def test_storage_account_accepts_only_trusted_networks(
    account: StorageAccount, policy: Policy, evidence: Evidence
) -> None:
    access = account.public_network_access or "Enabled"
    evidence.observed(
        public_network_access=account.public_network_access or "Enabled (not set)",
        default_action=account.default_action or "Allow (networkAcls not set)",
        ip_rules=account.ip_rules,
        bypass=account.bypass,
        virtual_network_rules=account.virtual_network_rules,
        resource_access_rules=account.resource_access_rules,
    )
    evidence.expected(
        public_network_access="Disabled, or networkAcls.defaultAction Deny with every ipRule inside "
        "the trusted networks",
        trusted_networks=policy.trusted_networks,
    )
    if access.lower() == "disabled":
        return
    assert (account.default_action or "").lower() == "deny", (
        f"public network access is {access} and networkAcls.defaultAction is "
        f"{account.default_action or 'not set (Allow)'}: every network is admitted"
    )
    untrusted: list[str] = []
    for rule in account.ip_rules:
        try:
            start, end = storage_ip_rule_range(rule.value)
        except ValueError as exc:
            raise EvidenceMissing(f"ipRule of storage account {account.name} cannot be read: {exc}") from None
        if not range_within(start, end, policy.networks()):
            untrusted.append(rule.value)
    evidence.observed(untrusted_ip_rules=untrusted)
    assert not untrusted, (
        f"public network access is {access} and {len(untrusted)} ipRule(s) admit addresses outside "
        "the trusted networks: " + ", ".join(untrusted)
    )
