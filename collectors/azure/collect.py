"""The Azure part of a run: subscriptions in scope, an optional bulk inventory, then every collector."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from collectors.azure import reading
from collectors.azure.arm import ArmReader, Fetched, ReplayCredential, build_credential
from collectors.azure.authorization import RoleAssignmentCollector
from collectors.azure.base import AzureCollector, AzureContext
from collectors.azure.compute import ComputeCollector
from collectors.azure.connection_strings import ConnectionStringCollector
from collectors.azure.network import NetworkCollector
from collectors.azure.principal import PrincipalObservingCredential
from collectors.azure.reading import Unreadable
from collectors.azure.resource_graph import GraphInventory, ResourceGraph, inventory_query
from collectors.azure.security_contacts import SecurityContactCollector
from collectors.azure.sql import SqlCollector
from collectors.azure.sql_governance import SqlGovernanceCollector
from collectors.azure.storage import StorageCollector
from collectors.azure.subscriptions import AzureSubscription, subscriptions_in_scope
from collectors.azure.web import WebAppCollector
from collectors.config import AuditConfig, AzureSource
from collectors.facts import FactStore, unobservable
from collectors.recording import Recording
from reports.evidence import to_json

COLLECTORS: tuple[type[AzureCollector], ...] = (
    SqlCollector,
    SqlGovernanceCollector,
    RoleAssignmentCollector,
    SecurityContactCollector,
    WebAppCollector,
    StorageCollector,
    NetworkCollector,
    ComputeCollector,
    ConnectionStringCollector,  # after WebAppCollector; reads only when [azure] read_connection_strings
)
"""Every Azure collector, in the order they run (each is concurrent inside)."""

AZURE_POPULATIONS: tuple[str, ...] = tuple(dict.fromkeys(p for c in COLLECTORS for p in c.populations))


@dataclass
class AzureScope:
    """What the Azure side of the run covered, for the report's cover page and the benchmark."""

    endpoint: str
    subscriptions: list[AzureSubscription] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    requests: int = 0
    throttled: int = 0
    paced_seconds: float = 0.0
    seconds: float = 0.0
    resource_graph: bool = False
    credential: str = ""
    """How the auditor authenticated: 'default' (DefaultAzureCredential) or 'static-token'."""
    principal: dict[str, str] | None = None
    """Who it was: the access token's principal (`AzurePrincipal` as JSON), when the token says."""

    def as_json(self) -> dict[str, object]:
        """Return the JSON form used in evidence.json."""
        return {
            "endpoint": self.endpoint,
            "credential": self.credential,
            "principal": self.principal,
            "subscriptions": [
                {"id": s.id, "name": s.name, "state": s.state, "tenant_id": s.tenant_id}
                for s in self.subscriptions
            ],
            "missing_subscriptions": self.missing,
        }


def _inventory(arm: ArmReader, subscriptions: list[AzureSubscription]) -> GraphInventory:
    types = [t for collector in COLLECTORS for t in collector.listed_types]

    def query() -> Fetched:
        result = ResourceGraph(arm).query(inventory_query(types), [s.id for s in subscriptions])
        return Fetched(result, result.sources)

    outcome = reading.read("the Resource Graph inventory could not be read", query)
    if isinstance(outcome, Unreadable):
        return GraphInventory(types, None, failure=outcome.reason)
    return GraphInventory(types, outcome.value)


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
    credential = PrincipalObservingCredential(ReplayCredential() if replay else build_credential(source))
    ca_bundle = str(config.resolve(source.ca_bundle)) if source.ca_bundle and not replay else None
    arm = ArmReader(source, credential, ca_bundle=ca_bundle, recording=recording, replay=replay)
    try:
        for name in AZURE_POPULATIONS:
            store.population(name)
        scope = subscriptions_in_scope(arm, source.subscriptions)
        result = AzureScope(
            endpoint=arm.endpoint,
            subscriptions=scope.subscriptions,
            missing=scope.missing,
            credential="none (replayed from a recording)" if replay else source.credential,
        )
        for missing in scope.missing:
            reason = f"subscription {missing} is configured but not visible to the credential"
            for name in AZURE_POPULATIONS:
                store.population(name).add(unobservable(f"/subscriptions/{missing}", reason))
        for index, reason in enumerate(scope.unreadable):
            for name in AZURE_POPULATIONS:
                store.population(name).add(unobservable(f"/subscriptions[{index}]", reason, scope.sources))
        if not scope.subscriptions and not scope.missing and not scope.unreadable:
            reason = (
                f"the credential can see no enabled subscription at {arm.endpoint}: nothing could be audited"
            )
            for name in AZURE_POPULATIONS:
                store.population(name).add(unobservable("/subscriptions", reason))
        names = ", ".join(s.name for s in scope.subscriptions) or "none"
        progress(f"azure: {len(scope.subscriptions)} subscription(s) in scope: {names}")
        context = AzureContext(arm=arm, store=store, progress=progress)
        if source.use_resource_graph and scope.subscriptions:
            context.inventory = _inventory(arm, scope.subscriptions)
            if context.inventory.failure:
                progress(
                    f"azure: Resource Graph unavailable ({context.inventory.failure}); listing through ARM"
                )
            result.resource_graph = context.inventory.failure is None
        for collector in COLLECTORS:
            collector(context).collect(scope.subscriptions)
        in_subs = f"in subscription(s) {names}"
        for name in AZURE_POPULATIONS:
            population = store.population(name)
            population.empty_reason = f"no {name.removeprefix('azure.').replace('_', ' ')} found {in_subs}"
        store.population("azure.sql_databases").notes.append(
            "master and other system databases are not user databases and are not evaluated"
        )
        result.seconds = time.monotonic() - started
        result.requests, result.throttled = arm.requests_sent(), arm.requests_throttled()
        result.paced_seconds = arm.pacer.seconds_waited() if arm.pacer else 0.0
        if replay is not None:
            result.principal = replay.azure_principal
        elif credential.principal is not None:
            result.principal = to_json(credential.principal)
        if recording is not None:
            recording.azure_principal = result.principal
        resources = len(store.population("azure.resources").subjects)
        progress(
            f"azure: {resources} resource(s) read with {result.requests} request(s) in {result.seconds:.1f} s"
            + (f" ({result.throttled} throttled, retried)" if result.throttled else "")
        )
        return result
    finally:
        arm.close()
