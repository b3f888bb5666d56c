"""Applications and the databases they use: the `databases.applications` population (12d).

Applications come from `[[applications]]` in the config and, optionally, from discovered
links: the population `azure.app_database_links` (filled from App Service connection strings
by the Azure side) holds `DatabaseLink` facts. A link is reduced at its collector to server,
database and user name; the connection string itself never gets here.

Links are matched to configured applications by name (case-insensitive); a link whose
application is not configured becomes an application of its own, so an undeclared app that
shares a database is still judged. A link whose server is not a `[[databases]]` entry (by
name or host) cannot be judged: that application is an error, never a pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from collectors.azure.facts import AppDatabaseLinks, as_application_links
from collectors.config.databases import DatabaseServerEntry
from collectors.config.estate import EstateConfig
from collectors.databases.facts import Application, DatabaseServer, Engine
from collectors.facts import FactStore
from collectors.messages import Reason
from reports.evidence import msg

DISCOVERED_LINKS = "azure.app_database_links"
"""The population of discovered links; each subject's fact is a `DatabaseLink`."""


@dataclass(frozen=True)
class DatabaseLink:
    """One application-to-database link found outside the inventory (never holding a secret)."""

    application: str
    """The application or App Service site name."""
    server: str
    """A `[[databases]]` name, or the host name the connection string points at."""
    database: str
    user: str
    source: str
    """Where it was found, e.g. 'App Service site shop-web, connection string DefaultConnection'."""


@dataclass(frozen=True)
class PlannedApplication:
    """An application as the inventory and discovery describe it, before its server is read."""

    name: str
    server: str
    """The `[[databases]]` name of its server ('' when a discovered server is unknown)."""
    engine: Engine | None
    database: str
    identity: str
    owner: str | None
    databases_used: tuple[str, ...]
    discovered_from: tuple[str, ...]
    error: Reason | None = None
    """Why this application cannot be judged (e.g. a discovered link to an unknown server)."""
    terminated_on: date | None = None
    """The day its agreement ended (`terminated_on`), None while it runs."""
    database_read: bool = True
    """False when its server's `databases` list leaves its own database out of the read."""


def discovered_links(store: FactStore) -> tuple[list[DatabaseLink], list[Reason]]:
    """Return the links in the discovered-links population, and why any could not be read.

    Exists so applications are judged with every database they are known to use; a link the
    discovery could not read is reported as a note, not ignored.
    """
    population = store.get(DISCOVERED_LINKS)
    if population is None or population.out_of_scope:
        return [], []
    links: list[DatabaseLink] = []
    problems: list[Reason] = []
    for subject in population.subjects:
        fact = subject.fact
        if isinstance(fact, DatabaseLink):
            links.append(fact)
        elif isinstance(fact, tuple) and len(fact) == 5 and all(isinstance(part, str) for part in fact):
            links.append(DatabaseLink(*fact))
        elif isinstance(fact, AppDatabaseLinks):
            links.extend(DatabaseLink(*link) for link in as_application_links(fact))
        elif subject.error is not None:
            problems.append(msg("{subject}: {error}", subject=subject.id, error=subject.error))
    return links, problems


def _fold(engine: Engine | None, name: str) -> str:
    """Return the key two names of this engine compare by (SQL Server names are case-insensitive)."""
    return name.lower() if engine in ("sqlserver", "azuresql") else name


def _server_of(link: DatabaseLink, servers: Iterable[DatabaseServerEntry]) -> DatabaseServerEntry | None:
    wanted = link.server.lower().split(",")[0].removeprefix("tcp:")
    for entry in servers:
        if entry.name.lower() == wanted or entry.host.lower() == wanted:
            return entry
    return None


