"""Exposure probes: TCP connects from the auditor's own vantage point to sensitive ports.

Which ports an attacker can reach is checked the way an attacker sees it, from the network.
Targets are the `[[hosts]]` addresses × `policy.sensitive_ports`, the `[[probes]]` entries
and the SQL server FQDNs discovered in Azure (port 1433), de-duplicated by (address, port);
each `[[hosts]]` address is also connected to on the SSH port the auditor uses (a presence
probe: it proves the host is there, and is judged only if it is a sensitive port too). Every
connect is non-blocking with a timeout, run on a bounded thread pool, and its outcome is told
apart (the ICMP type and code, and who sent it, are read from the socket's error queue):

- `open`: the three-way handshake completed (something accepts connections);
- `refused`: a RST (ECONNREFUSED) came back, the host answers but nothing listens;
- `filtered`: no answer before the timeout, or ICMP "administratively prohibited" (a firewall
  rejecting), *and* the host is shown to be there: another probed port of the same address
  answered (open or refused), or the ICMP answer came from the address itself;
- `unreachable`: ICMP host or network unreachable (EHOSTUNREACH, ENETUNREACH without an
  administratively-prohibited code): never filtered;
- a name that does not resolve, a connect that the vantage point itself could not send (no
  local route, a local policy), or an address that answered on no probed port at all (host
  down, a mistyped address, every port dropped) is an `error` subject, "host unreachable from
  <vantage point>": it proves nothing either way, so it is never a pass.

The vantage point (host name, the source address the OS chose, when) is recorded in every
fact and in the Source call text, because "not reachable" only means something from where.
"""

from __future__ import annotations

import errno
import json
import math
import select
import socket
import struct
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from collectors.azure.base import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.config import AuditConfig, normalise_host
from collectors.facts import FactStore, Subject, observed, unobservable
from reports.evidence import Source, sha256_hex, utc_now

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
AttemptState = Literal["open", "refused", "filtered", "unreachable"]
STATE_RANK: dict[str, int] = {"open": 3, "filtered": 2, "refused": 1}
"""When a name resolves to several addresses, the most exposed outcome is the port's state."""
ATTEMPT_STATES = ("open", "refused", "filtered", "unreachable")
UNREACHABLE_ERRNOS = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH})
"""ICMP host/network unreachable after the SYN left: the host is not reachable (never filtered),
unless the ICMP code says a firewall prohibited it (see ADMIN_PROHIBITED)."""
IP_RECVERR = 11
IPV6_RECVERR = 25
"""Linux socket options (linux/in.h, linux/in6.h) queueing ICMP errors with type, code and sender."""
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
ADMIN_PROHIBITED = {
    SO_EE_ORIGIN_ICMP: {(3, 9), (3, 10), (3, 13)},
    SO_EE_ORIGIN_ICMP6: {(1, 1), (1, 5), (1, 6)},
}
"""ICMP destination unreachable codes that a firewall sends when it rejects (RFC 1812 5.2.7.1:
net/host/communication administratively prohibited; RFC 4443 3.1: administratively prohibited,
source address failed ingress/egress policy, reject route): filtered, not unreachable."""


@dataclass(frozen=True)
class ProbeTarget:
    """One address and TCP port to probe, and every inventory entry that asked for it."""

    address: str
    port: int
    origins: tuple[str, ...]
    judged: bool = True
    """False for a presence probe only (a [[hosts]] entry's SSH port that is no sensitive port):
    it shows the host is there, and makes no item of its own."""

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
    host_seen: str = ""
    """For a filtered port, what showed that the host is there, e.g. "198.51.100.7 port 22: refused"."""


