"""12b's trusted-network controls on the edges a mutation tester found unpinned (issue 12, part 6).

Each test puts a literal fact where one small change to controls/networks.py, nsg_rules.py,
host_firewall.py or test_12b_trusted_networks.py (a `<` for a `<=`, a dropped `not`, a misspelt keyword, a
`continue` turned into `break`) would change the verdict or the sentence an auditor reads. The
controls are reached through their module, never imported by name, so that pytest does not
collect them here.
"""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from collectors.azure.facts import (
    FirewallRule,
    SecurityRule,
    SqlServer,
    SqlServerFirewall,
    UnreadableField,
)
from collectors.config.policy import Policy
from collectors.hosts.facts import (
    FirewallProfile,
    HostFacts,
    HostFirewall,
    InboundAllowRule,
    Listener,
    OperatingSystem,
)
from controls import test_12b_trusted_networks as c12b
from controls.framework import Evidence, Verdict
from controls.host_firewall import host_remote_untrusted
from controls.networks import address_trusted, anyone_reason, service_tag_trusted
from reports.evidence import msg
from tests.control_calls import verdict, verdict_and_evidence
from tests.nsg_facts import network_security_group as nsg
from tests.nsg_facts import security_rule as rule
from tests.test_pass_condition_boundaries import storage_account

TRUSTED = "192.0.2.0/24"
POLICY = Policy(trusted_networks=[TRUSTED])
NO_TAGS = Policy(trusted_networks=[TRUSTED], trusted_service_tags=[])
"""Application security groups are trusted exactly when VirtualNetwork is (by default it is)."""
ASG_WEB = (
    "/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Network/applicationSecurityGroups/asg-web"
)
ASG_DB = (
    "/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Network/applicationSecurityGroups/asg-db"
)


# --- controls/networks.py ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "trusted"),
    [
        pytest.param("192.0.2.0", True, id="first-address"),
        pytest.param("192.0.2.255", True, id="last-address"),
        pytest.param("192.0.1.255", False, id="one-below"),
        pytest.param("192.0.3.0", False, id="one-past"),
        pytest.param("::ffff:192.0.2.1", False, id="ipv6-form-is-another-family"),
    ],
)
def test_one_address_is_trusted_only_inside_a_trusted_network(address: str, trusted: bool) -> None:
    assert address_trusted(ipaddress.ip_address(address), POLICY) is trusted


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        pytest.param("Internet", "the Internet", id="internet-tag"),
        pytest.param(" INTERNET ", "the Internet", id="internet-tag-any-case"),
        pytest.param("*", "any address", id="star"),
        pytest.param("Any", "any address", id="any"),
        pytest.param("0.0.0.0/0", "any address", id="ipv4-everything"),
        pytest.param("::/0", "any address", id="ipv6-everything"),
        pytest.param("VirtualNetwork", None, id="a-tag-that-is-not-anyone"),
        pytest.param("0.0.0.0/1", None, id="half-the-internet-is-judged-as-a-network"),
    ],
)
def test_sources_meaning_anyone_are_named_for_what_they_admit(source: str, reason: str | None) -> None:
    assert anyone_reason(source) == reason


@pytest.mark.parametrize(
    "tag",
    [
        pytest.param("Internet", id="internet"),
        pytest.param("AzureCloud", id="azurecloud"),
        pytest.param("AzureCloud.WestEurope", id="regional-azurecloud"),
        pytest.param("azurecloud.westeurope.extra", id="azurecloud-with-more-dots"),
    ],
)
def test_tags_of_anyone_or_every_azure_customer_are_never_trusted_even_when_listed(tag: str) -> None:
    # A Policy built in code is not checked like the config; the tag is still refused.
    policy = Policy(trusted_networks=[TRUSTED], trusted_service_tags=[tag, "AzureLoadBalancer"])
    assert not service_tag_trusted(tag, policy)
    assert service_tag_trusted(" azureloadbalancer ", policy)


# --- 12b.azure-sql-firewall and 12b.azure-storage-network messages ----------------------------------


def sql_server_firewall(*rules: FirewallRule) -> SqlServerFirewall:
    server = SqlServer(
        id="/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-web",
        name="sql-web",
        subscription_id="sub-1",
        resource_group="rg-web",
        location="westeurope",
        fqdn="sql-web.database.windows.net",
        minimal_tls_version="1.2",
        public_network_access="Enabled",
    )
    return SqlServerFirewall(server, rules)


