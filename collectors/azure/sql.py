"""Azure SQL facts: servers (TLS floor, public access, location), firewall rules, databases, TDE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.sql.models import Database, Server

from collectors.azure import fields
from collectors.azure.base import AzureCollector, resource_group_of
from collectors.azure.facts import (
    AZURE_ENDPOINTS,
    AZURE_RESOURCES,
    SQL_DATABASES,
    SQL_FIREWALLS,
    SQL_SERVERS,
    UNKNOWN_REGION,
    FirewallRule,
    SqlDatabase,
    SqlServer,
    SqlServerFirewall,
)
from collectors.azure.reading import Unreadable
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed
from collectors.regions import normalise_region
from reports.evidence import Source, msg

SERVER_TYPE = "Microsoft.Sql/servers"
DATABASE_TYPE = "Microsoft.Sql/servers/databases"


@dataclass(frozen=True)
class SqlDatabaseListing:
    """A database as the server's database list names it (before its TDE state is read)."""

    id: str
    name: str
    location: str
    system: bool


def database_listing_of(model: Any, server: SqlServer) -> SqlDatabaseListing:
    """Return a listed database; one that names no region is in its server's
    (`collectors.azure.secure_defaults.SQL_DATABASE_LOCATION_ABSENT`)."""
    database_id = fields.resource_id(model, "the database")
    name = fields.resource_name(model)
    location = fields.text(model, "location", "location", nested=False)
    kind = fields.text(model, "kind", "kind", nested=False)
    return SqlDatabaseListing(
        id=database_id,
        name=name,
        location=normalise_region(location) if location else server.location,
        system=is_system_database(name, kind),
    )


def is_system_database(name: str, kind: str | None) -> bool:
    """Return True for master and other system databases, which are not user data."""
    return name.lower() == "master" or "system" in (kind or "").lower()


def sql_server_of(model: Any, subscription_id: str) -> SqlServer:
    """Return the fact of one logical server from its SDK model (absent settings stay None)."""
    server_id = fields.resource_id(model, "the server")
    return SqlServer(
        id=server_id,
        name=fields.resource_name(model),
        subscription_id=subscription_id,
        resource_group=resource_group_of(server_id),
        location=normalise_region(fields.text(model, "location", "location", nested=False) or UNKNOWN_REGION),
        fqdn=fields.text(model, "fully_qualified_domain_name", "fullyQualifiedDomainName"),
        minimal_tls_version=fields.text(model, "minimal_tls_version", "minimalTlsVersion"),
        public_network_access=fields.text(model, "public_network_access", "publicNetworkAccess"),
    )


def firewall_rules_of(models: Any) -> tuple[FirewallRule, ...]:
    """Return a server's firewall rules; a rule that is not an object makes the whole list unreadable."""
    if not isinstance(models, list):
        raise fields.FieldUnreadable(msg("the firewall rule list is {shown}", shown=fields.shown(models)))
    rules = []
    for index, rule in enumerate(models):
        fields.obj(rule, msg("firewall rule {index}", index=index))
        name = fields.text(rule, "name", "name", nested=False) or f"(rule {index} without a name)"
        rules.append(
            FirewallRule(
                name=name,
                start_ip=fields.text(rule, "start_ip_address", f"{name}.startIpAddress"),
                end_ip=fields.text(rule, "end_ip_address", f"{name}.endIpAddress"),
            )
        )
    return tuple(rules)


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
        found = self.read_items_in(
            subscription,
            SERVER_TYPE,
            lambda hook: self.sql(subscription.id).servers.list(raw_response_hook=hook),
            Server,
            lambda model: sql_server_of(model, subscription.id),
            item=msg("a SQL server"),
            populations=(SQL_SERVERS, SQL_FIREWALLS, SQL_DATABASES),
        )
        if found is None:
            return []
        servers, fetched = found
        return [(server, fetched.sources) for server in servers]

    def _firewall_of(self, server: SqlServer) -> None:
        population = self.population(SQL_FIREWALLS)

        def failed(unreadable: Unreadable) -> None:
            fact = SqlServerFirewall(server, None, unreadable.reason)
            population.add(observed(server.id, fact, unreadable.sources))

        found = self.read_parsed(
            msg("firewall rules of server {server} could not be read", server=server.name),
            lambda hook: self.sql(server.subscription_id).firewall_rules.list_by_server(
                server.resource_group, server.name, raw_response_hook=hook
            ),
            firewall_rules_of,
            failed=failed,
        )
        if found is not None:
            rules, sources = found
            population.add(observed(server.id, SqlServerFirewall(server, rules), sources))

    def _databases_of(
        self, server: SqlServer
    ) -> list[tuple[SqlServer, SqlDatabaseListing, tuple[Source, ...]]]:
        found = self.read_items(
            msg("databases of server {server} could not be listed", server=server.name),
            server.id,
            DATABASE_TYPE,
            lambda hook: self.sql(server.subscription_id).databases.list_by_server(
                server.resource_group, server.name, raw_response_hook=hook
            ),
            Database,
            lambda model: database_listing_of(model, server),
            item=msg("a database of server {server} could not be read", server=server.name),
            list_subject=f"{server.id}/databases",
            populations=(SQL_DATABASES, AZURE_RESOURCES),
        )
        if found is None:
            return []
        listed, fetched = found
        return [(server, entry, fetched.sources) for entry in listed if not entry.system]

    def _tde_of(self, entry: tuple[SqlServer, SqlDatabaseListing, tuple[Source, ...]]) -> None:
        server, listing, list_sources = entry
        database_id, name = listing.id, listing.name
        self.locate(database_id, DATABASE_TYPE, listing.location, list_sources)
        found = self.read_parsed(
            msg("TDE state of database {database} could not be read", database=name),
            lambda hook: self.sql(server.subscription_id).transparent_data_encryptions.get(
                server.resource_group, server.name, name, "current", raw_response_hook=hook
            ),
            lambda tde: SqlDatabase(
                id=database_id,
                name=name,
                server_id=server.id,
                location=listing.location,
                tde_state=fields.text(tde, "state", "state"),
            ),
            failed=self.errors_for(database_id, (SQL_DATABASES,), list_sources),
        )
        if found is not None:
            database, sources = found
            self.population(SQL_DATABASES).add(observed(database_id, database, (*list_sources, *sources)))
