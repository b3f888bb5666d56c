"""Azure network facts: network security groups with every rule, and what they are attached to.

An NSG carries its custom `securityRules` and its `defaultSecurityRules` (both embedded in the
NSG, so one list per subscription reads them all) and read-only back-references to the NICs and
subnets it is attached to. Network interfaces are listed too, to resolve NIC -> VM, subnet ->
NICs and whether a public IP sits in front of them. Rules are normalised here (the singular and
plural prefix/port fields merged) but never judged: 12b.azure-nsg-admin-ports does that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import NetworkInterface
from azure.mgmt.network.models import NetworkSecurityGroup as NsgModel

from collectors.azure.base import AZURE_RESOURCES, AzureCollector, prop, resource_group_of, text_of
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed
from collectors.provenance import Source
from collectors.regions import normalise_region

NSGS = "azure.nsgs"
NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
NIC_TYPE = "Microsoft.Network/networkInterfaces"


@dataclass(frozen=True)
class SecurityRule:
    """One NSG rule, custom or default, with the singular and plural fields merged.

    `source_prefixes` is the union of `sourceAddressPrefix` and `sourceAddressPrefixes` (CIDRs,
    IPs, `*` or service tags); `destination_port_ranges` the union of `destinationPortRange` and
    `destinationPortRanges` ("22", "1000-2000", "*"); application security groups by id.
    """

    name: str
    direction: str
    access: str
    priority: int | None
    protocol: str
    source_prefixes: tuple[str, ...]
    source_application_security_groups: tuple[str, ...]
    source_port_ranges: tuple[str, ...]
    destination_prefixes: tuple[str, ...]
    destination_application_security_groups: tuple[str, ...]
    destination_port_ranges: tuple[str, ...]
    is_default: bool


@dataclass(frozen=True)
class AttachedInterface:
    """A network interface an NSG filters (directly, or through the NIC's subnet)."""

    id: str
    virtual_machine_id: str | None
    public_ip_address_ids: tuple[str, ...]
    via_subnet: str | None
    """The subnet id when the NSG reaches this NIC through its subnet; None when attached to the NIC."""


@dataclass(frozen=True)
class NetworkSecurityGroup:
    """A network security group: its rules and what it is attached to.

    `interfaces` is None when the subscription's network interfaces could not be listed
    (`interfaces_error` says why); the NIC and subnet ids come from the NSG itself and are
    always known.
    """

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    rules: tuple[SecurityRule, ...]
    subnet_ids: tuple[str, ...]
    network_interface_ids: tuple[str, ...]
    interfaces: tuple[AttachedInterface, ...] | None
    interfaces_error: str | None = None

    @property
    def virtual_machine_ids(self) -> tuple[str, ...] | None:
        """Return the VMs behind this NSG (via NICs or their subnets), None when NICs are unknown."""
        if self.interfaces is None:
            return None
        return tuple(sorted({i.virtual_machine_id for i in self.interfaces if i.virtual_machine_id}))

    @property
    def public_ip_address_ids(self) -> tuple[str, ...] | None:
        """Return the public IPs in front of NICs this NSG filters, None when NICs are unknown."""
        if self.interfaces is None:
            return None
        return tuple(sorted({p for i in self.interfaces for p in i.public_ip_address_ids}))


@dataclass(frozen=True)
class _Interface:
    id: str
    virtual_machine_id: str | None
    subnet_ids: tuple[str, ...]
    public_ip_address_ids: tuple[str, ...]


def _texts(*values: Any) -> tuple[str, ...]:
    """Return the non-empty texts of singular values and lists of values, in order, without repeats."""
    found: list[str] = []
    for value in values:
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            text = text_of(item)
            if text is not None and text.strip() and text.strip() not in found:
                found.append(text.strip())
    return tuple(found)


def _ids(references: Any) -> tuple[str, ...]:
    """Return the ids of a list of sub-resource references ({"id": ...})."""
    return tuple(str(ref.id) for ref in references or () if getattr(ref, "id", None))


def security_rule(model: Any, *, is_default: bool) -> SecurityRule:
    """Return the normalised form of an SDK security rule (custom or default)."""
    priority = prop(model, "priority")
    return SecurityRule(
        name=str(model.name),
        direction=text_of(prop(model, "direction")) or "",
        access=text_of(prop(model, "access")) or "",
        priority=int(priority) if priority is not None else None,
        protocol=text_of(prop(model, "protocol")) or "",
        source_prefixes=_texts(prop(model, "source_address_prefix"), prop(model, "source_address_prefixes")),
        source_application_security_groups=_ids(prop(model, "source_application_security_groups")),
        source_port_ranges=_texts(prop(model, "source_port_range"), prop(model, "source_port_ranges")),
        destination_prefixes=_texts(
            prop(model, "destination_address_prefix"), prop(model, "destination_address_prefixes")
        ),
        destination_application_security_groups=_ids(prop(model, "destination_application_security_groups")),
        destination_port_ranges=_texts(
            prop(model, "destination_port_range"), prop(model, "destination_port_ranges")
        ),
        is_default=is_default,
    )


def _interface(model: Any) -> _Interface:
    machine = prop(model, "virtual_machine")
    subnets: list[str] = []
    public_ips: list[str] = []
    for configuration in prop(model, "ip_configurations") or ():
        subnet = prop(configuration, "subnet")
        if subnet is not None and getattr(subnet, "id", None):
            subnets.append(str(subnet.id))
        public_ip = prop(configuration, "public_ip_address")
        if public_ip is not None and getattr(public_ip, "id", None):
            public_ips.append(str(public_ip.id))
    return _Interface(
        id=str(model.id),
        virtual_machine_id=str(machine.id) if machine is not None and getattr(machine, "id", None) else None,
        subnet_ids=tuple(subnets),
        public_ip_address_ids=tuple(public_ips),
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
        interfaces_error: str | None = None
        nic_sources: tuple[Source, ...] = ()
        try:
            fetched_nics = self.listing(
                subscription.resource_id,
                NIC_TYPE,
                lambda hook: self.network(subscription.id).network_interfaces.list_all(
                    raw_response_hook=hook
                ),
                NetworkInterface,
            )
        except AzureError as exc:
            self.could_not_list(subscription, NIC_TYPE, exc, ())
            interfaces_error = (
                f"network interfaces of subscription {subscription.id} could not be listed, so the VMs "
                "and public IPs behind this NSG are unknown"
            )
        else:
            nic_sources = fetched_nics.sources
            interfaces = []
            for model in fetched_nics.value:
                interfaces.append(_interface(model))
                self.locate(str(model.id), NIC_TYPE, text_of(model.location), nic_sources)
        try:
            fetched = self.listing(
                subscription.resource_id,
                NSG_TYPE,
                lambda hook: self.network(subscription.id).network_security_groups.list_all(
                    raw_response_hook=hook
                ),
                NsgModel,
            )
        except AzureError as exc:
            self.could_not_list(subscription, NSG_TYPE, exc, (NSGS,))
            return
        for model in fetched.value:
            nsg = self._nsg(subscription, model, interfaces, interfaces_error)
            self.population(NSGS).add(observed(nsg.id, nsg, (*fetched.sources, *nic_sources)))
            self.locate(nsg.id, NSG_TYPE, nsg.location, fetched.sources)

    @staticmethod
    def _nsg(
        subscription: AzureSubscription,
        model: Any,
        interfaces: list[_Interface] | None,
        interfaces_error: str | None,
    ) -> NetworkSecurityGroup:
        rules = [security_rule(r, is_default=False) for r in prop(model, "security_rules") or ()]
        rules += [security_rule(r, is_default=True) for r in prop(model, "default_security_rules") or ()]
        nic_ids = _ids(prop(model, "network_interfaces"))
        subnet_ids = _ids(prop(model, "subnets"))
        return NetworkSecurityGroup(
            id=str(model.id),
            name=str(model.name),
            subscription_id=subscription.id,
            resource_group=resource_group_of(str(model.id)),
            location=normalise_region(str(model.location or "unknown")),
            rules=tuple(rules),
            subnet_ids=subnet_ids,
            network_interface_ids=nic_ids,
            interfaces=None if interfaces is None else attached_interfaces(nic_ids, subnet_ids, interfaces),
            interfaces_error=interfaces_error,
        )
