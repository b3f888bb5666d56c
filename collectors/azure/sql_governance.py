"""Azure SQL governance facts: Entra ID administrators, auditing, long-term backup retention, geo-replicas.

Runs after `SqlCollector` and reads the servers and user databases it found from the fact store
(`azure.sql_servers`, `azure.sql_databases`) instead of listing them again. Subjects the SQL
collector could not read are carried over as `error` subjects of the populations here, so a
server or database that could not be listed is never silently missing from a control.

Per server (api-version 2025-01-01): `administrators` and `azureADOnlyAuthentications`
(-> azure.sql_entra_admins), `auditingSettings/default` (-> azure.sql_auditing).
Per server also `replicationLinks` (ReplicationLinks_ListByServer: every geo-replica link of
the server's databases, one request per server), whose partner regions join azure.resources
so that clause 8 covers geo-replicas. Per user database: `backupLongTermRetentionPolicies`
(-> azure.sql_backup_retention).

None of these child settings are in Resource Graph's `Resources` table: they are read from ARM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError
from azure.mgmt.sql import SqlManagementClient

from collectors.azure.arm import describe_failure
from collectors.azure.base import AZURE_RESOURCES, AzureCollector, prop, text_of
from collectors.azure.sql import SQL_DATABASES, SQL_SERVERS, SqlDatabase, SqlServer
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import Subject, observed, unobservable

SQL_ENTRA_ADMINS = "azure.sql_entra_admins"
SQL_AUDITING = "azure.sql_auditing"
SQL_BACKUP_RETENTION = "azure.sql_backup_retention"
REPLICATION_LINK_TYPE = "Microsoft.Sql/servers/databases/replicationLinks"


@dataclass(frozen=True)
class EntraAdmin:
    """The Entra ID (Azure AD) administrator of a server: a user, group or application (ARM does not say which)."""

    login: str | None
    sid: str | None
    """The principal's object id (application id for applications)."""
    tenant_id: str | None


@dataclass(frozen=True)
class SqlEntraAdministration:
    """Who administers a server through Entra ID, and whether SQL logins are switched off."""

    server_id: str
    server_name: str
    admin: EntraAdmin | None
    azure_ad_only_authentication: bool | None
    """True when only Entra ID logins are accepted (SQL authentication disabled)."""


@dataclass(frozen=True)
class SqlAuditing:
    """A server's auditing settings (`auditingSettings/default`)."""

    server_id: str
    server_name: str
    state: str | None
    retention_days: int | None
    """Days kept in the storage account; 0 means unlimited."""
    azure_monitor_target: bool | None
    """True when audit records also go to Azure Monitor (Log Analytics / Event Hub)."""
    storage_endpoint: str | None


@dataclass(frozen=True)
class LongTermRetention:
    """One long-term backup retention policy: ISO-8601 durations as ARM reports them."""

    name: str
    weekly_retention: str | None
    monthly_retention: str | None
    yearly_retention: str | None
    week_of_year: int | None


@dataclass(frozen=True)
class SqlBackupRetention:
    """The long-term retention policies of a user database (none = nothing kept long-term)."""

    database_id: str
    database_name: str
    server_id: str
    policies: tuple[LongTermRetention, ...]


@dataclass(frozen=True)
class _Database:
    id: str
    name: str
    server: SqlServer


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str | None:
    text = text_of(value)
    return text if text else None


