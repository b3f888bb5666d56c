"""`nft -j list ruleset`: the input-hook filter chains of nftables, translated for the evaluator (netfilter.py).

Fail closed: a listing without metainfo, a base chain with a missing or unknown
type/hook/prio/policy, a rule of (or a jump to) a chain the listing does not hold, or a verdict
map entry that is not [value, verdict] is refused (ValueError). A statement the parser does not
know makes its rule conditional: a drop behind it no longer ends the chain, and an accept behind
it still counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from collectors.hosts.facts import FirewallProfile, InboundAllowRule
from collectors.hosts.linux.netfilter import (
    NOT_NEW_STATES,
    PORT_NAMES,
    PROTOCOL_NUMBERS,
    Cond,
    Rule,
    Ruleset,
    judge_ruleset,
)


def _nft_scalar(value: Any, kind: str) -> str:
    if isinstance(value, Mapping):
        if "range" in value:
            low, high = value["range"]
            return f"{_nft_scalar(low, kind)}-{_nft_scalar(high, kind)}"
        if "prefix" in value:
            prefix = value["prefix"]
            return f"{prefix.get('addr')}/{prefix.get('len')}"
        if "elem" in value and isinstance(value["elem"], Mapping):
            return _nft_scalar(value["elem"].get("val"), kind)
        raise ValueError(f"unsupported value {json.dumps(value)[:80]}")
    text = str(value)
    if kind == "port":
        return PORT_NAMES.get(text, text)
    if kind == "protocol":
        return PROTOCOL_NUMBERS.get(text, text)
    return text


def _nft_values(right: Any, kind: str, sets: Mapping[str, list[Any]]) -> tuple[str, ...] | None:
    """Return the values a match's right-hand side names; None when they cannot be known."""
    try:
        if isinstance(right, str) and right.startswith("@"):
            elements = sets.get(right[1:])
            if elements is None:
                return (f"{right} (set not found)",)
            return tuple(_nft_scalar(e, kind) for e in elements)
        if isinstance(right, Mapping) and "set" in right:
            return tuple(_nft_scalar(e, kind) for e in right["set"])
        return (_nft_scalar(right, kind),)
    except (ValueError, TypeError, KeyError):
        return None


def _port_comparison(op: str, value: Any) -> tuple[str, ...] | None:
    try:
        port = int(value)
    except (TypeError, ValueError):
        return None
    spans = {"<": (0, port - 1), "<=": (0, port), ">": (port + 1, 65535), ">=": (port, 65535)}
    low, high = spans[op]
    return (f"{low}-{high}",) if low <= high else ()


def _nft_match(match: Mapping[str, Any], cond: Cond, sets: Mapping[str, list[Any]]) -> Cond:
    op, left, right = match.get("op", "=="), match.get("left"), match.get("right")
    positive = op in ("==", "in")
    if not isinstance(left, Mapping):
        return replace(cond, notes=(*cond.notes, "unrecognised match"))
    if "payload" in left:
        payload = left["payload"] or {}
        protocol, fieldname = payload.get("protocol"), payload.get("field")
        if fieldname == "dport" and protocol in ("tcp", "udp", "th", "sctp", "dccp"):
            protocols = cond.protocols if protocol == "th" else (protocol,)
            if op in ("<", "<=", ">", ">="):
                ports = _port_comparison(op, right)
            else:
                ports = _nft_values(right, "port", sets) if positive else None
            return replace(cond, protocols=protocols, ports=ports)
        if fieldname == "saddr" and protocol in ("ip", "ip6"):
            remotes = _nft_values(right, "address", sets) if positive else None
            if not positive:
                cond = replace(
                    cond, notes=(*cond.notes, f"{protocol} saddr {op} a list: every other address")
                )
            return replace(cond, remotes=remotes)
        if (protocol, fieldname) in (("ip", "protocol"), ("ip6", "nexthdr")) and positive:
            return replace(cond, protocols=_nft_values(right, "protocol", sets))
        if protocol in ("icmp", "icmpv6") and cond.protocols is None:
            return replace(cond, protocols=("icmp" if protocol == "icmp" else "ipv6-icmp",))
        if protocol in ("tcp", "udp") and cond.protocols is None:
            return replace(cond, protocols=(protocol,))
        return cond
    if "meta" in left:
        key = (left["meta"] or {}).get("key")
        if key == "l4proto" and positive:
            return replace(cond, protocols=_nft_values(right, "protocol", sets))
        if key in ("iif", "iifname") and positive:
            names = _nft_values(right, "interface", sets) or ()
            return replace(cond, loopback=bool(names) and all(n == "lo" for n in names))
        return cond
    if "ct" in left:
        key = (left["ct"] or {}).get("key")
        if key == "state" and positive:
            states = set(_nft_values(right, "state", sets) or ())
            return replace(cond, not_new=bool(states) and states <= NOT_NEW_STATES)
        if key == "status" and positive:
            # "ct status dnat accept": connections a nat rule redirected; judged with that nat rule.
            return replace(cond, not_new=True)
        return cond
    return cond


