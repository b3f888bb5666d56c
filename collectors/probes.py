"""Exposure probes: TCP connects from the auditor's own vantage point to sensitive ports.

Which ports an attacker can reach is checked the way an attacker sees it, from the network.
Targets are the `[[hosts]]` addresses × `policy.sensitive_ports`, the `[[probes]]` entries
and the SQL server FQDNs discovered in Azure (port 1433), de-duplicated by (address, port).
Every connect is non-blocking with a timeout, run on a bounded thread pool, and its outcome
is told apart:

- `open`: the three-way handshake completed (something accepts connections);
- `refused`: a RST (ECONNREFUSED) came back, the host answers but nothing listens;
- `filtered`: no answer before the timeout, or an ICMP unreachable from the path
  (EHOSTUNREACH, or ENETUNREACH after the SYN left);
- a name that does not resolve, or a connect that the vantage point itself could not send
  (no local route, a local policy), is an `error` subject: it proves nothing either way.

The vantage point (host name, the source address the OS chose, when) is recorded in every
fact and in the Source call text, because "not reachable" only means something from where.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import select
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from collectors.azure.base import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.config import AuditConfig
from collectors.facts import FactStore, Subject, observed, unobservable
from collectors.provenance import Source, sha256_hex, utc_now

PROBE_POPULATION = "probes.ports"
NOTHING_TO_PROBE = "nothing to probe: no [[hosts]], no [[probes]] and no Azure SQL server FQDN was discovered"
COLLECTOR = "probes"
SQL_PORT = 1433
DEFAULT_MAX_CONCURRENCY = 64
DEFAULT_TIMEOUT_SECONDS = 3.0
ROUTE_PROBE_ADDRESSES = {"ipv4": "1.1.1.1", "ipv6": "2606:4700:4700::1111"}
"""Destinations used only to ask the OS which source address its default route would use (UDP
connect sends no packet)."""

PortState = Literal["open", "refused", "filtered"]
STATE_RANK: dict[str, int] = {"open": 3, "filtered": 2, "refused": 1}
"""When a name resolves to several addresses, the most exposed outcome is the port's state."""
FILTERED_ERRNOS = frozenset({errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH})
"""Errors after the SYN left: the path dropped it or answered ICMP unreachable."""


@dataclass(frozen=True)
class ProbeTarget:
    """One address and TCP port to probe, and every inventory entry that asked for it."""

    address: str
    port: int
    origins: tuple[str, ...]

    @property
    def subject_id(self) -> str:
        """Return the stable subject id: tcp://address:port (IPv6 literals in brackets)."""
        return f"tcp://{_host_text(self.address)}:{self.port}"


@dataclass(frozen=True)
class VantagePoint:
    """Where the probes were sent from: host name, default-route source addresses, and when."""

    host: str
    source_addresses: tuple[str, ...]
    """The source address the OS's default route would use, per address family it has a route for."""
    started_at: datetime

    def describe(self, source: str | None = None) -> str:
        """Return e.g. 'auditor-01 (192.0.2.2)', with the connection's own source when known."""
        shown = source or ", ".join(self.source_addresses) or "no default route"
        return f"{self.host} ({shown})"


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