def test_sql_allow_azure_services_rule_is_named_as_admitting_every_tenant() -> None:
    firewall = sql_server_firewall(FirewallRule("AllowAllWindowsAzureIps", "0.0.0.0", "0.0.0.0"))
    result = verdict(c12b.test_sql_server_accepts_only_trusted_networks, firewall, policy=POLICY)
    assert result.status == "fail"
    assert (
        "AllowAllWindowsAzureIps: 'allow Azure services' (0.0.0.0-0.0.0.0) admits any Azure IP of any tenant"
        in result.message
    )


def test_sql_firewall_rules_are_shown_each_with_whether_it_is_trusted() -> None:
    rules = (FirewallRule("office", "192.0.2.1", "192.0.2.9"), FirewallRule("odd", "192.0.2.1", None))
    control = c12b.test_sql_server_accepts_only_trusted_networks
    result, evidence = verdict_and_evidence(control, sql_server_firewall(*rules), policy=POLICY)
    assert result.status == "error"
    assert evidence.observations["firewall_rules"] == [
        {"name": "office", "start": "192.0.2.1", "end": "192.0.2.9", "trusted": True},
        {"name": "odd", "start": "192.0.2.1", "end": None, "trusted": None},
    ]


def test_storage_account_without_public_network_access_is_reported_as_enabled() -> None:
    account = dataclasses.replace(storage_account(), public_network_access=None, default_action="Allow")
    result = verdict(c12b.test_storage_account_accepts_only_trusted_networks, account, policy=POLICY)
    assert result.status == "fail"
    assert result.message.startswith(
        "public network access is Enabled and networkAcls.defaultAction is Allow"
    )


# --- 12b.azure-nsg-admin-ports ----------------------------------------------------------------------


def nsg_verdict(
    *rules: SecurityRule, policy: Policy = POLICY, rules_unreadable: tuple[UnreadableField, ...] = ()
) -> Verdict:
    group = nsg(*rules, rules_unreadable=rules_unreadable)
    return verdict(c12b.test_nsg_admits_sensitive_ports_only_from_trusted_networks, group, policy=policy)


def nsg_evidence(*rules: SecurityRule) -> tuple[Verdict, Evidence]:
    control = c12b.test_nsg_admits_sensitive_ports_only_from_trusted_networks
    return verdict_and_evidence(control, nsg(*rules), policy=POLICY)


ALLOW_RDP = rule("allow-rdp")


# The rule's own fields: what the control cannot read makes the item `error`, named.


def test_rule_gap_quotes_the_collectors_account_of_an_unreadable_field() -> None:
    odd = rule(
        "odd", priority=None, unreadable=(UnreadableField("priority", "priority: 'high' is not an integer"),)
    )
    result = nsg_verdict(odd)
    assert result.status == "error"
    assert "rule odd (custom): priority: 'high' is not an integer" in result.message


def test_every_gap_of_a_rule_is_listed() -> None:
    result = nsg_verdict(rule("odd", priority=None, protocol=None))
    assert result.status == "error"
    assert "rule odd (custom): priority is absent; protocol is absent" in result.message


@pytest.mark.parametrize(
    ("access", "fields", "gap"),
    [
        pytest.param(
            "Allow",
            {"source_prefixes": None},
            "no source: sourceAddressPrefix(es) and sourceApplicationSecurityGroups are absent",
            id="allow-without-source",
        ),
        pytest.param(
            "Allow", {"destination_port_ranges": None}, "destinationPortRange(s) are absent", id="no-port"
        ),
        pytest.param(
            "Deny",
            {"destination_prefixes": None},
            "destinationAddressPrefix(es) are absent",
            id="deny-no-destination",
        ),
        pytest.param(
            "Deny", {"source_port_ranges": None}, "sourcePortRange(s) are absent", id="deny-no-source-port"
        ),
    ],
)
def test_rule_missing_a_field_the_verdict_needs_is_error_naming_it(
    access: str, fields: dict[str, object], gap: str
) -> None:
    result = nsg_verdict(rule("odd", access, 100, **fields))
    assert result.status == "error"
    assert f"rule odd (custom): {gap}" in result.message