NFT_VERDICTS = ("accept", "drop", "reject", "return", "jump", "goto", "continue")


def _nft_target(name: str, body: Any, label: str) -> str | None:
    """Return the chain a jump/goto names (None for other verdicts); raise ValueError when it names none."""
    if name not in ("jump", "goto"):
        return None
    target = body.get("target") if isinstance(body, Mapping) else None
    if not isinstance(target, str) or not target:
        raise ValueError(f"{label}: {name} without a target chain")
    return target


def _nft_vmap(vmap: Any, sets: Mapping[str, list[Any]], label: str) -> list[tuple[Any, str, str | None]]:
    """Return (value, verdict, jump target) of each entry of a verdict map, inline or named (@map)."""
    if not isinstance(vmap, Mapping) or "key" not in vmap:
        raise ValueError(f"{label}: a verdict map without a key")
    data = vmap.get("data")
    if isinstance(data, str) and data.startswith("@"):
        pairs = sets.get(data[1:])
        if pairs is None:
            raise ValueError(f"{label}: verdict map {data} is not in the ruleset")
    elif isinstance(data, Mapping) and isinstance(data.get("set"), list):
        pairs = data["set"]
    else:
        raise ValueError(f"{label}: a verdict map whose entries cannot be read")
    entries = []
    for pair in pairs:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not isinstance(pair[1], Mapping)
            or len(pair[1]) != 1
        ):
            raise ValueError(f"{label}: a verdict map entry that is not [value, verdict]")
        name = next(iter(pair[1]))
        if name not in NFT_VERDICTS:
            raise ValueError(f"{label}: unknown verdict {name!r} in a verdict map")
        entries.append((pair[0], name, _nft_target(name, pair[1][name], label)))
    return entries


def _nft_rule(rule: Mapping[str, Any], sets: Mapping[str, list[Any]], label: str) -> list[Rule]:
    cond = Cond()
    conditional = False
    verdicts: list[tuple[str, str | None, Cond]] = []
    exprs = rule.get("expr")
    if not isinstance(exprs, list) or not exprs:
        raise ValueError(f"{label} has no expression list")
    for expr in exprs:
        if not isinstance(expr, Mapping) or len(expr) != 1:
            raise ValueError(f"{label} has an expression that is not a one-key object")
        if "match" in expr:
            cond = _nft_match(expr["match"], cond, sets)
            conditional = True
        elif "xt" in expr:
            xt = expr["xt"] or {}
            if xt.get("type") == "match":
                conditional = True
                if xt.get("name") != "comment":
                    cond = replace(cond, notes=(*cond.notes, f"iptables match {xt.get('name')} not readable"))
        elif "vmap" in expr:
            for value, name, target in _nft_vmap(expr["vmap"], sets, label):
                matched = _nft_match(
                    {"op": "==", "left": expr["vmap"].get("key"), "right": value}, cond, sets
                )
                verdicts.append((name, target, matched))
            conditional = True
        elif any(k in expr for k in NFT_VERDICTS):
            name = next(k for k in NFT_VERDICTS if k in expr)
            verdicts.append((name, _nft_target(name, expr[name], label), cond))
        elif any(k in expr for k in ("counter", "log", "comment", "notrack", "meta_set", "mangle", "last")):
            continue
        else:
            # limit, quota, fib, socket, a set statement, queue, nat ...: whatever it does, it is no
            # accept and may make the rule conditional, so a drop after it does not end the chain.
            conditional = True
            cond = replace(cond, notes=(*cond.notes, f"statement {next(iter(expr))} not judged"))
    return [
        Rule(label=label, cond=c, verdict=v, target=t, unconditional=not conditional and c == Cond())
        for v, t, c in verdicts
    ]


