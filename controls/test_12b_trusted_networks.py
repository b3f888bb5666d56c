"""12b: access to the (database) servers only from Lucrasoft's trusted network locations."""

from __future__ import annotations

import ipaddress

from collectors.azure.facts import NetworkSecurityGroup, SecurityRule, SqlServerFirewall, StorageAccount
from collectors.config import Policy
from collectors.hosts.facts import FirewallProfile, HostFacts, HostFirewall, profile_families
from collectors.probes.facts import PortProbe
from controls.framework import Evidence, EvidenceMissing, control
from controls.networks import (
    ALLOW_AZURE_SERVICES,
    ANY_ADDRESS_WORDS,
    IpAddress,
    anyone_reason,
    is_trusted_network,
    parse_address,
    range_trusted,
    range_within,
    service_tag_trusted,
)


def untrusted_rule_reason(start_ip: str, end_ip: str, policy: Policy) -> str | None:
    """Return why a firewall rule admits untrusted addresses, or None when it is inside trusted networks."""
    if (start_ip, end_ip) == ALLOW_AZURE_SERVICES:
        return "'allow Azure services' (0.0.0.0-0.0.0.0) admits any Azure IP of any tenant"
    start, end = parse_address(start_ip), parse_address(end_ip)
    if start.version != end.version or int(start) > int(end):
        raise ValueError(f"{start_ip}-{end_ip} is not a valid address range")
    if range_trusted(start, end, policy):
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
    unreadable: list[str] = []
    observed_rules: list[dict[str, object]] = []
    for rule in firewall.rules:
        try:
            if rule.start_ip is None or rule.end_ip is None:
                absent = " and ".join(
                    name
                    for name, value in (("startIpAddress", rule.start_ip), ("endIpAddress", rule.end_ip))
                    if value is None
                )
                raise ValueError(f"{absent} absent")
            reason = untrusted_rule_reason(rule.start_ip, rule.end_ip, policy)
        except ValueError as exc:
            unreadable.append(f"firewall rule {rule.name} cannot be read: {exc}")
            observed_rules.append(
                {"name": rule.name, "start": rule.start_ip, "end": rule.end_ip, "trusted": None}
            )
            continue
        observed_rules.append(
            {"name": rule.name, "start": rule.start_ip, "end": rule.end_ip, "trusted": reason is None}
        )
        if reason:
            untrusted.append(f"{rule.name}: {reason}")
    evidence.observed(firewall_rules=observed_rules)
    assert not untrusted, (
        f"public network access is {server.public_network_access or 'Enabled'} and "
        f"{len(untrusted)} firewall rule(s) admit untrusted addresses: "
        + "; ".join([*untrusted, *unreadable])
    )
    if unreadable:
        raise EvidenceMissing("; ".join(unreadable))


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
    if account.ip_rules is None:
        raise EvidenceMissing(
            f"storage account {account.name}: networkAcls.defaultAction is Deny but the answer has no "
            "ipRules list, so which addresses it admits is unknown"
        )
    untrusted: list[str] = []
    for rule in account.ip_rules:
        try:
            if rule.value is None:
                raise ValueError("the rule has no value (address or CIDR)")
            start, end = storage_ip_rule_range(rule.value)
        except ValueError as exc:
            raise EvidenceMissing(f"ipRule of storage account {account.name} cannot be read: {exc}") from None
        if not range_trusted(start, end, policy):
            untrusted.append(rule.value)
    evidence.observed(untrusted_ip_rules=untrusted)
    assert not untrusted, (
        f"public network access is {access} and {len(untrusted)} ipRule(s) admit addresses outside "
        "the trusted networks: " + ", ".join(untrusted)
    )


# --- 12b.azure-nsg-admin-ports ------------------------------------------------------------------

NSG_ANY_SOURCES = ANY_ADDRESS_WORDS
"""Rule sources that mean "anyone": untrusted whatever policy.trusted_service_tags says."""
NSG_PORTED_PROTOCOLS = ("Tcp", "Udp")
"""Protocols that have ports. UDP counts: RDP also listens on 3389/udp, and an open UDP port is reachable."""