def test_deny_to_an_application_security_group_only_is_readable() -> None:
    deny = rule(
        "deny-db", "Deny", 100, destination_prefixes=None, destination_application_security_groups=(ASG_DB,)
    )
    assert nsg_verdict(deny).status == "pass"


def test_allow_needs_no_destination_or_source_port_to_be_judged() -> None:
    allow = rule(
        "allow-office", source_prefixes=(TRUSTED,), destination_prefixes=None, source_port_ranges=None
    )
    assert nsg_verdict(allow).status == "pass"


# Unreadable rules that might come first: an offence is only certain when none can.


def test_offence_behind_an_unreadable_rule_list_is_error_naming_the_list() -> None:
    lists = (
        UnreadableField("securityRules", "securityRules is not a list"),
        UnreadableField("defaultSecurityRules", msg("{field} is absent", field="defaultSecurityRules")),
    )
    result = nsg_verdict(ALLOW_RDP, rules_unreadable=lists)
    assert result.status == "error"
    assert (
        "unless the unreadable rule lists (securityRules is not a list; defaultSecurityRules is absent) "
        "deny it first" in result.message
    )


def test_unreadable_allow_rule_cannot_hide_an_offence() -> None:
    odd_allow = rule("odd-allow", "Allow", 100, protocol=None)
    result = nsg_verdict(odd_allow, ALLOW_RDP)
    assert result.status == "fail"
    assert "allow-rdp" in result.message


def test_unreadable_deny_rules_without_priority_may_hide_an_offence() -> None:
    first = rule("deny-a", "Deny", None)
    second = rule("deny-b", "Deny", None)
    result = nsg_verdict(first, second, ALLOW_RDP)
    assert result.status == "error"
    assert "unless the unreadable rules deny-a, deny-b deny it first" in result.message


def test_unreadable_deny_with_the_allows_own_priority_cannot_come_first() -> None:
    # Inbound priorities are unique in an NSG: a rule sharing the Allow's priority is not an inbound rule before it.
    same_priority = rule("deny-odd", "Deny", 200, direction=None)
    assert nsg_verdict(same_priority, ALLOW_RDP).status == "fail"


# Which rules reach a sensitive port.


@pytest.mark.parametrize(
    "ports",
    [
        pytest.param(("Any",), id="any-capitalised"),
        pytest.param(("0-65535",), id="from-port-zero"),
        pytest.param(("3389-65535",), id="to-the-last-port"),
        pytest.param((" 3389 ",), id="padded"),
    ],
)
def test_allow_whose_port_range_holds_the_admin_port_fails(ports: tuple[str, ...]) -> None:
    assert nsg_verdict(rule("allow-wide", destination_port_ranges=ports)).status == "fail"


@pytest.mark.parametrize(
    "ports",
    [
        pytest.param(("65536",), id="past-the-last-port"),
        pytest.param(("3389", "rdp"), id="a-name-beside-a-port"),
        pytest.param(("*", "rdp"), id="a-name-beside-star"),
    ],
)
def test_allow_with_an_unreadable_port_range_is_error(ports: tuple[str, ...]) -> None:
    result = nsg_verdict(rule("allow-odd", destination_port_ranges=ports))
    assert result.status == "error"
    assert "allow-odd: port range" in result.message


@pytest.mark.parametrize("protocol", ["Any", "ANY", "*"])
def test_allow_of_any_protocol_to_the_admin_port_fails(protocol: str) -> None:
    assert nsg_verdict(rule("allow-any", protocol=protocol)).status == "fail"


def test_a_rule_reaching_no_admin_port_does_not_stop_the_rules_after_it() -> None:
    web = rule("allow-web", priority=100, destination_port_ranges=("443",))
    icmp = rule("allow-ping", priority=150, protocol="Icmp")
    result = nsg_verdict(web, icmp, ALLOW_RDP)
    assert result.status == "fail"
    assert "allow-rdp" in result.message


def test_rules_reaching_no_admin_port_are_not_reported_as_shadowed() -> None:
    web = rule("allow-web", priority=100, destination_port_ranges=("443",))
    icmp = rule("allow-ping", priority=150, protocol="Icmp")
    result, evidence = nsg_evidence(web, icmp)
    assert result.status == "pass"
    assert "shadowed_by_higher_priority_deny" not in evidence.observations