def parse_nft(
    document: str, skip_tables: Iterable[tuple[str, str]] = ()
) -> tuple[list[FirewallProfile], list[InboundAllowRule]]:
    """Return the input-hook chains of `nft -j list ruleset` as profiles, and their accept rules.

    Only filter chains on the input hook of the ip, ip6 and inet families count. Accept rules
    are collected through jump/goto with the jumping rule's matches; loopback-only and
    established/related-only accepts are left out (they admit no new connection from the
    network). `skip_tables` names (family, table) pairs better read from iptables-save.
    """
    data = json.loads(document)
    items = data.get("nftables") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise ValueError("nft output has no nftables list")
    if not any(isinstance(item, Mapping) and "metainfo" in item for item in items):
        raise ValueError("nft output has no metainfo: it is not what nft -j list ruleset prints")
    skipped = set(skip_tables)
    sets: dict[tuple[str, str], dict[str, list[Any]]] = {}
    ruleset = Ruleset()
    chains: list[Mapping[str, Any]] = []
    for item in items:
        if not isinstance(item, Mapping) or len(item) != 1:
            raise ValueError("an nftables list item is not a one-key object")
        if "set" in item or "map" in item:
            entry = item.get("set") or item.get("map") or {}
            elements = entry.get("elem") or []
            if not isinstance(elements, list):
                raise ValueError(f"the elements of set {entry.get('name')} are not a list")
            sets.setdefault((str(entry.get("family")), str(entry.get("table"))), {})[
                str(entry.get("name"))
            ] = list(elements)
        elif "chain" in item:
            chains.append(item["chain"])
    known_chains: set[str] = set()
    for chain in chains:
        _check_nft_chain(chain)
        family, table, name = chain["family"], chain["table"], chain["name"]
        known_chains.add(f"{family} {table} {name}")
        if family not in ("ip", "ip6", "inet") or (family, table) in skipped:
            continue
        if chain.get("hook") == "input" and chain.get("type") == "filter":
            ruleset.bases.append(
                (f"nftables {family} {table} {name}", f"{family} {table} {name}", chain["policy"])
            )
    for item in items:
        if not isinstance(item, Mapping) or "rule" not in item:
            continue
        rule = item["rule"]
        family, table, chain_name = rule.get("family"), rule.get("table"), rule.get("chain")
        if not all(isinstance(v, str) and v for v in (family, table, chain_name)):
            raise ValueError("a rule without its family, table or chain")
        key = f"{family} {table} {chain_name}"
        if key not in known_chains:
            raise ValueError(f"a rule of chain {key}, which the listing does not hold")
        if (family, table) in skipped:
            continue
        label = f"nftables {family} {table} {chain_name} #{rule.get('handle')}"
        if rule.get("comment"):
            label += f" ({rule['comment']})"
        table_sets = sets.get((family, table), {})
        for parsed in _nft_rule(rule, table_sets, label):
            target = f"{family} {table} {parsed.target}" if parsed.target else None
            if target is not None and target not in known_chains:
                raise ValueError(f"{label} jumps to chain {parsed.target}, which the listing does not hold")
            ruleset.chains.setdefault(key, []).append(replace(parsed, target=target))
    return judge_ruleset(ruleset)


NFT_FAMILIES = frozenset({"ip", "ip6", "inet", "arp", "bridge", "netdev"})
NFT_CHAIN_TYPES = frozenset({"filter", "nat", "route"})
NFT_HOOKS = frozenset({"prerouting", "input", "forward", "output", "postrouting", "ingress", "egress"})
NFT_POLICIES = frozenset({"accept", "drop"})


def _check_nft_chain(chain: Any) -> None:
    """Raise ValueError unless `chain` is a chain as nft -j prints it: a base chain has all four of
    type, hook, prio and policy, with values nft knows (a chain whose hook or type cannot be read
    could be the input chain that holds the accept rules)."""
    if not isinstance(chain, Mapping):
        raise ValueError("a chain is not an object")
    family, table, name = chain.get("family"), chain.get("table"), chain.get("name")
    if not all(isinstance(v, str) and v for v in (family, table, name)):
        raise ValueError("a chain without its family, table or name")
    where = f"chain {family} {table} {name}"
    if family not in NFT_FAMILIES:
        raise ValueError(f"{where} has the unknown family {family!r}")
    base_fields = [k for k in ("type", "hook", "prio", "policy") if k in chain]
    if not base_fields:
        return
    if len(base_fields) != 4:
        missing = sorted({"type", "hook", "prio", "policy"} - set(base_fields))
        raise ValueError(f"base {where} has no {', '.join(missing)}")
    for key, allowed in (("type", NFT_CHAIN_TYPES), ("hook", NFT_HOOKS), ("policy", NFT_POLICIES)):
        if chain[key] not in allowed:
            raise ValueError(f"base {where} has the unknown {key} {str(chain[key])[:20]!r}")
    if isinstance(chain["prio"], bool) or not isinstance(chain["prio"], int | str):
        raise ValueError(f"base {where} has a prio that is {type(chain['prio']).__name__}")
