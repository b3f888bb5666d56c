"""12b: access to the (database) servers only from Lucrasoft's trusted network locations."""

from __future__ import annotations

from collectors.azure.sql import SqlServerFirewall
from collectors.config import Policy
from controls.framework import Evidence, EvidenceMissing, control
from controls.networks import ALLOW_AZURE_SERVICES, parse_address, range_within


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
