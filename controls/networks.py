"""IP arithmetic for the network controls: is an address range inside the trusted networks?"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from collectors.config import IpNetwork

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_AZURE_SERVICES = ("0.0.0.0", "0.0.0.0")
"""The start..end of Azure SQL's "allow Azure services" rule: any Azure IP, of any tenant."""


def range_within(start: IpAddress, end: IpAddress, networks: Sequence[IpNetwork]) -> bool:
    """Return True when every address from `start` to `end` lies inside the union of `networks`.

    A range that only partly overlaps a trusted network is not within it; a range covered by
    several adjacent trusted networks is.
    """
    if start.version != end.version or int(start) > int(end):
        return False
    same_family = sorted(
        (n for n in networks if n.version == start.version), key=lambda n: int(n.network_address)
    )
    cursor = int(start)
    for network in same_family:
        low, high = int(network.network_address), int(network.broadcast_address)
        if low <= cursor <= high:
            cursor = high + 1
            if cursor > int(end):
                return True
    return False


def parse_address(text: str) -> IpAddress:
    """Return the IP address in `text`; raise ValueError naming it when it is not one."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None
