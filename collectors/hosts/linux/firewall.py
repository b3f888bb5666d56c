"""The firewall sections (nft, iptables, ip6tables, ufw, firewalld, ss): a host's `HostFirewall`.

One profile per input-hook filter chain ("nftables <family> <table> <chain>", "iptables filter
INPUT", "ip6tables filter INPUT"), per active/default firewalld zone and for ufw; the accept
rules come from the evaluator (netfilter.py). An nf_tables table that iptables-save also lists
is read from iptables-save (nft shows its xt matches opaquely). Any firewall tool present but
unreadable, a tool reported neither read nor absent, or no listening TCP socket at all makes the
whole firewall fact an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from collectors.hosts.facts import FirewallProfile, HostFirewall, InboundAllowRule, Listener
from collectors.hosts.linux.iptables import iptables_backend, parse_iptables_save
from collectors.hosts.linux.listeners import parse_ss
from collectors.hosts.linux.nftables import parse_nft
from collectors.hosts.linux.sections import Section
from collectors.messages import Reason, semicolon_list
from reports.evidence import msg


def parse_ufw(text: str) -> FirewallProfile:
    """Return ufw as one profile: active or not, with its default for incoming traffic."""
    status = re.search(r"^Status:\s*(\S+)", text, re.MULTILINE)
    if status is None:
        raise ValueError("ufw status has no Status line")
    active = status.group(1).lower() == "active"
    default = re.search(r"^Default:\s*(\w+)\s*\(incoming\)", text, re.MULTILINE)
    if active and default is None:
        raise ValueError("ufw is active but its status shows no default for incoming traffic")
    word = default.group(1).lower() if default else "accept"
    return FirewallProfile(
        name="ufw", enabled=active, default_inbound={"deny": "drop", "allow": "accept"}.get(word, word)
    )


def parse_firewalld(text: str) -> list[FirewallProfile]:
    """Return firewalld's active and default zones as profiles (target default/%%REJECT%% rejects)."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("state:"):
        raise ValueError("firewalld output has no state line")
    state = lines[0].removeprefix("state:").strip()
    if state != "running":
        return [FirewallProfile(name="firewalld", enabled=False, default_inbound="accept")]
    profiles = []
    zone: str | None = None
    zone_on = False
    for line in lines[1:]:
        header = re.match(r"^(\S+)(?:\s+\(([^)]*)\))?\s*$", line)
        if header:
            flags = {f.strip() for f in (header.group(2) or "").split(",")}
            zone, zone_on = header.group(1), bool(flags & {"active", "default"})
            continue
        target = re.match(r"^\s+target:\s*(\S+)", line)
        if target and zone and zone_on:
            value = target.group(1).strip("%").upper()
            default = {"DEFAULT": "reject", "REJECT": "reject", "DROP": "drop", "ACCEPT": "accept"}.get(
                value, value.lower()
            )
            profiles.append(
                FirewallProfile(name=f"firewalld zone {zone}", enabled=True, default_inbound=default)
            )
    if not profiles:
        raise ValueError("firewalld is running but no active or default zone was listed")
    return profiles


FIREWALL_TOOLS = ("nft", "iptables", "ip6tables", "ufw", "firewalld")
"""The firewall sections the script always reports: read, or marked absent (not installed)."""


def read_firewall(sections: Mapping[str, Section], errors: dict[str, Reason]) -> HostFirewall | None:
    """Return the firewall fact from the firewall tools' sections and ss; None with the reasons in `errors["firewall"]`."""
    problems: list[Reason] = []
    profiles: list[FirewallProfile] = []
    rules: list[InboundAllowRule] = []
    skip: list[tuple[str, str]] = []
    parsed_ipt: dict[str, tuple[list[FirewallProfile], list[InboundAllowRule]]] = {}
    problems.extend(
        msg(
            "{tool} was not reported (the fact script reports every firewall tool, installed or not)",
            tool=tool,
        )
        for tool in FIREWALL_TOOLS
        if tool not in sections
    )
    nft = sections.get("nft")
    for name, family, nft_family in (("iptables", "iptables", "ip"), ("ip6tables", "ip6tables", "ip6")):
        section = sections.get(name)
        if section is None or section.absent:
            continue
        if not section.ok:
            problems.append(section.failure(f"{family}-save"))
            continue
        command, legacy = family + "-save", family + "-legacy"
        try:
            parsed = parse_iptables_save(section.stdout, family)
        except ValueError as exc:
            problems.append(msg("{what} output cannot be read: {detail}", what=command, detail=str(exc)))
            continue
        if "legacy tables present" in section.stdout:
            # iptables-nft-save warns so when iptables-legacy also holds rules: half the ruleset is unseen.
            problems.append(
                msg(
                    "{what} reports {legacy} tables besides nf_tables; the legacy rules are not read",
                    what=command,
                    legacy=legacy,
                )
            )
            continue
        backend = iptables_backend(section.stdout)
        if backend == "nf_tables" and nft is not None and nft.ok:
            # Both show the same nf_tables table; iptables-save can also read its xt matches.
            skip.append((nft_family, "filter"))
        parsed_ipt[name] = parsed
    for parsed_profiles, parsed_rules in parsed_ipt.values():
        profiles.extend(parsed_profiles)
        rules.extend(parsed_rules)
    if nft is not None and not nft.absent:
        if nft.ok:
            try:
                nft_profiles, nft_rules = parse_nft(nft.stdout, skip)
                profiles.extend(nft_profiles)
                rules.extend(nft_rules)
            except (ValueError, TypeError, AttributeError) as exc:
                problems.append(
                    msg("{what} output cannot be read: {detail}", what="nft -j list ruleset", detail=str(exc))
                )
        else:
            problems.append(nft.failure("nft -j list ruleset"))
    ufw = sections.get("ufw")
    if ufw is not None and not ufw.absent:
        if not ufw.ok:
            problems.append(ufw.failure("ufw status verbose"))
        else:
            try:
                profiles.append(parse_ufw(ufw.stdout))
            except ValueError as exc:
                problems.append(str(exc))
    firewalld = sections.get("firewalld")
    if firewalld is not None and not firewalld.absent:
        if not firewalld.ok:
            problems.append(firewalld.failure("firewall-cmd"))
        else:
            try:
                profiles.extend(parse_firewalld(firewalld.stdout))
            except ValueError as exc:
                problems.append(str(exc))
    listeners: list[Listener] = []
    for name, protocol in (("ss-tcp", "TCP"), ("ss-udp", "UDP")):
        section = sections.get(name)
        if section is None or not section.ok:
            problems.append(
                section.failure(f"ss ({protocol})") if section else msg("{what} was not reported", what=name)
            )
            continue
        try:
            found = parse_ss(section.stdout, protocol)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if protocol == "TCP" and not found:
            # The auditor reached this host over SSH: its sshd listens, so an empty list is not the truth.
            problems.append(msg("ss lists no listening TCP socket, yet the host answered over SSH"))
        listeners.extend(found)
    if problems:
        errors["firewall"] = semicolon_list(problems)
        return None
    return HostFirewall(profiles=tuple(profiles), inbound_allow=tuple(rules), listeners=tuple(listeners))
