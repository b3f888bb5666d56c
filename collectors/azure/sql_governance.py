"""Azure SQL governance facts: Entra ID administrators, auditing, long-term backup retention, geo-replicas.

Runs after `SqlCollector` and reads the servers and user databases it found from the fact store
(`azure.sql_servers`, `azure.sql_databases`) instead of listing them again. Subjects the SQL
collector could not read are carried over as `error` subjects of the populations here, so a
server or database that could not be listed is never silently missing from a control.

Per server (api-version 2025-01-01): `administrators` and `azureADOnlyAuthentications`
(-> azure.sql_entra_admins), `auditingSettings/default` (-> azure.sql_auditing).
Per server also `longTermRetentionBackups` (LongTermRetentionBackups_ListByServer with
databaseState=All: the backups kept of live and of deleted databases; -> azure.sql_ltr_backups,
which 11.terminated-data-removed reads for an application whose agreement ended), and `replicationLinks` (ReplicationLinks_ListByServer: every geo-replica link of
the server's databases, one request per server), whose partner regions join azure.resources
so that clause 8 covers geo-replicas. Per user database: `backupLongTermRetentionPolicies`
(-> azure.sql_backup_retention).

None of these child settings are in Resource Graph's `Resources` table: they are read from ARM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from azure.mgmt.sql import SqlManagementClient

from collectors.azure import fields
from collectors.azure.arm import Fetched
from collectors.azure.base import AzureCollector
from collectors.azure.facts import (
    AZURE_RESOURCES,
    SQL_AUDITING,
    SQL_BACKUP_RETENTION,
    SQL_DATABASES,
    SQL_ENTRA_ADMINS,
    SQL_LTR_BACKUPS,
    SQL_SERVERS,
    EntraAdmin,
    LongTermRetention,
    LtrBackup,
    SqlAuditing,
    SqlBackupRetention,
    SqlDatabase,
    SqlEntraAdministration,
    SqlLtrBackups,
    SqlServer,
)
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import Subject, observed, unobservable
from collectors.regions import normalise_region
from reports.evidence import msg

REPLICATION_LINK_TYPE = "Microsoft.Sql/servers/databases/replicationLinks"


@dataclass(frozen=True)
class _Database:
    id: str
    name: str
    server: SqlServer


def _text(model: Any, name: str, arm_name: str) -> str | None:
    text = fields.text(model, name, arm_name)
    return text if text else None


def _list(value: Any, what: str) -> list[Any]:
    """Return a list answer's items, each an object; anything else is unreadable."""
    if not isinstance(value, list):
        raise fields.FieldUnreadable(fields.not_a_list(what, value))
    for index, item in enumerate(value):
        fields.obj(item, f"{what}[{index}]")
    return value


def entra_administration_of(server: SqlServer, admins: Any, only: Any) -> SqlEntraAdministration:
    """Return who administers a server through Entra ID, from the two list answers.

    The `azureADOnlyAuthentications` list is authoritative; when it lists settings but one of
    them cannot be read, the switch is unknown (None), never taken from elsewhere. Only when it
    lists nothing is the administrator's own `azureADOnlyAuthentication` used.
    """
    listed_admins = _list(admins, "administrators")
    admin = listed_admins[0] if listed_admins else None
    entra_admin = (
        None
        if admin is None
        else EntraAdmin(
            login=_text(admin, "login", "administrators[0].login"),
            sid=_text(admin, "sid", "administrators[0].sid"),
            tenant_id=_text(admin, "tenant_id", "administrators[0].tenantId"),
        )
    )
    switches = [
        fields.flag(
            entry,
            "azure_ad_only_authentication",
            f"azureADOnlyAuthentications[{index}].azureADOnlyAuthentication",
        )
        for index, entry in enumerate(_list(only, "azureADOnlyAuthentications"))
    ]
    entra_only: bool | None
    if switches:
        entra_only = None if any(s is None for s in switches) else all(s for s in switches if s is not None)
    elif admin is not None:
        entra_only = fields.flag(
            admin, "azure_ad_only_authentication", "administrators[0].azureADOnlyAuthentication"
        )
    else:
        entra_only = None
    return SqlEntraAdministration(server.id, server.name, entra_admin, entra_only)


