"""The hosts part of a run: one SSH connection and one batched fact script per host, in parallel.

Each host's connection is opened once (through its bastion when `jump` names one), used for
all its facts and closed at the end. A host that cannot be reached, refuses its key or answers
garbage becomes `error` for every host control, and only that host.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from collectors.config.estate import EstateConfig
from collectors.config.inventory import HostEntry
from collectors.facts import FactStore, observed, unobservable
from collectors.hosts.commands import CommandResult, GatherCommand, HostError
from collectors.hosts.facts import HOST_POPULATIONS, HOSTS, LINUX_HOSTS, WINDOWS_HOSTS, HostFacts
from collectors.messages import Reason
from collectors.recording import HostRun, Recording
from reports.evidence import Source, msg, sha256_hex, utc_now

COLLECTOR = "hosts.ssh"


@dataclass
class HostsScope:
    """What the hosts side of the run covered, for the report and the benchmark."""

    hosts: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, object]:
        """Return the JSON form used in evidence.json."""
        return {"hosts": self.hosts, "in_error": self.unreachable}


def gather_command(os_family: str, host: HostEntry) -> GatherCommand:
    """Return the batched fact command for a host of an OS family."""
    if os_family == "windows":
        from collectors.hosts.windows.command import windows_command

        return windows_command()
    from collectors.hosts.linux.command import linux_command

    return linux_command(elevate=host.sudo)


def parse_facts(os_family: str, result: CommandResult, host: HostEntry) -> HostFacts:
    """Return the facts in a host's fact-script output; raise HostOutputError when it is not that."""
    if os_family == "windows":
        from collectors.hosts.windows.parse import parse_windows

        return parse_windows(result, host)
    from collectors.hosts.linux.parse import parse_linux

    return parse_linux(result, host)


class SessionPool:
    """One SSH session per host name, opened on first use (bastions first), closed together."""

    def __init__(self, config: EstateConfig) -> None:
        self.config = config
        self.by_name = {host.name: host for host in config.hosts}
        self._sessions: dict[str, Any] = {}
        self._failures: dict[str, Reason] = {}
        self._locks: dict[str, threading.Lock] = {name: threading.Lock() for name in self.by_name}

    def session(self, name: str) -> Any:
        """Return the open session of host `name`; raise HostError when it cannot be opened."""
        from collectors.hosts.ssh import open_session

        with self._locks[name]:
            if name in self._failures:
                raise HostError(self._failures[name])
            if name not in self._sessions:
                host = self.by_name[name]
                try:
                    via = None
                    if host.jump is not None:
                        try:
                            via = self.session(host.jump)
                        except HostError as exc:
                            raise HostError(
                                msg(
                                    "bastion {jump} of {host} is unavailable: {error}",
                                    jump=host.jump,
                                    host=name,
                                    error=exc.reason,
                                )
                            ) from None
                    self._sessions[name] = open_session(
                        host,
                        resolve=self.config.resolve,
                        via=via,
                        max_output_bytes=self.config.hosts_settings.max_output_bytes,
                    )
                except HostError as exc:
                    self._failures[name] = exc.reason
                    raise
            return self._sessions[name]

    def close(self) -> None:
        """Close every session (targets before their bastions)."""
        for name in sorted(self._sessions, key=lambda n: self.by_name[n].jump is None):
            self._sessions[name].close()


def _detect_os(session: Any) -> str:
    """Return "linux" when `uname -s` says so, else "windows" (cmd and PowerShell have no uname)."""
    result = session.run("uname -s", timeout=30)
    return "linux" if result.exit_code == 0 and result.stdout.strip().lower() == b"linux" else "windows"


def _gather_live(pool: SessionPool, host: HostEntry) -> HostRun:
    started = utc_now()
    try:
        session = pool.session(host.name)
        os_family = host.os if host.os != "auto" else _detect_os(session)
        command = gather_command(os_family, host)
        result = session.run(command.command, command.stdin, timeout=host.command_timeout_seconds)
    except HostError as exc:
        return HostRun(host.name, host.os, "", -1, b"", b"", started, error=exc.reason)
    digest = hashlib.sha256(command.command.encode() + (command.stdin or b"")).hexdigest()
    return HostRun(
        host=host.name,
        os=os_family,
        command_sha256=digest,
        exit_code=result.exit_code,
        stdout=result.stdout,
        stderr=result.stderr,
        recorded_at=utc_now(),
        host_key=getattr(session, "host_key_fingerprint", None),
    )


