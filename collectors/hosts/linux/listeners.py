"""The ss sections: the TCP and UDP sockets a host listens on."""

from __future__ import annotations

import re

from collectors.hosts.facts import Listener

SS_LISTENING_STATES = frozenset({"LISTEN", "UNCONN"})
"""The states `ss -tl` (LISTEN) and `ss -ul` (UNCONN) list."""


def parse_ss(text: str, protocol: str) -> tuple[Listener, ...]:
    """Return the listening sockets of `ss -tlnp` / `ss -ulnp` (header line skipped)."""
    listeners = []
    for line in text.splitlines():
        tokens = line.split()
        if not tokens or tokens[0] in ("State", "Netid"):
            continue
        if (
            len(tokens) < 5
            or tokens[0] not in SS_LISTENING_STATES
            or not tokens[1].isdigit()
            or not tokens[2].isdigit()
        ):
            # State Recv-Q Send-Q Local Peer [Process]: anything else (a Netid column, a cut line)
            # would shift the columns and misread the port.
            raise ValueError(f"unrecognised ss line {line.strip()[:100]!r}")
        local = tokens[3]
        address, colon, port_text = local.rpartition(":")
        if not colon:
            raise ValueError(f"unrecognised ss local address {local!r}")
        if not port_text.isdigit() or int(port_text) > 65535:
            if port_text == "*":
                continue
            raise ValueError(f"unrecognised ss local address {local!r}")
        address = address.removeprefix("[").replace("]", "") or "*"
        process = re.search(r'\(\("([^"]+)"', " ".join(tokens[5:]))
        listeners.append(
            Listener(
                protocol=protocol,
                address=address,
                port=int(port_text),
                process=process.group(1) if process else None,
            )
        )
    return tuple(sorted(set(listeners), key=lambda item: (item.port, item.protocol, item.address)))
