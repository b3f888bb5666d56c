"""Applications whose agreement ended (`[[applications]] terminated_on`) and the databases left on their server.

Clause 11: when the agreement ends, the application's own databases are deleted. The fact is
derived from what the database collectors already read (each server's list of user databases),
so it needs no read of its own: an application whose server could not be read is an `error`,
never a database assumed gone. For an Azure SQL server the long-term retention backups Azure
still keeps of the database (`azure.sql_ltr_backups`, matched by the server's host name) are
attached too: they must be gone three months later. Free of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from collectors.azure.facts import SQL_LTR_BACKUPS, SQL_SERVERS, LtrBackup, SqlLtrBackups, SqlServer
from collectors.config.databases import DatabaseServerEntry
from collectors.config.estate import EstateConfig
from collectors.databases.facts import SERVERS, DatabaseServer, Engine
from collectors.facts import FactStore, Subject, observed, unobservable
from collectors.messages import Reason
from reports.evidence import msg

TERMINATED_APPLICATIONS = "databases.terminated_applications"
"""Every `[[applications]]` entry with terminated_on: 11.terminated-data-removed."""


@dataclass(frozen=True)
class TerminatedApplication:
    """An application whose agreement ended, and the user databases its server still holds."""

    name: str
    server: str
    engine: Engine
    database: str
    terminated_on: date
    server_databases: tuple[str, ...]
    """Every user database on the server when it was read (names only)."""
    long_term_backups: tuple[LtrBackup, ...] | None = None
    """Azure SQL: the long-term retention backups Azure keeps of this database (None: not Azure SQL,
    or not known; then `long_term_backups_error` says why for Azure SQL)."""
    long_term_backups_error: Reason | None = None
    """Azure SQL: why its long-term backups could not be listed (None when they were)."""

    def database_left(self) -> bool:
        """Return True when the server still holds the application's database (SQL Server names ignore case)."""
        if self.engine in ("sqlserver", "azuresql"):
            return self.database.lower() in {name.lower() for name in self.server_databases}
        return self.database in self.server_databases


def long_term_backups_of(
    entry: DatabaseServerEntry, database: str, store: FactStore
) -> tuple[tuple[LtrBackup, ...] | None, Reason | None]:
    """Return the long-term backups Azure keeps of `database` on an Azure SQL entry's server, or why unknown.

    The server is found among the Azure SQL servers read by its host name. Not found, not read,
    or Azure out of scope: (None, reason), never "no backups".
    """
    servers = store.get(SQL_SERVERS)
    listed = store.get(SQL_LTR_BACKUPS)
    if servers is None or listed is None:
        return None, msg(
            "Azure is not read in this run ([azure]): the long-term backups of {database} on {server} cannot be "
            "listed",
            database=database,
            server=entry.host,
        )
    host = entry.host.lower()
    server_id = next(
        (
            subject.fact.id
            for subject in servers.subjects
            if isinstance(subject.fact, SqlServer) and (subject.fact.fqdn or "").lower() == host
        ),
        None,
    )
    if server_id is None:
        return None, msg(
            "{host} is not among the Azure SQL servers read: the long-term backups of {database} cannot be listed",
            host=entry.host,
            database=database,
        )
    subject = next((s for s in listed.subjects if s.id.lower() == server_id.lower()), None)
    if subject is None or not isinstance(subject.fact, SqlLtrBackups):
        return None, (
            subject.error
            if subject is not None and subject.error is not None
            else msg("the long-term backups of server {host} were not listed", host=entry.host)
        )
    wanted = database.lower()
    return tuple(b for b in subject.fact.backups if b.database_name.lower() == wanted), None


def collect_terminated_applications(config: EstateConfig, store: FactStore) -> None:
    """Fill `databases.terminated_applications` from the config and the servers already read."""
    population = store.population(TERMINATED_APPLICATIONS)
    population.empty_reason = msg("no [[applications]] entry has terminated_on: no agreement has ended")
    servers = store.get(SERVERS)
    if not config.databases:
        population.out_of_scope = msg("databases are out of scope: the config has no [[databases]]")
        return
    by_name: dict[str, Subject[object]] = {}
    for subject in servers.subjects if servers is not None else []:
        fact = subject.fact
        by_name[fact.name if isinstance(fact, DatabaseServer) else subject.id] = subject
    entries = {entry.name: entry for entry in config.databases}
    for app in config.applications:
        if app.terminated_on is None:
            continue
        listed = entries[app.server].databases
        if listed is not None and app.database not in listed:
            # The server's list is narrowed to `databases`: a database outside it is never read.
            population.add(
                unobservable(
                    app.name,
                    msg(
                        "[[databases]] {server} reads only the databases {listed}: whether {database} is gone "
                        "cannot be judged (add it to that list)",
                        server=app.server,
                        listed=", ".join(listed),
                        database=app.database,
                    ),
                )
            )
            continue
        server = by_name.get(app.server)
        fact = server.fact if server is not None else None
        if not isinstance(fact, DatabaseServer):
            why = server.error if server is not None and server.error is not None else msg("not read")
            population.add(
                unobservable(
                    app.name,
                    msg(
                        "the databases on server {server} could not be read ({error}): whether {database} is "
                        "gone cannot be judged",
                        server=app.server,
                        error=why,
                        database=app.database,
                    ),
                    list(server.sources) if server is not None else [],
                )
            )
            continue
        entry = entries[app.server]
        backups, backups_error = (
            long_term_backups_of(entry, app.database, store) if entry.engine == "azuresql" else (None, None)
        )
        population.add(
            observed(
                app.name,
                TerminatedApplication(
                    name=app.name,
                    server=app.server,
                    engine=entry.engine,
                    database=app.database,
                    terminated_on=app.terminated_on,
                    server_databases=tuple(database.name for database in fact.databases),
                    long_term_backups=backups,
                    long_term_backups_error=backups_error,
                ),
                list(server.sources) if server is not None else [],
            )
        )