def test_allows_sharing_a_priority_are_each_reported_by_name() -> None:
    # ARM refuses two inbound rules with one priority; a fact that has them is still judged, not a crash.
    result = nsg_verdict(rule("b-rdp"), rule("a-rdp"))
    assert result.status == "fail"
    assert result.message.index("a-rdp (custom, priority 200") < result.message.index("b-rdp (custom")


def test_offending_rules_are_listed_by_priority() -> None:
    late = rule("a-late", priority=300)
    early = rule("z-early", priority=200)
    message = nsg_verdict(late, early).message
    assert message.index("z-early (custom, priority 200") < message.index("a-late (custom, priority 300")


@pytest.mark.parametrize(
    ("source", "trusted"),
    [
        pytest.param("192.0.2.7/24", True, id="cidr-with-host-bits-inside"),
        pytest.param("192.0.2.7/23", False, id="cidr-with-host-bits-past"),
    ],
)
def test_source_cidr_with_host_bits_is_judged_as_its_network(source: str, trusted: bool) -> None:
    status = nsg_verdict(rule("allow-office", source_prefixes=(source,))).status
    assert status == ("pass" if trusted else "fail")


def test_application_security_group_source_is_untrusted_unless_virtual_network_is() -> None:
    allow = rule("allow-asg", source_prefixes=(), source_application_security_groups=(ASG_WEB,))
    result = nsg_verdict(allow, policy=NO_TAGS)
    assert result.status == "fail"
    assert (
        "from application security group asg-web (application security group: VirtualNetwork is not in "
        "policy.trusted_service_tags)" in result.message
    )
    trusting = Policy(trusted_networks=[TRUSTED], trusted_service_tags=["virtualnetwork"])
    assert nsg_verdict(allow, policy=trusting).status == "pass"


# Which Deny rules provably come first and block.


def test_deny_at_the_allows_own_priority_does_not_shadow_it() -> None:
    deny = rule("deny-rdp", "Deny", 200)
    assert nsg_verdict(deny, ALLOW_RDP).status == "fail"


def test_deny_from_the_same_application_security_group_whatever_the_case_shadows_the_allow() -> None:
    allow = rule("allow-asg", source_prefixes=(), source_application_security_groups=(ASG_WEB,))
    deny = rule(
        "deny-asg", "Deny", 100, source_prefixes=(), source_application_security_groups=(ASG_WEB.upper(),)
    )
    assert nsg_verdict(allow, policy=NO_TAGS).status == "fail"
    assert nsg_verdict(deny, allow, policy=NO_TAGS).status == "pass"


def test_deny_from_another_application_security_group_does_not_shadow_the_allow() -> None:
    allow = rule("allow-asg", source_prefixes=(), source_application_security_groups=(ASG_WEB,))
    deny = rule("deny-asg", "Deny", 100, source_prefixes=(), source_application_security_groups=(ASG_DB,))
    assert nsg_verdict(deny, allow, policy=NO_TAGS).status == "fail"


def test_deny_to_the_same_destination_application_security_group_whatever_the_case_shadows_the_allow() -> (
    None
):
    allow = rule(
        "allow-db", destination_prefixes=None, destination_application_security_groups=(ASG_DB.upper(),)
    )
    deny = rule(
        "deny-db", "Deny", 100, destination_prefixes=None, destination_application_security_groups=(ASG_DB,)
    )
    assert nsg_verdict(deny, allow).status == "pass"


@pytest.mark.parametrize(
    "destination",
    [pytest.param(("*",), id="allow-to-any-address"), pytest.param(None, id="allow-without-destination")],
)
def test_deny_naming_a_group_beside_any_address_does_not_shadow_an_allow_to_everything(
    destination: tuple[str, ...] | None,
) -> None:
    # ARM refuses a prefix beside a group; read as the group only (as for a named destination), it
    # does not cover an Allow to every address. This passed before.
    deny = rule("deny-db", "Deny", 100, destination_application_security_groups=(ASG_DB,))
    allow = rule("allow-rdp", destination_prefixes=destination)
    assert nsg_verdict(deny, allow).status == "fail"