NSG_DIRECTIONS = ("inbound", "outbound")
NSG_ACCESSES = ("allow", "deny")
NSG_PROTOCOLS = ("tcp", "udp", "icmp", "esp", "ah", "*", "any")
"""The protocol values ARM documents for a security rule; any other value cannot be judged."""


def nsg_protocols(protocol: str) -> tuple[str, ...]:
    """Return the protocols with ports that a rule's protocol covers ('*' covers TCP and UDP; ICMP none)."""
    lowered = protocol.strip().lower()
    if lowered in ("*", "any"):
        return NSG_PORTED_PROTOCOLS
    return tuple(p for p in NSG_PORTED_PROTOCOLS if p.lower() == lowered)


def _nsg_gap(rule: SecurityRule, arm_field: str) -> str:
    """Return why a field the control needs is missing, with the collector's account when it has one."""
    detail = next((u for u in rule.unreadable if u.startswith(arm_field)), None)
    return detail or f"{arm_field} is absent"


def nsg_rule_gaps(rule: SecurityRule) -> list[str]:
    """Return what the control needs of a rule but cannot read (empty: readable, or outbound).

    Direction decides whether a rule matters; an inbound (or unknown-direction) rule needs its
    access, priority, protocol, sources and destination ports; a Deny (or unknown-access) rule
    also its destination and source ports, since those decide what it blocks.
    """
    gaps: list[str] = []
    direction = (rule.direction or "").strip().lower()
    if rule.direction is None:
        gaps.append(_nsg_gap(rule, "direction"))
    elif direction not in NSG_DIRECTIONS:
        gaps.append(f"direction {rule.direction!r} is neither Inbound nor Outbound")
    if direction == "outbound":
        return []
    access = (rule.access or "").strip().lower()
    if rule.access is None:
        gaps.append(_nsg_gap(rule, "access"))
    elif access not in NSG_ACCESSES:
        gaps.append(f"access {rule.access!r} is neither Allow nor Deny")
    if rule.priority is None:
        gaps.append(_nsg_gap(rule, "priority"))
    if rule.protocol is None:
        gaps.append(_nsg_gap(rule, "protocol"))
    elif rule.protocol.strip().lower() not in NSG_PROTOCOLS:
        gaps.append(f"protocol {rule.protocol!r} is not one ARM documents")
    if rule.source_prefixes is None:
        gaps.append("no source: sourceAddressPrefix(es) and sourceApplicationSecurityGroups are absent")
    if rule.destination_port_ranges is None:
        gaps.append("destinationPortRange(s) are absent")
    if access != "allow":
        if rule.destination_prefixes is None and not rule.destination_application_security_groups:
            gaps.append("destinationAddressPrefix(es) are absent")
        if rule.source_port_ranges is None:
            gaps.append("sourcePortRange(s) are absent")
    return gaps


def nsg_unreadable_rules(nsg: NetworkSecurityGroup) -> list[tuple[SecurityRule | None, str]]:
    """Return the rules (and rule lists) the control cannot fully read, each with what is missing."""
    found: list[tuple[SecurityRule | None, str]] = [(None, problem) for problem in nsg.rules_unreadable]
    for rule in nsg.rules:
        gaps = nsg_rule_gaps(rule)
        if gaps:
            kind = "default" if rule.is_default else "custom"
            found.append((rule, f"rule {rule.name} ({kind}): " + "; ".join(gaps)))
    return found


def nsg_port_spans(ranges: tuple[str, ...]) -> list[tuple[int, int]]:
    """Return a rule's port ranges ("22", "1000-2000", "*") as inclusive spans; ValueError on bad text."""
    spans = []
    for text in ranges:
        stripped = text.strip()
        if stripped.lower() in ("*", "any"):
            spans.append((0, 65535))
            continue
        low, dash, high = stripped.partition("-")
        try:
            first = int(low)
            last = int(high) if dash else first
        except ValueError:
            raise ValueError(f"port range {text!r} is not a port, a range or '*'") from None
        if not 0 <= first <= last <= 65535:
            raise ValueError(f"port range {text!r} is outside 0-65535")
        spans.append((first, last))
    return spans