def plan_applications(config: EstateConfig, links: Iterable[DatabaseLink] = ()) -> list[PlannedApplication]:
    """Return every configured and discovered application with every database it uses.

    Exists so 12d.app-own-database can see an application using two databases, or two
    applications using one, whichever source told the auditor about the link.
    """
    entries = {entry.name: entry for entry in config.databases}
    planned: dict[str, PlannedApplication] = {}
    for app in config.applications:
        entry = entries[app.server]
        planned[app.name.lower()] = PlannedApplication(
            name=app.name,
            server=app.server,
            engine=entry.engine,
            database=app.database,
            identity=app.login if app.login is not None else (app.certificate or "").upper(),
            owner=app.owner,
            databases_used=(app.database,),
            discovered_from=(),
            terminated_on=app.terminated_on,
            database_read=entry.databases is None or app.database in entry.databases,
        )
    for link in links:
        linked = _server_of(link, config.databases)
        key = link.application.lower()
        current = planned.get(key)
        if linked is None:
            reason = msg(
                "a discovered link ({source}) points at server {server}, which is not a [[databases]] "
                "entry: add it to audit this application",
                source=link.source,
                server=repr(link.server),
            )
            planned[key] = (
                dataclasses.replace(current, error=reason) if current else _discovered(link, "", None, reason)
            )
            continue
        if current is None:
            planned[key] = _discovered(link, linked.name, linked.engine, None)
            continue
        if current.server != linked.name:
            reason = msg(
                "configured on server {server}, but a discovered link ({source}) uses server {linked}: one "
                "application, databases on two servers",
                server=current.server,
                source=link.source,
                linked=linked.name,
            )
            planned[key] = dataclasses.replace(
                current,
                discovered_from=(*current.discovered_from, link.source),
                error=current.error or reason,
            )
            continue
        used = current.databases_used
        if all(_fold(linked.engine, db) != _fold(linked.engine, link.database) for db in used):
            used = (*used, link.database)
        planned[key] = dataclasses.replace(
            current, databases_used=used, discovered_from=(*current.discovered_from, link.source)
        )
    return sorted(planned.values(), key=lambda p: p.name.lower())


def _discovered(
    link: DatabaseLink, server: str, engine: Engine | None, error: Reason | None
) -> PlannedApplication:
    return PlannedApplication(
        name=link.application,
        server=server,
        engine=engine,
        database=link.database,
        identity=link.user,
        owner=None,
        databases_used=(link.database,),
        discovered_from=(link.source,),
        error=error,
    )


def application_facts(
    planned: Iterable[PlannedApplication], servers: Mapping[str, DatabaseServer]
) -> list[Application]:
    """Return the `Application` facts of the planned applications whose server was read.

    Sets `shared_with` (other applications using one of its databases on the same server),
    `login` (as the server's catalog has it) and `admin_login`. Applications in error or on
    a server that could not be read are left out: the caller files them as errors.
    """
    usable = [p for p in planned if p.error is None and p.server in servers and p.engine is not None]
    users: dict[tuple[str, str], set[str]] = {}
    for plan in usable:
        for database in plan.databases_used:
            users.setdefault((plan.server, _fold(plan.engine, database)), set()).add(plan.name)
    facts: list[Application] = []
    for plan in usable:
        assert plan.engine is not None
        server = servers[plan.server]
        others: set[str] = set()
        for database in plan.databases_used:
            others |= users[(plan.server, _fold(plan.engine, database))] - {plan.name}
        wanted = _fold(plan.engine, plan.database)
        exists = (
            any(_fold(plan.engine, database.name) == wanted for database in server.databases)
            if plan.database_read
            else None
        )
        facts.append(
            Application(
                name=plan.name,
                server=plan.server,
                engine=plan.engine,
                database=plan.database,
                identity=plan.identity,
                owner=plan.owner,
                databases_used=plan.databases_used,
                shared_with=tuple(sorted(others)),
                login=server.login(plan.identity),
                admin_login=server.admin_login,
                discovered_from=plan.discovered_from,
                terminated_on=plan.terminated_on,
                database_exists=exists,
            )
        )
    return facts


def with_applications(server: DatabaseServer, planned: Iterable[PlannedApplication]) -> DatabaseServer:
    """Return `server` knowing which applications (and logins, databases) it serves.

    Exists for 12d.db-shared-logins, which judges a server as a whole: which login serves
    more than one application, and whether PUBLIC can CONNECT to an application's database.
    """
    mine = [p for p in planned if p.server == server.name]
    return dataclasses.replace(
        server,
        applications=tuple(sorted({p.name for p in mine})),
        application_logins=tuple(sorted({(p.name, p.identity) for p in mine})),
        application_databases=tuple(sorted({db for p in mine for db in p.databases_used})),
    )
