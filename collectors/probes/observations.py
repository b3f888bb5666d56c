"""What a probing run observed, as a recording keeps it, and how it becomes subjects.

A run is the vantage point, the timeout and one observation per target: why its name did not
resolve, or the raw outcome of each TCP connect to the addresses it resolved to. The same
observations, live or replayed from a recording, are judged here into `PortProbe` facts or
`error` subjects: a refused or filtered port counts only when its host showed it is there.
"""

from __future__ import annotations

import errno
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from collectors.config.sites import LOCAL_SITE, Vantage
from collectors.facts import Subject, observed, unobservable
from collectors.messages import Reason, reason_from_json, reason_json, semicolon_list
from collectors.probes.facts import PortProbe, PortState
from reports.evidence import Source, msg, sha256_hex, utc_now

COLLECTOR = "probes"
AttemptState = Literal["open", "refused", "filtered", "unreachable"]
STATE_RANK: dict[str, int] = {"open": 3, "filtered": 2, "refused": 1}
"""When a name resolves to several addresses, the most exposed outcome is the port's state."""
ATTEMPT_STATES = ("open", "refused", "filtered", "unreachable")
UNREACHABLE_ERRNOS = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH})
"""ICMP host/network unreachable after the SYN left: the host is not reachable (never filtered),
unless the ICMP code says a firewall prohibited it (see `collectors.probes.connect.ADMIN_PROHIBITED`)."""


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
    site: str = LOCAL_SITE
    """The `[[sites]]` entry the probes were sent from ("local": the run's own machine)."""
    trust: Vantage = "untrusted"
    """What the site's network is to the estate: only an untrusted vantage point's view is judged."""

    def describe(self, source: str | None = None) -> str:
        """Return e.g. 'auditor-01 (192.0.2.2)', or 'site rivium: probe-01 (10.0.0.5)' away from "local"."""
        shown = source or ", ".join(self.source_addresses) or "no default route"
        where = f"{self.host} ({shown})"
        return where if self.site == LOCAL_SITE else f"site {self.site}: {where}"

    def subject_id(self, target: ProbeTarget) -> str:
        """Return the id of a target's item seen from here: tcp://address:port, plus ' from <site>' away from "local"."""
        own = target.subject_id
        return own if self.site == LOCAL_SITE else f"{own} from {self.site}"


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
        if state == "filtered" and texts["detail"] in {errno_name(code) for code in UNREACHABLE_ERRNOS}:
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