@dataclass(frozen=True)
class ConnectAttempt:
    """The raw outcome of one TCP connect to one resolved address (what a recording keeps)."""

    peer: str
    state: AttemptState | None
    """None: the connect proves nothing (the vantage point could not send it)."""
    detail: str
    source: str
    """The local address the OS chose for this connect ('' when none was bound)."""
    elapsed_ms: float
    started_at: datetime = field(default_factory=utc_now)
    answered_by: str | None = None
    """Who answered: the peer itself (a SYN-ACK or RST), the sender of an ICMP error, or None (silence)."""

    @property
    def peer_answered(self) -> bool:
        """Return True when the peer itself answered this connect (SYN-ACK, RST, or ICMP it sent): it is there."""
        return self.state == "open" or (self.answered_by is not None and self.answered_by == self.peer)

    def as_json(self) -> dict[str, object]:
        """Return the JSON form kept in a recording."""
        return {
            "peer": self.peer,
            "state": self.state,
            "detail": self.detail,
            "source": self.source,
            "elapsed_ms": self.elapsed_ms,
            "started_at": self.started_at.isoformat(),
            "answered_by": self.answered_by,
        }

    @classmethod
    def from_json(cls, data: Any) -> ConnectAttempt:
        """Return an attempt from its recorded JSON form; ValueError naming the field when malformed.

        A recording made before ICMP codes were read keeps EHOSTUNREACH/ENETUNREACH as
        "filtered": it cannot tell a firewall's rejection from an unreachable host, so it is
        read as unreachable (fail closed).
        """
        if not isinstance(data, dict):
            raise ValueError(f"expected an object, got {type(data).__name__}")
        texts = {key: data.get(key) for key in ("peer", "detail", "source", "started_at")}
        for key, value in texts.items():
            if not isinstance(value, str):
                raise ValueError(f"{key}: expected a string, got {value!r}")
        state = data.get("state", "missing")
        if state is not None and state not in ATTEMPT_STATES:
            raise ValueError(f"state: unknown probe state {state!r}")
        elapsed = data.get("elapsed_ms")
        if isinstance(elapsed, bool) or not isinstance(elapsed, int | float) or not math.isfinite(elapsed):
            raise ValueError(f"elapsed_ms: expected a number, got {elapsed!r}")
        answered_by = data.get("answered_by")
        if answered_by is not None and not isinstance(answered_by, str):
            raise ValueError(f"answered_by: expected a string or null, got {answered_by!r}")
        if "answered_by" not in data and state in ("open", "refused"):
            answered_by = texts["peer"]
        if state == "filtered" and texts["detail"] in {_errno_name(code) for code in UNREACHABLE_ERRNOS}:
            state = "unreachable"
        started_at = datetime.fromisoformat(str(texts["started_at"]).replace("Z", "+00:00"))
        if started_at.tzinfo is None:
            raise ValueError("started_at: expected a date-time with a time zone")
        return cls(
            peer=str(texts["peer"]),
            state=state,
            detail=str(texts["detail"]),
            source=str(texts["source"]),
            elapsed_ms=float(elapsed),
            started_at=started_at,
            answered_by=answered_by,
        )


