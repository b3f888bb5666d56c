"""Literal network security group facts for the 12b.azure-nsg-admin-ports unit tests.

One builder per fact type, so each test file states only what its case changes.
"""

from __future__ import annotations

from typing import Any

from collectors.azure.facts import NetworkSecurityGroup, SecurityRule

NSG_WEB_ID = (
    "/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Network/networkSecurityGroups/nsg-web"
)


def security_rule(
    name: str = "allow-rdp", access: str | None = "Allow", priority: int | None = 200, **fields: Any
) -> SecurityRule:
    """Return an inbound TCP rule from the Internet to RDP (3389) of any destination, changed by `fields`.

    A field set to None is one the collector could not read.
    """
    values: dict[str, Any] = {
        "name": name,
        "direction": "Inbound",
        "access": access,
        "priority": priority,
        "protocol": "Tcp",
        "source_prefixes": ("Internet",),
        "source_application_security_groups": (),
        "source_port_ranges": ("*",),
        "destination_prefixes": ("*",),
        "destination_application_security_groups": (),
        "destination_port_ranges": ("3389",),
        "is_default": False,
    }
    values.update(fields)
    return SecurityRule(**values)


def network_security_group(*rules: SecurityRule, **fields: Any) -> NetworkSecurityGroup:
    """Return the NSG nsg-web in rg-web holding `rules`, attached to nothing, changed by `fields`."""
    values: dict[str, Any] = {
        "id": NSG_WEB_ID,
        "name": "nsg-web",
        "subscription_id": "sub-1",
        "resource_group": "rg-web",
        "location": "westeurope",
        "rules": rules,
        "subnet_ids": (),
        "network_interface_ids": (),
        "interfaces": (),
    }
    values.update(fields)
    return NetworkSecurityGroup(**values)