def test_deny_from_any_address_beside_a_group_does_not_shadow_an_internet_allow() -> None:
    # The same reading for the source: "*" beside an application security group. This passed before.
    deny = rule(
        "deny-web", "Deny", 100, source_prefixes=("*",), source_application_security_groups=(ASG_WEB,)
    )
    assert nsg_verdict(deny, ALLOW_RDP).status == "fail"


@pytest.mark.parametrize(
    "deny_sources",
    [
        pytest.param(("203.0.113.1",), id="deny-misses-the-first-address"),
        pytest.param(("203.0.113.0",), id="deny-misses-the-last-address"),
    ],
)
def test_deny_of_part_of_a_source_range_does_not_shadow_the_allow(deny_sources: tuple[str, ...]) -> None:
    allow = rule("allow-pair", source_prefixes=("203.0.113.0/31",))
    deny = rule("deny-one", "Deny", 100, source_prefixes=deny_sources)
    assert nsg_verdict(deny, allow).status == "fail"


def test_denies_covering_a_source_range_between_them_shadow_the_allow() -> None:
    allow = rule("allow-pair", source_prefixes=("203.0.113.0/31",))
    deny = rule("deny-pair", "Deny", 100, source_prefixes=("203.0.113.1", "203.0.113.0/32"))
    assert nsg_verdict(deny, allow).status == "pass"


def test_deny_with_unreadable_ports_blocks_nothing_but_the_next_deny_still_does() -> None:
    odd = rule("deny-odd", "Deny", 100, destination_port_ranges=("rdp",))
    assert nsg_verdict(odd, ALLOW_RDP).status == "fail"
    good = rule("deny-rdp", "Deny", 110)
    assert nsg_verdict(odd, good, ALLOW_RDP).status == "pass"


@pytest.mark.parametrize(
    ("source_ports", "status"),
    [
        pytest.param(("0-65535",), "pass", id="every-port-as-a-range"),
        pytest.param(("Any",), "pass", id="any-capitalised"),
        pytest.param(("1-65535",), "fail", id="missing-port-zero"),
        pytest.param(("0-65534",), "fail", id="missing-the-last-port"),
        pytest.param(("*", "ephemeral"), "fail", id="an-unreadable-range-beside-star"),
    ],
)
def test_deny_shadows_only_when_it_matches_every_source_port(
    source_ports: tuple[str, ...], status: str
) -> None:
    deny = rule("deny-rdp", "Deny", 100, source_port_ranges=source_ports)
    assert nsg_verdict(deny, ALLOW_RDP).status == status


# --- 12b.host-firewall and 12b.host-port-scope ------------------------------------------------------

IPV4_ONLY = FirewallProfile("iptables filter INPUT", True, "drop")
IPV6_ONLY = FirewallProfile("ip6tables filter INPUT", True, "drop")


def host(
    *rules: InboundAllowRule,
    profiles: tuple[FirewallProfile, ...] = (IPV4_ONLY, IPV6_ONLY),
    listeners: tuple[Listener, ...] = (),
    windows: bool = False,
) -> HostFacts:
    system = (
        OperatingSystem("windows", "Windows Server 2022 Datacenter", "10.0.20348", build=20348)
        if windows
        else OperatingSystem("linux", "Debian GNU/Linux 12 (bookworm)", "12", distribution="debian")
    )
    return HostFacts(
        name="srv01",
        address="192.0.2.20",
        roles=("web",),
        os=system,
        firewall=HostFirewall(profiles=profiles, inbound_allow=rules, listeners=listeners),
    )


def port_scope(facts: HostFacts) -> Verdict:
    return verdict(c12b.test_host_admits_sensitive_ports_only_from_trusted_networks, facts, policy=POLICY)


def inbound(
    name: str, ports: tuple[str, ...], remotes: tuple[str, ...] = ("Any",), protocol: str = "TCP"
) -> InboundAllowRule:
    return InboundAllowRule(name=name, protocol=protocol, local_ports=ports, remote_addresses=remotes)


