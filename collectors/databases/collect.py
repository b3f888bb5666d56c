"""The databases part of a run: every `[[databases]]` server's catalog, read in parallel.

Each server is read once by its engine's reader (`READERS`), with the auditor's read-only
login and the password from the environment variable the config names. The rows are
recorded per server and replayed through the same `parse`. A server that cannot be read is
`error` for every subject that depends on it (the server, its databases, its applications,
their password columns and message stores), and only for those.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from collectors.config.databases import ApplicationEntry, DatabaseServerEntry
from collectors.config.estate import EstateConfig
from collectors.databases.applications import (
    PlannedApplication,
    application_facts,
    discovered_links,
    plan_applications,
    with_applications,
)
from collectors.databases.facts import (
    APPLICATIONS,
    CARD_COLUMNS,
    DATABASE_POPULATIONS,
    MESSAGE_STORES,
    NEWSLETTER_SUBSCRIPTIONS,
    PASSWORD_COLUMNS,
    RAVENDB_DATABASES,
    SERVERS,
    SQLSERVER_DATABASES,
    SQLSERVER_SERVERS,
    DatabaseServer,
)
from collectors.databases.reading import CatalogError, CatalogRows, EngineReader, ServerReading
from collectors.facts import FactStore, observed, unobservable
from collectors.messages import Reason, reason_from_json, reason_json
from collectors.recording import Recording
from reports.evidence import Message, Source, msg, sha256_hex, utc_now

COLLECTOR = "databases.catalog"
MAX_CONCURRENCY = 8
SQLSERVER_ENGINES = ("sqlserver", "azuresql")
SYSTEM_DATABASES_NOTE: dict[str, Message] = {
    "postgresql": msg(
        "PostgreSQL: template0, template1 and the maintenance database postgres are system "
        "databases and are not judged (unless an application is configured on postgres)"
    ),
    "sqlserver": msg("SQL Server: master, model, msdb, tempdb and other system databases are not judged"),
    "azuresql": msg("Azure SQL: master is not a user database and is not judged"),
}


def _readers() -> dict[str, EngineReader]:
    """Return the engine readers; the SQL Server and RavenDB modules are optional."""
    from collectors.databases import postgresql

    readers: dict[str, EngineReader] = {"postgresql": postgresql.READER}
    try:
        from collectors.databases import sqlserver

        readers["sqlserver"] = sqlserver.READER
        readers["azuresql"] = sqlserver.AZURE_READER
    except ImportError:
        pass
    try:
        from collectors.databases import ravendb  # type: ignore[attr-defined,unused-ignore]

        readers["ravendb"] = ravendb.READER
    except ImportError:
        pass
    return readers


READERS: dict[str, EngineReader] = _readers()
"""Engine name -> reader; an engine without one makes its servers `error`."""


@dataclass
class DatabasesScope:
    """What the databases side of the run covered, for the report's scope."""

    servers: list[dict[str, object]] = field(default_factory=list)
    applications: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict[str, object]:
        """Return the JSON form used in evidence.json (never a secret)."""
        return {"servers": self.servers, "applications": self.applications}


