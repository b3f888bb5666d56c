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
from collectors.azure.facts import AZURE_ENDPOINTS
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
from collectors.config.estate import EstateConfig
from collectors.config.inventory import AzureSource
from collectors.facts import FactStore, unobservable
from collectors.messages import Reason, english_text
from collectors.recording import Recording
from reports.evidence import Message, msg, msg_n, to_json

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

FOUND_NOTHING: dict[str, Message] = {
    "azure.sql_servers": msg("no sql servers found"),
    "azure.sql_firewalls": msg("no sql firewalls found"),
    "azure.sql_databases": msg("no sql databases found"),
    "azure.resources": msg("no resources found"),
    "azure.endpoints": msg("no endpoints found"),
    "azure.sql_entra_admins": msg("no sql entra admins found"),
    "azure.sql_auditing": msg("no sql auditing found"),
    "azure.sql_backup_retention": msg("no sql backup retention found"),
    "azure.role_assignments": msg("no role assignments found"),
    "azure.security_contacts": msg("no security contacts found"),
    "azure.web_apps": msg("no web apps found"),
    "azure.storage_accounts": msg("no storage accounts found"),
    "azure.nsgs": msg("no nsgs found"),
    "azure.vms": msg("no vms found"),
    "azure.vm_patch_assessments": msg("no vm patch assessments found"),
    "azure.app_database_links": msg("no app database links found"),
}
"""The head of each Azure population's not-applicable reason when the subscriptions hold none."""


