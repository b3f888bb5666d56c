"""What every Azure collector shares: SDK clients per subscription, listing, failure bookkeeping.

A collector reads one area of Azure (SQL, storage, network, ...) for every subscription in
scope and fills its populations. Lists come from ARM by default, or from a Resource Graph
inventory fetched in bulk when `[azure] use_resource_graph = true`; either way they pass
through the same SDK models and parsers, so both paths give the same facts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from azure.core.exceptions import AzureError

from collectors.azure.arm import ArmReader, Fetched, ResponseHook, describe_failure
from collectors.azure.resource_graph import GraphInventory, models_from_rows
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import FactStore, Population, observed, unobservable
from collectors.provenance import Source
from collectors.regions import normalise_region

C = TypeVar("C")
AZURE_RESOURCES = "azure.resources"
"""Every collected resource with its region: the population of 8.azure-region."""
AZURE_ENDPOINTS = "azure.endpoints"
"""Network endpoints Azure resources publish (SQL FQDNs, App Service host names), for TLS scans."""


@dataclass(frozen=True)
class DiscoveredEndpoint:
    """A host name and port that an Azure resource serves, found while collecting it."""

    host: str
    port: int
    kind: str
    resource_id: str


@dataclass(frozen=True)
class LocatedResource:
    """Any collected Azure resource (or replica of one) and the region it lives in (clause 8)."""

    id: str
    type: str
    location: str


@dataclass
class AzureContext:
    """What a collector works with: the ARM reader, the fact store, progress, an optional inventory."""

    arm: ArmReader
    store: FactStore
    progress: Callable[[str], None]
    inventory: GraphInventory | None = None


def resource_group_of(resource_id: str) -> str:
    """Return the resource group named in an ARM resource id ('' when there is none)."""
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""


def text_of(value: Any) -> str | None:
    """Return an SDK value (enum or plain) as text, None staying None."""
    return None if value is None else str(getattr(value, "value", value))


def prop(model: Any, name: str) -> Any:
    """Read a property of an SDK model in its nested (`.properties.x`) or flattened (`.x`) form."""
    properties = getattr(model, "properties", None)
    if properties is not None and getattr(properties, name, None) is not None:
        return getattr(properties, name)
    return getattr(model, name, None)


class AzureCollector:
    """Base of the Azure collectors; subclasses implement `collect`."""

    populations: ClassVar[tuple[str, ...]] = ()
    """The populations this collector fills (declared up front, so 'nothing found' is visible)."""
    listed_types: ClassVar[tuple[str, ...]] = ()
    """ARM resource types this collector lists; Resource Graph can list them in bulk."""

    def __init__(self, context: AzureContext) -> None:
        self.context = context
        self.arm = context.arm
        self.store = context.store
        self._clients: dict[tuple[Callable[..., Any], str], Any] = {}
        self._clients_lock = threading.Lock()
        for name in self.populations:
            self.store.population(name)

    def collect(self, subscriptions: list[AzureSubscription]) -> None:
        """Read this collector's area in every subscription and fill its populations."""
        raise NotImplementedError

    def population(self, name: str) -> Population:
        """Return one of the run's populations."""
        return self.store.population(name)

    def client(self, factory: Callable[..., C], subscription_id: str) -> C:
        """Return the SDK client of `factory` for a subscription, built once per run."""
        key = (factory, subscription_id)
        with self._clients_lock:
            if key not in self._clients:
                self._clients[key] = factory(
                    self.arm.credential, subscription_id, **self.arm.client_options()
                )
            client: C = self._clients[key]
            return client

    def listing(
        self,
        scope: str,
        resource_type: str,
        arm_call: Callable[[ResponseHook], Any],
        model: Callable[..., Any],
    ) -> Fetched:
        """Return the resources of `resource_type` under `scope` (a subscription or parent resource id).

        From the Resource Graph inventory when it covers the type, else from `arm_call`; SDK
        errors propagate to the caller.
        """
        inventory = self.context.inventory
        if inventory is not None and inventory.covers(resource_type) and inventory.failure is None:
            rows = inventory.rows(scope, resource_type)
            return Fetched(value=models_from_rows(rows, model), sources=inventory.sources)
        return self.arm.fetch(arm_call)

    def could_not_list(
        self, subscription: AzureSubscription, resource_type: str, exc: AzureError, populations: Iterable[str]
    ) -> None:
        """Make every item of `populations` in this subscription and type an `error` saying why."""
        subject = f"{subscription.resource_id}/providers/{resource_type}"
        reason = (
            f"{resource_type} of subscription {subscription.id} could not be listed: {describe_failure(exc)}"
        )
        for name in (*populations, AZURE_RESOURCES):
            self.population(name).add(unobservable(subject, reason))

    def publish_endpoint(
        self, host: str, port: int, kind: str, resource_id: str, sources: Iterable[Source]
    ) -> None:
        """Publish an endpoint for the TLS scanning and exposure probes (one subject per host:port)."""
        endpoint = DiscoveredEndpoint(host.lower().rstrip("."), port, kind, resource_id)
        subject = f"{endpoint.host}:{port}"
        self.population(AZURE_ENDPOINTS).add(observed(subject, endpoint, sources))

    def locate(
        self, resource_id: str, resource_type: str, location: str | None, sources: Iterable[Source]
    ) -> None:
        """Add a resource (or a replica, with a distinct id) to the 8.azure-region population."""
        region = normalise_region(location or "unknown")
        located = LocatedResource(resource_id, resource_type, region)
        self.population(AZURE_RESOURCES).add(observed(resource_id, located, sources))