def errno_name(code: int) -> str:
    """Return the symbolic name of an errno code (ECONNREFUSED, ...), or "errno <n>"."""
    return errno.errorcode.get(code, f"errno {code}")


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
        """Return the JSON form kept in a recording (with why it is unreadable, when it is)."""
        document: dict[str, object] = {
            "address": self.target.address,
            "port": self.target.port,
            "origins": list(self.target.origins),
            "judged": self.target.judged,
            "resolve_error": self.resolve_error,
            "attempts": [a.as_json() for a in self.attempts],
        }
        if self.unreadable is not None:
            document["unreadable"] = self.unreadable
        return document

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
        unreadable = data.get("unreadable")
        if unreadable is not None:
            return cls(target, None, (), unreadable=str(unreadable))
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
        subject_id = vantage.subject_id(target)
        origin = ", ".join(target.origins)
        if self.unreadable is not None:
            return unobservable(
                subject_id,
                msg(
                    "the recorded probe of port {port} of {address} cannot be read: {error}",
                    port=target.port,
                    address=target.address,
                    error=self.unreadable,
                ),
            )
        if self.resolve_error is not None or not self.attempts:
            reason = self.resolve_error or "no address"
            raw: dict[str, object] = {
                "target": subject_id,
                "vantage": vantage.describe(),
                "resolve_error": reason,
            }
            text = f"resolve {target.address} from {vantage.describe()}: {reason}"
            said: Reason = self.resolve_error or msg("no address")
            return unobservable(
                subject_id,
                msg(
                    "{address} does not resolve from {vantage} ({error}); port {port} was not probed "
                    "(origin: {origin})",
                    address=target.address,
                    vantage=vantage.describe(),
                    error=said,
                    port=target.port,
                    origin=origin,
                ),
                [_source(raw, text, vantage.started_at)],
            )
        seen = dict(answered) if answered is not None else presence([self])
        sources = []
        for attempt in self.attempts:
            raw = {
                "target": subject_id,
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
                reasons: list[Reason] = [f"{a.peer}: {a.detail}" for a in unreachable]
                reasons += [
                    msg(
                        "{peer} answered on no probed port (port {port}: {detail})",
                        peer=a.peer,
                        port=target.port,
                        detail=a.detail,
                    )
                    for a in silent
                ]
                reasons += [f"{a.peer}: {a.detail}" for a in unsent]
                where = vantage.describe(next((a.source for a in self.attempts if a.source), None))
                return unobservable(
                    subject_id,
                    msg(
                        "host unreachable from {vantage}: {reasons}; port {port} of {address} proves nothing "
                        "(origin: {origin})",
                        vantage=where,
                        reasons=semicolon_list(reasons),
                        port=target.port,
                        address=target.address,
                        origin=origin,
                    ),
                    sources,
                )
            if unsent:
                why = "; ".join(f"{a.peer}: {a.detail}" for a in unsent)
                return unobservable(
                    subject_id,
                    msg(
                        "port {port} of {address} could not be probed from {vantage}: {error}",
                        port=target.port,
                        address=target.address,
                        vantage=vantage.describe(),
                        error=why,
                    ),
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
            vantage_site=vantage.site,
            vantage_trust=vantage.trust,
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
        return observed(subject_id, fact, sources)


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
    unanswered: Reason | None = None
    """Why this vantage point's probes never came back (a site that did not answer in time): every
    target is then an `error` from here, never absent and never a pass."""

    def subjects(self) -> list[Subject[object]]:
        """Return one subject per judged target, in probing order (presence probes make none).

        A refused or filtered port counts only when its host showed it is there on some port
        of this run (`presence`); otherwise the host is unreachable from here: an `error`.
        """
        if self.unanswered is not None:
            return [
                unobservable(
                    self.vantage.subject_id(o.target),
                    msg(
                        "port {port} of {address} was not probed from site {site}: {reason}",
                        port=o.target.port,
                        address=o.target.address,
                        site=self.vantage.site,
                        reason=self.unanswered,
                    ),
                )
                for o in self.observations
                if o.target.judged
            ]
        seen = presence(self.observations)
        return [o.subject(self.vantage, self.timeout, seen) for o in self.observations if o.target.judged]

    def as_json(self) -> dict[str, object]:
        """Return the JSON form kept in a recording (replayed with `ProbeRun.from_json`)."""
        document: dict[str, object] = {
            "vantage": {
                "host": self.vantage.host,
                "source_addresses": list(self.vantage.source_addresses),
                "started_at": self.vantage.started_at.isoformat(),
                "site": self.vantage.site,
                "trust": self.vantage.trust,
            },
            "timeout_s": self.timeout,
            "observations": [o.as_json() for o in self.observations],
        }
        if self.unanswered is not None:
            document["unanswered"] = reason_json(self.unanswered)
        return document

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProbeRun:
        """Return a recorded run; ValueError naming the problem when its structure is malformed.

        (`collectors.recording.check_probes_part` refuses such a recording at load already.)
        A recording made before sites existed has no site or trust: it was "local", untrusted.
        """
        try:
            vantage = data["vantage"]
            trust = vantage.get("trust", "untrusted")
            if trust not in ("trusted", "untrusted"):
                raise ValueError(f"vantage.trust: expected trusted or untrusted, got {trust!r}")
            unanswered = data.get("unanswered")
            return cls(
                vantage=VantagePoint(
                    host=str(vantage["host"]),
                    source_addresses=tuple(str(a) for a in vantage["source_addresses"]),
                    started_at=datetime.fromisoformat(str(vantage["started_at"])),
                    site=str(vantage.get("site", LOCAL_SITE)),
                    trust=trust,
                ),
                timeout=float(data["timeout_s"]),
                observations=tuple(TargetObservation.from_json(o) for o in data["observations"]),
                unanswered=reason_from_json(unanswered) if unanswered is not None else None,
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"recorded probe run is malformed: {type(exc).__name__}: {exc}") from None


def recorded_runs(part: Any) -> list[ProbeRun]:
    """Return the probe runs of a recording's `probes` part: one run (an object) or one per vantage point (a list).

    ValueError when a run is malformed, or when two runs claim the same site (one would hide the other).
    """
    runs = [ProbeRun.from_json(item) for item in (part if isinstance(part, list) else [part])]
    sites = [run.vantage.site for run in runs]
    for index, site in enumerate(sites):
        if site in sites[:index]:
            raise ValueError(f"recorded probe runs: a second run from site {site!r}")
    return runs


def runs_json(runs: list[ProbeRun]) -> dict[str, object] | list[dict[str, object]]:
    """Return the `probes` part of a recording: one run as an object (as before sites), several as a list."""
    return runs[0].as_json() if len(runs) == 1 else [run.as_json() for run in runs]