def nsg_ports_reached(ranges: tuple[str, ...], ports: list[int]) -> list[int]:
    """Return which of `ports` a rule's destination port ranges reach."""
    spans = nsg_port_spans(ranges)
    return [port for port in ports if any(first <= port <= last for first, last in spans)]


def nsg_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Return a CIDR or single IP address as a network; None for `*` and service tags."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def nsg_source_untrusted(source: str, policy: Policy) -> str | None:
    """Return why an address prefix, CIDR or service tag is not trusted, or None when it is trusted."""
    anyone = anyone_reason(source)
    if anyone is not None:
        return anyone
    network = nsg_network(source)
    if network is not None:
        if is_trusted_network(network, policy):
            return None
        return "outside the trusted networks"
    if service_tag_trusted(source, policy):
        return None
    return "service tag not in policy.trusted_service_tags"


def nsg_application_group_untrusted(policy: Policy) -> str | None:
    """Return why a source application security group is untrusted, or None when it is trusted.

    An ASG cannot be resolved to addresses, but its members are NICs inside the virtual network,
    a subset of the VirtualNetwork service tag: it is trusted exactly when VirtualNetwork is.
    """
    if service_tag_trusted("VirtualNetwork", policy):
        return None
    return "application security group: VirtualNetwork is not in policy.trusted_service_tags"


def _nsg_wildcard(values: tuple[str, ...]) -> bool:
    return any(value.strip().lower() in ("*", "any") for value in values)


def nsg_deny_blocks_destination(deny: SecurityRule, allow: SecurityRule) -> bool:
    """Return True when a Deny rule's destination provably covers an Allow rule's destination.

    A Deny to any address covers every destination, but not when it also names an application
    security group (ARM refuses a prefix beside a group; such a rule is read as covering the group
    only). Otherwise the Deny must name every prefix and group the Allow names; an Allow to any
    address, or without a destination, is covered only by a Deny to any address.
    """
    if _nsg_wildcard(deny.destination_prefixes or ()) and not deny.destination_application_security_groups:
        return True
    wanted = {p.strip().lower() for p in allow.destination_prefixes or ()}
    wanted_groups = {g.lower() for g in allow.destination_application_security_groups}
    if _nsg_wildcard(tuple(wanted)) or not (wanted or wanted_groups):
        return False
    return wanted <= {p.strip().lower() for p in deny.destination_prefixes or ()} and wanted_groups <= {
        g.lower() for g in deny.destination_application_security_groups
    }


def nsg_deny_blocks_all_source_ports(deny: SecurityRule) -> bool:
    """Return True when a Deny rule matches every source port (clients pick any source port)."""
    try:
        return (0, 65535) in nsg_port_spans(deny.source_port_ranges or ())
    except ValueError:
        return False


def nsg_source_denied(source: str, is_group: bool, denies: list[SecurityRule]) -> bool:
    """Return True when Deny rules (already matching port and protocol) cover the whole of a source.

    Coverage is only claimed when provable: a wildcard Deny (naming no application security group
    beside it), the same tag, CIDR or ASG, or CIDRs whose union holds the source's CIDR. A Deny of
    0.0.0.0/0 does not cover the Internet tag (which also holds IPv6 addresses).
    """
    wanted = source.strip().lower()
    for deny in denies:
        if _nsg_wildcard(deny.source_prefixes or ()) and not deny.source_application_security_groups:
            return True
        if is_group and wanted in {g.lower() for g in deny.source_application_security_groups}:
            return True
        if not is_group and wanted in {p.strip().lower() for p in deny.source_prefixes or ()}:
            return True
    network = nsg_network(source)  # None for a tag, and for an ASG (its id is never an address)
    if network is None:
        return False
    denied = [n for deny in denies for p in deny.source_prefixes or () if (n := nsg_network(p)) is not None]
    return range_within(network[0], network[-1], denied)


def _nsg_ports_text(exposed: dict[int, set[str]], protocols: tuple[str, ...]) -> str:
    shown = []
    for port in sorted(exposed):
        reached = exposed[port]
        if set(protocols) <= reached:
            shown.append(str(port))
        else:
            shown.extend(f"{port}/{p.lower()}" for p in protocols if p in reached)
    return ", ".join(shown)


