"""Azure SQL facts: servers (TLS floor, public access, location), firewall rules, databases, TDE."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError
from azure.mgmt.sql import SqlManagementClient

from collectors.azure.arm import ArmReader, describe_failure
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import FactStore, observed, unobservable
from collectors.provenance import Source
from collectors.regions import normalise_region

SQL_SERVERS = "azure.sql_servers"
SQL_FIREWALLS = "azure.sql_firewalls"
SQL_DATABASES = "azure.sql_databases"
AZURE_RESOURCES = "azure.resources"
POPULATIONS = (SQL_SERVERS, SQL_FIREWALLS, SQL_DATABASES, AZURE_RESOURCES)


@dataclass(frozen=True)
class FirewallRule:
    """A server-level firewall rule: an inclusive IPv4 start..end range."""

    name: str
    start_ip: str
    end_ip: str


@dataclass(frozen=True)
class SqlServer:
    """A logical Azure SQL server as ARM reports it."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    fqdn: str | None
    minimal_tls_version: str | None
    public_network_access: str | None


@dataclass(frozen=True)
class SqlServerFirewall:
    """A server's network exposure: public access switch and firewall rules (None if unreadable)."""

    server: SqlServer
    rules: tuple[FirewallRule, ...] | None
    rules_error: str | None = None


@dataclass(frozen=True)
class SqlDatabase:
    """A user database on an Azure SQL server, with its transparent data encryption state."""

    id: str
    name: str
    server_id: str
    location: str
    tde_state: str | None


@dataclass(frozen=True)
class LocatedResource:
    """Any collected Azure resource and the region it lives in (clause 8)."""

    id: str
    type: str
    location: str


def _resource_group(resource_id: str) -> str:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""


def _prop(model: Any, name: str) -> Any:
    """Read a property of a hybrid SDK model, tolerating older flattened shapes."""
    properties = getattr(model, "properties", None)
    if properties is not None and getattr(properties, name, None) is not None:
        return getattr(properties, name)
    return getattr(model, name, None)


def _text(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def is_system_database(name: str, kind: str | None) -> bool:
    """Return True for master and other system databases, which are not user data."""
    return name.lower() == "master" or "system" in (kind or "").lower()


class SqlCollector:
    """Reads Azure SQL for the subscriptions in scope and fills the SQL populations."""

    def __init__(self, arm: ArmReader, store: FactStore, progress: Callable[[str], None]) -> None:
        self.arm = arm
        self.store = store
        self.progress = progress
        self._clients: dict[str, SqlManagementClient] = {}

    def _client(self, subscription_id: str) -> SqlManagementClient:
        if subscription_id not in self._clients:
            self._clients[subscription_id] = SqlManagementClient(
                self.arm.credential, subscription_id, **self.arm.client_options()
            )
        return self._clients[subscription_id]

    def collect(self, subscriptions: list[AzureSubscription]) -> list[SqlServer]:
        """Collect servers, firewall rules, databases and TDE; return the servers found."""
        servers: list[tuple[SqlServer, tuple[Source, ...]]] = []
        for result in self.arm.map(self._servers_of, subscriptions):
            servers.extend(result)
        for server, sources in servers:
            self.store.population(SQL_SERVERS).add(observed(server.id, server, sources))
            self.store.population(AZURE_RESOURCES).add(
                observed(
                    server.id, LocatedResource(server.id, "Microsoft.Sql/servers", server.location), sources
                )
            )
        just_servers = [server for server, _ in servers]
        self.progress(f"azure: reading firewall rules and databases of {len(just_servers)} SQL server(s)")
        self.arm.map(self._firewall_of, just_servers)
        databases = [entry for found in self.arm.map(self._databases_of, just_servers) for entry in found]
        self.progress(f"azure: reading transparent data encryption of {len(databases)} database(s)")
        self.arm.map(self._tde_of, databases)
        return just_servers

    def _servers_of(self, subscription: AzureSubscription) -> list[tuple[SqlServer, tuple[Source, ...]]]:
        try:
            fetched = self.arm.fetch(
                lambda hook: self._client(subscription.id).servers.list(raw_response_hook=hook)
            )
        except AzureError as exc:
            reason = (
                f"SQL servers of subscription {subscription.id} could not be listed: {describe_failure(exc)}"
            )
            for name in POPULATIONS:
                self.store.population(name).add(unobservable(subscription.resource_id, reason))
            return []
        servers = []
        for model in fetched.value:
            server = SqlServer(
                id=str(model.id),
                name=str(model.name),
                subscription_id=subscription.id,
                resource_group=_resource_group(str(model.id)),
                location=normalise_region(str(model.location)),
                fqdn=_text(_prop(model, "fully_qualified_domain_name")),
                minimal_tls_version=_text(_prop(model, "minimal_tls_version")),
                public_network_access=_text(_prop(model, "public_network_access")),
            )
            servers.append((server, fetched.sources))
        return servers

    def _firewall_of(self, server: SqlServer) -> None:
        population = self.store.population(SQL_FIREWALLS)
        try:
            fetched = self.arm.fetch(
                lambda hook: self._client(server.subscription_id).firewall_rules.list_by_server(
                    server.resource_group, server.name, raw_response_hook=hook
                )
            )
        except AzureError as exc:
            reason = f"firewall rules could not be read: {describe_failure(exc)}"
            population.add(observed(server.id, SqlServerFirewall(server, None, reason)))
            return
        rules = tuple(
            FirewallRule(
                name=str(rule.name),
                start_ip=str(_prop(rule, "start_ip_address")),
                end_ip=str(_prop(rule, "end_ip_address")),
            )
            for rule in fetched.value
        )
        population.add(observed(server.id, SqlServerFirewall(server, rules), fetched.sources))

    def _databases_of(self, server: SqlServer) -> list[tuple[SqlServer, Any, tuple[Source, ...]]]:
        try:
            fetched = self.arm.fetch(
                lambda hook: self._client(server.subscription_id).databases.list_by_server(
                    server.resource_group, server.name, raw_response_hook=hook
                )
            )
        except AzureError as exc:
            reason = f"databases of server {server.name} could not be listed: {describe_failure(exc)}"
            for name in (SQL_DATABASES, AZURE_RESOURCES):
                self.store.population(name).add(unobservable(f"{server.id}/databases", reason))
            return []
        user_databases = []
        for model in fetched.value:
            if is_system_database(str(model.name), _text(getattr(model, "kind", None))):
                continue
            user_databases.append((server, model, fetched.sources))
        return user_databases

    def _tde_of(self, entry: tuple[SqlServer, Any, tuple[Source, ...]]) -> None:
        server, model, list_sources = entry
        database_id, name = str(model.id), str(model.name)
        location = normalise_region(str(model.location or server.location))
        self.store.population(AZURE_RESOURCES).add(
            observed(
                database_id,
                LocatedResource(database_id, "Microsoft.Sql/servers/databases", location),
                list_sources,
            )
        )
        try:
            fetched = self.arm.fetch(
                lambda hook: self._client(server.subscription_id).transparent_data_encryptions.get(
                    server.resource_group, server.name, name, "current", raw_response_hook=hook
                )
            )
        except AzureError as exc:
            reason = f"TDE state of database {name} could not be read: {describe_failure(exc)}"
            self.store.population(SQL_DATABASES).add(unobservable(database_id, reason, list_sources))
            return
        database = SqlDatabase(
            id=database_id,
            name=name,
            server_id=server.id,
            location=location,
            tde_state=_text(_prop(fetched.value, "state")),
        )
        self.store.population(SQL_DATABASES).add(
            observed(database_id, database, (*list_sources, *fetched.sources))
        )
