"""PostgreSQL catalogs read with psycopg 3: roles, memberships, database ACLs, CONNECT reach.

`fetch` connects with the auditor's login in a read-only session with a statement timeout,
reads the cluster catalog from the maintenance database, then opens one connection per
application database (PostgreSQL cannot query across databases) to measure password columns,
message tables, columns that may not hold card numbers and newsletter subscriptions. Those
measurements are reduced inside `fetch` to counts per hash format, (count, oldest timestamp),
card numbers per brand and (subscriptions, without opt-in): no value read from an
application table leaves this module.

`parse` turns the rows, live or replayed, into `ServerReading` facts.

One module of ~750 lines, like sqlserver.py: the catalog queries, the measurements and the parser
of their rows change together (a column added to a query is read in `parse`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from collectors.config.databases import (
    ApplicationEntry,
    DatabaseServerEntry,
    MessageRetention,
    NewsletterOptIn,
)
from collectors.config.policy import Policy
from collectors.databases.card_numbers import CardCount
from collectors.databases.facts import Database, DatabaseAccess, DatabaseServer, Login
from collectors.databases.measurements import message_stores, password_columns
from collectors.databases.password_formats import classify
from collectors.databases.privacy_scans import card_columns, newsletter_subscriptions
from collectors.databases.reading import CatalogError, CatalogRows, ServerReading
from collectors.databases.rows import CatalogRow, CatalogRowSet
from collectors.messages import Reason
from reports.evidence import msg

MAINTENANCE_DATABASE = "postgres"
"""Where the cluster catalog is read; like the templates it is not an application database."""
SYSTEM_DATABASES = frozenset({"template0", "template1", MAINTENANCE_DATABASE})
BOOTSTRAP_SUPERUSER_OID = 10
"""The role initdb creates (usually 'postgres'): the cluster's administrator, whatever its name."""

ROLE_ATTRIBUTES = (
    ("rolsuper", "SUPERUSER"),
    ("rolcreaterole", "CREATEROLE"),
    ("rolcreatedb", "CREATEDB"),
    ("rolreplication", "REPLICATION"),
    ("rolbypassrls", "BYPASSRLS"),
)
"""Role attributes that are server-wide powers (an application login needs none of them)."""
POWERFUL_PREDEFINED_ROLES = frozenset(
    {
        "pg_read_all_data",
        "pg_write_all_data",
        "pg_read_server_files",
        "pg_write_server_files",
        "pg_execute_server_program",
        "pg_signal_backend",
        "pg_checkpoint",
        "pg_create_subscription",
    }
)
"""Predefined roles whose membership reaches beyond one database."""
DATABASE_PRIVILEGES = frozenset({"CONNECT", "CREATE", "TEMPORARY"})
"""What aclexplode reports for a database's ACL; any other word means the rows are damaged."""

CATALOG_QUERIES: dict[str, str] = {
    "version": "SELECT current_setting('server_version') AS server_version",
    "roles": (
        "SELECT oid::bigint AS oid, rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, "
        "rolreplication, rolbypassrls, rolinherit FROM pg_roles ORDER BY rolname"
    ),
    "memberships": (
        "SELECT r.rolname AS role, m.rolname AS member, am.admin_option "
        "FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member "
        "ORDER BY r.rolname, m.rolname"
    ),
    "databases": (
        "SELECT datname, pg_get_userbyid(datdba) AS owner, datallowconn, datistemplate "
        "FROM pg_database ORDER BY datname"
    ),
    "database_acl": (
        "SELECT d.datname, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END "
        "AS grantee, a.privilege_type, a.is_grantable "
        "FROM pg_database d, LATERAL aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a "
        "WHERE NOT d.datistemplate ORDER BY d.datname, grantee, a.privilege_type"
    ),
    "connect_privileges": (
        "SELECT r.rolname, d.datname FROM pg_roles r CROSS JOIN pg_database d "
        "WHERE r.rolcanlogin AND NOT d.datistemplate AND d.datallowconn "
        "AND has_database_privilege(r.oid, d.oid, 'CONNECT') ORDER BY r.rolname, d.datname"
    ),
}
"""The catalog result sets, by name; `datacl` NULL means the defaults (PUBLIC may CONNECT)."""


