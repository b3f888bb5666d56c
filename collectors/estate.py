"""Collect once, evaluate many: every source named in the config, gathered before any control runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from collectors.attestations import collect_attestations
from collectors.azure.collect import AZURE_POPULATIONS, AzureScope, collect_azure, collect_azure_in_chunks
from collectors.config.estate import EstateConfig
from collectors.databases.collect import DatabasesScope, collect_databases
from collectors.databases.termination import collect_terminated_applications
from collectors.distributed.merging import MergedRecording, sites_json
from collectors.facts import FactStore
from collectors.hosts.collect import HostsScope, collect_hosts
from collectors.hosts.facts import HOST_POPULATIONS
from collectors.probes.collect import NOTHING_TO_PROBE, collect_probes, discovered_endpoints, probe_targets
from collectors.probes.facts import PROBE_POPULATION
from collectors.probes.observations import runs_json
from collectors.recording import Recording
from collectors.tls.scanner import collect_tls
from collectors.trackers.collect import collect_trackers
from collectors.tracking.pages import collect_tracking
from reports.evidence import Message, msg, to_json

DiscoveryRule = Literal["no-azure", "on", "off", "auto-public-cloud", "auto-not-public-cloud"]


@dataclass(frozen=True)
class DiscoveredTlsDecision:
    """Whether the endpoints Azure publishes (App Service host names) are TLS-scanned in this run, and why.

    Recorded in the run's scope and shown on the report's cover, so that an estate audited
    through a sovereign cloud, Azure Stack or a proxy never gets config-only TLS coverage
    without saying so.
    """

    setting: str
    """`[azure] scan_discovered_endpoints` as configured: "auto", "true" or "false" ("" without [azure])."""
    scanned: bool
    rule: DiscoveryRule
    endpoint: str | None
    """The ARM endpoint the auto rule looked at (None without [azure])."""


def discovered_tls_decision(config: EstateConfig) -> DiscoveredTlsDecision:
    """Return whether endpoints published by Azure are TLS-scanned, from `[azure] scan_discovered_endpoints`.

    true / false decide; "auto" (the default) scans only when the ARM endpoint is a Microsoft
    cloud's Resource Manager, because an emulator or proxy may publish names that resolve
    nowhere. Without an [azure] section there is nothing to discover.
    """
    azure = config.azure
    if azure is None:
        return DiscoveredTlsDecision(setting="", scanned=False, rule="no-azure", endpoint=None)
    setting = azure.scan_discovered_endpoints
    if setting == "auto":
        public = azure.is_public_cloud()
        rule: DiscoveryRule = "auto-public-cloud" if public else "auto-not-public-cloud"
        return DiscoveredTlsDecision(setting="auto", scanned=public, rule=rule, endpoint=azure.endpoint)
    return DiscoveredTlsDecision(
        setting="true" if setting else "false",
        scanned=bool(setting),
        rule="on" if setting else "off",
        endpoint=azure.endpoint,
    )


@dataclass
class Estate:
    """The facts of one run and what was in scope."""

    store: FactStore
    azure: AzureScope | None
    recording: Recording | None
    hosts: HostsScope | None = None
    databases: DatabasesScope | None = None
    tls_discovery: DiscoveredTlsDecision | None = None
    sites: MergedRecording | None = None
    """With [distributed]: what every site was sent and what it returned (the cover lists it)."""
    config: EstateConfig | None = None

    def scope_json(self, render: Callable[[Message], str]) -> dict[str, object]:
        """Return what was in scope, per source and population: evidence.json's `run.scope`.

        The populations' notes and out-of-scope reasons are written as text in the run's language:
        `render` is the run's translator (collectors never load the catalogs themselves).
        """

        def text(reason: Message | str) -> str:
            return render(reason) if isinstance(reason, Message) else reason

        populations: dict[str, object] = {}
        for name in self.store.names():
            population = self.store.population(name)
            out_of_scope = population.out_of_scope
            populations[name] = {
                "count": len(population.subjects),
                "out_of_scope": text(out_of_scope) if out_of_scope is not None else None,
                "notes": [text(note) for note in population.notes],
            }
        return {
            "azure": self.azure.as_json(render) if self.azure else None,
            "hosts": self.hosts.as_json() if self.hosts else None,
            "databases": self.databases.as_json() if self.databases else None,
            "tls_discovery": to_json(self.tls_discovery),
            "populations": populations,
            **(
                {"sites": sites_json(self.config, self.sites.accounts, render)}
                if self.sites is not None and self.config is not None
                else {}
            ),
        }


NO_SCOPE: dict[str, object] = {
    "azure": None,
    "hosts": None,
    "databases": None,
    "tls_discovery": None,
    "populations": {},
}
"""`run.scope` of a run that collected nothing (it ended before the estate was gathered)."""


def configured_sources(config: EstateConfig) -> list[str]:
    """Return the config's sections that put something in scope, e.g. ["[azure]", "[[hosts]]"].

    Empty means the run could only produce not_applicable items: conftest.py refuses that
    (exit 4, "nothing in scope") unless --allow-empty-scope is given. An empty
    `subprocessors = []` register is no source: it is judged not applicable too.
    """
    sections = {
        "[azure]": config.azure is not None,
        "[[hosts]]": bool(config.hosts),
        "[[endpoints]]": bool(config.endpoints),
        "[[probes]]": bool(config.probes),
        "[[databases]]": bool(config.databases),
        "[[attestations]]": bool(config.attestations),
        "[[subprocessors]]": bool(config.subprocessors),
        "[data_subject_requests]": config.data_subject_requests is not None,
        "[breach_notifications]": config.breach_notifications is not None,
    }
    return [name for name, present in sections.items() if present]


def _probe(
    config: EstateConfig,
    store: FactStore,
    *,
    recording: Recording | None,
    replay: Recording | None,
    at_sites: bool = False,
) -> None:
    """Probe the sensitive ports from this vantage point (after Azure, whose SQL FQDNs are probed too)."""
    settings = config.probing
    if not settings.enabled:
        store.mark_out_of_scope(
            [PROBE_POPULATION], msg("exposure probes are switched off ([probing] enabled = false)")
        )
        return
    if replay is not None and replay.probes is None:
        discovered = discovered_endpoints(store) if settings.include_azure_sql else []
        if not probe_targets(config, discovered):
            store.population(PROBE_POPULATION).empty_reason = NOTHING_TO_PROBE  # as the live run said
        else:
            store.mark_out_of_scope(
                [PROBE_POPULATION], msg("the replayed recording holds no exposure probes")
            )
        return
    runs = collect_probes(
        config,
        store,
        max_concurrency=settings.max_concurrency,
        timeout=settings.timeout_seconds,
        replay=replay.probes if replay is not None else None,
        include_azure_sql=settings.include_azure_sql,
        at_sites=at_sites,
    )
    if recording is not None and runs:
        recording.probes = runs_json(runs)


def collect_estate(
    config: EstateConfig,
    *,
    run_date: date,
    record: Path | None = None,
    replay: Recording | None = None,
    progress: Callable[[str], None] = lambda line: None,
    at_sites: bool = False,
) -> Estate:
    """Return every fact the controls need; sources the config leaves out are marked out of scope.

    `at_sites`: `replay` is the merged answer of this run's sites ([distributed]), not an old
    recording, and the scope says so.
    """
    store = FactStore()
    recording = Recording(endpoint="", run_date=run_date.isoformat()) if record else None
    azure_scope = None
    if config.azure is None:
        store.mark_out_of_scope(
            AZURE_POPULATIONS, msg("Azure is out of scope: the config has no [azure] section")
        )
    else:
        if recording is not None:
            recording.endpoint = config.azure.endpoint
        if replay is not None and replay.azure_chunks:
            azure_scope = collect_azure_in_chunks(
                config, config.azure, store, replay=replay, progress=progress
            )
        else:
            azure_scope = collect_azure(
                config, config.azure, store, recording=recording, replay=replay, progress=progress
            )
        if at_sites:
            azure_scope.credential = msg(
                "read at site {site} with the credential there ({credential})",
                site=config.azure.site,
                credential=config.azure.credential,
            )
    hosts_scope = None
    if not config.hosts:
        store.mark_out_of_scope(HOST_POPULATIONS, msg("hosts are out of scope: the config has no [[hosts]]"))
    else:
        hosts_scope = collect_hosts(config, store, recording=recording, replay=replay, progress=progress)
    tls_discovery = discovered_tls_decision(config)
    collect_tls(
        config,
        store,
        include_discovered=tls_discovery.scanned,
        replaying=replay is not None,
        recorded=replay.tls if replay is not None else None,
        record=(lambda items: setattr(recording, "tls", items)) if recording is not None else None,
        progress=progress,
    )
    collect_tracking(
        config,
        store,
        replaying=replay is not None,
        recorded=replay.tracking if replay is not None else None,
        record=(lambda items: setattr(recording, "tracking", items)) if recording is not None else None,
        progress=progress,
    )
    _probe(config, store, recording=recording, replay=replay, at_sites=at_sites)
    collect_attestations(config, store)
    databases_scope = collect_databases(config, store, recording=recording, replay=replay, progress=progress)
    collect_terminated_applications(config, store)
    collect_trackers(config, store, recording=recording, replay=replay, progress=progress)
    return Estate(
        store=store,
        azure=azure_scope,
        recording=recording,
        hosts=hosts_scope,
        databases=databases_scope,
        tls_discovery=tls_discovery,
    )