def _populations_of(host: HostEntry, os_family: str | None) -> tuple[str, ...]:
    if os_family in ("windows", "linux"):
        return (HOSTS, WINDOWS_HOSTS if os_family == "windows" else LINUX_HOSTS)
    return (HOSTS, WINDOWS_HOSTS, LINUX_HOSTS)


def _host_reason(host: HostEntry, error: Reason) -> Reason:
    """Return why a host's items are `error`: the host, its address, and what went wrong."""
    return msg(
        "host {host} ({address}:{port}): {error}",
        host=host.name,
        address=host.address,
        port=host.port,
        error=error,
    )


def _judge_run(host: HostEntry, run: HostRun, store: FactStore) -> bool:
    """File a host's facts (or its error) into the populations; return True when facts were read."""
    if run.error is not None:
        reason = _host_reason(host, run.error)
        for name in _populations_of(host, host.os if host.os != "auto" else None):
            store.population(name).add(unobservable(host.name, reason))
        return False
    source = Source(
        collector=COLLECTOR,
        call=f"ssh {host.user}@{host.address}:{host.port} {run.os} fact script (command sha256 {run.command_sha256[:16]})"
        + (f", host key {run.host_key}" if run.host_key else ""),
        collected_at=run.recorded_at,
        sha256=sha256_hex(run.stdout),
        status=run.exit_code,
    )
    try:
        facts = parse_facts(run.os, CommandResult(run.exit_code, run.stdout, run.stderr), host)
    except HostError as exc:
        reason = _host_reason(host, exc.reason)
        for name in _populations_of(host, run.os):
            store.population(name).add(unobservable(host.name, reason, [source]))
        return False
    except Exception as exc:  # a parser bug on odd output: this host's items are errors, the run goes on
        reason = _host_reason(
            host,
            msg(
                "the {os} fact script's output could not be parsed ({error_type}: {detail})",
                os=run.os or msg("host"),
                error_type=type(exc).__name__,
                detail=str(exc)[:200],
            ),
        )
        for name in _populations_of(host, run.os if run.os in ("windows", "linux") else None):
            store.population(name).add(unobservable(host.name, reason, [source]))
        return False
    for name in _populations_of(host, facts.os.family):
        store.population(name).add(observed(host.name, facts, [source]))
    return True


def collect_hosts(
    config: EstateConfig,
    store: FactStore,
    *,
    recording: Recording | None,
    replay: Recording | None,
    progress: Callable[[str], None],
) -> HostsScope:
    """Gather every `[[hosts]]` entry into the host populations (bounded concurrency)."""
    started = time.monotonic()
    for name in HOST_POPULATIONS:
        store.population(name)
    store.population(HOSTS).empty_reason = msg("no [[hosts]] in the config")
    store.population(WINDOWS_HOSTS).empty_reason = msg("no Windows host among the [[hosts]]")
    store.population(LINUX_HOSTS).empty_reason = msg("no Linux host among the [[hosts]]")
    progress(f"hosts: reading {len(config.hosts)} host(s) over SSH")
    pool = SessionPool(config)
    scope = HostsScope(hosts=[h.name for h in config.hosts])

    def gather(host: HostEntry) -> HostRun:
        if replay is not None:
            recorded = replay.host_runs.get(host.name)
            return recorded or HostRun(
                host.name,
                host.os,
                "",
                -1,
                b"",
                b"",
                utc_now(),
                error=msg("not in the recording being replayed"),
            )
        return _gather_live(pool, host)

    try:
        with ThreadPoolExecutor(max_workers=config.hosts_settings.max_concurrency) as workers:
            futures: list[tuple[HostEntry, Future[HostRun]]] = [
                (host, workers.submit(gather, host)) for host in config.hosts
            ]
            for host, future in futures:
                run = future.result()
                if recording is not None:
                    recording.put_host(run)
                if not _judge_run(host, run, store):
                    scope.unreachable.append(host.name)
    finally:
        pool.close()
    scope.seconds = time.monotonic() - started
    errors = f", {len(scope.unreachable)} in error" if scope.unreachable else ""
    progress(f"hosts: {len(config.hosts)} host(s) read in {scope.seconds:.1f} s{errors}")
    return scope