class PostgresReader:
    """The `EngineReader` of PostgreSQL (see the module docstring)."""

    def fetch(
        self,
        entry: DatabaseServerEntry,
        applications: list[ApplicationEntry],
        policy: Policy,
        secret: str | None,
    ) -> CatalogRows:
        """Return the catalog rows and the reduced measurements of the applications on `entry`.

        Raises CatalogError naming the server and the step when the catalog cannot be read;
        a password column or message table that cannot be measured is an error row of its
        own, so one bad setting does not hide the rest of the server.
        """
        rows: CatalogRows = {}
        with _connection(entry, MAINTENANCE_DATABASE, secret, step=msg("connect")) as conn:
            for name, query in CATALOG_QUERIES.items():
                try:
                    rows[name] = _query_dicts(conn, query)
                except psycopg.Error as exc:
                    raise CatalogError(
                        _server_error(entry, msg("query {name}", name=name), exc, secret)
                    ) from None
        password_rows: list[dict[str, Any]] = []
        retention_rows: list[dict[str, Any]] = []
        card_rows: list[dict[str, Any]] = []
        newsletter_rows: list[dict[str, Any]] = []
        by_database: dict[str, list[ApplicationEntry]] = {}
        for app in applications:
            if (
                app.password_columns
                or app.retention is not None
                or app.card_scan
                or app.card_scan_tables
                or app.newsletter is not None
            ):
                by_database.setdefault(app.database, []).append(app)
        for database, apps in sorted(by_database.items()):
            try:
                connect = msg("connect to database {database}", database=database)
                with _connection(entry, database, secret, step=connect) as conn:
                    for app in apps:
                        password_rows.extend(_measure_columns(conn, app, policy.password_sample_limit))
                        if app.retention is not None:
                            retention_rows.extend(_measure_retention(conn, app, app.retention))
                        card_rows.extend(_measure_cards(conn, app, policy.card_sample_limit))
                        if app.newsletter is not None:
                            newsletter_rows.append(_measure_newsletter(conn, app, app.newsletter))
            except CatalogError as exc:
                for app in apps:
                    password_rows.extend(
                        {"application": app.name, "column": column, "error": str(exc)}
                        for column in app.password_columns
                    )
                    if app.retention is not None:
                        retention_rows.append({"application": app.name, "error": str(exc)})
                    card_rows.extend(
                        {"application": app.name, "column": column, "error": str(exc)}
                        for column in app.card_scan
                    )
                    card_rows.extend(
                        {"application": app.name, "table": table, "error": str(exc)}
                        for table in app.card_scan_tables
                    )
                    if app.newsletter is not None:
                        newsletter_rows.append({"application": app.name, "error": str(exc)})
        rows["password_columns"] = password_rows
        rows["message_ages"] = retention_rows
        rows["card_scans"] = card_rows
        rows["newsletter_opt_ins"] = newsletter_rows
        return rows

    def parse(
        self,
        entry: DatabaseServerEntry,
        applications: list[ApplicationEntry],
        rows: CatalogRows,
        collected_at: datetime,
    ) -> ServerReading:
        """Return the server's facts from its rows; ages are measured against `collected_at`.

        Raises CatalogError (the server is an `error`) when a catalog value it judges is
        absent, null, of the wrong type or inconsistent with the rest of the catalog; a
        damaged password or message measurement errors only its own subject.
        """
        catalog = CatalogRowSet(entry.name, rows)
        server = _server_from_rows(entry, applications, catalog)
        return ServerReading(
            server=server,
            password_columns=password_columns(entry.name, catalog.optional("password_columns"), applications),
            message_stores=message_stores(
                entry.name,
                catalog.optional("message_ages"),
                applications,
                collected_at,
                age_of=_age_days,
                measured_by=lambda app: _measured_by(app.retention) if app.retention else "",
            ),
            card_columns=card_columns(entry.name, catalog.optional("card_scans"), applications),
            newsletters=newsletter_subscriptions(
                entry.name, catalog.optional("newsletter_opt_ins"), applications
            ),
        )