@dataclass(frozen=True)
class ServerRun:
    """The raw outcome of reading one server: its rows, or why there are none."""

    engine: str
    collected_at: datetime
    rows: CatalogRows | None = None
    error: Reason | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the form kept in `Recording.databases[server]` (an error message as its id and parameters)."""
        out: dict[str, Any] = {"engine": self.engine, "collected_at": self.collected_at.isoformat()}
        if self.error is not None:
            out["error"] = reason_json(self.error)
        else:
            out["rows"] = self.rows
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerRun:
        """Return a server run read back from a recording; raise ValueError naming a malformed field.

        The rows themselves are checked by the engine's parser; here only their container is.
        """
        engine, recorded_error, rows = data["engine"], data.get("error"), data.get("rows")
        if not isinstance(engine, str):
            raise ValueError(f"engine is {engine!r}, not text")
        try:
            error = None if recorded_error is None else reason_from_json(recorded_error)
        except ValueError:
            raise ValueError(f"error is {recorded_error!r}, not text or a recorded message") from None
        if rows is not None and not isinstance(rows, dict):
            raise ValueError(f"rows is a {type(rows).__name__}, not result sets by name")
        return cls(
            engine=engine,
            collected_at=datetime.fromisoformat(data["collected_at"]),
            rows=rows,
            error=error,
        )


def _resolved(config: EstateConfig, entry: DatabaseServerEntry) -> DatabaseServerEntry:
    """Return `entry` with its file paths resolved against the config's folder."""
    updates = {
        key: config.resolve(value)
        for key, value in (
            ("ca_bundle", entry.ca_bundle),
            ("client_cert", entry.client_cert),
            ("client_key", entry.client_key),
        )
        if value is not None
    }
    return entry.model_copy(update=updates) if updates else entry


def _read_live(config: EstateConfig, entry: DatabaseServerEntry, apps: list[ApplicationEntry]) -> ServerRun:
    started = utc_now()
    reader = READERS.get(entry.engine)
    if reader is None:
        return ServerRun(entry.engine, started, error=_no_reader(entry.engine))
    secret: str | None = None
    if entry.password_env is not None:
        secret = os.environ.get(entry.password_env) or None
        if secret is None:
            return ServerRun(
                entry.engine,
                started,
                error=msg(
                    "the environment variable {variable} (password_env) is not set or empty",
                    variable=entry.password_env,
                ),
            )
    try:
        fitting = [_fitting(entry.engine, app) for app in apps]
        rows = reader.fetch(_resolved(config, entry), fitting, config.policy, secret)
    except CatalogError as exc:
        return ServerRun(entry.engine, started, error=exc.reason)
    return ServerRun(entry.engine, started, rows=rows)


def _no_reader(engine: str) -> Message:
    return msg("no reader for engine {engine} is installed", engine=engine)


def _source(entry: DatabaseServerEntry, run: ServerRun) -> Source:
    rows = run.rows or {}
    raw = json.dumps(rows, sort_keys=True, default=str).encode("utf-8")
    who = f"{entry.user}@" if entry.user else ""
    return Source(
        collector=COLLECTOR,
        call=f"{entry.engine} {who}{entry.host}:{entry.effective_port()}: " + ", ".join(sorted(rows)),
        collected_at=run.collected_at,
        sha256=sha256_hex(raw),
    )


def _declare(store: FactStore, config: EstateConfig) -> None:
    for name in DATABASE_POPULATIONS:
        store.population(name)
    store.population(SERVERS).empty_reason = msg("no [[databases]] in the config")
    store.population(SQLSERVER_SERVERS).empty_reason = msg(
        "no SQL Server or Azure SQL server among the [[databases]]"
    )
    store.population(SQLSERVER_DATABASES).empty_reason = msg(
        "no user database on the SQL Server / Azure SQL servers"
    )
    store.population(RAVENDB_DATABASES).empty_reason = msg(
        "no database on a RavenDB server among the [[databases]]"
    )
    store.population(APPLICATIONS).empty_reason = msg("no [[applications]] in the config and none discovered")
    store.population(PASSWORD_COLUMNS).empty_reason = msg("no [[applications]] entry sets password_columns")
    store.population(MESSAGE_STORES).empty_reason = msg("no [[applications]] entry sets retention")
    store.population(CARD_COLUMNS).empty_reason = msg(
        "no [[applications]] entry sets card_scan or card_scan_tables"
    )
    store.population(NEWSLETTER_SUBSCRIPTIONS).empty_reason = msg("no [[applications]] entry sets newsletter")
    engines = sorted({entry.engine for entry in config.databases})
    for name in (SERVERS, SQLSERVER_DATABASES, RAVENDB_DATABASES, APPLICATIONS):
        store.population(name).notes.extend(
            SYSTEM_DATABASES_NOTE[e] for e in engines if e in SYSTEM_DATABASES_NOTE
        )


