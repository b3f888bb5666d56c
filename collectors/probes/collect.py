"""Probing a run's targets: which address:port pairs, all at once on a bounded pool, into `probes.ports`.

Targets are the `[[hosts]]` addresses × `policy.sensitive_ports` (and each host's SSH port as a
presence probe), the `[[probes]]` entries and the SQL server FQDNs discovered in Azure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from collectors.azure.facts import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.config.estate import EstateConfig
from collectors.config.sites import LOCAL_SITE, Vantage
from collectors.facts import FactStore, Subject
from collectors.probes.connect import connect_once, resolve, vantage_point
from collectors.probes.facts import PROBE_POPULATION
from collectors.probes.observations import (
    ProbeRun,
    ProbeTarget,
    TargetObservation,
    VantagePoint,
    recorded_runs,
)
from reports.evidence import Message, msg
from reports.setting_types import normalise_host

NOTHING_TO_PROBE = msg(
    "nothing to probe: no [[hosts]], no [[probes]] and no Azure SQL server FQDN was discovered"
)
SQL_PORT = 1433
DEFAULT_MAX_CONCURRENCY = 64
DEFAULT_TIMEOUT_SECONDS = 3.0


def probe_targets(config: EstateConfig, discovered: Iterable[DiscoveredEndpoint] = ()) -> list[ProbeTarget]:
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


def observe_probes(
    targets: Sequence[ProbeTarget],
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    site: str = LOCAL_SITE,
    trust: Vantage = "untrusted",
) -> ProbeRun:
    """Probe every target concurrently (at most `max_concurrency` lookups or connects at once).

    Each name is resolved once; every address it resolves to is connected to, and the most
    exposed outcome becomes the port's state.
    """
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")
    vantage = replace(vantage_point(), site=site, trust=trust)
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
    config: EstateConfig,
    store: FactStore,
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    replay: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    include_azure_sql: bool = True,
    at_sites: bool = False,
) -> list[ProbeRun]:
    """Fill `probes.ports` from the config and the Azure endpoints already in `store`.

    Run after the Azure collectors, so their SQL FQDNs are probed too. Live, the probes go out
    from this machine, the "local" site (its `vantage` from `[[sites]]`, untrusted unless
    declared). With `replay` (a recorded `ProbeRun.as_json()`, or a list of them, one per site),
    nothing is sent: the recorded observations become the subjects (`at_sites`: they are the
    sites' answers of this very run, not a recording replayed). Returns the runs (keep
    them in a recording), or [] when nothing is to be probed (the population then says why).
    """
    population = store.population(PROBE_POPULATION)
    population.empty_reason = NOTHING_TO_PROBE
    if replay is None:
        targets = probe_targets(config, discovered_endpoints(store) if include_azure_sql else [])
        if not targets:
            return []
        runs = [
            observe_probes(
                targets,
                max_concurrency=max_concurrency,
                timeout=timeout,
                site=LOCAL_SITE,
                trust=config.vantage_of(LOCAL_SITE),
            )
        ]
    else:
        # A replay judges what was observed: the recorded probes, whatever the addresses in the config.
        runs = recorded_runs(replay)
    for run in runs:
        population.notes.append(_vantage_note(run, replayed=replay is not None and not at_sites))
        for subject in run.subjects():
            population.add(subject)
    if not any(run.vantage.trust == "untrusted" for run in runs):
        population.notes.append(
            msg(
                "no untrusted vantage point probed the estate: what a trusted site reaches is allowed, so no "
                "item here shows that a port is closed to untrusted networks (declare an untrusted site)"
            )
        )
    return runs


def _vantage_note(run: ProbeRun, *, replayed: bool) -> Message:
    """Return the population note that says where (and when) one run's probes were sent from."""
    when = run.vantage.started_at.isoformat().replace("+00:00", "Z")
    if run.unanswered is not None:
        return msg(
            "site {site} did not probe: {reason}",
            site=run.vantage.site,
            reason=run.unanswered,
        )
    if run.vantage.trust == "trusted":
        return msg(
            "probed from the trusted vantage point {vantage} at {time}: shown as evidence, never judged",
            vantage=run.vantage.describe(),
            time=when,
        )
    if replayed:
        return msg(
            "probed from {vantage} at {time} (replayed from the recording): a port that is refused or "
            "filtered here may still be open from elsewhere",
            vantage=run.vantage.describe(),
            time=when,
        )
    return msg(
        "probed from {vantage} at {time}: a port that is refused or filtered here may still be open "
        "from elsewhere",
        vantage=run.vantage.describe(),
        time=when,
    )