class SqlGovernanceCollector(AzureCollector):
    """Reads Entra admins, auditing, long-term retention and geo-replicas of the collected SQL estate."""

    populations = (SQL_ENTRA_ADMINS, SQL_AUDITING, SQL_BACKUP_RETENTION, AZURE_RESOURCES)
    listed_types = ()

    def sql(self, subscription_id: str) -> SqlManagementClient:
        """Return the SQL management client of a subscription."""
        return self.client(SqlManagementClient, subscription_id)

    def collect(self, subscriptions: list[AzureSubscription]) -> None:
        """Fill the governance populations from the servers and databases SqlCollector found."""
        servers = self._servers()
        self.context.progress(f"azure: reading Entra admins and auditing of {len(servers)} SQL server(s)")
        self.arm.map(self._server_settings, servers)
        databases = self._databases({server.id.lower(): server for server in servers})
        self.context.progress(
            f"azure: reading long-term retention and geo-replicas of {len(databases)} database(s)"
        )
        self.arm.map(self._database_settings, databases)

    # ------------------------------------------------------------------ what SqlCollector found
    def _servers(self) -> list[SqlServer]:
        servers = []
        for subject in self.population(SQL_SERVERS).subjects:
            if isinstance(subject.fact, SqlServer):
                servers.append(subject.fact)
            else:
                self._carry_error(subject, (SQL_ENTRA_ADMINS, SQL_AUDITING))
        return servers

    def _databases(self, servers: dict[str, SqlServer]) -> list[_Database]:
        databases = []
        for subject in self.population(SQL_DATABASES).subjects:
            fact = subject.fact
            if isinstance(fact, SqlDatabase) and fact.server_id.lower() in servers:
                databases.append(_Database(fact.id, fact.name, servers[fact.server_id.lower()]))
                continue
            # A database listed but whose TDE state could not be read is still a known database.
            match = re.fullmatch(r"(.+)/databases/([^/]+)", subject.id, re.IGNORECASE)
            if match and match.group(1).lower() in servers:
                databases.append(_Database(subject.id, match.group(2), servers[match.group(1).lower()]))
            else:
                self._carry_error(subject, (SQL_BACKUP_RETENTION,))
        return databases

    def _carry_error(self, subject: Subject[object], populations: tuple[str, ...]) -> None:
        reason = subject.error or "the SQL collector holds no fact for this subject"
        for name in populations:
            self.population(name).add(unobservable(subject.id, reason, subject.sources))

    # ------------------------------------------------------------------ per server
    def _server_settings(self, server: SqlServer) -> None:
        self._entra_admin_of(server)
        self._auditing_of(server)
        self._replicas_of(server)

    def _entra_admin_of(self, server: SqlServer) -> None:
        population = self.population(SQL_ENTRA_ADMINS)
        client = self.sql(server.subscription_id)
        try:
            admins = self.arm.fetch(
                lambda hook: client.server_azure_ad_administrators.list_by_server(
                    server.resource_group, server.name, raw_response_hook=hook
                )
            )
        except AzureError as exc:
            reason = (
                f"Entra ID administrator of server {server.name} could not be read: {describe_failure(exc)}"
            )
            population.add(unobservable(server.id, reason))
            return
        try:
            only = self.arm.fetch(
                lambda hook: client.server_azure_ad_only_authentications.list_by_server(
                    server.resource_group, server.name, raw_response_hook=hook
                )
            )
        except AzureError as exc:
            reason = (
                f"Entra-only authentication of server {server.name} could not be read: "
                f"{describe_failure(exc)}"
            )
            population.add(unobservable(server.id, reason, admins.sources))
            return
        admin = next(iter(admins.value), None)
        entra_admin = (
            None
            if admin is None
            else EntraAdmin(
                login=_text(prop(admin, "login")),
                sid=_text(prop(admin, "sid")),
                tenant_id=_text(prop(admin, "tenant_id")),
            )
        )
        switches = [prop(entry, "azure_ad_only_authentication") for entry in only.value]
        known = [bool(s) for s in switches if s is not None]
        if known:
            entra_only: bool | None = all(known)
        else:
            entra_only = None if admin is None else _bool(prop(admin, "azure_ad_only_authentication"))
        fact = SqlEntraAdministration(server.id, server.name, entra_admin, entra_only)
        population.add(observed(server.id, fact, (*admins.sources, *only.sources)))

    def _auditing_of(self, server: SqlServer) -> None:
        population = self.population(SQL_AUDITING)
        try:
            fetched = self.arm.fetch(
                lambda hook: self.sql(server.subscription_id).server_blob_auditing_policies.get(
                    server.resource_group, server.name, raw_response_hook=hook
                )
            )
        except AzureError as exc:
            reason = f"auditing settings of server {server.name} could not be read: {describe_failure(exc)}"
            population.add(unobservable(server.id, reason))
            return
        policy = fetched.value
        fact = SqlAuditing(
            server_id=server.id,
            server_name=server.name,
            state=_text(prop(policy, "state")),
            retention_days=_int(prop(policy, "retention_days")),
            azure_monitor_target=_bool(prop(policy, "is_azure_monitor_target_enabled")),
            storage_endpoint=_text(prop(policy, "storage_endpoint")),
        )
        population.add(observed(server.id, fact, fetched.sources))

    # ------------------------------------------------------------------ per database
    def _database_settings(self, database: _Database) -> None:
        self._retention_of(database)

    def _retention_of(self, database: _Database) -> None:
        server = database.server
        population = self.population(SQL_BACKUP_RETENTION)
        try:
            fetched = self.arm.fetch(
                lambda hook: self.sql(server.subscription_id).long_term_retention_policies.list_by_database(
                    server.resource_group, server.name, database.name, raw_response_hook=hook
                )
            )
        except AzureError as exc:
            reason = (
                f"long-term retention of database {database.name} could not be read: {describe_failure(exc)}"
            )
            population.add(unobservable(database.id, reason))
            return
        policies = tuple(
            LongTermRetention(
                name=str(model.name or "default"),
                weekly_retention=_text(prop(model, "weekly_retention")),
                monthly_retention=_text(prop(model, "monthly_retention")),
                yearly_retention=_text(prop(model, "yearly_retention")),
                week_of_year=_int(prop(model, "week_of_year")),
            )
            for model in fetched.value
        )
        fact = SqlBackupRetention(database.id, database.name, server.id, policies)
        population.add(observed(database.id, fact, fetched.sources))

    def _replicas_of(self, server: SqlServer) -> None:
        try:
            fetched = self.arm.fetch(
                lambda hook: self.sql(server.subscription_id).replication_links.list_by_server(
                    server.resource_group, server.name, raw_response_hook=hook
                )
            )
        except AzureError as exc:
            reason = (
                f"replication links (geo-replicas) of server {server.name} could not be listed: "
                f"{describe_failure(exc)}"
            )
            self.population(AZURE_RESOURCES).add(unobservable(f"{server.id}/replicationLinks", reason))
            return
        for link in fetched.value:
            self.locate(
                str(link.id), REPLICATION_LINK_TYPE, _text(prop(link, "partner_location")), fetched.sources
            )
