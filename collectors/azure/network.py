"""Azure network facts: network security groups with every rule, and what they are attached to.

An NSG carries its custom `securityRules` and its `defaultSecurityRules` (both embedded in the
NSG, so one list per subscription reads them all) and read-only back-references to the NICs and
subnets it is attached to. Network interfaces are listed too, to resolve NIC -> VM, subnet ->
NICs and whether a public IP sits in front of them. Rules are normalised here (the singular and
plural prefix/port fields merged) but never judged: 12b.azure-nsg-admin-ports does that.

A rule field that is absent (or of the wrong type) is None, never "" or (): an Allow rule whose
direction, ports or sources the answer does not give cannot be dropped as harmless, and the
control reports the NSG `error` naming the rule and the field. `unreadable` says which ARM
fields were missing and why, each an `UnreadableField`: the field's name (which the control
matches) and the reason as a message (which it shows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import NetworkInterface
from azure.mgmt.network.models import NetworkSecurityGroup as NsgModel

from collectors.azure import fields
from collectors.azure.base import AzureCollector, resource_group_of
from collectors.azure.facts import (
    AZURE_RESOURCES,
    NSGS,
    UNKNOWN_REGION,
    AttachedInterface,
    NetworkSecurityGroup,
    SecurityRule,
    UnreadableField,
)
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed
from collectors.messages import Reason
from collectors.regions import normalise_region
from reports.evidence import Source, msg

T = TypeVar("T")
NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
NIC_TYPE = "Microsoft.Network/networkInterfaces"


@dataclass(frozen=True)
class _Interface:
    id: str
    virtual_machine_id: str | None
    subnet_ids: tuple[str, ...]
    public_ip_address_ids: tuple[str, ...]


class _RuleReader:
    """Reads one rule's fields, keeping None for what is absent and noting what was unreadable."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.unreadable: list[UnreadableField] = []

    def note(self, arm_name: str, reason: Reason) -> None:
        """Note that the ARM field `arm_name` cannot be read, and why."""
        self.unreadable.append(UnreadableField(arm_name, reason))

    def _safely(self, arm_name: str, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except fields.FieldUnreadable as exc:
            self.note(arm_name, exc.reason)
            return None

    def required_text(self, name: str, arm_name: str) -> str | None:
        """Return a text field the rule must have; absent, empty or mistyped is noted and None."""
        noted = len(self.unreadable)
        found = self._safely(arm_name, lambda: fields.text(self.model, name, arm_name))
        if found is not None and found.strip():
            return found.strip()
        if len(self.unreadable) == noted:
            if found is None:
                self.note(arm_name, msg("{field} is absent", field=arm_name))
            else:
                self.note(arm_name, msg("{field} is empty", field=arm_name))
        return None

    def priority(self) -> int | None:
        """Return the rule's priority; absent or mistyped is noted and None."""
        noted = len(self.unreadable)
        found = self._safely("priority", lambda: fields.integer(self.model, "priority", "priority"))
        if found is None and len(self.unreadable) == noted:
            self.note("priority", msg("{field} is absent", field="priority"))
        return found

    def merged(
        self, singular: str, plural: str, arm_singular: str, arm_plural: str
    ) -> tuple[str, ...] | None:
        """Return the union of a singular field and its plural list; None when neither holds a value."""
        one = self._safely(arm_singular, lambda: fields.text(self.model, singular, arm_singular))
        many = self._safely(arm_plural, lambda: fields.texts(self.model, plural, arm_plural))
        found: list[str] = []
        for value in (one, *(many or ())):
            if value is not None and value.strip() and value.strip() not in found:
                found.append(value.strip())
        return tuple(found) or None

    def ids(self, name: str, arm_name: str) -> tuple[str, ...]:
        """Return the ids of a list of references (application security groups); () when absent."""
        return self._safely(arm_name, lambda: fields.references(self.model, name, arm_name)) or ()


def security_rule(model: Any, *, is_default: bool) -> SecurityRule:
    """Return the normalised form of an SDK security rule (custom or default).

    Absent or mistyped fields stay None and are named in `unreadable`; a rule that is not an
    object at all is unreadable as a whole (FieldUnreadable).
    """
    fields.obj(model, msg("a security rule"))
    name = fields.text(model, "name", "name", nested=False) or "(unnamed rule)"
    rule = _RuleReader(model)
    direction = rule.required_text("direction", "direction")
    access = rule.required_text("access", "access")
    priority = rule.priority()
    protocol = rule.required_text("protocol", "protocol")
    sources = rule.merged(
        "source_address_prefix", "source_address_prefixes", "sourceAddressPrefix", "sourceAddressPrefixes"
    )
    source_groups = rule.ids("source_application_security_groups", "sourceApplicationSecurityGroups")
    if sources is None and not source_groups:
        rule.note(
            "sourceAddressPrefix",
            msg("no source: sourceAddressPrefix(es) and sourceApplicationSecurityGroups are absent"),
        )
    source_ports = rule.merged(
        "source_port_range", "source_port_ranges", "sourcePortRange", "sourcePortRanges"
    )
    destinations = rule.merged(
        "destination_address_prefix",
        "destination_address_prefixes",
        "destinationAddressPrefix",
        "destinationAddressPrefixes",
    )
    destination_groups = rule.ids(
        "destination_application_security_groups", "destinationApplicationSecurityGroups"
    )
    ports = rule.merged(
        "destination_port_range", "destination_port_ranges", "destinationPortRange", "destinationPortRanges"
    )
    if ports is None:
        rule.note("destinationPortRange", msg("no destination port: destinationPortRange(s) are absent"))
    return SecurityRule(
        name=name,
        direction=direction,
        access=access,
        priority=priority,
        protocol=protocol,
        source_prefixes=None if sources is None and not source_groups else (sources or ()),
        source_application_security_groups=source_groups,
        source_port_ranges=source_ports,
        destination_prefixes=destinations,
        destination_application_security_groups=destination_groups,
        destination_port_ranges=ports,
        is_default=is_default,
        unreadable=tuple(rule.unreadable),
    )


def _interface(model: Any) -> _Interface:
    machine = fields.reference(model, "virtual_machine", "virtualMachine")
    subnets: list[str] = []
    public_ips: list[str] = []
    for index, configuration in enumerate(fields.items(model, "ip_configurations", "ipConfigurations") or ()):
        subnet = fields.reference(configuration, "subnet", f"ipConfigurations[{index}].subnet")
        if subnet:
            subnets.append(subnet)
        public_ip = fields.reference(
            configuration, "public_ip_address", f"ipConfigurations[{index}].publicIPAddress"
        )
        if public_ip:
            public_ips.append(public_ip)
    return _Interface(
        id=fields.resource_id(model, msg("the network interface")),
        virtual_machine_id=machine,
        subnet_ids=tuple(subnets),
        public_ip_address_ids=tuple(public_ips),
    )


def network_security_group(
    subscription_id: str,
    model: Any,
    interfaces: list[_Interface] | None,
    interfaces_error: Reason | None,
) -> NetworkSecurityGroup:
    """Return the fact of one NSG with every rule, custom and default, and what it is attached to.

    ARM always lists both `securityRules` (possibly empty) and `defaultSecurityRules`: a list the
    answer lacks, or a rule that is not an object, is named in `rules_unreadable` (the control
    reports `error`), never read as "no rules".
    """
    nsg_id = fields.resource_id(model, msg("the network security group"))
    rules: list[SecurityRule] = []
    unreadable: list[UnreadableField] = []
    for name, arm_name, is_default in (
        ("security_rules", "securityRules", False),
        ("default_security_rules", "defaultSecurityRules", True),
    ):
        listed = fields.raw(model, name, arm_name)
        if listed is None:
            unreadable.append(UnreadableField(arm_name, msg("{field} is absent", field=arm_name)))
            continue
        if not isinstance(listed, list | tuple):
            unreadable.append(UnreadableField(arm_name, fields.not_a_list(arm_name, listed)))
            continue
        for index, entry in enumerate(listed):
            try:
                rules.append(security_rule(entry, is_default=is_default))
            except fields.FieldUnreadable as exc:
                position = arm_name + "[" + str(index) + "]"
                entry_reason = msg("{field}: {problem}", field=position, problem=exc.reason)
                unreadable.append(UnreadableField(arm_name, entry_reason))
    nic_ids = fields.references(model, "network_interfaces", "networkInterfaces") or ()
    subnet_ids = fields.references(model, "subnets", "subnets") or ()
    return NetworkSecurityGroup(
        id=nsg_id,
        name=fields.resource_name(model),
        subscription_id=subscription_id,
        resource_group=resource_group_of(nsg_id),
        location=normalise_region(fields.text(model, "location", "location", nested=False) or UNKNOWN_REGION),
        rules=tuple(rules),
        subnet_ids=subnet_ids,
        network_interface_ids=nic_ids,
        interfaces=None if interfaces is None else attached_interfaces(nic_ids, subnet_ids, interfaces),
        interfaces_error=interfaces_error,
        rules_unreadable=tuple(unreadable),
    )


def attached_interfaces(
    nic_ids: Iterable[str], subnet_ids: Iterable[str], interfaces: Iterable[_Interface]
) -> tuple[AttachedInterface, ...]:
    """Return the NICs an NSG filters: those it is attached to, and those in subnets it is attached to.

    Ids are compared case-insensitively (ARM ids are); a NIC the NSG names but the NIC list does
    not hold is kept with nothing known about it.
    """
    by_id = {i.id.lower(): i for i in interfaces}
    attached: dict[str, AttachedInterface] = {}
    for nic_id in nic_ids:
        known = by_id.get(nic_id.lower())
        attached[nic_id.lower()] = AttachedInterface(
            id=known.id if known else nic_id,
            virtual_machine_id=known.virtual_machine_id if known else None,
            public_ip_address_ids=known.public_ip_address_ids if known else (),
            via_subnet=None,
        )
    wanted = {s.lower(): s for s in subnet_ids}
    for interface in by_id.values():
        for subnet in interface.subnet_ids:
            if subnet.lower() in wanted and interface.id.lower() not in attached:
                attached[interface.id.lower()] = AttachedInterface(
                    id=interface.id,
                    virtual_machine_id=interface.virtual_machine_id,
                    public_ip_address_ids=interface.public_ip_address_ids,
                    via_subnet=wanted[subnet.lower()],
                )
    return tuple(sorted(attached.values(), key=lambda i: i.id.lower()))


class NetworkCollector(AzureCollector):
    """Reads network security groups and network interfaces of the subscriptions in scope."""

    populations = (NSGS, AZURE_RESOURCES)
    listed_types = (NSG_TYPE, NIC_TYPE)

    def network(self, subscription_id: str) -> NetworkManagementClient:
        """Return the network management client of a subscription."""
        return self.client(NetworkManagementClient, subscription_id)

    def collect(self, subscriptions: list[AzureSubscription]) -> None:
        """Collect every NSG (rules and attachments) and locate NSGs and NICs."""
        self.context.progress(
            f"azure: reading network security groups and network interfaces of "
            f"{len(subscriptions)} subscription(s)"
        )
        self.arm.map(self._subscription, subscriptions)

    def _subscription(self, subscription: AzureSubscription) -> None:
        interfaces: list[_Interface] | None = None
        interfaces_error: Reason | None = None
        nic_sources: tuple[Source, ...] = ()
        found_nics = self.read_items_in(
            subscription,
            NIC_TYPE,
            lambda hook: self.network(subscription.id).network_interfaces.list_all(raw_response_hook=hook),
            NetworkInterface,
            lambda model: (_interface(model), fields.text(model, "location", "location", nested=False)),
            item=msg("a network interface"),
            populations=(),
        )
        if found_nics is None:
            interfaces_error = msg(
                "network interfaces of subscription {subscription} could not be listed, so the VMs "
                "and public IPs behind this NSG are unknown",
                subscription=subscription.id,
            )
        else:
            read, fetched_nics = found_nics
            nic_sources = fetched_nics.sources
            interfaces = [interface for interface, _ in read]
            for interface, location in read:
                self.locate(interface.id, NIC_TYPE, location, nic_sources)
            if len(read) != len(fetched_nics.value):
                interfaces_error = msg(
                    "a network interface of subscription {subscription} could not be read, so the VMs "
                    "and public IPs behind this NSG may be incomplete",
                    subscription=subscription.id,
                )
        found = self.read_items_in(
            subscription,
            NSG_TYPE,
            lambda hook: self.network(subscription.id).network_security_groups.list_all(
                raw_response_hook=hook
            ),
            NsgModel,
            lambda model: network_security_group(subscription.id, model, interfaces, interfaces_error),
            item=msg("a network security group"),
            populations=(NSGS,),
        )
        if found is None:
            return
        nsgs, fetched = found
        for nsg in nsgs:
            self.population(NSGS).add(observed(nsg.id, nsg, (*fetched.sources, *nic_sources)))
            self.locate(nsg.id, NSG_TYPE, nsg.location, fetched.sources)