def test_windows_host_with_every_profile_blocking_keeps_its_listeners_behind_the_firewall() -> None:
    profiles = tuple(FirewallProfile(name, True, "Block") for name in ("Domain", "Private", "Public"))
    facts = host(profiles=profiles, listeners=(Listener("tcp", "0.0.0.0", 3389, "svchost"),), windows=True)
    assert port_scope(facts).status == "pass"


@pytest.mark.parametrize(
    "ports",
    [
        pytest.param(("",), id="empty-entry-is-any-port"),
        pytest.param(("Any",), id="any"),
        pytest.param(("*",), id="star"),
        pytest.param(("20:25",), id="iptables-range"),
    ],
)
def test_host_rule_from_anyone_whose_local_ports_hold_an_admin_port_fails(ports: tuple[str, ...]) -> None:
    result = port_scope(host(inbound("open", ports)))
    assert result.status == "fail", result.message


def test_host_rule_naming_a_windows_port_keyword_and_an_admin_port_fails() -> None:
    assert port_scope(host(inbound("rpc-and-rdp", ("RPC", "3389")))).status == "fail"


def test_host_firewall_evidence_expects_what_the_hosts_family_needs() -> None:
    profiles = tuple(FirewallProfile(name, True, "Block") for name in ("Domain", "Private", "Public"))
    control = c12b.test_host_firewall_blocks_inbound_by_default
    result, evidence = verdict_and_evidence(control, host(profiles=profiles, windows=True))
    assert result.status == "pass"
    assert evidence.expectations == {
        "profiles": msg("Domain, Private and Public enabled, default inbound Block")
    }
    result, evidence = verdict_and_evidence(control, host())
    assert result.status == "pass"
    assert list(evidence.expectations) == ["firewall"]


def test_host_rule_without_remote_addresses_admits_any_address() -> None:
    result = port_scope(
        host(InboundAllowRule(name="ssh", protocol="TCP", local_ports=("22",), remote_addresses=()))
    )
    assert result.status == "fail"
    assert "rule ssh (TCP to port 22) admits Any (any address)" in result.message


def test_host_rules_after_a_portless_or_trusted_rule_are_still_judged() -> None:
    ping = inbound("ping", ("Any",), protocol="ICMP")
    office = inbound("office-ssh", ("22",), remotes=(TRUSTED,))
    anyone = inbound("ssh", ("22",))
    assert port_scope(host(ping, anyone)).status == "fail"
    assert port_scope(host(office, anyone)).status == "fail"
    assert port_scope(host(ping, office)).status == "pass"


@pytest.mark.parametrize(
    ("remote", "reason"),
    [
        pytest.param("192.0.2.1-office", "not an address range that can be checked", id="a-name-in-a-range"),
        pytest.param("192.0.2.9-192.0.2.1", "not a valid address range", id="reversed"),
        pytest.param("192.0.2.1-2001:db8::1", "not a valid address range", id="mixed-families"),
        pytest.param("192.0.2.0/24-x", "not an address range that can be checked", id="cidr-in-a-range"),
        pytest.param(
            "LocalSubnet", "a keyword or name, not provably inside the trusted networks", id="keyword"
        ),
    ],
)
def test_host_remote_address_that_is_not_provably_trusted_says_why(remote: str, reason: str) -> None:
    assert host_remote_untrusted(remote, POLICY) == reason


@pytest.mark.parametrize(
    ("profiles", "listener", "status"),
    [
        pytest.param((IPV4_ONLY,), "192.0.2.20%eth0", "pass", id="device-bound-ipv4-behind-iptables"),
        pytest.param((IPV6_ONLY,), "127.0.0.53%lo", "pass", id="device-bound-loopback-is-local"),
        pytest.param((IPV6_ONLY,), "192.0.2.20%eth0", "fail", id="device-bound-ipv4-with-ipv4-open"),
        pytest.param((IPV4_ONLY,), "FE80::1%eth0", "fail", id="upper-case-ipv6-with-ipv6-open"),
        pytest.param((IPV4_ONLY,), "", "fail", id="no-address-reaches-both-families"),
    ],
)
def test_listener_address_with_a_device_or_scope_is_judged_on_its_address(
    profiles: tuple[FirewallProfile, ...], listener: str, status: str
) -> None:
    facts = host(profiles=profiles, listeners=(Listener("tcp", listener, 22, "sshd"),))
    assert port_scope(facts).status == status