def nsg_offending_rules(nsg: NetworkSecurityGroup, policy: Policy) -> tuple[list[str], list[str], list[str]]:
    """Return (offending rules described, shadowed rule names, unreadable rules described).

    An inbound Allow rule offends when one of its untrusted sources reaches a sensitive port over
    TCP or UDP, unless higher-priority (lower number) inbound Deny rules provably cover that
    source, port and protocol for the rule's destination and every source port. The Allow's
    own destination prefix is not used to excuse it: whatever it names sits behind this NSG.
    """
    sensitive = sorted(set(policy.sensitive_ports))
    gaps = nsg_unreadable_rules(nsg)
    unknown = {id(rule) for rule, _ in gaps if rule is not None}
    readable = [r for r in nsg.rules if id(r) not in unknown]
    inbound = [r for r in readable if (r.direction or "").strip().lower() == "inbound"]
    denies = [r for r in inbound if (r.access or "").strip().lower() == "deny"]
    allows = sorted(
        (
            (r.priority, r)
            for r in inbound
            if (r.access or "").strip().lower() == "allow" and r.priority is not None
        ),
        key=lambda pair: (pair[0], pair[1].name),
    )
    offending: list[str] = []
    shadowed: list[str] = []
    unreadable: list[str] = [problem for _, problem in gaps]
    for priority, rule in allows:
        protocols = nsg_protocols(rule.protocol or "")
        try:
            ports = nsg_ports_reached(rule.destination_port_ranges or (), sensitive)
        except ValueError as exc:
            unreadable.append(f"{rule.name}: {exc}")
            continue
        if not protocols or not ports:
            continue
        sources = [(p, False, nsg_source_untrusted(p, policy)) for p in rule.source_prefixes or ()]
        sources += [
            (g, True, nsg_application_group_untrusted(policy))
            for g in rule.source_application_security_groups
        ]
        untrusted = [(s, is_group, reason) for s, is_group, reason in sources if reason]
        if not untrusted:
            continue
        earlier = [
            d
            for d in denies
            if d.priority is not None
            and d.priority < priority
            and nsg_deny_blocks_destination(d, rule)
            and nsg_deny_blocks_all_source_ports(d)
        ]
        described: list[str] = []
        for source, is_group, reason in untrusted:
            exposed: dict[int, set[str]] = {}
            for port in ports:
                for protocol in protocols:
                    blocking = []
                    for deny in earlier:
                        try:
                            denied_ports = nsg_ports_reached(deny.destination_port_ranges or (), [port])
                        except ValueError:
                            continue  # a Deny whose ports cannot be read blocks nothing provably
                        if denied_ports and protocol in nsg_protocols(deny.protocol or ""):
                            blocking.append(deny)
                    if not nsg_source_denied(source, is_group, blocking):
                        exposed.setdefault(port, set()).add(protocol)
            if exposed:
                label = f"application security group {source.rsplit('/', 1)[-1]}" if is_group else source
                described.append(f"{label} ({reason}) to port(s) {_nsg_ports_text(exposed, protocols)}")
        if described:
            kind = "default" if rule.is_default else "custom"
            offence = (
                f"{rule.name} ({kind}, priority {priority}, protocol {rule.protocol}) from "
                + "; from ".join(described)
            )
            hiding = _nsg_possible_denies(nsg, gaps, priority)
            if hiding:
                unreadable.append(f"{offence}, unless the unreadable {hiding} deny it first")
            else:
                offending.append(offence)
        else:
            shadowed.append(rule.name)
    return offending, shadowed, unreadable


def _nsg_possible_denies(
    nsg: NetworkSecurityGroup, gaps: list[tuple[SecurityRule | None, str]], priority: int
) -> str | None:
    """Return the unreadable rules that might be a Deny evaluated before an Allow of `priority` (None: none).

    An offence is only certain when nothing the control could not read may come first and block it.
    """
    if nsg.rules_unreadable:
        return "rule list(s) (" + "; ".join(nsg.rules_unreadable) + ")"
    names = [
        rule.name
        for rule, _ in gaps
        if rule is not None
        and (rule.access or "").strip().lower() != "allow"
        and (rule.priority is None or rule.priority < priority)
    ]
    return "rule(s) " + ", ".join(names) if names else None


