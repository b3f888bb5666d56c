"""How an NSG's inbound rules are read: which untrusted sources reach a sensitive port (12b.azure-nsg-admin-ports).

A rule is judged the way Azure evaluates it: inbound rules by priority (lower number first), an
Allow excused only when higher-priority Deny rules provably cover its source, port and protocol,
for its destination and every source port. Whatever the control cannot read is said, never guessed.
"""

from __future__ import annotations

import ipaddress

from collectors.azure.facts import NetworkSecurityGroup, SecurityRule
from collectors.config.policy import Policy
from controls.networks import (
    ANY_ADDRESS_WORDS,
    UnreadableValue,
    anyone_message,
    comma_separated,
    is_trusted_network,
    range_within,
    service_tag_trusted,
    unreadable_reason,
)
from reports.evidence import Message, as_message, msg, msg_n
from reports.i18n.translation import english

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


def _nsg_gap(rule: SecurityRule, arm_field: str) -> Message:
    """Return why a field the control needs is missing, with the collector's account when it has one."""
    detail = next((u.reason for u in rule.unreadable if u.field == arm_field), None)
    return msg("{field} is absent", field=arm_field) if detail is None else as_message(detail)


def nsg_rule_kind(rule: SecurityRule) -> Message:
    """Return whether a rule is one of Azure's default rules or a custom one, in words."""
    return msg("default") if rule.is_default else msg("custom")


def nsg_rule_gaps(rule: SecurityRule) -> list[Message]:
    """Return what the control needs of a rule but cannot read (empty: readable, or outbound).

    Direction decides whether a rule matters; an inbound (or unknown-direction) rule needs its
    access, priority, protocol, sources and destination ports; a Deny (or unknown-access) rule
    also its destination and source ports, since those decide what it blocks.
    """
    gaps: list[Message] = []
    direction = (rule.direction or "").strip().lower()
    if rule.direction is None:
        gaps.append(_nsg_gap(rule, "direction"))
    elif direction not in NSG_DIRECTIONS:
        gaps.append(msg("direction {value} is neither Inbound nor Outbound", value=repr(rule.direction)))
    if direction == "outbound":
        return []
    access = (rule.access or "").strip().lower()
    if rule.access is None:
        gaps.append(_nsg_gap(rule, "access"))
    elif access not in NSG_ACCESSES:
        gaps.append(msg("access {value} is neither Allow nor Deny", value=repr(rule.access)))
    if rule.priority is None:
        gaps.append(_nsg_gap(rule, "priority"))
    if rule.protocol is None:
        gaps.append(_nsg_gap(rule, "protocol"))
    elif rule.protocol.strip().lower() not in NSG_PROTOCOLS:
        gaps.append(msg("protocol {value} is not one ARM documents", value=repr(rule.protocol)))
    # "(es)" and "(s)" below belong to the ARM field names (sourceAddressPrefix / sourceAddressPrefixes).
    if rule.source_prefixes is None:
        gaps.append(msg("no source: sourceAddressPrefix(es) and sourceApplicationSecurityGroups are absent"))
    if rule.destination_port_ranges is None:
        gaps.append(msg("destinationPortRange(s) are absent"))
    if access != "allow":
        if rule.destination_prefixes is None and not rule.destination_application_security_groups:
            gaps.append(msg("destinationAddressPrefix(es) are absent"))
        if rule.source_port_ranges is None:
            gaps.append(msg("sourcePortRange(s) are absent"))
    return gaps


def nsg_unreadable_rules(nsg: NetworkSecurityGroup) -> list[tuple[SecurityRule | None, Message]]:
    """Return the rules (and rule lists) the control cannot fully read, each with what is missing."""
    found: list[tuple[SecurityRule | None, Message]] = [
        (None, as_message(problem.reason)) for problem in nsg.rules_unreadable
    ]
    for rule in nsg.rules:
        gaps = nsg_rule_gaps(rule)
        if gaps:
            found.append(
                (
                    rule,
                    msg("rule {rule} ({kind}): {gaps}", rule=rule.name, kind=nsg_rule_kind(rule), gaps=gaps),
                )
            )
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
            raise UnreadableValue(
                msg("port range {value} is not a port, a range or '*'", value=repr(text))
            ) from None
        if not 0 <= first <= last <= 65535:
            raise UnreadableValue(msg("port range {value} is outside 0-65535", value=repr(text)))
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


def nsg_source_distrust(source: str, policy: Policy) -> Message | None:
    """Return why an address prefix, CIDR or service tag is not trusted, or None when it is trusted."""
    anyone = anyone_message(source)
    if anyone is not None:
        return anyone
    network = nsg_network(source)
    if network is not None:
        if is_trusted_network(network, policy):
            return None
        return msg("outside the trusted networks")
    if service_tag_trusted(source, policy):
        return None
    return msg("service tag not in policy.trusted_service_tags")


def nsg_source_untrusted(source: str, policy: Policy) -> str | None:
    """Return nsg_source_distrust(source, policy) in English (None: the source is trusted)."""
    reason = nsg_source_distrust(source, policy)
    return None if reason is None else english(reason)