def found_nothing(name: str, subscriptions: list[str]) -> Message:
    """Return why an Azure population is empty: nothing of its kind in the subscriptions read."""
    head: Reason = FOUND_NOTHING.get(name) or f"no {name.removeprefix('azure.').replace('_', ' ')} found"
    return msg_n(
        "{nothing} in subscription {names}",
        "{nothing} in subscriptions {names}",
        "n",
        nothing=head,
        names=", ".join(subscriptions) or msg("none"),
        n=len(subscriptions),
    )


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
    credential: Reason = ""
    """How the auditor authenticated: 'default' (DefaultAzureCredential) or 'static-token'."""
    principal: dict[str, str] | None = None
    """Who it was: the access token's principal (`AzurePrincipal` as JSON), when the token says."""

    def as_json(self, render: Callable[[Message], str] = english_text) -> dict[str, object]:
        """Return the JSON form used in evidence.json (words in the language of `render`)."""
        return {
            "endpoint": self.endpoint,
            "credential": render(self.credential)
            if isinstance(self.credential, Message)
            else self.credential,
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

    outcome = reading.read(msg("the Resource Graph inventory could not be read"), query)
    if isinstance(outcome, Unreadable):
        return GraphInventory(types, None, failure=outcome.reason)
    return GraphInventory(types, outcome.value)


def collect_azure_in_chunks(
    config: EstateConfig,
    source: AzureSource,
    store: FactStore,
    *,
    replay: Recording,
    progress: Callable[[str], None],
) -> AzureScope:
    """Replay Azure chunk by chunk, as the sites collected it, into `store`; return the whole scope.

    A distributed run reads Azure in chunks of subscriptions, and a bulk query (Resource Graph's
    patch assessments) names its chunk's subscriptions in its body: replaying the whole list at
    once would ask what no site asked. So each chunk is replayed with its own subscriptions into a
    store of its own, and the stores are merged: a subject two chunks hold alike is kept once, two
    different ones under one id are both `error` (`Population.add`).
    """
    if replay.azure_unanswered is not None or not replay.azure_chunks:
        return collect_azure(config, source, store, recording=None, replay=replay, progress=progress)
    whole: AzureScope | None = None
    for chunk in replay.azure_chunks:
        part = FactStore()
        scope = collect_azure(
            config,
            source.model_copy(update={"subscriptions": list(chunk)}),
            part,
            recording=None,
            replay=replay,
            progress=progress,
        )
        for name in part.names():
            population, into = part.population(name), store.population(name)
            for subject in population.subjects:
                # The endpoints are a work list, first subject per host:port (as `publish_endpoint` adds them).
                if name == AZURE_ENDPOINTS:
                    into.add_first(subject)
                else:
                    into.add(subject)
            into.notes += [note for note in population.notes if note not in into.notes]
            if population.out_of_scope is not None:
                into.out_of_scope = population.out_of_scope
        if whole is None:
            whole = scope
            continue
        known = {s.id for s in whole.subscriptions}
        whole.subscriptions += [s for s in scope.subscriptions if s.id not in known]
        whole.missing += [m for m in scope.missing if m not in whole.missing]
        whole.requests += scope.requests
        whole.throttled += scope.throttled
        whole.seconds += scope.seconds
        whole.resource_graph = whole.resource_graph and scope.resource_graph
    assert whole is not None
    names = [s.name for s in whole.subscriptions]
    for name in AZURE_POPULATIONS:
        store.population(name).empty_reason = found_nothing(name, names)
    return whole


def _unanswered(source: AzureSource, store: FactStore, reason: Reason, started: float) -> AzureScope:
    """Return the scope of a run whose Azure observations never came back: every population is `error`.

    One error subject per configured subscription (or one for all of them), so no Azure control
    passes, and none is not applicable, on observations that were never made.
    """
    subjects = [f"/subscriptions/{sub}" for sub in source.subscriptions] or ["/subscriptions"]
    for name in AZURE_POPULATIONS:
        for subject in subjects:
            store.population(name).add(unobservable(subject, reason))
    return AzureScope(
        endpoint=source.endpoint,
        missing=list(source.subscriptions),
        credential=msg("none (replayed from a recording)"),
        seconds=time.monotonic() - started,
    )


def _mark_unanswered(
    subscriptions: list[AzureSubscription], store: FactStore, unanswered: dict[str, Reason]
) -> int:
    """Take the subscriptions whose observations never came back out of `subscriptions`: each is `error`.

    Returns how many were taken out.

    Their collectors are not run on what little was recorded (a list call made by another chunk
    is no evidence of this subscription's resources).
    """
    by_id = {key.lower(): reason for key, reason in unanswered.items()}
    taken = [s for s in subscriptions if s.id.lower() in by_id]
    for subscription in taken:
        subscriptions.remove(subscription)
        for name in AZURE_POPULATIONS:
            store.population(name).add(
                unobservable(f"/subscriptions/{subscription.id}", by_id[subscription.id.lower()])
            )
    return len(taken)


def collect_azure(
    config: EstateConfig,
    source: AzureSource,
    store: FactStore,
    *,
    recording: Recording | None,
    replay: Recording | None,
    progress: Callable[[str], None],
) -> AzureScope:
    """Collect every Azure population into `store`; raise ArmUnavailable if ARM cannot be read."""
    started = time.monotonic()
    credential = PrincipalObservingCredential(
        ReplayCredential() if replay is not None else build_credential(source)
    )
    ca_bundle = str(config.resolve(source.ca_bundle)) if source.ca_bundle and replay is None else None
    arm = ArmReader(source, credential, ca_bundle=ca_bundle, recording=recording, replay=replay)
    try:
        for name in AZURE_POPULATIONS:
            store.population(name)
        if replay is not None and replay.azure_unanswered is not None:
            return _unanswered(source, store, replay.azure_unanswered, started)
        scope = subscriptions_in_scope(arm, source.subscriptions)
        unanswered = 0
        if replay is not None and replay.unanswered_subscriptions:
            unanswered = _mark_unanswered(scope.subscriptions, store, replay.unanswered_subscriptions)
        result = AzureScope(
            endpoint=arm.endpoint,
            subscriptions=scope.subscriptions,
            missing=scope.missing,
            credential=msg("none (replayed from a recording)") if replay is not None else source.credential,
        )
        for missing in scope.missing:
            invisible = msg(
                "subscription {subscription} is configured but not visible to the credential",
                subscription=missing,
            )
            for name in AZURE_POPULATIONS:
                store.population(name).add(unobservable(f"/subscriptions/{missing}", invisible))
        for index, reason in enumerate(scope.unreadable):
            for name in AZURE_POPULATIONS:
                store.population(name).add(unobservable(f"/subscriptions[{index}]", reason, scope.sources))
        if not scope.subscriptions and not scope.missing and not scope.unreadable and not unanswered:
            nothing = msg(
                "the credential can see no enabled subscription at {endpoint}: nothing could be audited",
                endpoint=arm.endpoint,
            )
            for name in AZURE_POPULATIONS:
                store.population(name).add(unobservable("/subscriptions", nothing))
        names = ", ".join(s.name for s in scope.subscriptions) or "none"
        progress(f"azure: {len(scope.subscriptions)} subscription(s) in scope: {names}")
        context = AzureContext(arm=arm, store=store, progress=progress)
        if source.use_resource_graph and scope.subscriptions:
            context.inventory = _inventory(arm, scope.subscriptions)
            if context.inventory.failure:
                progress(
                    f"azure: Resource Graph unavailable ({english_text(context.inventory.failure)}); "
                    "listing through ARM"
                )
            result.resource_graph = context.inventory.failure is None
        for collector in COLLECTORS:
            collector(context).collect(scope.subscriptions)
        for name in AZURE_POPULATIONS:
            store.population(name).empty_reason = found_nothing(name, [s.name for s in scope.subscriptions])
        store.population("azure.sql_databases").notes.append(
            msg("master and other system databases are not user databases and are not evaluated")
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
