"""What "trusted" means for every network control: one definition, used by 12b's Azure and host controls.

A source is trusted when it lies wholly inside `policy.trusted_networks` (each network no broader
than the policy's floor, see collectors/config/policy.py), or, for NSG rules, when it is a service tag
listed in `policy.trusted_service_tags`. Words and prefixes that mean "anyone" ("*", "Any",
"Internet", 0.0.0.0/0, ::/0) are never trusted, and neither is a tag that holds every Azure
customer's addresses (AzureCloud): the config refuses them, and these functions ignore them even
in a Policy built in code. The two Azure address forms that are plain ranges (a SQL firewall
rule's start..end, a storage account's ipRule) are read here too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from collectors.config.policy import ANY_TENANT_SERVICE_TAGS, EVERYONE_SERVICE_TAGS, IpNetwork, Policy
from reports.evidence import Message, msg, verbatim
from reports.i18n.translation import english

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_AZURE_SERVICES = ("0.0.0.0", "0.0.0.0")
"""The start..end of Azure SQL's "allow Azure services" rule: any Azure IP, of any tenant."""

ANY_ADDRESS_WORDS = frozenset({*EVERYONE_SERVICE_TAGS, "0.0.0.0/0", "::/0"})
"""Sources (NSG prefixes, host firewall remote addresses) that mean "anyone": never trusted."""


class UnreadableValue(ValueError):
    """A value a control cannot read (an address, a range, a port), with why as a catalog message."""

    def __init__(self, message: Message) -> None:
        super().__init__(english(message))
        self.message = message


def unreadable_reason(exc: ValueError) -> Message:
    """Return why a value cannot be read: the UnreadableValue's message, else the error's own text."""
    return exc.message if isinstance(exc, UnreadableValue) else verbatim(str(exc))


def comma_separated(parts: Sequence[Message | str]) -> Message | str:
    """Return parts that hold words of their own as one phrase joined by ", " (a list param joins with "; ")."""
    joined: Message | str = parts[0] if parts else ""
    for part in parts[1:]:
        joined = msg("{first}, {then}", first=joined, then=part)
    return joined


def bar_separated(parts: Sequence[Message | str]) -> Message | str:
    """Return parts that may hold "; " themselves as one text joined by " | " (rules in a finding)."""
    joined: Message | str = parts[0] if parts else ""
    for part in parts[1:]:
        joined = msg("{first} | {then}", first=joined, then=part)
    return joined


def range_within(start: IpAddress, end: IpAddress, networks: Sequence[IpNetwork]) -> bool:
    """Return True when every address from `start` to `end` lies inside the union of `networks`.

    A range that only partly overlaps a trusted network is not within it; a range covered by
    several adjacent trusted networks is.
    """
    if start.version != end.version or int(start) > int(end):
        return False
    # Networks of one version order by first address (then prefix length, which does not matter here).
    same_family = sorted(n for n in networks if n.version == start.version)
    cursor = int(start)
    for network in same_family:
        low, high = int(network.network_address), int(network.broadcast_address)
        if low <= cursor <= high:
            cursor = high + 1
            if cursor > int(end):
                return True
    return False


def trusted_networks(policy: Policy) -> list[IpNetwork]:
    """Return the policy's trusted networks that respect its floor (a broader one is trusted nowhere)."""
    return [network for network in policy.networks() if policy.within_floor(network)]


def range_trusted(start: IpAddress, end: IpAddress, policy: Policy) -> bool:
    """Return True when every address from `start` to `end` lies inside the trusted networks."""
    return range_within(start, end, trusted_networks(policy))


def is_trusted_network(network: IpNetwork, policy: Policy) -> bool:
    """Return True when the whole of `network` lies inside the trusted networks."""
    return range_trusted(network[0], network[-1], policy)


def address_trusted(address: IpAddress, policy: Policy) -> bool:
    """Return True when one address lies inside the trusted networks."""
    return range_trusted(address, address, policy)


def anyone_message(source: str) -> Message | None:
    """Return "the Internet" or "any address" when `source` is a word or prefix meaning anyone, else None."""
    lowered = source.strip().lower()
    if lowered not in ANY_ADDRESS_WORDS:
        return None
    return msg("the Internet") if lowered == "internet" else msg("any address")


def anyone_reason(source: str) -> str | None:
    """Return anyone_message(source) in English: "the Internet", "any address" or None."""
    reason = anyone_message(source)
    return None if reason is None else english(reason)


def service_tag_trusted(tag: str, policy: Policy) -> bool:
    """Return True when an NSG service tag is listed in policy.trusted_service_tags (case-insensitive).

    A tag meaning anyone, or holding every Azure customer's addresses (AzureCloud, regional or
    not), is never trusted, whatever the list says.
    """
    lowered = tag.strip().lower()
    if lowered in ANY_ADDRESS_WORDS or lowered.split(".", 1)[0] in ANY_TENANT_SERVICE_TAGS:
        return False
    return lowered in {trusted.strip().lower() for trusted in policy.trusted_service_tags}


def parse_address(text: str) -> IpAddress:
    """Return the IP address in `text`; raise UnreadableValue (a ValueError) naming it when it is not one."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise UnreadableValue(msg("{value} is not an IP address", value=repr(text))) from None


def untrusted_rule_reason(start_ip: str, end_ip: str, policy: Policy) -> Message | None:
    """Return why a firewall rule admits untrusted addresses, or None when it is inside trusted networks.

    Raises UnreadableValue (a ValueError) when start or end is not an address or they make no range.
    """
    if (start_ip, end_ip) == ALLOW_AZURE_SERVICES:
        return msg("'allow Azure services' (0.0.0.0-0.0.0.0) admits any Azure IP of any tenant")
    start, end = parse_address(start_ip), parse_address(end_ip)
    if start.version != end.version or int(start) > int(end):
        raise UnreadableValue(msg("{start}-{end} is not a valid address range", start=start_ip, end=end_ip))
    if range_trusted(start, end, policy):
        return None
    return msg("{start}-{end} is not inside the trusted networks", start=start_ip, end=end_ip)


def storage_ip_rule_range(value: str) -> tuple[IpAddress, IpAddress]:
    """Return the first and last address a storage ipRule admits: one address, or a CIDR as a range."""
    if "/" not in value:
        address = parse_address(value)
        return address, address
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise UnreadableValue(msg("{value} is not an IP address or CIDR range", value=repr(value))) from None
    return network.network_address, network.broadcast_address
