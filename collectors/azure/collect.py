"""The Azure part of a run: subscriptions in scope, then every Azure collector, once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from collectors.azure.arm import ArmReader, ReplayCredential, build_credential
from collectors.azure.recording import Recording
from collectors.azure.sql import POPULATIONS, SqlCollector
from collectors.azure.subscriptions import AzureSubscription, subscriptions_in_scope
from collectors.config import AuditConfig, AzureSource
from collectors.facts import FactStore, unobservable

AZURE_POPULATIONS = POPULATIONS


@dataclass
class AzureScope:
    """What the Azure side of the run covered, for the report's cover page."""

    endpoint: str
    subscriptions: list[AzureSubscription] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict[str, object]:
        """Return the JSON form used in evidence.json."""
        return {
            "endpoint": self.endpoint,
            "subscriptions": [{"id": s.id, "name": s.name, "state": s.state} for s in self.subscriptions],
            "missing_subscriptions": self.missing,
        }


def collect_azure(
    config: AuditConfig,
    source: AzureSource,
    store: FactStore,
    *,
    recording: Recording | None,
    replay: Recording | None,
    progress: Callable[[str], None],
) -> AzureScope:
    """Collect every Azure population into `store`; raise ArmUnavailable if ARM cannot be read."""
    started = time.monotonic()
    credential = ReplayCredential() if replay else build_credential(source)
    ca_bundle = str(config.resolve(source.ca_bundle)) if source.ca_bundle and not replay else None
    arm = ArmReader(source, credential, ca_bundle=ca_bundle, recording=recording, replay=replay)
    try:
        for name in AZURE_POPULATIONS:
            store.population(name)
        scope = subscriptions_in_scope(arm, source.subscriptions)
        result = AzureScope(endpoint=arm.endpoint, subscriptions=scope.subscriptions, missing=scope.missing)
        for missing in scope.missing:
            reason = f"subscription {missing} is configured but not visible to the credential"
            for name in AZURE_POPULATIONS:
                store.population(name).add(unobservable(f"/subscriptions/{missing}", reason))
        if not scope.subscriptions and not scope.missing:
            reason = (
                f"the credential can see no enabled subscription at {arm.endpoint}: nothing could be audited"
            )
            for name in AZURE_POPULATIONS:
                store.population(name).add(unobservable("/subscriptions", reason))
        names = ", ".join(s.name for s in scope.subscriptions) or "none"
        progress(f"azure: {len(scope.subscriptions)} subscription(s) in scope: {names}")
        servers = SqlCollector(arm, store, progress).collect(scope.subscriptions)
        in_subs = f"in subscription(s) {names}"
        store.population("azure.sql_servers").empty_reason = f"no Azure SQL servers {in_subs}"
        store.population("azure.sql_firewalls").empty_reason = f"no Azure SQL servers {in_subs}"
        store.population("azure.sql_databases").empty_reason = f"no Azure SQL user databases {in_subs}"
        store.population("azure.sql_databases").notes.append(
            "master and other system databases are not user databases and are not evaluated"
        )
        store.population("azure.resources").empty_reason = f"no collected Azure resources {in_subs}"
        databases = len(store.population("azure.sql_databases").subjects)
        result.seconds = time.monotonic() - started
        progress(
            f"azure: {len(servers)} SQL server(s), {databases} user database(s) read in {result.seconds:.1f} s"
        )
        return result
    finally:
        arm.close()