def nsg_application_group_untrusted(policy: Policy) -> Message | None:
    """Return why a source application security group is untrusted, or None when it is trusted.

    An ASG cannot be resolved to addresses, but its members are NICs inside the virtual network,
    a subset of the VirtualNetwork service tag: it is trusted exactly when VirtualNetwork is.
    """
    if service_tag_trusted("VirtualNetwork", policy):
        return None
    return msg("application security group: VirtualNetwork is not in policy.trusted_service_tags")


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


def _nsg_ports_shown(exposed: dict[int, set[str]], protocols: tuple[str, ...]) -> list[str]:
    """Return the exposed ports as shown: "3389" when every protocol of the rule reaches it, else "3389/udp"."""
    shown = []
    for port in sorted(exposed):
        reached = exposed[port]
        if set(protocols) <= reached:
            shown.append(str(port))
        else:
            shown.extend(f"{port}/{p.lower()}" for p in protocols if p in reached)
    return shown


def _nsg_exposed_source(source: str, is_group: bool, reason: Message, ports: list[str]) -> Message:
    """Describe one untrusted source of an offending rule: `from <source> (<why>) to port(s) <ports>`."""
    label: Message | str = (
        msg("application security group {group}", group=source.rsplit("/", 1)[-1]) if is_group else source
    )
    return msg_n(
        "from {source} ({reason}) to port {ports}",
        "from {source} ({reason}) to ports {ports}",
        "n",
        n=len(ports),
        source=label,
        reason=reason,
        ports=ports,
    )


def nsg_offending_rules(
    nsg: NetworkSecurityGroup, policy: Policy
) -> tuple[list[Message], list[str], list[Message]]:
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
    offending: list[Message] = []
    shadowed: list[str] = []
    unreadable: list[Message] = [problem for _, problem in gaps]
    for priority, rule in allows:
        protocols = nsg_protocols(rule.protocol or "")
        try:
            ports = nsg_ports_reached(rule.destination_port_ranges or (), sensitive)
        except ValueError as exc:
            unreadable.append(msg("{rule}: {problem}", rule=rule.name, problem=unreadable_reason(exc)))
            continue
        if not protocols or not ports:
            continue
        sources = [(p, False, nsg_source_distrust(p, policy)) for p in rule.source_prefixes or ()]
        sources += [
            (g, True, nsg_application_group_untrusted(policy))
            for g in rule.source_application_security_groups
        ]
        untrusted = [(s, is_group, reason) for s, is_group, reason in sources if reason is not None]
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
        described: list[Message] = []
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
                described.append(
                    _nsg_exposed_source(source, is_group, reason, _nsg_ports_shown(exposed, protocols))
                )
        if described:
            offence = msg(
                "{rule} ({kind}, priority {priority}, protocol {protocol}) {sources}",
                rule=rule.name,
                kind=nsg_rule_kind(rule),
                priority=priority,
                protocol=rule.protocol,
                sources=described,
            )
            hiding = _nsg_possible_denies(nsg, gaps, priority)
            if hiding:
                unreadable.append(msg("{offence}, {unless}", offence=offence, unless=hiding))
            else:
                offending.append(offence)
        else:
            shadowed.append(rule.name)
    return offending, shadowed, unreadable


def _nsg_possible_denies(
    nsg: NetworkSecurityGroup, gaps: list[tuple[SecurityRule | None, Message]], priority: int
) -> Message | None:
    """Return "unless the unreadable rules ... deny it first": the unreadable rules that might be a Deny
    evaluated before an Allow of `priority` (None: none).

    An offence is only certain when nothing the control could not read may come first and block it.
    """
    if nsg.rules_unreadable:
        lists = {problem.field for problem in nsg.rules_unreadable}
        return msg_n(
            "unless the unreadable rule list ({problems}) denies it first",
            "unless the unreadable rule lists ({problems}) deny it first",
            "n",
            n=len(lists),
            problems=[as_message(problem.reason) for problem in nsg.rules_unreadable],
        )
    names = [
        rule.name
        for rule, _ in gaps
        if rule is not None
        and (rule.access or "").strip().lower() != "allow"
        and (rule.priority is None or rule.priority < priority)
    ]
    if not names:
        return None
    return msg_n(
        "unless the unreadable rule {rules} denies it first",
        "unless the unreadable rules {rules} deny it first",
        "n",
        n=len(names),
        rules=names,
    )


def nsg_attachment(nsg: NetworkSecurityGroup) -> Message:
    """Return what an NSG is attached to (subnets, NICs, VMs, public IPs in front), for the failure message."""
    if not nsg.subnet_ids and not nsg.network_interface_ids:
        return msg("attached to no subnet or NIC")
    parts: list[Message] = []
    if nsg.subnet_ids:
        parts.append(msg_n("{n} subnet", "{n} subnets", "n", n=len(nsg.subnet_ids)))
    if nsg.network_interface_ids:
        parts.append(msg_n("{n} NIC", "{n} NICs", "n", n=len(nsg.network_interface_ids)))
    machines = nsg.virtual_machine_ids
    if machines:
        names = [m.rsplit("/", 1)[-1] for m in machines]
        parts.append(msg_n("VM {names}", "VMs {names}", "n", n=len(names), names=names))
    public = nsg.public_ip_address_ids
    if public:
        parts.append(msg_n("{n} public IP in front", "{n} public IPs in front", "n", n=len(public)))
    return msg("attached to {parts}", parts=comma_separated(parts))
