"""Which work orders a run sends, and to which site.

Phase one reads what needs nothing else: Azure (a chunk of subscriptions per order, at the
site `[azure] site` names), and each site's hosts and databases. Phase two needs what Azure
published: each site's TLS endpoints (the Azure site also scans the App Service host names),
and the exposure probes, sent from every untrusted site (and every trusted one with
`[probing] from_trusted_sites`), each to every target: exposure is judged from where an
attacker is, not from where the server is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise

from collectors.azure.facts import DiscoveredEndpoint
from collectors.config.estate import EstateConfig
from collectors.config.sites import DistributedSettings
from collectors.distributed.orders import Kind, WorkOrder
from collectors.probes.collect import probe_targets
from collectors.tls.scanner import endpoints_to_scan


def _chunks(items: Sequence[str], size: int) -> list[tuple[str, ...]]:
    bounds = [*range(0, len(items), size), len(items)]
    return [tuple(items[start:end]) for start, end in pairwise(bounds)]


class OrderBook:
    """Makes the run's orders: each with the run id, a fresh task id and the run's config text."""

    def __init__(
        self, config: EstateConfig, settings: DistributedSettings, run_id: str, config_toml: str
    ) -> None:
        self.config = config
        self.settings = settings
        self.run_id = run_id
        self.config_toml = config_toml

    def order(self, site: str, kind: Kind, deadline: datetime, **what: object) -> WorkOrder:
        """Return one order of this run (a task id that names run, site and kind, plus a nonce)."""
        task_id = f"{self.run_id}.{site}.{kind}.{uuid.uuid4().hex[:12]}"
        return WorkOrder(
            run_id=self.run_id,
            task_id=task_id,
            site=site,
            kind=kind,
            config_toml=self.config_toml,
            config_path=str(self.config.path),
            deadline=deadline,
            **what,  # type: ignore[arg-type]
        )

    def phase_one(self, deadline: datetime) -> list[WorkOrder]:
        """Return the Azure chunks and every site's hosts and databases orders.

        Azure is chunked only over configured subscriptions and without Resource Graph (whose
        one query spans them all); otherwise one order reads every subscription.
        """
        config = self.config
        orders: list[WorkOrder] = []
        azure = config.azure
        if azure is not None:
            listed = azure.subscriptions
            if listed and not azure.use_resource_graph:
                for chunk in _chunks(listed, self.settings.subscriptions_per_task):
                    orders.append(self.order(azure.site, "azure", deadline, subscriptions=chunk))
            else:
                orders.append(self.order(azure.site, "azure", deadline))
        for site in config.site_names():
            hosts = tuple(h.name for h in config.hosts if h.site == site)
            if hosts:
                orders.append(self.order(site, "hosts", deadline, names=hosts))
            servers = tuple(d.name for d in config.databases if d.site == site)
            if servers:
                orders.append(self.order(site, "databases", deadline, names=servers))
        return orders

    def phase_two(
        self, deadline: datetime, discovered: Sequence[DiscoveredEndpoint], scan_discovered: bool
    ) -> list[WorkOrder]:
        """Return every site's TLS order and the probe orders, given what Azure published."""
        config = self.config
        orders: list[WorkOrder] = []
        configured = {t.id for t in endpoints_to_scan(config, [])}
        published = [
            d
            for d in (discovered if scan_discovered else [])
            if all(
                t.id not in configured
                for t in endpoints_to_scan(config.model_copy(update={"endpoints": []}), [d])
            )
        ]
        azure_site = config.azure.site if config.azure is not None else None
        for site in config.site_names():
            indexes = tuple(i for i, e in enumerate(config.endpoints) if e.site == site)
            mine = published if site == azure_site else []
            if indexes or mine:
                orders.append(
                    self.order(
                        site,
                        "tls",
                        deadline,
                        endpoints=indexes,
                        discovered=tuple(
                            {"host": d.host, "port": d.port, "kind": d.kind, "resource_id": d.resource_id}
                            for d in mine
                        ),
                    )
                )
        probing = config.probing
        if probing.enabled:
            targets = probe_targets(config, discovered if probing.include_azure_sql else [])
            wire = tuple(
                {"address": t.address, "port": t.port, "origins": list(t.origins), "judged": t.judged}
                for t in targets
            )
            if targets:
                for site in self.probing_sites():
                    orders.append(self.order(site, "probes", deadline, targets=wire))
        return orders

    def probing_sites(self) -> list[str]:
        """Return the sites that send exposure probes: the untrusted ones, and the trusted ones when asked."""
        config = self.config
        return [
            site
            for site in config.site_names()
            if config.vantage_of(site) == "untrusted" or config.probing.from_trusted_sites
        ]


def new_run_id() -> str:
    """Return a fresh run id: every order carries it, and an answer for another run is refused."""
    return uuid.uuid4().hex
