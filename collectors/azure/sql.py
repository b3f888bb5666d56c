"""Azure SQL facts: servers (TLS floor, public access, location), firewall rules, databases, TDE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.sql.models import Database, Server

from collectors.azure.arm import describe_failure
from collectors.azure.base import (
    AZURE_ENDPOINTS,
    AZURE_RESOURCES,
    AzureCollector,
    prop,
    resource_group_of,
    text_of,
)
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed, unobservable
from collectors.provenance import Source
from collectors.regions import normalise_region

SQL_SERVERS = "azure.sql_servers"
SQL_FIREWALLS = "azure.sql_firewalls"
SQL_DATABASES = "azure.sql_databases"
SERVER_TYPE = "Microsoft.Sql/servers"
DATABASE_TYPE = "Microsoft.Sql/servers/databases"


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


def is_system_database(name: str, kind: str | None) -> bool:
    """Return True for master and other system databases, which are not user data."""
    return name.lower() == "master" or "system" in (kind or "").lower()


class SqlCollector(AzureCollector):
    """Reads Azure SQL for the subscriptions in scope and fills the SQL populations."""

    populations = (SQL_SERVERS, SQL_FIREWALLS, SQL_DATABASES, AZURE_RESOURCES, AZURE_ENDPOINTS)
    listed_types = (SERVER_TYPE, DATABASE_TYPE)

    def sql(self, subscription_id: str) -> SqlManagementClient:
        """Return the SQL management client of a subscription."""
        return self.client(SqlManagementClient, subscription_id)

    def collect(self, subscriptions: list[AzureSubscription]) -> None:
        """Collect servers, firewall rules, databases and TDE into the SQL populations."""
        servers = [entry for found in self.arm.map(self._servers_of, subscriptions) for entry in found]
        for server, sources in servers:
            self.population(SQL_SERVERS).add(observed(server.id, server, sources))
            self.locate(server.id, SERVER_TYPE, server.location, sources)
            if server.fqdn:
                self.publish_endpoint(server.fqdn, 1433, "azure-sql", server.id, sources)
        just_servers = [server for server, _ in servers]
        self.context.progress(
            f"azure: reading firewall rules and databases of {len(just_servers)} SQL server(s)"
        )
        self.arm.map(self._firewall_of, just_servers)
        databases = [entry for found in self.arm.map(self._databases_of, just_servers) for entry in found]
        self.context.progress(f"azure: reading transparent data encryption of {len(databases)} database(s)")
        self.arm.map(self._tde_of, databases)
        self.servers = just_servers

    def _servers_of(self, subscription: AzureSubscription) -> list[tuple[SqlServer, tuple[Source, ...]]]:
        try:
            fetched = self.listing(
                subscription.resource_id,
                SERVER_TYPE,
                lambda hook: self.sql(subscription.id).servers.list(raw_response_hook=hook),
                Server,
            )
        except AzureError as exc:
            self.could_not_list(subscription, SERVER_TYPE, exc, (SQL_SERVERS, SQL_FIREWALLS, SQL_DATABASES))
            return []
        servers = []
        for model in fetched.value:
            server = SqlServer(
                id=str(model.id),
                name=str(model.name),
                subscription_id=subscription.id,
                resource_group=resource_group_of(str(model.id)),
                location=normalise_region(str(model.location)),
                fqdn=text_of(prop(model, "fully_qualified_domain_name")),
                minimal_tls_version=text_of(prop(model, "minimal_tls_version")),
                public_network_access=text_of(prop(model, "public_network_access")),
            )
            servers.append((server, fetched.sources))
        return servers

    def _firewall_of(self, server: SqlServer) -> None:
        population = self.population(SQL_FIREWALLS)
        try:
            fetched = self.arm.fetch(
                lambda hook: self.sql(server.subscription_id).firewall_rules.list_by_server(
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
                start_ip=str(prop(rule, "start_ip_address")),
                end_ip=str(prop(rule, "end_ip_address")),
            )
            for rule in fetched.value
        )
        population.add(observed(server.id, SqlServerFirewall(server, rules), fetched.sources))

    def _databases_of(self, server: SqlServer) -> list[tuple[SqlServer, Any, tuple[Source, ...]]]:
        try:
            fetched = self.listing(
                server.id,
                DATABASE_TYPE,
                lambda hook: self.sql(server.subscription_id).databases.list_by_server(
                    server.resource_group, server.name, raw_response_hook=hook
                ),
                Database,
            )
        except AzureError as exc:
            reason = f"databases of server {server.name} could not be listed: {describe_failure(exc)}"
            for name in (SQL_DATABASES, AZURE_RESOURCES):
                self.population(name).add(unobservable(f"{server.id}/databases", reason))
            return []
        user_databases = []
        for model in fetched.value:
            if is_system_database(str(model.name), text_of(getattr(model, "kind", None))):
                continue
            user_databases.append((server, model, fetched.sources))
        return user_databases

    def _tde_of(self, entry: tuple[SqlServer, Any, tuple[Source, ...]]) -> None:
        server, model, list_sources = entry
        database_id, name = str(model.id), str(model.name)
        location = normalise_region(str(model.location or server.location))
        self.locate(database_id, DATABASE_TYPE, location, list_sources)
        try:
            fetched = self.arm.fetch(
                lambda hook: self.sql(server.subscription_id).transparent_data_encryptions.get(
                    server.resource_group, server.name, name, "current", raw_response_hook=hook
                )
            )
        except AzureError as exc:
            reason = f"TDE state of database {name} could not be read: {describe_failure(exc)}"
            self.population(SQL_DATABASES).add(unobservable(database_id, reason, list_sources))
            return
        database = SqlDatabase(
            id=database_id,
            name=name,
            server_id=server.id,
            location=location,
            tde_state=text_of(prop(fetched.value, "state")),
        )
        self.population(SQL_DATABASES).add(observed(database_id, database, (*list_sources, *fetched.sources)))