def auditing_of(server: SqlServer, policy: Any) -> SqlAuditing:
    """Return a server's auditing settings from its `auditingSettings/default` answer."""
    fields.obj(policy, msg("the auditing settings"))
    return SqlAuditing(
        server_id=server.id,
        server_name=server.name,
        state=_text(policy, "state", "state"),
        retention_days=fields.integer(policy, "retention_days", "retentionDays"),
        azure_monitor_target=fields.flag(
            policy, "is_azure_monitor_target_enabled", "isAzureMonitorTargetEnabled"
        ),
        storage_endpoint=_text(policy, "storage_endpoint", "storageEndpoint"),
    )


def retention_policies_of(models: Any) -> tuple[LongTermRetention, ...]:
    """Return a database's long-term retention policies (absent periods stay None: unknown, not unset)."""
    policies = []
    for model in _list(models, "backupLongTermRetentionPolicies"):
        name = fields.text(model, "name", "name", nested=False) or "default"
        policies.append(
            LongTermRetention(
                name=name,
                weekly_retention=_text(model, "weekly_retention", f"{name}.weeklyRetention"),
                monthly_retention=_text(model, "monthly_retention", f"{name}.monthlyRetention"),
                yearly_retention=_text(model, "yearly_retention", f"{name}.yearlyRetention"),
                week_of_year=fields.integer(model, "week_of_year", f"{name}.weekOfYear"),
            )
        )
    return tuple(policies)


def ltr_backups_of(server: SqlServer, models: Any) -> SqlLtrBackups:
    """Return the long-term backups a server keeps, from its `longTermRetentionBackups` list answer.

    A backup that does not name its database cannot be attributed: the whole list is unreadable
    (never a backup silently left out). An absent expiry stays None: unknown, judged as such.
    """
    backups = []
    for index, model in enumerate(_list(models, "longTermRetentionBackups")):
        label = f"longTermRetentionBackups[{index}]"
        database_field = f"{label}.databaseName"
        database = _text(model, "database_name", database_field)
        if database is None:
            raise fields.FieldUnreadable(msg("{field} is not reported", field=database_field))
        backups.append(
            LtrBackup(
                name=fields.text(model, "name", f"{label}.name", nested=False) or label,
                database_name=database,
                backup_time=fields.timestamp(model, "backup_time", f"{label}.backupTime"),
                expiration_time=fields.timestamp(
                    model, "backup_expiration_time", f"{label}.backupExpirationTime"
                ),
                database_deletion_time=fields.timestamp(
                    model, "database_deletion_time", f"{label}.databaseDeletionTime"
                ),
                legal_hold=_text(model, "legal_hold_immutability", f"{label}.legalHoldImmutability"),
                time_based_immutability=_text(
                    model, "time_based_immutability", f"{label}.timeBasedImmutability"
                ),
            )
        )
    return SqlLtrBackups(server.id, server.name, server.fqdn, server.location, tuple(backups))