def _host_text(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def probe_targets(config: AuditConfig, discovered: Iterable[DiscoveredEndpoint] = ()) -> list[ProbeTarget]:
    """Return the targets of a run, de-duplicated by (address, port), each with all its origins.

    `[[hosts]]` addresses × policy.sensitive_ports, `[[probes]]` entries (their ports, or
    policy.sensitive_ports), and discovered Azure SQL server FQDNs on port 1433. Each
    `[[hosts]]` address's SSH port is probed too: when it is no sensitive port, as a presence
    probe (`judged=False`), which only shows whether the host is there.
    """
    sensitive = sorted(set(config.policy.sensitive_ports))
    wanted: dict[tuple[str, int], list[str]] = {}

    def want(address: str, ports: Iterable[int], origin: str) -> None:
        normalised = normalise_host(address)
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
    targets = [ProbeTarget(address, port, tuple(origins)) for (address, port), origins in wanted.items()]
    presence: dict[tuple[str, int], list[str]] = {}
    for host in config.hosts:
        key = (normalise_host(host.address), host.port)
        if key not in wanted:
            presence.setdefault(key, []).append(f"hosts[{host.name}] SSH port (presence)")
    targets += [
        ProbeTarget(address, port, tuple(origins), judged=False)
        for (address, port), origins in presence.items()
    ]
    return targets


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


def _icmp_answer(sock: socket.socket) -> tuple[int, int, int, str] | None:
    """Return the (origin, ICMP type, code, sender) queued on the socket's error queue, or None."""
    try:
        _, ancillary, _, _ = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
    except (OSError, AttributeError):
        return None
    for _level, _kind, raw in ancillary:
        if len(raw) < 16:
            continue
        _errno, origin, icmp_type, code, _pad, _info, _data = struct.unpack_from("=IBBBBII", raw)
        sender = ""
        if len(raw) >= 24 and struct.unpack_from("=H", raw, 16)[0] == socket.AF_INET:
            sender = socket.inet_ntop(socket.AF_INET, raw[20:24])
        elif len(raw) >= 40 and struct.unpack_from("=H", raw, 16)[0] == socket.AF_INET6:
            sender = socket.inet_ntop(socket.AF_INET6, raw[24:40])
        if origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
            return origin, icmp_type, code, sender
    return None


def _ask_for_icmp_errors(sock: socket.socket, family: int) -> None:
    """Ask Linux to queue ICMP errors (type, code, sender) on the socket, best effort elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    except OSError:
        pass


def classify_failure(
    code: int, icmp: tuple[int, int, int, str] | None
) -> tuple[AttemptState | None, str, str | None]:
    """Return (state, detail, who answered) of a connect that failed with errno `code` after the SYN left.

    ECONNREFUSED is refused; ICMP "administratively prohibited" is filtered (a firewall
    rejects); EHOSTUNREACH/ENETUNREACH otherwise is unreachable, never filtered; anything else
    proves nothing (None).
    """
    sender = icmp[3] if icmp else None
    what = f"ICMP type {icmp[1]} code {icmp[2]} from {icmp[3] or 'unknown'}" if icmp else ""
    detail = f"{_errno_name(code)} ({what})" if what else _errno_name(code)
    if code == errno.ECONNREFUSED:
        return "refused", detail, sender
    if icmp is not None and (icmp[1], icmp[2]) in ADMIN_PROHIBITED.get(icmp[0], set()):
        return "filtered", f"{detail}: administratively prohibited", sender
    if code in UNREACHABLE_ERRNOS or code == errno.EHOSTDOWN:
        return "unreachable", detail, sender
    return None, f"connect failed: {detail}", sender


def connect_once(peer: str, family: int, port: int, timeout: float) -> ConnectAttempt:
    """Make one non-blocking TCP connect to peer:port and tell open, refused, filtered and unreachable apart."""
    started_at = utc_now()
    start = time.monotonic()
    source = ""

    def done(state: AttemptState | None, detail: str, answered_by: str | None = None) -> ConnectAttempt:
        elapsed = round((time.monotonic() - start) * 1000, 1)
        return ConnectAttempt(peer, state, detail, source, elapsed, started_at, answered_by)

    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        _ask_for_icmp_errors(sock, family)
        code = sock.connect_ex((peer, port))
        if code not in (0, errno.EINPROGRESS):
            if code == errno.ECONNREFUSED:
                return done("refused", "ECONNREFUSED", peer)
            return done(None, f"the vantage point could not send the connect: {_errno_name(code)}")
        try:
            source = str(sock.getsockname()[0])
        except OSError:
            source = ""
        if code == 0:
            return done("open", "connected", peer)
        poller = select.poll()  # not select(): descriptors above FD_SETSIZE under high concurrency
        poller.register(sock, select.POLLOUT)
        if not poller.poll(max(0, int(timeout * 1000))):
            return done("filtered", f"no answer in {timeout:g} s")
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == 0:
            return done("open", "connected", peer)
        icmp = _icmp_answer(sock)
        if code == errno.ECONNREFUSED and icmp is None:
            return done("refused", "ECONNREFUSED", peer)
        state, detail, sender = classify_failure(code, icmp)
        return done(state, detail, sender)


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
    unreadable: str | None = None
    """Why the recorded observation cannot be read (replay only): the target is an `error`."""

    def as_json(self) -> dict[str, object]:
        """Return the JSON form kept in a recording."""
        return {
            "address": self.target.address,
            "port": self.target.port,
            "origins": list(self.target.origins),
            "judged": self.target.judged,
            "resolve_error": self.resolve_error,
            "attempts": [a.as_json() for a in self.attempts],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TargetObservation:
        """Return an observation from its recorded JSON form.

        The target (address, port, origins) is the recording's structure: KeyError/ValueError/
        TypeError when malformed. What was observed (resolve_error, attempts) is the target's
        answer: when malformed, the observation is kept as `unreadable`, an error for its port.
        """
        judged = data.get("judged", True)
        if not isinstance(judged, bool):
            raise ValueError(f"judged: expected true or false, got {judged!r}")
        target = ProbeTarget(
            str(data["address"]), int(data["port"]), tuple(str(o) for o in data["origins"]), judged
        )
        try:
            error = data.get("resolve_error")
            if error is not None and not isinstance(error, str):
                raise ValueError(f"resolve_error: expected a string or null, got {error!r}")
            attempts = data.get("attempts")
            if not isinstance(attempts, list):
                raise ValueError(f"attempts: expected a list, got {attempts!r}")
            read = []
            for index, attempt in enumerate(attempts):
                try:
                    read.append(ConnectAttempt.from_json(attempt))
                except (KeyError, TypeError, ValueError) as exc:
                    raise ValueError(f"attempts[{index}]: {exc}") from None
        except ValueError as exc:
            return cls(target, None, (), unreadable=str(exc))
        return cls(target, error, tuple(read))

    def subject(
        self, vantage: VantagePoint, timeout: float, answered: Mapping[str, str] | None = None
    ) -> Subject[object]:
        """Return the subject of this target: a PortProbe fact, or an error that says why none.

        `answered` maps each peer that showed it is there to how (e.g. "port 22: refused"): a
        refused or filtered port counts only for a peer in it (`presence`); without it, only
        this target's own attempts count.
        """
        target = self.target
        origin = ", ".join(target.origins)
        if self.unreadable is not None:
            return unobservable(
                target.subject_id,
                f"the recorded probe of port {target.port} of {target.address} cannot be read: {self.unreadable}",
            )
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
        seen = dict(answered) if answered is not None else presence([self])
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
        opened = [a for a in self.attempts if a.state == "open"]
        if opened:
            worst: ConnectAttempt = opened[0]
        else:
            unreachable = [a for a in self.attempts if a.state == "unreachable"]
            silent = [a for a in self.attempts if a.state in ("refused", "filtered") and a.peer not in seen]
            unsent = [a for a in self.attempts if a.state is None]
            if unreachable or silent:
                reasons = [f"{a.peer}: {a.detail}" for a in unreachable]
                reasons += [
                    f"{a.peer} answered on no probed port (port {target.port}: {a.detail})" for a in silent
                ]
                reasons += [f"{a.peer}: {a.detail}" for a in unsent]
                where = vantage.describe(next((a.source for a in self.attempts if a.source), None))
                return unobservable(
                    target.subject_id,
                    f"host unreachable from {where}: {'; '.join(reasons)}; port {target.port} of "
                    f"{target.address} proves nothing (origin: {origin})",
                    sources,
                )
            if unsent:
                why = "; ".join(f"{a.peer}: {a.detail}" for a in unsent)
                return unobservable(
                    target.subject_id,
                    f"port {target.port} of {target.address} could not be probed from {vantage.describe()}: {why}",
                    sources,
                )
            worst = max(self.attempts, key=lambda a: STATE_RANK[a.state or "refused"])
        state: PortState = (
            "open" if worst.state == "open" else ("filtered" if worst.state == "filtered" else "refused")
        )
        fact = PortProbe(
            address=target.address,
            port=target.port,
            state=state,
            origin=origin,
            vantage_host=vantage.host,
            vantage_source=worst.source or ", ".join(vantage.source_addresses),
            elapsed_ms=max(a.elapsed_ms for a in self.attempts),
            peers=tuple(a.peer for a in self.attempts),
            detail=worst.detail,
            host_seen="; ".join(
                f"{peer} {seen[peer]}"
                for peer in dict.fromkeys(a.peer for a in self.attempts)
                if peer in seen
            ),
        )
        return observed(target.subject_id, fact, sources)


def presence(observations: Iterable[TargetObservation]) -> dict[str, str]:
    """Return every peer that showed it is there, and how (its first answering port and state).

    A peer is there when it answered itself on some probed port: a SYN-ACK, a RST, or an ICMP
    error it sent (a firewall on the host). Silence, or an ICMP error from a router, proves nothing.
    """
    seen: dict[str, str] = {}
    for observation in observations:
        for attempt in observation.attempts:
            if attempt.peer_answered and attempt.peer not in seen:
                seen[attempt.peer] = f"port {observation.target.port}: {attempt.state} ({attempt.detail})"
    return seen


@dataclass(frozen=True)
class ProbeRun:
    """Every observation of one probing run and where it was made from: what a recording keeps."""

    vantage: VantagePoint
    timeout: float
    observations: tuple[TargetObservation, ...]

    def subjects(self) -> list[Subject[object]]:
        """Return one subject per judged target, in probing order (presence probes make none).

        A refused or filtered port counts only when its host showed it is there on some port
        of this run (`presence`); otherwise the host is unreachable from here: an `error`.
        """
        seen = presence(self.observations)
        return [o.subject(self.vantage, self.timeout, seen) for o in self.observations if o.target.judged]

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
        """Return a recorded run; ValueError naming the problem when its structure is malformed.

        (`collectors.recording.check_probes_part` refuses such a recording at load already.)
        """
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
        subjects = run.subjects()
    when = run.vantage.started_at.isoformat().replace("+00:00", "Z")
    population.notes.append(
        f"probed from {run.vantage.describe()} at {when}"
        + (" (replayed from the recording)" if replay is not None else "")
        + ": a port that is refused or filtered here may still be open from elsewhere"
    )
    for subject in subjects:
        population.add(subject)
    return run
