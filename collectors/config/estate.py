"""The estate part of audit.toml as one model, with the checks that span its sections.

`EstateConfig` is what the collectors take: policy, inventory, attestations, waivers, databases
and applications, never the ticket settings (the run harness adds those in
controls/harness/config_file.py, which also reads the file).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from collectors.config.attestations import Attestation, SubProcessor
from collectors.config.databases import ApplicationEntry, DatabaseServerEntry
from collectors.config.inventory import (
    AzureSource,
    EndpointEntry,
    HostEntry,
    HostsSettings,
    ProbeEntry,
    ProbingSettings,
)
from collectors.config.policy import Policy
from collectors.config.sites import LOCAL_SITE, DistributedSettings, SiteEntry, Vantage
from collectors.config.trackers import BreachNotificationSettings, DataSubjectRequestSettings
from collectors.config.tracking import TrackingSettings
from collectors.config.waivers import Waiver
from collectors.tracking.trackerdb import TrackerDatabaseError, tracker_database
from reports.setting_types import normalise_host

ItemT = TypeVar("ItemT")


def first_repeat(items: Sequence[ItemT], identity: Callable[[ItemT], Hashable]) -> tuple[int, int] | None:
    """Return (index, index of its first occurrence) of the first item whose identity repeats, or None."""
    seen: dict[Hashable, int] = {}
    for index, item in enumerate(items):
        first = seen.setdefault(identity(item), index)
        if first != index:
            return index, first
    return None


class EstateConfig(BaseModel):
    """The estate part of the validated audit.toml (plus waivers.toml beside it): all but `[tickets]`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    path: Path
    sha256: str
    policy: Policy = Field(default_factory=Policy)
    azure: AzureSource | None = None
    hosts: list[HostEntry] = Field(default_factory=list)
    endpoints: list[EndpointEntry] = Field(default_factory=list)
    probes: list[ProbeEntry] = Field(default_factory=list)
    probing: ProbingSettings = Field(default_factory=ProbingSettings)
    hosts_settings: HostsSettings = Field(default_factory=HostsSettings)
    attestations: list[Attestation] = Field(default_factory=list)
    subprocessors: list[SubProcessor] | None = None
    waivers: list[Waiver] = Field(default_factory=list)
    databases: list[DatabaseServerEntry] = Field(default_factory=list)
    applications: list[ApplicationEntry] = Field(default_factory=list)
    sites: list[SiteEntry] = Field(default_factory=list)
    distributed: DistributedSettings | None = None
    data_subject_requests: DataSubjectRequestSettings | None = None
    breach_notifications: BreachNotificationSettings | None = None
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)

    @model_validator(mode="after")
    def _identities_unique(self) -> EstateConfig:
        """Refuse two entries that name the same subject: one of them would be judged, the other lost."""
        checks: list[tuple[str, Sequence[Any], Callable[[Any], Hashable], str, str]] = [
            ("hosts", self.hosts, lambda h: h.name.lower(), "name", "names are compared without case"),
            (
                "hosts",
                self.hosts,
                HostEntry.identity,
                "address",
                "the same address, port and jump host: one machine audited twice under two names",
            ),
            (
                "endpoints",
                self.endpoints,
                EndpointEntry.identity,
                "url",
                "the same host, port, sni and starttls",
            ),
            ("probes", self.probes, lambda e: normalise_host(e.address), "address", "merge their ports"),
            (
                "attestations",
                self.attestations,
                lambda a: (a.control, a.subject.lower()),
                "subject",
                "the same control and subject (compared without case)",
            ),
            (
                "subprocessors",
                self.subprocessors or [],
                lambda p: p.name.lower(),
                "name",
                "names are compared without case",
            ),
            (
                "databases",
                self.databases,
                lambda d: d.name.lower(),
                "name",
                "names are compared without case",
            ),
            (
                "applications",
                self.applications,
                lambda a: a.name.lower(),
                "name",
                "names are compared without case",
            ),
            ("waivers", self.waivers, Waiver.identity, "resource", "the same control and resource glob"),
        ]
        for section, entries, identity, key, why in checks:
            repeat = first_repeat(entries, identity)
            if repeat is not None:
                index, first = repeat
                shown = getattr(entries[index], key)
                raise ValueError(
                    f"{section}[{index}].{key}: {shown!r} repeats {section}[{first}] ({why}); "
                    "every subject is listed once, so that none is silently left out"
                )
        return self

    @model_validator(mode="after")
    def _applications_consistent(self) -> EstateConfig:
        engines = {server.name: server.engine for server in self.databases}
        for index, app in enumerate(self.applications):
            if app.server not in engines:
                raise ValueError(
                    f"applications[{index}].server: no [[databases]] entry is named {app.server!r}"
                )
            # 6c/6e names must fit the server's engine (schema.table on SQL, a collection on RavenDB).
            misfit = app.scan_shape_problems(engines[app.server])
            for key, problems in (("card_scan", misfit.columns), ("card_scan_tables", misfit.tables)):
                if problems:
                    raise ValueError(f"applications[{index}].{key}: {next(iter(problems.values()))}")
            if misfit.newsletter is not None:
                raise ValueError(f"applications[{index}].newsletter.table: {misfit.newsletter}")
        return self

    @model_validator(mode="after")
    def _hosts_consistent(self) -> EstateConfig:
        names = [host.name for host in self.hosts]
        for index, host in enumerate(self.hosts):
            if host.jump is not None and host.jump not in names:
                raise ValueError(f"hosts[{index}].jump: no host is named {host.jump!r}")
            seen, hop = {host.name}, host.jump
            while hop is not None:
                if hop in seen:
                    raise ValueError(
                        f"hosts[{index}].jump: the bastion chain of {host.name!r} loops back to {hop!r}"
                    )
                seen.add(hop)
                hop = next((h.jump for h in self.hosts if h.name == hop), None)
        return self

    @model_validator(mode="after")
    def _sites_known(self) -> EstateConfig:
        """Refuse an entry at a site no `[[sites]]` declares: its items would have no worker to read them."""
        names = [site.name for site in self.sites]
        repeat = first_repeat(names, lambda name: name)
        if repeat is not None:
            index, first = repeat
            raise ValueError(f"sites[{index}].name: {names[index]!r} repeats sites[{first}]")
        known = {LOCAL_SITE, *names}
        entries: list[tuple[str, Sequence[Any]]] = [
            ("hosts", self.hosts),
            ("endpoints", self.endpoints),
            ("probes", self.probes),
            ("databases", self.databases),
        ]
        for section, items in entries:
            for index, entry in enumerate(items):
                if entry.site not in known:
                    raise ValueError(
                        f"{section}[{index}].site: no [[sites]] entry is named {entry.site!r} "
                        f"(known: {', '.join(sorted(known))})"
                    )
        if self.azure is not None and self.azure.site not in known:
            raise ValueError(f"azure.site: no [[sites]] entry is named {self.azure.site!r}")
        site_of = {host.name: host.site for host in self.hosts}
        for index, host in enumerate(self.hosts):
            if host.jump is not None and site_of.get(host.jump, host.site) != host.site:
                raise ValueError(
                    f"hosts[{index}].jump: the bastion {host.jump!r} is at site {site_of[host.jump]!r}, "
                    f"but {host.name!r} is at site {host.site!r} (a host is reached through a bastion of its own site)"
                )
        return self

    def vantage_of(self, site: str) -> Vantage:
        """Return what a site's network is to the estate; "local" is untrusted unless declared."""
        return next((s.vantage for s in self.sites if s.name == site), "untrusted")

    def site_names(self) -> list[str]:
        """Return every site of the config: "local" first, then the declared ones in order."""
        return list(dict.fromkeys([LOCAL_SITE, *(site.name for site in self.sites)]))

    @model_validator(mode="after")
    def _trust_is_bounded(self) -> EstateConfig:
        problems = self.policy.trust_problems()
        if problems:
            raise ValueError(problems[0])
        return self

    @model_validator(mode="after")
    def _tracker_database_usable(self) -> EstateConfig:
        """Refuse a `[tracking] tracker_database` that is missing, unreadable, not JSON or of the wrong shape.

        Checked where the whole audit.toml is loaded (the harness's AuditConfig, a subclass), before
        anything is collected. A site worker validates the estate part alone (EstateConfig itself,
        collectors.distributed.orders) and never opens a page, so it need not carry the file.
        """
        path = self.tracker_database_file()
        if path is None or type(self) is EstateConfig:
            return self
        try:
            tracker_database(path)
        except TrackerDatabaseError as exc:
            raise ValueError(f"tracking.tracker_database: {exc}") from None
        return self

    def tracker_database_file(self) -> Path | None:
        """Return the configured tracker database resolved against the config's folder, or None.

        None means the shipped copy of Ghostery's TrackerDB (collectors/tracking/trackerdb.json).
        """
        configured = self.tracking.tracker_database
        return None if configured is None else self.resolve(configured.expanduser())

    def resolve(self, relative: Path) -> Path:
        """Return a path from the config resolved against the config file's folder."""
        return relative if relative.is_absolute() else (self.path.parent / relative)
