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

from collectors.azure import reading
from collectors.azure.arm import SDK_PARSE_FAILURES, ArmReader, Fetched, MalformedAnswer, ResponseHook
from collectors.azure.facts import (
    AZURE_ENDPOINTS,
    AZURE_RESOURCES,
    UNKNOWN_REGION,
    DiscoveredEndpoint,
    LocatedResource,
)
from collectors.azure.reading import Unreadable
from collectors.azure.resource_graph import GraphInventory, models_from_rows
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import FactStore, Population, observed, unobservable
from collectors.messages import Reason
from collectors.regions import normalise_region
from reports.evidence import Source, msg

C = TypeVar("C")
R = TypeVar("R")
Failed = Callable[[Unreadable], None]
"""What a collector does when a read fails: usually mark some subjects `error` with the reason."""


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

    # ------------------------------------------------------------------ reading (one helper)
    def read(
        self,
        what: Reason,
        call: Callable[[ResponseHook], Any],
        *,
        failed: Failed,
        source_of: Callable[[Any], Source] | None = None,
        reveal: bool = True,
    ) -> Fetched | None:
        """Run one SDK call; on any failure hand `failed` the reason (naming the call) and return None.

        `what` heads the failure sentence ("TDE state of database emma could not be read").
        """
        return self.read_with(
            what, lambda: self.arm.fetch(call, source_of=source_of, reveal=reveal), failed=failed
        )

    def read_with(self, what: Reason, work: Callable[[], Fetched], *, failed: Failed) -> Fetched | None:
        """Run `work` (reads returning a Fetched, e.g. a Resource Graph query); on failure call `failed`."""
        outcome = reading.read(what, work)
        if isinstance(outcome, Unreadable):
            failed(outcome)
            return None
        return outcome

    def read_listing(
        self,
        what: Reason,
        scope: str,
        resource_type: str,
        arm_call: Callable[[ResponseHook], Any],
        model: Callable[..., Any],
        *,
        failed: Failed,
    ) -> Fetched | None:
        """Return the resources of `resource_type` under `scope` (a subscription or parent resource id).

        From the Resource Graph inventory when it covers the type, else from `arm_call`; on any
        failure `failed` gets the reason and None is returned.
        """
        inventory = self.context.inventory
        if inventory is not None and inventory.covers(resource_type) and inventory.failure is None:
            rows, sources = inventory.rows(scope, resource_type), inventory.sources

            def from_rows() -> Fetched:
                try:
                    return Fetched(models_from_rows(rows, model), sources)
                except SDK_PARSE_FAILURES as exc:
                    problem = msg(
                        "a row could not be read as {type} ({error_type})",
                        type=resource_type,
                        error_type=type(exc).__name__,
                    )
                    raise MalformedAnswer(reading.calls_of(sources), problem) from None

            return self.read_with(what, from_rows, failed=failed)
        return self.read(what, arm_call, failed=failed)

    def parsed(
        self,
        what: Reason,
        fetched: Fetched,
        parser: Callable[[Any], R],
        *,
        failed: Failed,
        reveal: bool = True,
    ) -> R | None:
        """Return `parser(fetched.value)`; when the answer cannot be parsed, call `failed` and return None."""
        outcome = reading.parse(what, fetched, parser, reveal=reveal)
        if isinstance(outcome, Unreadable):
            failed(outcome)
            return None
        return outcome

    def each(
        self,
        what: Reason,
        fetched: Fetched,
        parser: Callable[[Any], R],
        *,
        list_subject: str,
        populations: Iterable[str],
    ) -> list[R]:
        """Return the parsed items of a list answer; each item that cannot be parsed is an `error`.

        The unparseable item becomes an `error` subject of `populations` (under its own id, or
        `<list_subject>[<index>]` when it has none); every other item is parsed as usual.
        """
        names = tuple(populations)
        found: list[R] = []
        for subject, outcome in reading.parse_items(what, fetched, parser, list_subject):
            if isinstance(outcome, Unreadable):
                for name in names:
                    self.population(name).add(unobservable(subject, outcome.reason, outcome.sources))
            else:
                found.append(outcome)
        return found

    # ------------------------------------------------------------------ the shapes every collector reads
    def read_parsed(
        self,
        what: Reason,
        call: Callable[[ResponseHook], Any],
        parser: Callable[[Any], R],
        *,
        failed: Failed,
        source_of: Callable[[Any], Source] | None = None,
        reveal: bool = True,
    ) -> tuple[R, tuple[Source, ...]] | None:
        """Run one SDK call and parse its answer (`read`, then `parsed`); return the value and its sources.

        A failed call or an answer that cannot be parsed goes to `failed` (the reason headed by
        `what`), and None is returned.
        """
        fetched = self.read(what, call, failed=failed, source_of=source_of, reveal=reveal)
        if fetched is None:
            return None
        value = self.parsed(what, fetched, parser, failed=failed, reveal=reveal)
        return None if value is None else (value, fetched.sources)

    def read_items(
        self,
        what: Reason,
        scope: str,
        resource_type: str,
        arm_call: Callable[[ResponseHook], Any],
        model: Callable[..., Any],
        parser: Callable[[Any], R],
        *,
        item: Reason,
        list_subject: str,
        populations: Iterable[str],
        failed: Failed | None = None,
    ) -> tuple[list[R], Fetched] | None:
        """List `resource_type` under `scope` (`read_listing`) and parse each resource (`each`).

        A failed list goes to `failed`, by default making `list_subject` an `error` of
        `populations`, and None is returned; a resource that cannot be parsed is an `error` of
        `populations` (`item` heads its reason). Returns the parsed resources and the list answer.
        """
        names = tuple(populations)
        fetched = self.read_listing(
            what,
            scope,
            resource_type,
            arm_call,
            model,
            failed=self.errors_for(list_subject, names) if failed is None else failed,
        )
        if fetched is None:
            return None
        return self.each(item, fetched, parser, list_subject=list_subject, populations=names), fetched

    def read_items_in(
        self,
        subscription: AzureSubscription,
        resource_type: str,
        arm_call: Callable[[ResponseHook], Any],
        model: Callable[..., Any],
        parser: Callable[[Any], R],
        *,
        item: Reason,
        populations: Iterable[str],
    ) -> tuple[list[R], Fetched] | None:
        """List `resource_type` in a subscription and parse each resource (see `read_items`).

        A failed list makes `<subscription>/providers/<type>` an `error` of `populations` and of
        azure.resources (`unlisted`); so does each resource that cannot be parsed, its reason headed
        "<item> of subscription <id> could not be read" (`item`: "a SQL server").
        """
        names = tuple(populations)
        what, failed = self.unlisted(subscription, resource_type, names)
        return self.read_items(
            what,
            subscription.resource_id,
            resource_type,
            arm_call,
            model,
            parser,
            item=msg(
                "{item} of subscription {subscription} could not be read",
                item=item,
                subscription=subscription.id,
            ),
            list_subject=f"{subscription.resource_id}/providers/{resource_type}",
            populations=(*names, AZURE_RESOURCES),
            failed=failed,
        )

    def errors_for(
        self, subject_id: str, populations: Iterable[str], sources: Iterable[Source] = ()
    ) -> Failed:
        """Return a `failed` callback that makes `subject_id` an `error` in each of `populations`."""
        names, known = tuple(populations), tuple(sources)

        def failed(unreadable: Unreadable) -> None:
            for name in names:
                self.population(name).add(
                    unobservable(subject_id, unreadable.reason, (*known, *unreadable.sources))
                )

        return failed

    def unlisted(
        self, subscription: AzureSubscription, resource_type: str, populations: Iterable[str]
    ) -> tuple[Reason, Failed]:
        """Return (what, failed) for listing a type in a subscription: a failure makes the type's
        subject `<subscription>/providers/<type>` an `error` of `populations` and of azure.resources.
        """
        subject = f"{subscription.resource_id}/providers/{resource_type}"
        what = msg(
            "{type} of subscription {subscription} could not be listed",
            type=resource_type,
            subscription=subscription.id,
        )
        return what, self.errors_for(subject, (*populations, AZURE_RESOURCES))

    def publish_endpoint(
        self, host: str, port: int, kind: str, resource_id: str, sources: Iterable[Source]
    ) -> None:
        """Publish an endpoint for the TLS scanning and exposure probes (one subject per host:port)."""
        endpoint = DiscoveredEndpoint(host.lower().rstrip("."), port, kind, resource_id)
        subject = f"{endpoint.host}:{port}"
        self.population(AZURE_ENDPOINTS).add_first(observed(subject, endpoint, sources))

    def locate(
        self, resource_id: str, resource_type: str, location: str | None, sources: Iterable[Source]
    ) -> None:
        """Add a resource (or a replica, with a distinct id) to the 8.azure-region population."""
        region = normalise_region(location or UNKNOWN_REGION)
        located = LocatedResource(resource_id, resource_type, region)
        self.population(AZURE_RESOURCES).add(observed(resource_id, located, sources))