class SqlGovernanceCollector(AzureCollector):
    """Reads Entra admins, auditing, long-term retention and geo-replicas of the collected SQL estate."""

    populations = (SQL_ENTRA_ADMINS, SQL_AUDITING, SQL_BACKUP_RETENTION, SQL_LTR_BACKUPS, AZURE_RESOURCES)
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
                self._carry_error(subject, (SQL_ENTRA_ADMINS, SQL_AUDITING, SQL_LTR_BACKUPS))
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
        reason = subject.error or msg("the SQL collector holds no fact for this subject")
        for name in populations:
            self.population(name).add(unobservable(subject.id, reason, subject.sources))

    # ------------------------------------------------------------------ per server
    def _server_settings(self, server: SqlServer) -> None:
        self._entra_admin_of(server)
        self._auditing_of(server)
        self._ltr_backups_of(server)
        self._replicas_of(server)

    def _entra_admin_of(self, server: SqlServer) -> None:
        population = self.population(SQL_ENTRA_ADMINS)
        client = self.sql(server.subscription_id)
        admins = self.read(
            msg("Entra ID administrator of server {server} could not be read", server=server.name),
            lambda hook: client.server_azure_ad_administrators.list_by_server(
                server.resource_group, server.name, raw_response_hook=hook
            ),
            failed=self.errors_for(server.id, (SQL_ENTRA_ADMINS,)),
        )
        if admins is None:
            return
        what = msg("Entra-only authentication of server {server} could not be read", server=server.name)
        failed = self.errors_for(server.id, (SQL_ENTRA_ADMINS,), admins.sources)
        only = self.read(
            what,
            lambda hook: client.server_azure_ad_only_authentications.list_by_server(
                server.resource_group, server.name, raw_response_hook=hook
            ),
            failed=failed,
        )
        if only is None:
            return
        both = Fetched((admins.value, only.value), (*admins.sources, *only.sources))
        fact = self.parsed(
            msg("Entra ID administration of server {server} could not be read", server=server.name),
            both,
            lambda answers: entra_administration_of(server, *answers),
            failed=failed,
        )
        if fact is not None:
            population.add(observed(server.id, fact, both.sources))

    def _auditing_of(self, server: SqlServer) -> None:
        found = self.read_parsed(
            msg("auditing settings of server {server} could not be read", server=server.name),
            lambda hook: self.sql(server.subscription_id).server_blob_auditing_policies.get(
                server.resource_group, server.name, raw_response_hook=hook
            ),
            lambda policy: auditing_of(server, policy),
            failed=self.errors_for(server.id, (SQL_AUDITING,)),
        )
        if found is not None:
            fact, sources = found
            self.population(SQL_AUDITING).add(observed(server.id, fact, sources))

    def _ltr_backups_of(self, server: SqlServer) -> None:
        found = self.read_parsed(
            msg("long-term retention backups of server {server} could not be listed", server=server.name),
            lambda hook: self.sql(server.subscription_id).long_term_retention_backups.list_by_server(
                normalise_region(server.location), server.name, database_state="All", raw_response_hook=hook
            ),
            lambda models: ltr_backups_of(server, models),
            failed=self.errors_for(server.id, (SQL_LTR_BACKUPS,)),
        )
        if found is not None:
            fact, sources = found
            self.population(SQL_LTR_BACKUPS).add(observed(server.id, fact, sources))

    # ------------------------------------------------------------------ per database
    def _database_settings(self, database: _Database) -> None:
        self._retention_of(database)

    def _retention_of(self, database: _Database) -> None:
        server = database.server
        found = self.read_parsed(
            msg("long-term retention of database {database} could not be read", database=database.name),
            lambda hook: self.sql(server.subscription_id).long_term_retention_policies.list_by_database(
                server.resource_group, server.name, database.name, raw_response_hook=hook
            ),
            retention_policies_of,
            failed=self.errors_for(database.id, (SQL_BACKUP_RETENTION,)),
        )
        if found is not None:
            policies, sources = found
            fact = SqlBackupRetention(database.id, database.name, server.id, policies)
            self.population(SQL_BACKUP_RETENTION).add(observed(database.id, fact, sources))

    def _replicas_of(self, server: SqlServer) -> None:
        list_subject = f"{server.id}/replicationLinks"
        fetched = self.read(
            msg(
                "replication links (geo-replicas) of server {server} could not be listed", server=server.name
            ),
            lambda hook: self.sql(server.subscription_id).replication_links.list_by_server(
                server.resource_group, server.name, raw_response_hook=hook
            ),
            failed=self.errors_for(list_subject, (AZURE_RESOURCES,)),
        )
        if fetched is None:
            return
        links = self.each(
            msg("a replication link of server {server} could not be read", server=server.name),
            fetched,
            lambda link: (
                fields.resource_id(link, msg("the replication link")),
                _text(link, "partner_location", "partnerLocation"),
            ),
            list_subject=list_subject,
            populations=(AZURE_RESOURCES,),
        )
        for link_id, partner_location in links:
            self.locate(link_id, REPLICATION_LINK_TYPE, partner_location, fetched.sources)
