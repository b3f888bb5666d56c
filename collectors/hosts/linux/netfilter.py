"""The firewall evaluator: nftables and iptables chains in one common form, walked from each input chain.

nftables.py and iptables.py translate their tool's rules into `Rule`s of named chains; this
module walks every input base chain through its jumps and gotos and collects the accept rules
that admit new connections from the network, with the matches of the rules that jumped there.
Accepts only for loopback, established/related traffic or `ct status dnat` are left out. Drop
rules in front of an accept are not modelled (the accept is judged as written), except that an
unconditional drop/reject ends a chain: it is the chain's effective default ("reject (last rule;
chain policy accept)") and hides what follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collectors.hosts.facts import FirewallProfile, InboundAllowRule

ANY = "Any"


@dataclass(frozen=True)
class Cond:
    """What a rule (with the rules that jumped to it) matches."""

    protocols: tuple[str, ...] | None = None
    ports: tuple[str, ...] | None = None
    remotes: tuple[str, ...] | None = None
    loopback: bool = False
    not_new: bool = False
    notes: tuple[str, ...] = ()

    def within(self, outer: Cond) -> Cond:
        """Return this rule's match inside the match of the rule that jumped here.

        Where both constrain the same thing, the inner one is kept: the true match is the
        intersection, which lies inside either, so this never admits less than the rule does.
        """
        return Cond(
            protocols=self.protocols if self.protocols is not None else outer.protocols,
            ports=self.ports if self.ports is not None else outer.ports,
            remotes=self.remotes if self.remotes is not None else outer.remotes,
            loopback=self.loopback or outer.loopback,
            not_new=self.not_new or outer.not_new,
            notes=outer.notes + self.notes,
        )


@dataclass(frozen=True)
class Rule:
    label: str
    cond: Cond
    verdict: str
    """accept, drop, reject, jump, goto, return or other."""
    target: str | None = None
    unconditional: bool = False


@dataclass
class Ruleset:
    chains: dict[str, list[Rule]] = field(default_factory=dict)
    bases: list[tuple[str, str, str]] = field(default_factory=list)
    """(profile name, chain key, policy) of every input base chain."""


PORT_NAMES = {
    "ssh": "22", "http": "80", "https": "443", "ms-sql-s": "1433", "mysql": "3306", "postgresql": "5432",
    "ms-wbt-server": "3389", "domain": "53", "smtp": "25", "ntp": "123", "snmp": "161", "wsman": "5985",
    "wsmans": "5986",
}  # fmt: skip
PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "ipv6-icmp", "132": "sctp"}
NOT_NEW_STATES = frozenset({"established", "related", "invalid"})


def _emit(cond: Cond, base: str, out: list[InboundAllowRule], label: str) -> None:
    if cond.loopback or cond.not_new:
        return
    name = label + (f" [{'; '.join(cond.notes)}]" if cond.notes else "")
    protocols = cond.protocols or (ANY,)
    for protocol in protocols:
        shown = protocol.upper() if protocol.lower() in ("tcp", "udp") else protocol
        if protocol.lower() in ("icmp", "ipv6-icmp", "icmpv6"):
            shown = "ICMPv6" if "6" in protocol else "ICMP"
        out.append(
            InboundAllowRule(
                name=name,
                protocol=shown,
                local_ports=cond.ports if cond.ports is not None else (ANY,),
                remote_addresses=cond.remotes if cond.remotes is not None else (ANY,),
                profiles=(base,),
            )
        )


def _walk(
    ruleset: Ruleset,
    chain: str,
    outer: Cond,
    base: str,
    out: list[InboundAllowRule],
    stack: tuple[str, ...],
) -> str | None:
    """Collect the accept rules reachable from `chain`; return the verdict of an unconditional end."""
    if chain in stack or len(stack) > 32:
        return None
    for rule in ruleset.chains.get(chain, []):
        cond = rule.cond.within(outer)
        if rule.verdict == "accept":
            _emit(cond, base, out, rule.label)
        elif rule.verdict in ("jump", "goto") and rule.target is not None:
            end = _walk(ruleset, rule.target, cond, base, out, (*stack, chain))
            if rule.unconditional and end in ("accept", "drop", "reject"):
                return end
        if rule.unconditional and rule.verdict in ("accept", "drop", "reject", "return", "goto"):
            return rule.verdict if rule.verdict != "goto" else None
    return None


def judge_ruleset(ruleset: Ruleset) -> tuple[list[FirewallProfile], list[InboundAllowRule]]:
    profiles: list[FirewallProfile] = []
    rules: list[InboundAllowRule] = []
    for name, key, policy in ruleset.bases:
        end = _walk(ruleset, key, Cond(), name, rules, ())
        default = policy
        if policy == "accept" and end in ("drop", "reject"):
            default = f"{end} (last rule; chain policy accept)"
        profiles.append(FirewallProfile(name=name, enabled=True, default_inbound=default))
    return profiles, list(dict.fromkeys(rules))  # a chain reached by two paths lists its rules once