def _file_server(
    store: FactStore,
    entry: DatabaseServerEntry,
    apps: list[ApplicationEntry],
    reading: ServerReading | Reason,
    source: Source | None,
) -> None:
    """File one server's facts, or its error, into every population that depends on it."""
    sources = [source] if source is not None else []
    sqlserver = entry.engine in SQLSERVER_ENGINES
    if not isinstance(reading, ServerReading):
        reason = msg(
            "database server {server} ({address}:{port}): {error}",
            server=entry.name,
            address=entry.host,
            port=entry.effective_port(),
            error=reading,
        )
        store.population(SERVERS).add(unobservable(entry.name, reason, sources))
        if sqlserver:
            store.population(SQLSERVER_SERVERS).add(unobservable(entry.name, reason, sources))
            store.population(SQLSERVER_DATABASES).add(unobservable(entry.name, reason, sources))
        if entry.engine == "ravendb":
            store.population(RAVENDB_DATABASES).add(unobservable(entry.name, reason, sources))
        for app in apps:
            for column in app.password_columns:
                store.population(PASSWORD_COLUMNS).add(
                    unobservable(f"{entry.name}/{app.database}/{column}", reason, sources)
                )
            if app.retention is not None:
                store.population(MESSAGE_STORES).add(
                    unobservable(f"{entry.name}/{app.database}/{app.name}", reason, sources)
                )
            for scanned in (*app.card_scan, *app.card_scan_tables):
                store.population(CARD_COLUMNS).add(
                    unobservable(f"{entry.name}/{app.database}/{scanned}", reason, sources)
                )
            if app.newsletter is not None:
                store.population(NEWSLETTER_SUBSCRIPTIONS).add(
                    unobservable(f"{entry.name}/{app.database}/{app.name}", reason, sources)
                )
        return
    server = reading.server
    store.population(SERVERS).add(observed(entry.name, server, sources))
    if sqlserver:
        store.population(SQLSERVER_SERVERS).add(observed(entry.name, server, sources))
        for database in server.databases:
            store.population(SQLSERVER_DATABASES).add(
                observed(f"{entry.name}/{database.name}", database, sources)
            )
    if entry.engine == "ravendb":
        for database in server.databases:
            store.population(RAVENDB_DATABASES).add(
                observed(f"{entry.name}/{database.name}", database, sources)
            )
    for app in apps:
        for column in app.password_columns:
            subject_id = f"{entry.name}/{app.database}/{column}"
            measured = reading.password_columns.get((app.name, column))
            if measured is None:
                measured = msg("the reader returned no measurement for this column")
            store.population(PASSWORD_COLUMNS).add(
                unobservable(subject_id, msg("{server}: {error}", server=entry.name, error=measured), sources)
                if isinstance(measured, Message | str)
                else observed(subject_id, measured, sources)
            )
        if app.retention is not None:
            subject_id = f"{entry.name}/{app.database}/{app.name}"
            store_fact = reading.message_stores.get(app.name)
            if store_fact is None:
                store_fact = msg("the reader returned no message measurement")
            store.population(MESSAGE_STORES).add(
                unobservable(
                    subject_id, msg("{server}: {error}", server=entry.name, error=store_fact), sources
                )
                if isinstance(store_fact, Message | str)
                else observed(subject_id, store_fact, sources)
            )
        _file_privacy_scans(store, entry, app, reading, sources)


def _not_measured() -> Message:
    """Return why a 6c or 6e subject has no measurement although its server was read: a damaged reading."""
    return msg("the reader returned no measurement")


