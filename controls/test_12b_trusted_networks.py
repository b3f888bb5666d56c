"""12b: access to the (database) servers only from Lucrasoft's trusted network locations.

Six controls, one per place a network is opened: the Azure SQL firewall, the storage account's
network rules, NSGs, the host firewall (default inbound) and its rules (who reaches which port),
and a port probe from an untrusted vantage point. How an address range, a storage ipRule or a SQL
firewall rule is read is in controls/networks.py, NSG rules in controls/nsg_rules.py, host
firewalls in controls/host_firewall.py.
"""

from __future__ import annotations

from collectors.azure.facts import NetworkSecurityGroup, SqlServerFirewall, StorageAccount
from collectors.config.policy import Policy
from collectors.config.sites import LOCAL_SITE
from collectors.hosts.facts import HostFacts
from collectors.probes.facts import PortProbe
from controls.framework import Evidence, EvidenceMissing, NotApplicable, control
from controls.host_firewall import host_firewall_gaps, host_port_scope_findings
from controls.networks import (
    UnreadableValue,
    bar_separated,
    range_trusted,
    storage_ip_rule_range,
    unreadable_reason,
    untrusted_rule_reason,
)
from controls.nsg_rules import nsg_attachment, nsg_offending_rules
from reports.evidence import N_, Message, msg, msg_n


@control("12b.azure-sql-firewall", over="azure.sql_firewalls")
def test_sql_server_accepts_only_trusted_networks(
    firewall: SqlServerFirewall, policy: Policy, evidence: Evidence
) -> None:
    server = firewall.server
    evidence.observed(public_network_access=server.public_network_access or msg("Enabled (not set)"))
    evidence.expected(
        public_network_access=msg("Disabled, or every firewall rule inside the trusted networks"),
        trusted_networks=policy.trusted_networks,
    )
    if server.public_network_access == "Disabled":
        return
    if firewall.rules is None:
        raise EvidenceMissing(firewall.rules_error or msg("firewall rules could not be read"))
    untrusted: list[Message] = []
    unreadable: list[Message] = []
    observed_rules: list[dict[str, object]] = []
    for rule in firewall.rules:
        try:
            if rule.start_ip is None and rule.end_ip is None:
                raise UnreadableValue(msg("startIpAddress and endIpAddress absent"))
            if rule.start_ip is None or rule.end_ip is None:
                absent = "startIpAddress" if rule.start_ip is None else "endIpAddress"
                raise UnreadableValue(msg("{field} absent", field=absent))
            reason = untrusted_rule_reason(rule.start_ip, rule.end_ip, policy)
        except ValueError as exc:
            unreadable.append(
                msg(
                    "firewall rule {rule} cannot be read: {problem}",
                    rule=rule.name,
                    problem=unreadable_reason(exc),
                )
            )
            observed_rules.append(
                {"name": rule.name, "start": rule.start_ip, "end": rule.end_ip, "trusted": None}
            )
            continue
        observed_rules.append(
            {"name": rule.name, "start": rule.start_ip, "end": rule.end_ip, "trusted": reason is None}
        )
        if reason is not None:
            untrusted.append(msg("{rule}: {reason}", rule=rule.name, reason=reason))
    evidence.observed(firewall_rules=observed_rules)
    assert not untrusted, evidence.fails_n(
        "public network access is {access} and {n} firewall rule admits untrusted addresses: {rules}",
        "public network access is {access} and {n} firewall rules admit untrusted addresses: {rules}",
        "n",
        access=server.public_network_access or "Enabled",
        n=len(untrusted),
        rules=[*untrusted, *unreadable],
    )
    if unreadable:
        raise EvidenceMissing(msg("{problems}", problems=unreadable))


@control("12b.azure-storage-network", over="azure.storage_accounts")
def test_storage_account_accepts_only_trusted_networks(
    account: StorageAccount, policy: Policy, evidence: Evidence
) -> None:
    access = account.public_network_access or "Enabled"
    evidence.observed(
        public_network_access=account.public_network_access or msg("Enabled (not set)"),
        default_action=account.default_action or msg("Allow (networkAcls not set)"),
        ip_rules=account.ip_rules,
        bypass=account.bypass,
        virtual_network_rules=account.virtual_network_rules,
        resource_access_rules=account.resource_access_rules,
    )
    evidence.expected(
        public_network_access=msg(
            "Disabled, or networkAcls.defaultAction Deny with every ipRule inside the trusted networks"
        ),
        trusted_networks=policy.trusted_networks,
    )
    if access.lower() == "disabled":
        return
    assert (account.default_action or "").lower() == "deny", evidence.fails(
        "public network access is {access} and networkAcls.defaultAction is {action}: every network is admitted",
        access=access,
        action=account.default_action or msg("not set (Allow)"),
    )
    if account.ip_rules is None:
        raise EvidenceMissing(
            msg(
                "storage account {name}: networkAcls.defaultAction is Deny but the answer has no ipRules list, "
                "so which addresses it admits is unknown",
                name=account.name,
            )
        )
    untrusted: list[str] = []
    for rule in account.ip_rules:
        try:
            if rule.value is None:
                raise UnreadableValue(msg("the rule has no value (address or CIDR)"))
            start, end = storage_ip_rule_range(rule.value)
        except ValueError as exc:
            raise EvidenceMissing(
                msg(
                    "ipRule of storage account {name} cannot be read: {problem}",
                    name=account.name,
                    problem=unreadable_reason(exc),
                )
            ) from None
        if not range_trusted(start, end, policy):
            untrusted.append(rule.value)
    evidence.observed(untrusted_ip_rules=untrusted)
    assert not untrusted, evidence.fails_n(
        "public network access is {access} and {n} ipRule admits addresses outside the trusted networks: {rules}",
        "public network access is {access} and {n} ipRules admit addresses outside the trusted networks: {rules}",
        "n",
        access=access,
        n=len(untrusted),
        rules=untrusted,
    )


