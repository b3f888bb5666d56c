"""Applications whose agreement ended (`[[applications]] terminated_on`) and the databases left on their server.

Clause 11: when the agreement ends, the application's own databases are deleted. The fact is
derived from what the database collectors already read (each server's list of user databases),
so it needs no read of its own: an application whose server could not be read is an `error`,
never a database assumed gone. Free of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from collectors.config.estate import EstateConfig
from collectors.databases.facts import SERVERS, DatabaseServer, Engine
from collectors.facts import FactStore, Subject, observed, unobservable
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

    def database_left(self) -> bool:
        """Return True when the server still holds the application's database (SQL Server names ignore case)."""
        if self.engine in ("sqlserver", "azuresql"):
            return self.database.lower() in {name.lower() for name in self.server_databases}
        return self.database in self.server_databases


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
        population.add(
            observed(
                app.name,
                TerminatedApplication(
                    name=app.name,
                    server=app.server,
                    engine=entries[app.server].engine,
                    database=app.database,
                    terminated_on=app.terminated_on,
                    server_databases=tuple(database.name for database in fact.databases),
                ),
                list(server.sources) if server is not None else [],
            )
        )