@dataclass(frozen=True)
class ConnectAttempt:
    """The raw outcome of one TCP connect to one resolved address (what a recording keeps)."""

    peer: str
    state: PortState | None
    """None: the connect proves nothing (the vantage point could not send it)."""
    detail: str
    source: str
    """The local address the OS chose for this connect ('' when none was bound)."""
    elapsed_ms: float
    started_at: datetime = field(default_factory=utc_now)

    def as_json(self) -> dict[str, object]:
        """Return the JSON form kept in a recording."""
        return {
            "peer": self.peer,
            "state": self.state,
            "detail": self.detail,
            "source": self.source,
            "elapsed_ms": self.elapsed_ms,
            "started_at": self.started_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConnectAttempt:
        """Return an attempt from its recorded JSON form; KeyError/ValueError/TypeError when malformed."""
        state = data["state"]
        if state is not None and state not in STATE_RANK:
            raise ValueError(f"unknown probe state {state!r}")
        return cls(
            peer=str(data["peer"]),
            state=state,
            detail=str(data["detail"]),
            source=str(data["source"]),
            elapsed_ms=float(data["elapsed_ms"]),
            started_at=datetime.fromisoformat(str(data["started_at"])),
        )


def _host_text(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def normalise_address(address: str) -> str:
    """Return an address as probed and named: lower case, no trailing dot, IPv6 without brackets."""
    text = address.strip().lower().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def probe_targets(config: AuditConfig, discovered: Iterable[DiscoveredEndpoint] = ()) -> list[ProbeTarget]:
    """Return the targets of a run, de-duplicated by (address, port), each with all its origins.

    `[[hosts]]` addresses × policy.sensitive_ports, `[[probes]]` entries (their ports, or
    policy.sensitive_ports), and discovered Azure SQL server FQDNs on port 1433.
    """
    sensitive = sorted(set(config.policy.sensitive_ports))
    wanted: dict[tuple[str, int], list[str]] = {}

    def want(address: str, ports: Iterable[int], origin: str) -> None:
        normalised = normalise_address(address)
        for port in sorted(set(ports)):
            origins = wanted.setdefault((normalised, port), [])
            if origin not in origins:
                origins.append(origin)

    for host in config.hosts:
        want(host.address, sensitive, f"hosts[{host.name}]")
    for index, probe in enumerate(config.probes):
        want(probe.address, probe.ports or sensitive, f"probes[{index}] {probe.address}")
    for endpoint in discovered:
        if endpoint.kind == "azure-sql":
            want(endpoint.host, [SQL_PORT], f"azure-sql {endpoint.resource_id}")
    return [ProbeTarget(address, port, tuple(origins)) for (address, port), origins in wanted.items()]


def discovered_endpoints(store: FactStore) -> list[DiscoveredEndpoint]:
    """Return the endpoints the Azure collectors published in `azure.endpoints` (none if not run)."""
    population = store.get(AZURE_ENDPOINTS)
    if population is None:
        return []
    return [s.fact for s in population.subjects if isinstance(s.fact, DiscoveredEndpoint)]


def route_source(family: str) -> str | None:
    """Return the source address the default route of `family` would use (UDP connect: no packet sent)."""
    destination = ROUTE_PROBE_ADDRESSES[family]
    kind = socket.AF_INET if family == "ipv4" else socket.AF_INET6
    try:
        with socket.socket(kind, socket.SOCK_DGRAM) as sock:
            sock.connect((destination, 9))
            return str(sock.getsockname()[0])
    except OSError:
        return None


def vantage_point() -> VantagePoint:
    """Return this machine's vantage point: host name, default-route source addresses, current time."""
    sources = tuple(s for family in ("ipv4", "ipv6") if (s := route_source(family)) is not None)
    return VantagePoint(host=socket.gethostname(), source_addresses=sources, started_at=utc_now())


def _errno_name(code: int) -> str:
    return errno.errorcode.get(code, f"errno {code}")


def connect_once(peer: str, family: int, port: int, timeout: float) -> ConnectAttempt:
    """Make one non-blocking TCP connect to peer:port and tell open, refused and filtered apart."""
    started_at = utc_now()
    start = time.monotonic()
    source = ""

    def done(state: PortState | None, detail: str) -> ConnectAttempt:
        elapsed = round((time.monotonic() - start) * 1000, 1)
        return ConnectAttempt(peer, state, detail, source, elapsed, started_at)

    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        code = sock.connect_ex((peer, port))
        if code not in (0, errno.EINPROGRESS):
            if code == errno.ECONNREFUSED:
                return done("refused", "ECONNREFUSED")
            return done(None, f"the vantage point could not send the connect: {_errno_name(code)}")
        try:
            source = str(sock.getsockname()[0])
        except OSError:
            source = ""
        if code == 0:
            return done("open", "connected")
        poller = select.poll()  # not select(): descriptors above FD_SETSIZE under high concurrency
        poller.register(sock, select.POLLOUT)
        if not poller.poll(max(0, int(timeout * 1000))):
            return done("filtered", f"no answer in {timeout:g} s")
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == 0:
            return done("open", "connected")
        if code == errno.ECONNREFUSED:
            return done("refused", "ECONNREFUSED")
        if code in FILTERED_ERRNOS:
            return done("filtered", _errno_name(code))
        return done(None, f"connect failed: {_errno_name(code)}")


def resolve(address: str, port: int) -> list[tuple[int, str]]:
    """Return the (family, IP) pairs a name or literal resolves to for TCP; OSError when it does not."""
    infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: list[tuple[int, str]] = []
    for family, _, _, _, sockaddr in infos:
        pair = (int(family), str(sockaddr[0]))
        if pair not in seen:
            seen.append(pair)
    return seen


def _source(raw: Mapping[str, object], text: str, at: datetime) -> Source:
    """Return the Source of one observation: the call text names target and vantage point."""
    body = json.dumps(raw, sort_keys=True, default=str).encode()
    return Source(collector=COLLECTOR, call=text, collected_at=at, sha256=sha256_hex(body))


@dataclass(frozen=True)
class TargetObservation:
    """What probing one target produced: why its name did not resolve, or its connect attempts."""

    target: ProbeTarget
    resolve_error: str | None
    attempts: tuple[ConnectAttempt, ...] = ()

    def as_json(self) -> dict[str, object]:
        """Return the JSON form kept in a recording."""
        return {
            "address": self.target.address,
            "port": self.target.port,
            "origins": list(self.target.origins),
            "resolve_error": self.resolve_error,
            "attempts": [a.as_json() for a in self.attempts],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TargetObservation:
        """Return an observation from its recorded JSON form; KeyError/ValueError/TypeError when malformed."""
        target = ProbeTarget(str(data["address"]), int(data["port"]), tuple(str(o) for o in data["origins"]))
        error = data["resolve_error"]
        attempts = tuple(ConnectAttempt.from_json(a) for a in data["attempts"])
        return cls(target, None if error is None else str(error), attempts)

    def subject(self, vantage: VantagePoint, timeout: float) -> Subject[object]:
        """Return the subject of this target: a PortProbe fact, or an error that says why none."""
        target = self.target
        origin = ", ".join(target.origins)
        if self.resolve_error is not None or not self.attempts:
            reason = self.resolve_error or "no address"
            raw: dict[str, object] = {
                "target": target.subject_id,
                "vantage": vantage.describe(),
                "resolve_error": reason,
            }
            text = f"resolve {target.address} from {vantage.describe()}: {reason}"
            return unobservable(
                target.subject_id,
                f"{target.address} does not resolve from {vantage.describe()} ({reason}); "
                f"port {target.port} was not probed (origin: {origin})",
                [_source(raw, text, vantage.started_at)],
            )
        sources = []
        for attempt in self.attempts:
            raw = {
                "target": target.subject_id,
                "port": target.port,
                "vantage_host": vantage.host,
                "timeout_s": timeout,
                **attempt.as_json(),
            }
            text = (
                f"TCP connect {_host_text(attempt.peer)}:{target.port} ({target.address}) from "
                f"{vantage.describe(attempt.source)}, timeout {timeout:g} s: {attempt.state or 'error'} "
                f"({attempt.detail})"
            )
            sources.append(_source(raw, text, attempt.started_at))
        conclusive = [a for a in self.attempts if a.state is not None]
        worst = max(conclusive, key=lambda a: STATE_RANK[a.state or "refused"], default=None)
        if (
            worst is None
            or worst.state is None
            or (worst.state != "open" and len(conclusive) < len(self.attempts))
        ):
            reasons = "; ".join(f"{a.peer}: {a.detail}" for a in self.attempts if a.state is None)
            return unobservable(
                target.subject_id,
                f"port {target.port} of {target.address} could not be probed from {vantage.describe()}: {reasons}",
                sources,
            )
        fact = PortProbe(
            address=target.address,
            port=target.port,
            state=worst.state,
            origin=origin,
            vantage_host=vantage.host,
            vantage_source=worst.source or ", ".join(vantage.source_addresses),
            elapsed_ms=max(a.elapsed_ms for a in self.attempts),
            peers=tuple(a.peer for a in self.attempts),
            detail=worst.detail,
        )
        return observed(target.subject_id, fact, sources)


@dataclass(frozen=True)
class ProbeRun:
    """Every observation of one probing run and where it was made from: what a recording keeps."""

    vantage: VantagePoint
    timeout: float
    observations: tuple[TargetObservation, ...]

    def subjects(self) -> list[Subject[object]]:
        """Return one subject per probed target, in probing order."""
        return [o.subject(self.vantage, self.timeout) for o in self.observations]

    def as_json(self) -> dict[str, object]:
        """Return the JSON form kept in a recording (replayed with `ProbeRun.from_json`)."""
        return {
            "vantage": {
                "host": self.vantage.host,
                "source_addresses": list(self.vantage.source_addresses),
                "started_at": self.vantage.started_at.isoformat(),
            },
            "timeout_s": self.timeout,
            "observations": [o.as_json() for o in self.observations],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProbeRun:
        """Return a recorded run; ValueError naming the problem when the JSON is malformed."""
        try:
            vantage = data["vantage"]
            return cls(
                vantage=VantagePoint(
                    host=str(vantage["host"]),
                    source_addresses=tuple(str(a) for a in vantage["source_addresses"]),
                    started_at=datetime.fromisoformat(str(vantage["started_at"])),
                ),
                timeout=float(data["timeout_s"]),
                observations=tuple(TargetObservation.from_json(o) for o in data["observations"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"recorded probe run is malformed: {type(exc).__name__}: {exc}") from None


def observe_probes(
    targets: Sequence[ProbeTarget],
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> ProbeRun:
    """Probe every target concurrently (at most `max_concurrency` lookups or connects at once).

    Each name is resolved once; every address it resolves to is connected to, and the most
    exposed outcome becomes the port's state.
    """
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")
    vantage = vantage_point()
    names = list(dict.fromkeys(t.address for t in targets))
    port_of = {t.address: t.port for t in targets}

    def lookup(name: str) -> list[tuple[int, str]] | str:
        try:
            return resolve(name, port_of[name]) or "no address"
        except OSError as exc:
            return str(exc.strerror or exc)

    with ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="probe") as pool:
        resolutions = dict(zip(names, pool.map(lookup, names), strict=True))
        jobs = {
            (t.subject_id, family, peer): pool.submit(connect_once, peer, family, t.port, timeout)
            for t in targets
            if not isinstance(resolved := resolutions[t.address], str)
            for family, peer in resolved
        }
        observations = []
        for target in targets:
            resolved = resolutions[target.address]
            if isinstance(resolved, str):
                observations.append(TargetObservation(target, resolved))
                continue
            attempts = tuple(jobs[(target.subject_id, family, peer)].result() for family, peer in resolved)
            observations.append(TargetObservation(target, None, attempts))
    return ProbeRun(vantage, timeout, tuple(observations))


def run_probes(
    targets: Sequence[ProbeTarget],
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> tuple[VantagePoint, list[Subject[object]]]:
    """Probe every target (see `observe_probes`); return the vantage point and one subject per target."""
    run = observe_probes(targets, max_concurrency=max_concurrency, timeout=timeout)
    return run.vantage, run.subjects()


def collect_probes(
    config: AuditConfig,
    store: FactStore,
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    replay: Mapping[str, Any] | None = None,
    include_azure_sql: bool = True,
) -> ProbeRun | None:
    """Fill `probes.ports` from the config and the Azure endpoints already in `store`.

    Run after the Azure collectors, so their SQL FQDNs are probed too. With `replay` (a
    recorded `ProbeRun.as_json()`), nothing is sent: the recorded observations become the
    subjects, and a target the recording lacks is an error. Returns the run (keep
    `run.as_json()` in a recording), or None when nothing is to be probed (the population
    then says why it is empty).
    """
    population = store.population(PROBE_POPULATION)
    population.empty_reason = NOTHING_TO_PROBE
    if replay is None:
        targets = probe_targets(config, discovered_endpoints(store) if include_azure_sql else [])
        if not targets:
            return None
        run = observe_probes(targets, max_concurrency=max_concurrency, timeout=timeout)
        subjects = run.subjects()
    else:
        # A replay judges what was observed: the recorded probes, whatever the addresses in the config.
        run = ProbeRun.from_json(replay)
        subjects = [o.subject(run.vantage, run.timeout) for o in run.observations]
    when = run.vantage.started_at.isoformat().replace("+00:00", "Z")
    population.notes.append(
        f"probed from {run.vantage.describe()} at {when}"
        + (" (replayed from the recording)" if replay is not None else "")
        + ": a port that is refused or filtered here may still be open from elsewhere"
    )
    for subject in subjects:
        population.add(subject)
    return run
