"""How a host's own firewall is read: does it block inbound by default, and whom it admits to which port.

Used by 12b.host-firewall and 12b.host-port-scope. Windows reports three profiles (Domain,
Private, Public) and its inbound Allow rules; Linux reports its input chains (nftables,
iptables/ip6tables, ufw, firewalld) per address family; both report their listening sockets.
A port range is read the way an NSG's is (controls/nsg_rules.py), with Windows' port keywords
and iptables' "1000:2000" on top.
"""

from __future__ import annotations

import ipaddress

from collectors.config.policy import Policy
from collectors.hosts.facts import FirewallProfile, HostFacts, HostFirewall, profile_families
from controls.networks import IpAddress, comma_separated, is_trusted_network, parse_address, range_trusted
from controls.nsg_rules import nsg_network, nsg_port_spans
from reports.evidence import Message, msg, msg_n
from reports.i18n.translation import english

WINDOWS_FIREWALL_PROFILES = ("Domain", "Private", "Public")
BLOCKING_DEFAULTS = frozenset({"block", "drop", "reject", "deny"})
"""Default inbound actions that refuse what no rule allows (Windows "Block"; Linux drop/reject/deny)."""
ADDRESS_FAMILIES = ("ipv4", "ipv6")


def _profile_blocks(profile: FirewallProfile) -> bool:
    words = profile.default_inbound.strip().lower().split()
    return profile.enabled and bool(words) and words[0] in BLOCKING_DEFAULTS


def _profile_text(profile: FirewallProfile) -> Message:
    return msg(
        "{profile} ({state}, default inbound {action})",
        profile=profile.name,
        state=msg("on") if profile.enabled else msg("off"),
        action=profile.default_inbound,
    )


def families_text(families: frozenset[str]) -> Message | str:
    """Return address families in words: "IPv4", "IPv6" or "IPv4 and IPv6"."""
    names = ["IPv4" if f == "ipv4" else "IPv6" for f in sorted(families)]
    return msg("IPv4 and IPv6") if len(names) > 1 else "".join(names)


def host_firewall_gaps(host: HostFacts, firewall: HostFirewall) -> tuple[list[Message], frozenset[str]]:
    """Return what keeps a host's firewall from blocking inbound by default, and the families left open.

    Windows: each of the Domain, Private and Public profiles must be on with default inbound
    Block (NotConfigured is not taken as Block). Linux: a blocking input chain, or ufw/firewalld
    on with default deny, must cover IPv4 and IPv6 each (an iptables INPUT policy DROP leaves
    IPv6 open unless ip6tables or an inet/ip6 chain also drops).
    """
    problems: list[Message] = []
    if host.os.family == "windows":
        by_name = {p.name.strip().lower(): p for p in firewall.profiles}
        for name in WINDOWS_FIREWALL_PROFILES:
            profile = by_name.get(name.lower())
            if profile is None:
                problems.append(msg("the {profile} profile is not reported", profile=name))
            elif not profile.enabled:
                problems.append(msg("the {profile} profile is off", profile=name))
            elif not _profile_blocks(profile):
                problems.append(
                    msg(
                        "the {profile} profile's default inbound action is {action}, not Block",
                        profile=name,
                        action=profile.default_inbound,
                    )
                )
        return problems, frozenset(ADDRESS_FAMILIES) if problems else frozenset()
    blocking = [p for p in firewall.profiles if _profile_blocks(p)]
    covered = frozenset(f for p in blocking for f in profile_families(p))
    open_families = frozenset(f for f in ADDRESS_FAMILIES if f not in covered)
    if not firewall.profiles:
        problems.append(
            msg(
                "no host firewall was found (no nftables input chain, iptables INPUT chain, ufw or firewalld)"
            )
        )
    elif not blocking:
        profiles = [_profile_text(p) for p in firewall.profiles]
        problems.append(msg("nothing blocks inbound traffic by default: {profiles}", profiles=profiles))
    elif open_families:
        problems.append(
            msg_n(
                "{families} traffic is not filtered by default: only {blocking} blocks inbound, and that "
                "covers {covered} only (if IPv6 is disabled on the host, waive this with that evidence)",
                "{families} traffic is not filtered by default: only {blocking} block inbound, and that "
                "covers {covered} only (if IPv6 is disabled on the host, waive this with that evidence)",
                "n",
                n=len(blocking),
                families=families_text(open_families),
                blocking=[p.name for p in blocking],
                covered=families_text(covered),
            )
        )
    return problems, open_families


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