def _fitting(engine: str, app: ApplicationEntry) -> ApplicationEntry:
    """Return `app` without the 6c/6e names that do not fit `engine` (see `scan_shape_problems`).

    Exists so a reader never gets a name of the wrong shape (schema.table on RavenDB, a
    collection on SQL); `_file_privacy_scans` files those subjects as errors instead.
    """
    problems = app.scan_shape_problems(engine)
    if not problems:
        return app
    return app.model_copy(
        update={
            "card_scan": [c for c in app.card_scan if c not in problems.columns],
            "card_scan_tables": [t for t in app.card_scan_tables if t not in problems.tables],
            "newsletter": None if problems.newsletter else app.newsletter,
        }
    )


def _file_privacy_scans(
    store: FactStore,
    entry: DatabaseServerEntry,
    app: ApplicationEntry,
    reading: ServerReading,
    sources: list[Source],
) -> None:
    """File one application's card-number scans (6c) and newsletter counts (6e) of a server that was read."""

    def add(population: str, subject_id: str, measured: object) -> None:
        store.population(population).add(
            unobservable(subject_id, msg("{server}: {error}", server=entry.name, error=measured), sources)
            if isinstance(measured, Message | str)
            else observed(subject_id, measured, sources)
        )

    prefix = f"{entry.name}/{app.database}/"
    misfits = app.scan_shape_problems(entry.engine)
    for column in app.card_scan:
        measured = misfits.columns.get(column) or reading.card_columns.get(
            (app.name, column), _not_measured()
        )
        add(CARD_COLUMNS, prefix + column, measured)
    for table in app.card_scan_tables:
        if table in misfits.tables:
            add(CARD_COLUMNS, prefix + table, misfits.tables[table])
            continue
        found = sorted(
            column
            for name, column in reading.card_columns
            if name == app.name and column.startswith(f"{table}.") and column not in app.card_scan
        )
        if (app.name, table) in reading.card_columns:
            add(CARD_COLUMNS, prefix + table, reading.card_columns[(app.name, table)])
        elif not found:
            add(CARD_COLUMNS, prefix + table, _not_measured())
        for column in found:
            add(CARD_COLUMNS, prefix + column, reading.card_columns[(app.name, column)])
    if app.newsletter is not None:
        add(
            NEWSLETTER_SUBSCRIPTIONS,
            prefix + app.name,
            misfits.newsletter or reading.newsletters.get(app.name, _not_measured()),
        )


