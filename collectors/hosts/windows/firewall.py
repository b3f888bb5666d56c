"""The firewall and listeners sections: Windows Firewall profiles, inbound allow rules and listening TCP ports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors.hosts.facts import FirewallProfile, HostFirewall, InboundAllowRule, Listener
from collectors.hosts.windows.shapes import (
    ShapeError,
    as_int,
    as_object,
    as_strings,
    as_text,
    required,
    required_list,
)


def _rule_name(rule: Mapping[str, Any]) -> str:
    display, name = as_text(rule.get("display")), as_text(rule.get("name"))
    if display and name and display != name and not name.startswith("{"):
        return f"{display} [{name}]"
    return display or name or "(unnamed rule)"


def read_firewall(raw: object, raw_listeners: object) -> HostFirewall:
    firewall = as_object(raw, "firewall")
    profiles = []
    for item in required_list(firewall, "profiles", "the firewall"):
        profile = as_object(item, "firewall profile")
        name = as_text(required(profile, "name", "a firewall profile")) or "?"
        what = f"firewall profile {name}"
        profiles.append(
            FirewallProfile(
                name=name,
                # Only an explicit True is on; NotConfigured in the ActiveStore is not taken as on.
                enabled=(as_text(required(profile, "enabled", what)) or "").lower() == "true",
                default_inbound=as_text(required(profile, "default_inbound", what)) or "?",
            )
        )
    if not profiles:
        raise ShapeError("no firewall profile was reported")
    rules = []
    for item in required_list(firewall, "inbound_allow", "the firewall"):
        rule = as_object(item, "firewall rule")
        name = _rule_name(rule)
        # Windows reports a rule without a port restriction as "Any"; an empty list (the script found no
        # port filter for the rule) could mean any port or none, so the rule, and the section, is unreadable.
        local_ports = as_strings(rule.get("local_ports"))
        if not local_ports:
            raise ShapeError(f"firewall rule {name} has an empty 'local_ports' list (any port, or none?)")
        # A rule whose address filter could not be joined is taken as broadly as it can be: any address.
        profile_text = as_text(rule.get("profile")) or "Any"
        rules.append(
            InboundAllowRule(
                name=name,
                protocol=as_text(rule.get("protocol")) or "Any",
                local_ports=local_ports,
                remote_addresses=as_strings(rule.get("remote_addresses")) or ("Any",),
                profiles=tuple(p.strip() for p in profile_text.split(",") if p.strip()),
            )
        )
    listeners = []
    for item in required_list(as_object(raw_listeners, "listeners"), "tcp", "the listening ports"):
        sock = as_object(item, "listener")
        port = as_int(sock.get("port"))
        if port is None:
            raise ShapeError("a listener has no port")
        listeners.append(
            Listener(
                protocol="TCP",
                address=as_text(sock.get("address")) or "?",
                port=port,
                process=as_text(sock.get("process")),
            )
        )
    if not listeners:
        # The auditor reached this host over SSH: its sshd listens, so an empty list is not the truth.
        raise ShapeError("no listening TCP port was reported, yet the host answered over SSH")
    return HostFirewall(tuple(profiles), tuple(rules), tuple(sorted(set(listeners), key=_listener_key)))


def _listener_key(listener: Listener) -> tuple[int, str]:
    return listener.port, listener.address