def _nsg_attachment(nsg: NetworkSecurityGroup) -> str:
    if not nsg.subnet_ids and not nsg.network_interface_ids:
        return "attached to no subnet or NIC"
    parts = [
        f"{count} {kind}"
        for count, kind in ((len(nsg.subnet_ids), "subnet(s)"), (len(nsg.network_interface_ids), "NIC(s)"))
        if count
    ]
    machines = nsg.virtual_machine_ids
    if machines:
        parts.append("VM(s) " + ", ".join(m.rsplit("/", 1)[-1] for m in machines))
    public = nsg.public_ip_address_ids
    if public:
        parts.append(f"{len(public)} public IP(s) in front")
    return "attached to " + ", ".join(parts)


@control("12b.azure-nsg-admin-ports", over="azure.nsgs")
def test_nsg_admits_sensitive_ports_only_from_trusted_networks(
    nsg: NetworkSecurityGroup, policy: Policy, evidence: Evidence
) -> None:
    inbound_allow = [
        {
            "name": r.name,
            "priority": r.priority,
            "protocol": r.protocol,
            "sources": None
            if r.source_prefixes is None
            else [*r.source_prefixes, *r.source_application_security_groups],
            "destination_ports": None
            if r.destination_port_ranges is None
            else list(r.destination_port_ranges),
            "default": r.is_default,
        }
        for r in nsg.rules
        if (r.direction or "inbound").strip().lower() == "inbound"
        and (r.access or "allow").strip().lower() == "allow"
    ]
    evidence.observed(
        inbound_allow_rules=inbound_allow,
        subnets=nsg.subnet_ids,
        network_interfaces=nsg.network_interface_ids,
        virtual_machines=nsg.virtual_machine_ids,
        public_ip_addresses=nsg.public_ip_address_ids,
    )
    evidence.expected(
        inbound_allow_to_sensitive_ports="only from trusted networks or trusted service tags",
        sensitive_ports=sorted(set(policy.sensitive_ports)),
        trusted_networks=policy.trusted_networks,
        trusted_service_tags=policy.trusted_service_tags,
    )
    offending, shadowed, unreadable = nsg_offending_rules(nsg, policy)
    if shadowed:
        evidence.observed(shadowed_by_higher_priority_deny=shadowed)
    if unreadable:
        evidence.observed(unreadable_rules=unreadable)
    assert not offending, (
        f"NSG {nsg.name} ({_nsg_attachment(nsg)}) admits untrusted sources to sensitive ports through "
        f"{len(offending)} inbound Allow rule(s): "
        + " | ".join(offending)
        + (f" | and cannot read: {'; '.join(unreadable)}" if unreadable else "")
    )
    if unreadable:
        raise EvidenceMissing(f"NSG {nsg.name}: rule(s) cannot be read: " + "; ".join(unreadable))


# --- 12b.host-firewall and 12b.host-port-scope (hosts over SSH) ----------------------------------

WINDOWS_FIREWALL_PROFILES = ("Domain", "Private", "Public")
BLOCKING_DEFAULTS = frozenset({"block", "drop", "reject", "deny"})
"""Default inbound actions that refuse what no rule allows (Windows "Block"; Linux drop/reject/deny)."""
ADDRESS_FAMILIES = ("ipv4", "ipv6")


def _profile_blocks(profile: FirewallProfile) -> bool:
    words = profile.default_inbound.strip().lower().split()
    return profile.enabled and bool(words) and words[0] in BLOCKING_DEFAULTS


def _profile_text(profile: FirewallProfile) -> str:
    state = "on" if profile.enabled else "off"
    return f"{profile.name} ({state}, default inbound {profile.default_inbound})"