def collect_databases(
    config: EstateConfig,
    store: FactStore,
    *,
    recording: Recording | None,
    replay: Recording | None,
    progress: Callable[[str], None],
) -> DatabasesScope:
    """Read every `[[databases]]` server into the database populations and return the scope.

    Exists so the 12d/12e/12f/6b/6e database controls judge facts gathered once, in parallel
    (bounded), recorded for replay, with a server's failure confined to its own subjects.
    """
    scope = DatabasesScope()
    if not config.databases:
        store.mark_out_of_scope(
            DATABASE_POPULATIONS, msg("databases are out of scope: the config has no [[databases]]")
        )
        return scope
    started = time.monotonic()
    _declare(store, config)
    apps_by_server: dict[str, list[ApplicationEntry]] = {}
    for app in config.applications:
        apps_by_server.setdefault(app.server, []).append(app)
    progress(f"databases: reading {len(config.databases)} server(s)")

    def read(entry: DatabaseServerEntry) -> ServerRun:
        if replay is not None:
            recorded = (replay.databases or {}).get(entry.name)
            if not isinstance(recorded, dict):
                return ServerRun(entry.engine, utc_now(), error=msg("not in the recording being replayed"))
            try:
                run = ServerRun.from_json(recorded)
            except (KeyError, TypeError, ValueError) as exc:
                return ServerRun(
                    entry.engine, utc_now(), error=msg("malformed recording entry ({error})", error=repr(exc))
                )
            if run.engine != entry.engine:
                return ServerRun(
                    entry.engine,
                    run.collected_at,
                    error=msg(
                        "the recording holds a {recorded} catalog for this {engine} server",
                        recorded=run.engine,
                        engine=entry.engine,
                    ),
                )
            return run
        return _read_live(config, entry, apps_by_server.get(entry.name, []))

    runs: dict[str, ServerRun] = {}
    workers_count = max(1, min(MAX_CONCURRENCY, len(config.databases)))
    with ThreadPoolExecutor(max_workers=workers_count) as workers:
        futures: list[tuple[DatabaseServerEntry, Future[ServerRun]]] = [
            (entry, workers.submit(read, entry)) for entry in config.databases
        ]
        for entry, future in futures:
            runs[entry.name] = future.result()
    if recording is not None:
        recording.databases = {name: run.as_json() for name, run in sorted(runs.items())}

    links, link_problems = discovered_links(store)
    planned = plan_applications(config, links)
    store.population(APPLICATIONS).notes.extend(
        msg("a discovered application link could not be read: {problem}", problem=problem)
        for problem in link_problems
    )
    servers: dict[str, DatabaseServer] = {}
    server_errors: dict[str, Reason] = {}
    for entry in config.databases:
        run = runs[entry.name]
        apps = apps_by_server.get(entry.name, [])
        reading: ServerReading | Reason
        source = None
        if run.error is not None or run.rows is None:
            reading = run.error or msg("no catalog rows")
        else:
            source = _source(entry, run)
            reader = READERS.get(run.engine)
            if reader is None:
                reading = _no_reader(run.engine)
            else:
                try:
                    reading = reader.parse(_resolved(config, entry), apps, run.rows, run.collected_at)
                except CatalogError as exc:
                    reading = exc.reason
                except Exception as exc:  # a parser surprise errs this server, not the run
                    reading = msg(
                        "the catalog rows could not be parsed ({error_type}: {error})",
                        error_type=type(exc).__name__,
                        error=str(exc),
                    )
        if not isinstance(reading, ServerReading):
            server_errors[entry.name] = reading
        else:
            server = with_applications(reading.server, planned)
            reading = dataclasses.replace(reading, server=server)
            servers[entry.name] = server
        _file_server(store, entry, apps, reading, source)
        scope.servers.append(
            {
                "name": entry.name,
                "engine": entry.engine,
                "endpoint": f"{entry.host}:{entry.effective_port()}",
                "databases": len(reading.server.databases) if isinstance(reading, ServerReading) else None,
                "status": "ok" if isinstance(reading, ServerReading) else "error",
            }
        )
    _file_applications(store, planned, servers, server_errors, runs, config)
    scope.applications = len(planned)
    scope.seconds = time.monotonic() - started
    errors = f", {len(server_errors)} in error" if server_errors else ""
    progress(f"databases: {len(config.databases)} server(s) read in {scope.seconds:.1f} s{errors}")
    return scope


def _file_applications(
    store: FactStore,
    planned: list[PlannedApplication],
    servers: dict[str, DatabaseServer],
    server_errors: dict[str, Reason],
    runs: dict[str, ServerRun],
    config: EstateConfig,
) -> None:
    entries = {entry.name: entry for entry in config.databases}
    facts = {fact.name: fact for fact in application_facts(planned, servers)}
    population = store.population(APPLICATIONS)
    for plan in planned:
        run = runs.get(plan.server)
        entry = entries.get(plan.server)
        sources = (
            [_source(entry, run)] if entry is not None and run is not None and run.rows is not None else []
        )
        if plan.error is not None:
            population.add(
                unobservable(
                    plan.name, msg("application {name}: {error}", name=plan.name, error=plan.error), sources
                )
            )
        elif plan.server in server_errors:
            population.add(
                unobservable(
                    plan.name,
                    msg(
                        "application {name}: database server {server} could not be read: {error}",
                        name=plan.name,
                        server=plan.server,
                        error=server_errors[plan.server],
                    ),
                    sources,
                )
            )
        elif plan.name in facts:
            population.add(observed(plan.name, facts[plan.name], sources))