READER = PostgresReader()
"""The reader `collectors.databases.collect` registers for engine 'postgresql'."""


# --- connections ------------------------------------------------------------------------------


@contextmanager
def _connection(
    entry: DatabaseServerEntry, database: str, secret: str | None, *, step: Reason
) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """Yield a read-only connection to `database` with the auditor's login and timeouts."""
    timeout_ms = max(1, int(entry.timeout_seconds * 1000))
    params: dict[str, Any] = {
        "host": entry.host,
        "port": entry.effective_port(),
        "dbname": database,
        "user": entry.user,
        "connect_timeout": max(2, math.ceil(entry.timeout_seconds)),
        "options": f"-c statement_timeout={timeout_ms} -c default_transaction_read_only=on",
        "application_name": "statement-auditor",
    }
    if secret is not None:
        params["password"] = secret
    if entry.ca_bundle is not None:
        params["sslmode"] = "verify-full"
        params["sslrootcert"] = str(entry.ca_bundle)
    try:
        conn = psycopg.connect(**params)
    except psycopg.Error as exc:
        raise CatalogError(_server_error(entry, step, exc, secret)) from None
    try:
        conn.read_only = True
        yield conn
    finally:
        conn.close()


def _query_dicts(
    conn: psycopg.Connection[tuple[Any, ...]], query: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [column.name for column in cur.description or ()]
        return [{name: _jsonable(value) for name, value in zip(names, row, strict=True)} for row in cur]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _server_error(entry: DatabaseServerEntry, step: Reason, exc: BaseException, secret: str | None) -> Reason:
    """Return 'server (host:port): step: cause' with the secret removed, if the driver echoed it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if secret:
        text = text.replace(secret, "***")
    return msg(
        "{server} ({address}:{port}): {step}: {error}",
        server=entry.name,
        address=entry.host,
        port=entry.effective_port(),
        step=step,
        error=text,
    )


def _item_error(step: str, exc: psycopg.Error) -> str:
    """Return why one measurement failed, without any text that may quote a table value.

    SQLSTATE class 22 (data exception) messages can quote the offending value, so only
    the code is kept for them; other classes (42 undefined table/column, insufficient
    privilege; 57014 statement timeout) name identifiers only.
    """
    state = exc.sqlstate or "unknown"
    if state.startswith("22") or exc.diag.message_primary is None:
        return f"{step}: SQLSTATE {state} ({type(exc).__name__})"
    return f"{step}: {exc.diag.message_primary} (SQLSTATE {state})"


# --- measurements -----------------------------------------------------------------------------


def _identifier(dotted: str) -> sql.Identifier:
    return sql.Identifier(*[part for part in dotted.split(".") if part])


def _measure_columns(
    conn: psycopg.Connection[tuple[Any, ...]], app: ApplicationEntry, limit: int
) -> list[dict[str, Any]]:
    """Return per-column counts of hash formats (values are classified and dropped one by one)."""
    out: list[dict[str, Any]] = []
    for column in app.password_columns:
        schema, table, name = [part for part in column.split(".") if part]
        step = f"password column {column} in database {app.database}"
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(
                    sql.SQL("SELECT count(*) FROM {table}").format(table=sql.Identifier(schema, table))
                )
                total_row = cur.fetchone()
                total = int(total_row[0]) if total_row else 0
                cur.execute(
                    sql.SQL("SELECT {column} FROM {table} LIMIT %s").format(
                        column=sql.Identifier(name), table=sql.Identifier(schema, table)
                    ),
                    (limit,),
                )
                counts: dict[str, int] = {}
                examined = 0
                for (value,) in cur:
                    fmt = classify(value)
                    counts[fmt] = counts.get(fmt, 0) + 1
                    examined += 1
        except psycopg.Error as exc:
            out.append({"application": app.name, "column": column, "error": _item_error(step, exc)})
            continue
        out.append(
            {
                "application": app.name,
                "column": column,
                "rows_examined": examined,
                "total_rows": total,
                "formats": dict(sorted(counts.items())),
            }
        )
    return out


def _measure_retention(
    conn: psycopg.Connection[tuple[Any, ...]], app: ApplicationEntry, retention: MessageRetention
) -> list[dict[str, Any]]:
    """Return (count, oldest timestamp) of delivered and failed messages; nothing else is read."""
    out: list[dict[str, Any]] = []
    kinds: list[tuple[str, sql.SQL | sql.Composed, tuple[Any, ...]]] = []
    if retention.table is not None:
        assert retention.timestamp_column is not None
        assert retention.status_column is not None
        aggregate = sql.SQL("SELECT count(*), min({ts}) FROM {table} WHERE {status}::text = ANY(%s)").format(
            ts=sql.Identifier(retention.timestamp_column),
            table=_identifier(retention.table),
            status=sql.Identifier(retention.status_column),
        )
        kinds = [
            ("delivered", aggregate, (list(retention.delivered_values),)),
            ("failed", aggregate, (list(retention.failed_values),)),
        ]
    else:
        assert retention.delivered_query is not None
        assert retention.failed_query is not None
        kinds = [
            ("delivered", sql.SQL(retention.delivered_query), ()),
            ("failed", sql.SQL(retention.failed_query), ()),
        ]
    for kind, query, params in kinds:
        step = f"{kind} messages in database {app.database}"
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(query, params)
                result = cur.fetchall()
        except psycopg.Error as exc:
            out.append({"application": app.name, "kind": kind, "error": _item_error(step, exc)})
            continue
        measured = _count_and_oldest(result)
        if isinstance(measured, str):
            out.append({"application": app.name, "kind": kind, "error": f"{step}: {measured}"})
            continue
        count, oldest = measured
        out.append({"application": app.name, "kind": kind, "count": count, "oldest": oldest})
    return out


TEXT_COLUMNS_QUERY = (
    "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
    "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped "
    "AND t.typcategory = 'S' ORDER BY a.attnum"
)
"""The text columns (type category S: text, varchar, char, citext, ...) of one table, in order."""
TABLE_EXISTS_QUERY = (
    "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
)
COLUMN_TYPE_QUERY = (
    "SELECT t.typname, t.typcategory FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
    "WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s AND a.attnum > 0 AND NOT a.attisdropped"
)
"""The type of an opt-in column: category B (boolean) is a flag, D (date/time) a timestamp."""


def _scan_column(
    conn: psycopg.Connection[tuple[Any, ...]], app: ApplicationEntry, column: str, limit: int
) -> dict[str, Any]:
    """Return the card numbers per brand in a sample of one column; each value is classified and dropped."""
    schema, table, name = column.split(".")
    step = f"card scan of column {column} in database {app.database}"
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(sql.SQL("SELECT count(*) FROM {table}").format(table=sql.Identifier(schema, table)))
            total_row = cur.fetchone()
            total = int(total_row[0]) if total_row else 0
            cur.execute(
                sql.SQL("SELECT {column}::text FROM {table} LIMIT %s").format(
                    column=sql.Identifier(name), table=sql.Identifier(schema, table)
                ),
                (limit,),
            )
            counted = CardCount()
            for (value,) in cur:
                counted.add(value)
    except psycopg.Error as exc:
        return {"application": app.name, "column": column, "error": _item_error(step, exc)}
    return {
        "application": app.name,
        "column": column,
        "rows_examined": counted.examined,
        "total_rows": total,
        "values_with_cards": counted.values_with_cards,
        "brands": dict(sorted(counted.brands.items())),
    }


def _measure_cards(
    conn: psycopg.Connection[tuple[Any, ...]], app: ApplicationEntry, limit: int
) -> list[dict[str, Any]]:
    """Return card-number counts of the configured columns and of every text column of the configured tables.

    A configured table that cannot be listed is one error row (`table`); one without text
    columns is a row saying so. No value read leaves this function.
    """
    out = [_scan_column(conn, app, column, limit) for column in app.card_scan]
    scanned = set(app.card_scan)
    for table in app.card_scan_tables:
        schema, name = table.split(".")
        step = f"text columns of table {table} in database {app.database}"
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(TABLE_EXISTS_QUERY, (schema, name))
                exists = cur.fetchone() is not None
                cur.execute(TEXT_COLUMNS_QUERY, (schema, name))
                columns = [str(row[0]) for row in cur.fetchall()]
        except psycopg.Error as exc:
            out.append({"application": app.name, "table": table, "error": _item_error(step, exc)})
            continue
        if not exists:
            out.append(
                {
                    "application": app.name,
                    "table": table,
                    "error": f"{step}: no such table, or the auditor's login cannot see it",
                }
            )
            continue
        if not columns:
            out.append({"application": app.name, "table": table, "no_text_columns": True})
            continue
        for column in columns:
            qualified = f"{table}.{column}"
            if qualified not in scanned:
                scanned.add(qualified)
                out.append({**_scan_column(conn, app, qualified, limit), "table": table})
    return out


def _measure_newsletter(
    conn: psycopg.Connection[tuple[Any, ...]], app: ApplicationEntry, newsletter: NewsletterOptIn
) -> dict[str, Any]:
    """Return (total, without opt-in) of an application's subscriptions: counts only, never a row."""
    row: dict[str, Any] = {"application": app.name, "measured_by": _newsletter_measured_by(newsletter)}
    step = f"newsletter subscriptions in database {app.database}"
    try:
        with conn.transaction(), conn.cursor() as cur:
            if newsletter.without_opt_in_query is not None:
                cur.execute(sql.SQL(newsletter.without_opt_in_query))
                counted = _one_count(cur.fetchall())
                if isinstance(counted, str):
                    return {**row, "error": f"{step}: {counted}"}
                return {**row, "total": None, "without_opt_in": counted}
            assert newsletter.table is not None
            assert newsletter.opt_in_column is not None
            schema, table = newsletter.table.split(".")
            cur.execute(COLUMN_TYPE_QUERY, (schema, table, newsletter.opt_in_column))
            found = cur.fetchone()
            if found is None:
                return {
                    **row,
                    "error": f"{step}: table {newsletter.table} has no column {newsletter.opt_in_column} "
                    "(or the auditor's login cannot see it)",
                }
            type_name, category = str(found[0]), str(found[1])
            if category not in ("B", "D"):
                return {
                    **row,
                    "error": f"{step}: opt_in_column {newsletter.opt_in_column} is of type {type_name}, "
                    "not a boolean flag or a timestamp",
                }
            lacking = sql.SQL("{column} IS NOT TRUE" if category == "B" else "{column} IS NULL").format(
                column=sql.Identifier(newsletter.opt_in_column)
            )
            cur.execute(
                sql.SQL("SELECT count(*), count(*) FILTER (WHERE {lacking}) FROM {table}").format(
                    lacking=lacking, table=sql.Identifier(schema, table)
                )
            )
            counts = cur.fetchone()
    except psycopg.Error as exc:
        return {**row, "error": _item_error(step, exc)}
    if counts is None:
        return {**row, "error": f"{step}: the count query returned no row"}
    kind = "flag" if category == "B" else "timestamp"
    return {
        **row,
        "measured_by": f"{row['measured_by']} ({kind})",
        "total": int(counts[0]),
        "without_opt_in": int(counts[1]),
    }


def _one_count(result: list[tuple[Any, ...]]) -> int | str:
    """Return the one whole number a count query answered, or why its answer is unusable (never the answer)."""
    if len(result) != 1 or len(result[0]) != 1:
        return "the query must return one row of one column (the number of subscriptions without an opt-in)"
    value = result[0][0]
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return "the query's answer is not a whole number"
    if value < 0:
        return "the query's answer is a negative number"
    return value


def _newsletter_measured_by(newsletter: NewsletterOptIn) -> str:
    if newsletter.table is not None:
        return f"table {newsletter.table}, opt-in column {newsletter.opt_in_column}"
    return "configured query"


def _count_and_oldest(result: list[tuple[Any, ...]]) -> tuple[int, str | None] | str:
    """Return (count, oldest as ISO UTC text) from a one-row answer, or why the answer is unusable."""
    if len(result) != 1 or len(result[0]) != 2:
        return "the query must return one row of two columns (count, oldest timestamp)"
    count, oldest = result[0]
    if isinstance(count, bool) or not isinstance(count, int):
        try:
            count = int(count)
        except (TypeError, ValueError):
            return "the first column (count) is not a number"
    if oldest is None:
        return count, None
    if isinstance(oldest, datetime):
        moment = oldest if oldest.tzinfo is not None else oldest.replace(tzinfo=UTC)
    elif isinstance(oldest, date):
        moment = datetime(oldest.year, oldest.month, oldest.day, tzinfo=UTC)
    else:
        return "the second column (oldest) is not a timestamp"
    return count, moment.astimezone(UTC).isoformat()


def _measured_by(retention: MessageRetention) -> str:
    if retention.table is not None:
        return f"table {retention.table} ({retention.status_column}, {retention.timestamp_column})"
    return "configured queries"


def _age_days(oldest: datetime, collected_at: datetime) -> float:
    moment = oldest if oldest.tzinfo is not None else oldest.replace(tzinfo=UTC)
    return round((collected_at - moment).total_seconds() / 86400, 3)


# --- parsing ----------------------------------------------------------------------------------


def _server_from_rows(
    entry: DatabaseServerEntry, applications: list[ApplicationEntry], catalog: CatalogRowSet
) -> DatabaseServer:
    app_databases = {app.database for app in applications}
    system = SYSTEM_DATABASES - app_databases
    wanted = set(entry.databases) if entry.databases is not None else None

    def in_scope(name: str, template: bool = False) -> bool:
        return not template and name not in system and (wanted is None or name in wanted)

    roles = {row.text("rolname"): _role(row) for row in catalog("roles")}

    def known_role(row: CatalogRow, column: str) -> str:
        name = row.text(column)
        if name not in roles:
            raise CatalogError(
                msg(
                    "{where}: {column} {name} is not a role of the roles result set",
                    where=row.where,
                    column=column,
                    name=repr(name),
                )
            )
        return name

    parents: dict[str, set[str]] = {}
    for row in catalog("memberships"):
        parents.setdefault(known_role(row, "member"), set()).add(known_role(row, "role"))
    database_rows = [
        (row.text("datname"), row.text("owner"), row.flag("datistemplate")) for row in catalog("databases")
    ]
    owners = {name: owner for name, owner, _template in database_rows}

    def known_database(row: CatalogRow) -> str:
        name = row.text("datname")
        if name not in owners:
            raise CatalogError(
                msg(
                    "{where}: datname {name} is not a database of the databases result set",
                    where=row.where,
                    name=repr(name),
                )
            )
        return name

    grants: dict[str, dict[str, set[str]]] = {}
    for row in catalog("database_acl"):
        database = known_database(row)
        grantee = row.text("grantee")
        privilege = row.text("privilege_type", allowed=DATABASE_PRIVILEGES)
        grants.setdefault(database, {}).setdefault(grantee, set()).add(privilege)
    reach: dict[str, list[str]] = {}
    for row in catalog("connect_privileges"):
        login, database = known_role(row, "rolname"), known_database(row)
        if in_scope(database):
            reach.setdefault(login, []).append(database)
        elif database == MAINTENANCE_DATABASE:
            reach.setdefault(login, [])
    auditor = entry.user
    if auditor is not None and auditor in roles and auditor not in reach:
        raise CatalogError(
            msg(
                "{server}: connect_privileges does not list the auditor's own login {login}, which is "
                "connected to {database}: the catalog rows are incomplete",
                server=entry.name,
                login=auditor,
                database=MAINTENANCE_DATABASE,
            )
        )
    admin = entry.effective_admin_login()
    logins: list[Login] = []
    for name, role in sorted(roles.items()):
        if not role["rolcanlogin"]:
            continue
        ancestors = _ancestors(name, parents)
        logins.append(
            Login(
                name=name,
                kind="role",
                server_privileges=_privileges(role, ancestors, roles),
                databases=tuple(
                    DatabaseAccess(
                        database=db,
                        via=_connect_via(name, role, ancestors, grants.get(db, {}), owners.get(db)),
                        roles=("OWNER",) if owners.get(db) in {name, *ancestors} else (),
                    )
                    for db in reach.get(name, [])
                ),
                is_server_admin=role["oid"] == BOOTSTRAP_SUPERUSER_OID or name == admin,
            )
        )
    bootstrap = next((n for n, r in roles.items() if r["oid"] == BOOTSTRAP_SUPERUSER_OID), admin)
    version = next((row.values.get("server_version") for row in catalog.optional("version")), None)
    return DatabaseServer(
        name=entry.name,
        engine="postgresql",
        host=entry.host,
        port=entry.effective_port(),
        version=version if isinstance(version, str) else "",
        databases=tuple(
            Database(
                server=entry.name,
                name=name,
                owner=owner,
                public_connect="CONNECT" in grants.get(name, {}).get("PUBLIC", set()),
            )
            for name, owner, template in database_rows
            if in_scope(name, template)
        ),
        logins=tuple(logins),
        admin_login=admin if admin in roles else bootstrap,
    )


def _role(row: CatalogRow) -> dict[str, Any]:
    """Return the attributes of one pg_roles row that the parser judges, each of its type."""
    values: dict[str, Any] = {"oid": row.integer("oid")}
    for column in ("rolcanlogin", *(column for column, _label in ROLE_ATTRIBUTES)):
        values[column] = row.flag(column)
    return values


def _ancestors(name: str, parents: dict[str, set[str]]) -> set[str]:
    """Return every role `name` is a member of, directly or through other roles."""
    seen: set[str] = set()
    todo = list(parents.get(name, ()))
    while todo:
        role = todo.pop()
        if role not in seen:
            seen.add(role)
            todo.extend(parents.get(role, ()))
    return seen


def _privileges(
    role: dict[str, Any], ancestors: set[str], roles: dict[str, dict[str, Any]]
) -> tuple[str, ...]:
    """Return the server-wide powers of a login: its own attributes and those it can SET ROLE to."""
    found = [label for column, label in ROLE_ATTRIBUTES if role.get(column)]
    for parent in sorted(ancestors):
        parent_row = roles.get(parent, {})
        found.extend(
            f"{label} (through membership in {parent})"
            for column, label in ROLE_ATTRIBUTES
            if parent_row.get(column)
        )
        if parent in POWERFUL_PREDEFINED_ROLES:
            found.append(f"member of {parent}")
    return tuple(found)


def _connect_via(
    name: str, role: dict[str, Any], ancestors: set[str], grants: dict[str, set[str]], owner: str | None
) -> str:
    """Return why a login may CONNECT to a database, most specific reason first."""
    if role.get("rolsuper"):
        return "SUPERUSER"
    if owner == name:
        return "database owner"
    if "CONNECT" in grants.get(name, set()):
        return "CONNECT granted to the login"
    if owner in ancestors:
        return f"owner through membership in {owner}"
    for parent in sorted(ancestors):
        if "CONNECT" in grants.get(parent, set()):
            return f"CONNECT granted to {parent} (membership)"
    if "CONNECT" in grants.get("PUBLIC", set()):
        return "CONNECT granted to PUBLIC"
    return "CONNECT privilege"