def host_firewall_gaps(host: HostFacts, firewall: HostFirewall) -> tuple[list[str], frozenset[str]]:
    """Return what keeps a host's firewall from blocking inbound by default, and the families left open.

    Windows: each of the Domain, Private and Public profiles must be on with default inbound
    Block (NotConfigured is not taken as Block). Linux: a blocking input chain, or ufw/firewalld
    on with default deny, must cover IPv4 and IPv6 each (an iptables INPUT policy DROP leaves
    IPv6 open unless ip6tables or an inet/ip6 chain also drops).
    """
    problems: list[str] = []
    if host.os.family == "windows":
        by_name = {p.name.strip().lower(): p for p in firewall.profiles}
        for name in WINDOWS_FIREWALL_PROFILES:
            profile = by_name.get(name.lower())
            if profile is None:
                problems.append(f"the {name} profile is not reported")
            elif not profile.enabled:
                problems.append(f"the {name} profile is off")
            elif not _profile_blocks(profile):
                problems.append(
                    f"the {name} profile's default inbound action is {profile.default_inbound}, not Block"
                )
        return problems, frozenset(ADDRESS_FAMILIES) if problems else frozenset()
    blocking = [p for p in firewall.profiles if _profile_blocks(p)]
    covered = frozenset(f for p in blocking for f in profile_families(p))
    open_families = frozenset(f for f in ADDRESS_FAMILIES if f not in covered)
    if not firewall.profiles:
        problems.append(
            "no host firewall was found (no nftables input chain, iptables INPUT chain, ufw or firewalld)"
        )
    elif not blocking:
        problems.append(
            "nothing blocks inbound traffic by default: "
            + "; ".join(_profile_text(p) for p in firewall.profiles)
        )
    elif open_families:
        names = " and ".join("IPv4" if f == "ipv4" else "IPv6" for f in sorted(open_families))
        problems.append(
            f"{names} traffic is not filtered by default: only "
            + ", ".join(p.name for p in blocking)
            + " block(s) inbound, and that covers "
            + " and ".join("IPv4" if f == "ipv4" else "IPv6" for f in sorted(covered))
            + " only (if IPv6 is disabled on the host, waive this with that evidence)"
        )
    return problems, open_families


@control("12b.host-firewall", over="hosts.all")
def test_host_firewall_blocks_inbound_by_default(host: HostFacts, evidence: Evidence) -> None:
    if host.firewall is None:
        raise EvidenceMissing(host.missing("firewall"))
    evidence.observed(
        os=host.os.family,
        profiles=[
            {"name": p.name, "enabled": p.enabled, "default_inbound": p.default_inbound}
            for p in host.firewall.profiles
        ],
    )
    if host.os.family == "windows":
        evidence.expected(profiles="Domain, Private and Public enabled, default inbound Block")
    else:
        evidence.expected(
            firewall="an nftables/iptables input chain with policy drop or reject, or ufw/firewalld active "
            "with default deny, covering IPv4 and IPv6"
        )
    problems, _ = host_firewall_gaps(host, host.firewall)
    assert not problems, f"host {host.name}: " + "; ".join(problems)


HOST_ANY_ADDRESSES = frozenset({"any", "*", "0.0.0.0/0", "::/0"})
HOST_PORTLESS_PROTOCOLS = frozenset(
    {
        "icmp", "icmpv4", "icmpv6", "ipv6-icmp", "igmp", "gre", "esp", "ah", "ospf", "vrrp", "ipv6",
        "ipv6-route", "ipv6-frag", "ipv6-nonxt", "ipv6-opts",
        "1", "2", "41", "43", "44", "47", "50", "51", "58", "59", "60", "89", "112",
    }
)  # fmt: skip
"""Protocols without ports (ICMP, IGMP, IPv6 encapsulation and extension headers, GRE, IPsec, OSPF,
VRRP by name or IANA number): a rule for one of them reaches no port. Every other protocol, known or
not (TCP, UDP, SCTP, "Any", a number), is judged as if it reached the ports it lists."""
WINDOWS_PORT_KEYWORDS = {
    "rpcepmap": [(135, 135)],
    "rpc": [(49152, 65535)],
    "iphttps": [(443, 443)],
    "iphttpsin": [(443, 443)],
    "iphttpsout": [(443, 443)],
    "teredo": [(3544, 3544)],
}
"""Windows firewall LocalPort keywords with the ports they stand for (RPC: the dynamic range)."""


