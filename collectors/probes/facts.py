"""The fact of an exposure probe, free of I/O: how one address:port answered a TCP connect.

The controls (12b.exposure-probe) import it from here; `collectors.probes.observations` makes
it from the recorded connect attempts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PROBE_POPULATION = "probes.ports"
"""One subject per judged address:port (12b.exposure-probe)."""

PortState = Literal["open", "refused", "filtered"]


@dataclass(frozen=True)
class PortProbe:
    """The fact of one probe: how address:port answered a TCP connect from the vantage point."""

    address: str
    port: int
    state: PortState
    origin: str
    vantage_host: str
    vantage_source: str
    elapsed_ms: float
    peers: tuple[str, ...] = ()
    """The resolved IP addresses that were connected to (a name may have several)."""
    detail: str = ""
    """How the state was told: 'connected', 'ECONNREFUSED', 'no answer in 3.0 s', ..."""
    host_seen: str = ""
    """For a filtered port, what showed that the host is there, e.g. "198.51.100.7 port 22: refused"."""
    vantage_site: str = "local"
    """The `[[sites]]` entry the probe was sent from ("local": the run's own machine)."""
    vantage_trust: Literal["trusted", "untrusted"] = "untrusted"
    """Only an untrusted vantage point's view is judged; a trusted one's is shown as evidence."""