# --- 12b.azure-nsg-admin-ports (rule reading: controls/nsg_rules.py) ---------------------------------


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
        inbound_allow_to_sensitive_ports=msg("only from trusted networks or trusted service tags"),
        sensitive_ports=sorted(set(policy.sensitive_ports)),
        trusted_networks=policy.trusted_networks,
        trusted_service_tags=policy.trusted_service_tags,
    )
    offending, shadowed, unreadable = nsg_offending_rules(nsg, policy)
    if shadowed:
        evidence.observed(shadowed_by_higher_priority_deny=shadowed)
    if unreadable:
        evidence.observed(unreadable_rules=unreadable)
    also_unreadable = [msg("and cannot read: {problems}", problems=unreadable)] if unreadable else []
    assert not offending, evidence.fails_n(
        "NSG {nsg} ({attachment}) admits untrusted sources to sensitive ports through {n} inbound Allow "
        "rule: {rules}",
        "NSG {nsg} ({attachment}) admits untrusted sources to sensitive ports through {n} inbound Allow "
        "rules: {rules}",
        "n",
        nsg=nsg.name,
        attachment=nsg_attachment(nsg),
        n=len(offending),
        rules=bar_separated([*offending, *also_unreadable]),
    )
    if unreadable:
        raise EvidenceMissing(
            msg_n(
                "NSG {nsg}: rule cannot be read: {problems}",
                "NSG {nsg}: rules cannot be read: {problems}",
                "n",
                n=len(unreadable),
                nsg=nsg.name,
                problems=unreadable,
            )
        )


# --- 12b.host-firewall and 12b.host-port-scope (hosts over SSH; controls/host_firewall.py) ----------


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
        evidence.expected(profiles=msg("Domain, Private and Public enabled, default inbound Block"))
    else:
        evidence.expected(
            firewall=msg(
                "an nftables/iptables input chain with policy drop or reject, or ufw/firewalld active "
                "with default deny, covering IPv4 and IPv6"
            )
        )
    problems, _ = host_firewall_gaps(host, host.firewall)
    assert not problems, evidence.fails("host {host}: {problems}", host=host.name, problems=problems)


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
        inbound_allow_to_sensitive_ports=msg("only from remote addresses inside the trusted networks"),
        sensitive_listeners=msg("behind a firewall that blocks inbound by default"),
        sensitive_ports=sensitive,
        trusted_networks=policy.trusted_networks,
    )
    offending, unrecognised = host_port_scope_findings(host, firewall, policy)
    if unrecognised:
        evidence.observed(unrecognised_local_ports=unrecognised)
    assert not offending, evidence.fails(
        "host {host} admits untrusted addresses to sensitive ports: {rules}",
        host=host.name,
        rules=bar_separated(offending),
    )
    if unrecognised:
        raise EvidenceMissing(
            msg_n(
                "host {host}: rule admitting untrusted addresses names local ports that cannot be interpreted, "
                "so whether it reaches a sensitive port is unknown: {entries}",
                "host {host}: rules admitting untrusted addresses name local ports that cannot be interpreted, "
                "so whether they reach a sensitive port is unknown: {entries}",
                "n",
                n=len(unrecognised),
                host=host.name,
                entries=unrecognised,
            )
        )


# --- 12b.exposure-probe -------------------------------------------------------------------------

PROBE_STATES = ("open", "refused", "filtered")
PROBE_STATE_WORDS = {"refused": N_("refused"), "filtered": N_("filtered")}
"""A closed port's state as the findings name it (catalog texts; the observed state stays as recorded)."""


@control("12b.exposure-probe", over="probes.ports")
def test_sensitive_port_is_not_reachable_from_the_vantage_point(probe: PortProbe, evidence: Evidence) -> None:
    vantage: Message | str = (
        f"{probe.vantage_host} ({probe.vantage_source})"
        if probe.vantage_source
        else msg("{host} (source address unknown)", host=probe.vantage_host)
    )
    if probe.vantage_site != LOCAL_SITE:
        vantage = msg("site {site}: {vantage}", site=probe.vantage_site, vantage=vantage)
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
    if probe.vantage_trust != "untrusted":
        raise NotApplicable(
            msg(
                "probed from the trusted vantage point {vantage}: the statement allows trusted networks to reach "
                "port {port} of {address}, so this is shown as evidence and not judged",
                vantage=vantage,
                port=probe.port,
                address=probe.address,
            )
        )
    evidence.expected(
        state=msg("refused or filtered: a TCP connect from this (untrusted) vantage point fails"),
        host_seen=msg("the host answered on some probed port (else a silent port proves nothing)"),
    )
    if probe.state not in PROBE_STATES:
        raise EvidenceMissing(
            msg(
                "port {port} of {address}: probe state {state} is not open, refused or filtered",
                port=probe.port,
                address=probe.address,
                state=repr(probe.state),
            )
        )
    assert probe.state != "open", evidence.fails(
        "port {port} of {address} ({origin}) accepts TCP connections from the vantage point {vantage}",
        port=probe.port,
        address=probe.address,
        origin=probe.origin,
        vantage=vantage,
    )
    if not probe.host_seen:
        raise EvidenceMissing(
            msg(
                "port {port} of {address} is {state}, but nothing shows the host answered from {vantage} on any "
                "port: host unreachable, so the port proves nothing",
                port=probe.port,
                address=probe.address,
                state=msg(PROBE_STATE_WORDS[probe.state]),
                vantage=vantage,
            )
        )