def host_remote_distrust(address: str, policy: Policy) -> Message | None:
    """Return why a rule's remote address is not trusted, or None when it lies inside the trusted networks.

    Accepts single addresses, CIDRs (also Windows' address/mask form) and ranges "a-b"; keywords
    such as Any, Internet, LocalSubnet or an unresolved address set are never trusted.
    """
    text = address.strip()
    if text.lower() in HOST_ANY_ADDRESSES:
        return msg("any address")
    if "-" in text:  # a range "a-b" (no address or CIDR holds a dash)
        low, _, high = text.partition("-")
        try:
            start, end = parse_address(low), parse_address(high)
        except ValueError:
            return msg("not an address range that can be checked")
        if start.version != end.version or int(start) > int(end):
            return msg("not a valid address range")
        return None if range_trusted(start, end, policy) else msg("outside the trusted networks")
    network = nsg_network(text)
    if network is None:
        return msg("a keyword or name, not provably inside the trusted networks")
    return None if is_trusted_network(network, policy) else msg("outside the trusted networks")


def host_remote_untrusted(address: str, policy: Policy) -> str | None:
    """Return host_remote_distrust(address, policy) in English (None: the address is trusted)."""
    reason = host_remote_distrust(address, policy)
    return None if reason is None else english(reason)


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


def _admitted_remotes(untrusted: list[tuple[str, Message]]) -> Message | str:
    """Return the untrusted remote addresses of a rule, each with why: `Any (any address), ...`."""
    described = [msg("{address} ({reason})", address=address, reason=reason) for address, reason in untrusted]
    return comma_separated(described)


def host_port_scope_findings(
    host: HostFacts, firewall: HostFirewall, policy: Policy
) -> tuple[list[Message], list[Message]]:
    """Return (offending rules and listeners described, rules with local-port entries that cannot be interpreted).

    An entry that is neither a port, a range nor a known keyword matters only in a rule that
    admits untrusted addresses (from trusted networks only, no port is a problem): there it is
    returned, one message per rule naming it, so that the control reports `error` rather than guessing.
    """
    sensitive = sorted(set(policy.sensitive_ports))
    offending: list[Message] = []
    unrecognised: list[Message] = []
    for rule in firewall.inbound_allow:
        if rule.protocol.strip().lower() in HOST_PORTLESS_PROTOCOLS:
            continue
        remotes = rule.remote_addresses or ("Any",)
        untrusted = [(r, reason) for r in remotes if (reason := host_remote_distrust(r, policy)) is not None]
        if not untrusted:
            continue
        spans, unknown = host_port_spans(rule.local_ports)
        if unknown:
            unrecognised.append(
                msg_n(
                    "rule {rule}: local port entry {entries}",
                    "rule {rule}: local port entries {entries}",
                    "n",
                    n=len(unknown),
                    rule=rule.name,
                    entries=[repr(u) for u in unknown],
                )
            )
        ports = [p for p in sensitive if any(low <= p <= high for low, high in spans)]
        if ports:
            offending.append(
                msg_n(
                    "rule {rule} ({protocol} to port {ports}) admits {remotes}",
                    "rule {rule} ({protocol} to ports {ports}) admits {remotes}",
                    "n",
                    n=len(ports),
                    rule=rule.name,
                    protocol=rule.protocol,
                    ports=ports,
                    remotes=_admitted_remotes(untrusted),
                )
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
            shown = [
                f"{sock.protocol} {sock.address}:{sock.port}" + (f" ({sock.process})" if sock.process else "")
                for sock in exposed
            ]
            reason = (
                msg("a firewall profile is off or allows inbound by default")
                if host.os.family == "windows"
                else msg(
                    "no firewall blocks inbound {families} by default", families=families_text(open_families)
                )
            )
            offending.append(
                msg_n(
                    "sensitive port listening with no firewall restriction ({reason}): {sockets}",
                    "sensitive ports listening with no firewall restriction ({reason}): {sockets}",
                    "n",
                    n=len(exposed),
                    reason=reason,
                    sockets=shown,
                )
            )
    return offending, unrecognised