def host_port_spans(ports: tuple[str, ...]) -> tuple[list[tuple[int, int]], list[str]]:
    """Return a rule's local ports as inclusive spans, and the entries that are not ports or ranges."""
    spans: list[tuple[int, int]] = []
    unknown: list[str] = []
    for text in ports:
        stripped = text.strip()
        keyword = WINDOWS_PORT_KEYWORDS.get(stripped.lower())
        if keyword is not None:
            spans.extend(keyword)
            continue
        try:
            # "Any", "*" and an empty entry are every port; iptables writes a range "1000:2000"
            spans.extend(nsg_port_spans((stripped.replace(":", "-") or "*",)))
        except ValueError:
            unknown.append(stripped)
    return spans, unknown


def host_remote_untrusted(address: str, policy: Policy) -> str | None:
    """Return why a rule's remote address is not trusted, or None when it lies inside the trusted networks.

    Accepts single addresses, CIDRs (also Windows' address/mask form) and ranges "a-b"; keywords
    such as Any, Internet, LocalSubnet or an unresolved address set are never trusted.
    """
    text = address.strip()
    if text.lower() in HOST_ANY_ADDRESSES:
        return "any address"
    if "-" in text:  # a range "a-b" (no address or CIDR holds a dash)
        low, _, high = text.partition("-")
        try:
            start, end = parse_address(low), parse_address(high)
        except ValueError:
            return "not an address range that can be checked"
        if start.version != end.version or int(start) > int(end):
            return "not a valid address range"
        return None if range_trusted(start, end, policy) else "outside the trusted networks"
    network = nsg_network(text)
    if network is None:
        return "a keyword or name, not provably inside the trusted networks"
    return None if is_trusted_network(network, policy) else "outside the trusted networks"


def _listener_address(address: str) -> IpAddress | None:
    """Return the address a socket listens on (IPv4-mapped IPv6 as IPv4), None for "*" or a name.

    ss writes a scope or device after "%" ("fe80::1%eth0", "127.0.0.53%lo"); it is dropped.
    """
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0].strip())
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def _listener_families(address: str) -> frozenset[str]:
    parsed = _listener_address(address)
    if parsed is None or parsed == ipaddress.IPv6Address("::"):  # any address, or the dual-stack "::"
        return frozenset(ADDRESS_FAMILIES)
    return frozenset({"ipv4" if parsed.version == 4 else "ipv6"})


def listener_is_local(address: str) -> bool:
    """Return True when a socket listens on a loopback address only."""
    parsed = _listener_address(address)
    return parsed is not None and parsed.is_loopback


def host_port_scope_findings(
    host: HostFacts, firewall: HostFirewall, policy: Policy
) -> tuple[list[str], list[str]]:
    """Return (offending rules and listeners described, local-port entries that cannot be interpreted).

    An entry that is neither a port, a range nor a known keyword matters only in a rule that
    admits untrusted addresses (from trusted networks only, no port is a problem): there it is
    returned, naming the rule, so that the control reports `error` rather than guessing.
    """
    sensitive = sorted(set(policy.sensitive_ports))
    offending: list[str] = []
    unrecognised: list[str] = []
    for rule in firewall.inbound_allow:
        if rule.protocol.strip().lower() in HOST_PORTLESS_PROTOCOLS:
            continue
        remotes = rule.remote_addresses or ("Any",)
        untrusted = [(r, reason) for r in remotes if (reason := host_remote_untrusted(r, policy))]
        if not untrusted:
            continue
        spans, unknown = host_port_spans(rule.local_ports)
        unrecognised.extend(f"rule {rule.name}: local port entry {u!r}" for u in unknown)
        ports = [p for p in sensitive if any(low <= p <= high for low, high in spans)]
        if ports:
            offending.append(
                f"rule {rule.name} ({rule.protocol} to port(s) {', '.join(map(str, ports))}) admits "
                + ", ".join(f"{r} ({reason})" for r, reason in untrusted)
            )
    _, open_families = host_firewall_gaps(host, firewall)
    if open_families:
        exposed = [
            listener
            for listener in firewall.listeners
            if listener.port in sensitive
            and not listener_is_local(listener.address)
            and _listener_families(listener.address) & open_families
        ]
        if exposed:
            shown = ", ".join(
                f"{sock.protocol} {sock.address}:{sock.port}" + (f" ({sock.process})" if sock.process else "")
                for sock in exposed
            )
            reason = (
                "a firewall profile is off or allows inbound by default"
                if host.os.family == "windows"
                else "no firewall blocks inbound "
                + " and ".join("IPv4" if f == "ipv4" else "IPv6" for f in sorted(open_families))
                + " by default"
            )
            offending.append(f"sensitive port(s) listening with no firewall restriction ({reason}): {shown}")
    return offending, unrecognised


@control("12b.host-port-scope", over="hosts.all")
def test_host_admits_sensitive_ports_only_from_trusted_networks(
    host: HostFacts, policy: Policy, evidence: Evidence
) -> None:
    if host.firewall is None:
        raise EvidenceMissing(host.missing("firewall"))
    firewall = host.firewall
    sensitive = sorted(set(policy.sensitive_ports))
    evidence.observed(
        inbound_allow_rules=[
            {
                "name": r.name,
                "protocol": r.protocol,
                "local_ports": list(r.local_ports),
                "remote_addresses": list(r.remote_addresses),
                "profiles": list(r.profiles),
            }
            for r in firewall.inbound_allow
        ],
        sensitive_listeners=[
            {"protocol": s.protocol, "address": s.address, "port": s.port, "process": s.process}
            for s in firewall.listeners
            if s.port in sensitive
        ],
    )
    evidence.expected(
        inbound_allow_to_sensitive_ports="only from remote addresses inside the trusted networks",
        sensitive_listeners="behind a firewall that blocks inbound by default",
        sensitive_ports=sensitive,
        trusted_networks=policy.trusted_networks,
    )
    offending, unrecognised = host_port_scope_findings(host, firewall, policy)
    if unrecognised:
        evidence.observed(unrecognised_local_ports=unrecognised)
    assert not offending, f"host {host.name} admits untrusted addresses to sensitive ports: " + " | ".join(
        offending
    )
    if unrecognised:
        raise EvidenceMissing(
            f"host {host.name}: rule(s) admitting untrusted addresses name local ports that cannot be "
            "interpreted, so whether they reach a sensitive port is unknown: " + "; ".join(unrecognised)
        )


# --- 12b.exposure-probe -------------------------------------------------------------------------

PROBE_STATES = ("open", "refused", "filtered")


@control("12b.exposure-probe", over="probes.ports")
def test_sensitive_port_is_not_reachable_from_the_vantage_point(probe: PortProbe, evidence: Evidence) -> None:
    vantage = f"{probe.vantage_host} ({probe.vantage_source or 'source address unknown'})"
    evidence.observed(
        address=probe.address,
        port=probe.port,
        state=probe.state,
        how=probe.detail,
        peers=list(probe.peers),
        origin=probe.origin,
        vantage_point=vantage,
        elapsed_ms=probe.elapsed_ms,
        host_seen=probe.host_seen or None,
    )
    evidence.expected(
        state="refused or filtered: a TCP connect from this (untrusted) vantage point fails",
        host_seen="the host answered on some probed port (else a silent port proves nothing)",
    )
    if probe.state not in PROBE_STATES:
        raise EvidenceMissing(
            f"port {probe.port} of {probe.address}: probe state {probe.state!r} is not open, refused or filtered"
        )
    assert probe.state != "open", (
        f"port {probe.port} of {probe.address} ({probe.origin}) accepts TCP connections from the vantage "
        f"point {vantage}"
    )
    if not probe.host_seen:
        raise EvidenceMissing(
            f"port {probe.port} of {probe.address} is {probe.state}, but nothing shows the host answered from "
            f"{vantage} on any port: host unreachable, so the port proves nothing"
        )
