"""SQL Server and Azure SQL Database catalogs, read with pymssql and the auditor's read-only login.

`fetch` opens one connection per database (`master` for the server-level views, then each
user database): Azure SQL refuses `USE` (error 40508), and the same path on-prem keeps the two
engines alike. Every statement is a plain read under `SET LOCK_TIMEOUT` and the driver's
query timeout; every transaction is rolled back, nothing is ever committed. Password columns
are classified, message tables aggregated, columns sampled for card numbers (6c) and newsletter
subscriptions counted (6e) inside `fetch`: only counts and timestamps leave it. Identifiers are
bracket-quoted like QUOTENAME (`]` doubled); values (sample size, schema and table names in
catalog lookups) are bound by the driver.

The queries carry a `/* auditor:NAME */` tag so a recorded connection (tests) can answer
them by name; `parse` turns the named result sets into `collectors.databases.facts`.

One module of ~1200 lines: the tagged queries, `fetch` that runs them and `parse_catalog` that reads
their result sets by tag and column name change together (a column added to a query is read in the
parser, and a recording answers the same tags). `# --- parse` is the seam should it grow further.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Protocol, cast

from collectors.config.databases import (
    ApplicationEntry,
    DatabaseServerEntry,
    MessageRetention,
    NewsletterOptIn,
)
from collectors.config.policy import Policy
from collectors.databases.card_numbers import CardCount, count_cards
from collectors.databases.facts import ConnectionEncryption, Database, DatabaseAccess, DatabaseServer, Login
from collectors.databases.measurements import message_stores, password_columns
from collectors.databases.password_formats import classify
from collectors.databases.privacy_scans import (
    CARD_SCANS,
    NEWSLETTER_OPT_INS,
    Row,
    card_columns,
    card_scan_row,
    count_answer,
    newsletter_measured_by,
    newsletter_subscriptions,
    one_count,
    unmeasured_rows,
)
from collectors.databases.reading import CatalogError, CatalogRows, ServerReading
from collectors.databases.rows import CatalogRow, CatalogRowSet
from collectors.messages import Reason
from reports.evidence import msg

# --- the DB-API seam ------------------------------------------------------------------------------


class DbApiCursor(Protocol):
    """The part of a DB-API 2.0 cursor the reader uses."""

    @property
    def description(self) -> Sequence[Sequence[Any]] | None:
        """Column descriptions of the last result (name first)."""
        ...

    def execute(self, operation: str, params: Any = ...) -> Any:
        """Run one statement."""
        ...

    def fetchmany(self, size: int = ...) -> Sequence[Sequence[Any]]:
        """Return up to `size` more rows."""
        ...

    def close(self) -> None:
        """Release the cursor."""
        ...


class DbApiConnection(Protocol):
    """The part of a DB-API 2.0 connection the reader uses."""

    def cursor(self) -> DbApiCursor:
        """Return a new cursor."""
        ...

    def rollback(self) -> None:
        """End the transaction without keeping anything."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


Opener = Callable[[str], DbApiConnection]
"""Opens a connection to one database of the server (by name)."""
Connector = Callable[[DatabaseServerEntry, str | None], Opener]
"""Builds the opener of a server from its entry and the auditor's secret."""

SYSTEM_DATABASES = frozenset({"master", "tempdb", "model", "msdb"})
"""Databases that are not user databases (on Azure SQL only the logical master exists)."""
FETCH_BATCH = 500
PRIVILEGED_PERMISSIONS = ("CONTROL SERVER", "ALTER ANY LOGIN", "IMPERSONATE ANY LOGIN", "ALTER ANY DATABASE")
DATABASE_CONNECTOR_ROLE = "##MS_DatabaseConnector##"
"""Azure SQL server role whose members can CONNECT to every database."""
LOGIN_KINDS = {
    "S": "sql_login",
    "U": "windows_login",
    "G": "windows_group",
    "E": "entra",
    "X": "entra",
    "C": "certificate_mapped",
    "K": "asymmetric_key_mapped",
}
_TAG = re.compile(r"/\* auditor:([a-z_]+) \*/")
_SID = "CONVERT(varchar(200), {}, 1)"


def query_name(sql: str) -> str | None:
    """Return the name a reader query is tagged with (`/* auditor:NAME */`), or None."""
    match = _TAG.search(sql)
    return match.group(1) if match else None


def _sql(name: str, body: str) -> str:
    return f"/* auditor:{name} */ {body}"


def quote_identifier(name: str) -> str:
    """Return `name` as a bracket-quoted T-SQL identifier (']' doubled), refusing empty or NUL names."""
    if not name or "\x00" in name or len(name) > 128:
        raise CatalogError(f"{name!r} is not a valid SQL Server identifier")
    return "[" + name.replace("]", "]]") + "]"


# --- queries --------------------------------------------------------------------------------------

SERVER = _sql(
    "server",
    "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version, "
    "CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition, "
    "CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition",
)
LOGINS = _sql(
    "logins",
    f"SELECT sp.principal_id, sp.name, sp.type, sp.type_desc, sp.is_disabled, {_SID.format('sp.sid')} AS sid "
    "FROM sys.server_principals sp WHERE sp.type IN ('S','U','G','E','X','C','K') AND sp.name NOT LIKE '##%'",
)
SQL_LOGINS = _sql(
    "logins",
    f"SELECT sl.principal_id, sl.name, sl.type, sl.type_desc, sl.is_disabled, {_SID.format('sl.sid')} AS sid "
    "FROM sys.sql_logins sl WHERE sl.name NOT LIKE '##%'",
)
ENTRA_LOGINS = _sql(
    "entra_logins",
    f"SELECT sp.principal_id, sp.name, sp.type, sp.type_desc, sp.is_disabled, {_SID.format('sp.sid')} AS sid "
    "FROM sys.server_principals sp WHERE sp.type IN ('E','X')",
)
SERVER_ROLE_MEMBERS = _sql(
    "server_role_members",
    f"SELECT r.name AS role_name, m.name AS member_name, {_SID.format('m.sid')} AS member_sid "
    "FROM sys.server_role_members rm "
    "JOIN sys.server_principals r ON r.principal_id = rm.role_principal_id "
    "JOIN sys.server_principals m ON m.principal_id = rm.member_principal_id",
)
AZURE_SERVER_ROLE_MEMBERS = _sql(
    "server_role_members",
    f"SELECT r.name AS role_name, l.name AS member_name, {_SID.format('l.sid')} AS member_sid "
    "FROM sys.server_role_members rm "
    "JOIN sys.server_principals r ON r.principal_id = rm.role_principal_id "
    "JOIN sys.sql_logins l ON l.principal_id = rm.member_principal_id",
)
SERVER_PERMISSIONS = _sql(
    "server_permissions",
    f"SELECT pr.name AS grantee_name, {_SID.format('pr.sid')} AS grantee_sid, pe.permission_name, pe.state_desc "
    "FROM sys.server_permissions pe JOIN sys.server_principals pr ON pr.principal_id = pe.grantee_principal_id "
    "WHERE pe.state IN ('G','W') AND pe.permission_name IN ("
    + ", ".join(f"'{p}'" for p in PRIVILEGED_PERMISSIONS)
    + ")",
)
SA = _sql("sa", "SELECT name, is_disabled FROM sys.server_principals WHERE sid = 0x01")
REGISTRY = _sql(
    "registry",
    "SELECT registry_key, value_name, CAST(value_data AS nvarchar(4000)) AS value_data "
    "FROM sys.dm_server_registry WHERE registry_key LIKE N'%SuperSocketNetLib' "
    "AND value_name IN (N'ForceEncryption', N'ForceStrictEncryption')",
)
CONNECTIONS = _sql(
    "connections",
    "SELECT c.net_transport, c.encrypt_option, COUNT(*) AS connections FROM sys.dm_exec_connections c "
    "WHERE c.session_id <> @@SPID GROUP BY c.net_transport, c.encrypt_option",
)
DATABASES = _sql(
    "databases",
    f"SELECT d.database_id, d.name, {_SID.format('d.owner_sid')} AS owner_sid, "
    "SUSER_SNAME(d.owner_sid) AS owner_login, d.state_desc FROM sys.databases d",
)
ENCRYPTION_KEYS = _sql(
    "encryption_keys",
    "SELECT DB_NAME(k.database_id) AS database_name, k.encryption_state, k.key_algorithm, k.key_length, "
    "k.percent_complete FROM sys.dm_database_encryption_keys k",
)
AZURE_ENCRYPTION_KEYS = _sql(
    "encryption_keys",
    "SELECT DB_NAME() AS database_name, k.encryption_state, k.key_algorithm, k.key_length, "
    "k.percent_complete FROM sys.dm_database_encryption_keys k WHERE k.database_id = DB_ID()",
)
MASTER_ROLE_MEMBERS = _sql(
    "master_role_members",
    f"SELECT r.name AS role_name, m.name AS member_name, {_SID.format('m.sid')} AS member_sid "
    "FROM sys.database_role_members rm "
    "JOIN sys.database_principals r ON r.principal_id = rm.role_principal_id "
    "JOIN sys.database_principals m ON m.principal_id = rm.member_principal_id "
    "WHERE r.name IN ('dbmanager', 'loginmanager')",
)
DATABASE_PRINCIPALS = _sql(
    "database_principals",
    f"SELECT dp.principal_id, dp.name AS user_name, dp.type, dp.type_desc, dp.authentication_type_desc, "
    f"{_SID.format('dp.sid')} AS sid FROM sys.database_principals dp "
    "WHERE dp.type IN ('S','U','G','E','X','C','K') AND dp.principal_id > 4",
)
DATABASE_ROLE_MEMBERS = _sql(
    "database_role_members",
    f"SELECT r.name AS role_name, m.name AS member_name, {_SID.format('m.sid')} AS member_sid, m.type AS member_type "
    "FROM sys.database_role_members rm "
    "JOIN sys.database_principals r ON r.principal_id = rm.role_principal_id "
    "JOIN sys.database_principals m ON m.principal_id = rm.member_principal_id",
)
SERVER_VISIBILITY = _sql(
    "server_visibility",
    "SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DEFINITION') AS view_any_definition",
)
DATABASE_VISIBILITY = _sql(
    "database_visibility",
    "SELECT HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'VIEW DEFINITION') AS view_definition",
)
GUEST_CONNECT = _sql(
    "guest_connect",
    "SELECT COUNT(*) AS grants FROM sys.database_permissions p "
    "JOIN sys.database_principals dp ON dp.principal_id = p.grantee_principal_id "
    "WHERE dp.name = N'guest' AND p.permission_name = 'CONNECT' AND p.state IN ('G','W')",
)

TEXT_TYPES = ("char", "varchar", "nchar", "nvarchar", "text", "ntext")
"""INFORMATION_SCHEMA.COLUMNS.DATA_TYPE of the columns a `card_scan_tables` table is scanned in."""
CARD_TABLE_COLUMNS = _sql(
    "card_table_columns",
    "SELECT c.COLUMN_NAME AS column_name FROM INFORMATION_SCHEMA.TABLES t "
    "LEFT JOIN INFORMATION_SCHEMA.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME "
    "AND c.DATA_TYPE IN (" + ", ".join(f"'{t}'" for t in TEXT_TYPES) + ") "
    "WHERE t.TABLE_SCHEMA = %s AND t.TABLE_NAME = %s ORDER BY c.ORDINAL_POSITION",
)
"""The text columns of one table (schema, table bound): no row = no such table (or not visible to
the auditor), one row with a NULL name = a table without text columns."""
OPT_IN_COLUMN_TYPE = _sql(
    "newsletter_column_type",
    "SELECT DATA_TYPE AS data_type FROM INFORMATION_SCHEMA.COLUMNS "
    "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND COLUMN_NAME = %s",
)
OPT_IN_KINDS = {
    "bit": "flag",
    "date": "timestamp",
    "datetime": "timestamp",
    "datetime2": "timestamp",
    "smalldatetime": "timestamp",
    "datetimeoffset": "timestamp",
}
"""The opt-in column types the auditor counts with: a bit flag (1 = opted in) or a date/time (set = opted in)."""
QUOTABLE_ERRORS = frozenset({102, 156, 207, 208, 229, 230, 916, 1222, 4104, 8120})
"""Server errors whose message names only identifiers or the configured query text (syntax, invalid
column or object, permission, lock timeout); any other message of a measurement may quote a value
read (a failed conversion does), so only its number is kept."""


# --- fetch ----------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC).isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex().upper()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _driver_error(exc: BaseException, secret: str | None) -> str:
    """Return a one-line account of a driver error with the secret (if it ever appeared) masked."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int):
        detail = args[1].decode("utf-8", "replace") if isinstance(args[1], bytes) else str(args[1])
        text = f"error {args[0]}: {detail}"
    else:
        text = str(exc) or type(exc).__name__
    text = " ".join(text.split())
    if secret:
        text = text.replace(secret, "***")
    return text[:500]


@dataclass
class _Session:
    """One open connection to one database, with the statement helpers the reader needs."""

    connection: DbApiConnection
    database: str

    @contextlib.contextmanager
    def _cursor(self, sql: str, params: tuple[Any, ...] | None = None) -> Iterator[DbApiCursor]:
        """Yield a cursor that has run `sql` (with `params` bound by the driver); close it afterwards."""
        cursor = self.connection.cursor()
        try:
            if params is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, params)
            yield cursor
        finally:
            cursor.close()

    @staticmethod
    def _each(cursor: DbApiCursor) -> Iterator[Sequence[Any]]:
        """Yield the rows of a cursor's result, fetched in batches."""
        while batch := cursor.fetchmany(FETCH_BATCH):
            yield from batch

    def rows(self, sql: str, params: tuple[Any, ...] | None = None) -> list[dict[str, Any]]:
        with self._cursor(sql, params) as cursor:
            names = [str(column[0]) for column in cursor.description or ()]
            return [{n: _jsonable(v) for n, v in zip(names, row, strict=False)} for row in self._each(cursor)]

    def tuples(self, sql: str, params: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
        """Return every row as the driver gave it (a count query's answer is checked, never kept)."""
        with self._cursor(sql, params) as cursor:
            return [tuple(row) for row in self._each(cursor)]

    def classify_column(self, sql: str) -> tuple[int, Counter[str]]:
        """Run a one-column query and return (rows, formats): each value is classified and dropped."""
        counts: Counter[str] = Counter()
        examined = 0
        with self._cursor(sql) as cursor:
            for row in self._each(cursor):
                counts[classify(row[0])] += 1
                examined += 1
        return examined, counts

    def count_cards(self, sql: str, params: tuple[Any, ...]) -> CardCount:
        """Run a one-column query and return its card numbers per brand: each value is classified and dropped."""
        with self._cursor(sql, params) as cursor:
            return count_cards(row[0] for row in self._each(cursor))

    def execute(self, sql: str) -> None:
        with self._cursor(sql):
            pass

    def forget_failure(self) -> None:
        """Roll back after a failed measurement, so the next one starts clean (nothing is ever written)."""
        with contextlib.suppress(Exception):
            self.connection.rollback()


@dataclass
class _Fetch:
    """The state of one server's fetch: where rows go, the auditor's secret for masking, the policy."""

    entry: DatabaseServerEntry
    opener: Opener
    secret: str | None
    policy: Policy
    azure: bool

    def __post_init__(self) -> None:
        self.out: CatalogRows = {"unreadable": []}

    def open(self, database: str) -> _Session:
        try:
            connection = self.opener(database)
        except CatalogError:
            raise
        except Exception as exc:
            raise CatalogError(
                msg(
                    "{server}: cannot connect to database {database} on {address}:{port}: {error}",
                    server=self.entry.name,
                    database=database,
                    address=self.entry.host,
                    port=self.entry.effective_port(),
                    error=_driver_error(exc, self.secret),
                )
            ) from None
        session = _Session(connection, database)
        lock_ms = max(1000, int(self.entry.timeout_seconds * 500))
        self.required(session, msg("lock timeout"), lambda: session.execute(f"SET LOCK_TIMEOUT {lock_ms}"))
        return session

    def close(self, session: _Session) -> None:
        for step in (session.connection.rollback, session.connection.close):
            with contextlib.suppress(Exception):  # closing a read-only session cannot lose anything
                step()

    def required(self, session: _Session, step: Reason, run: Callable[[], Any]) -> Any:
        try:
            return run()
        except CatalogError:
            raise
        except Exception as exc:
            raise CatalogError(
                msg(
                    "{server}: {step} in database {database} could not be read: {error}",
                    server=self.entry.name,
                    step=step,
                    database=session.database,
                    error=_driver_error(exc, self.secret),
                )
            ) from None

    def put(self, name: str, rows: Iterable[dict[str, Any]], database: str | None = None) -> None:
        target = self.out.setdefault(name, [])
        target.extend({**row, "database": database} if database is not None else row for row in rows)

    def read(self, session: _Session, name: str, sql: str, *, per_database: bool = False) -> None:
        """Run a required catalog query and keep its rows under `name`."""
        rows = self.required(session, name, lambda: session.rows(sql))
        self.put(name, rows, session.database if per_database else None)

    def require_visibility(self, session: _Session, name: str, sql: str, permission: str) -> None:
        """Refuse to read a catalog the auditor's login sees only part of.

        Without VIEW ANY DEFINITION / VIEW DEFINITION the catalog views silently return only
        the login's own rows, so missing mappings and role members would read as "none": a
        false pass for 12d. Such a server is an error naming the permission to grant.
        """
        rows = self.required(session, name, lambda: session.rows(sql))
        granted = bool(rows) and all(bool(value) for value in rows[0].values())
        if not granted:
            raise CatalogError(
                msg(
                    "{server}: the auditor's login lacks {permission} in database {database}: logins, role "
                    "memberships and user mappings would be silently incomplete (grant {permission} to {login})",
                    server=self.entry.name,
                    permission=permission,
                    database=session.database,
                    login=self.entry.user,
                )
            )

    def read_optional(self, session: _Session, name: str, sql: str, *, per_database: bool = False) -> None:
        """Run a catalog query whose failure leaves that fact unknown (an error for its control)."""
        try:
            rows = session.rows(sql)
        except Exception as exc:
            self.out["unreadable"].append(
                {"step": name, "database": session.database, "reason": _driver_error(exc, self.secret)}
            )
            return
        self.put(name, rows, session.database if per_database else None)


def fetch_catalog(
    opener: Opener,
    entry: DatabaseServerEntry,
    applications: list[ApplicationEntry],
    policy: Policy,
    secret: str | None,
    *,
    azure: bool,
) -> CatalogRows:
    """Return the catalog rows and reduced measurements of one server, read through `opener`.

    Exists so the live driver and a recorded connection go through the same queries. Raises
    CatalogError when the server, master or a selected user database cannot be read.
    """
    run = _Fetch(entry, opener, secret, policy, azure)
    master = run.open("master")
    try:
        run.read(master, "server", SERVER)
        if azure:
            run.require_visibility(master, "database_visibility", DATABASE_VISIBILITY, "VIEW DEFINITION")
            run.read(master, "logins", SQL_LOGINS)
            run.read_optional(master, "entra_logins", ENTRA_LOGINS)
            run.read(master, "master_role_members", MASTER_ROLE_MEMBERS)
            run.read_optional(master, "server_role_members", AZURE_SERVER_ROLE_MEMBERS)
        else:
            run.require_visibility(master, "server_visibility", SERVER_VISIBILITY, "VIEW ANY DEFINITION")
            run.read(master, "logins", LOGINS)
            run.read(master, "server_role_members", SERVER_ROLE_MEMBERS)
            run.read(master, "server_permissions", SERVER_PERMISSIONS)
            run.read(master, "sa", SA)
            run.read_optional(master, "registry", REGISTRY)
            run.read_optional(master, "connections", CONNECTIONS, per_database=True)
            run.read_optional(master, "encryption_keys", ENCRYPTION_KEYS)
        run.read(master, "databases", DATABASES)
    finally:
        run.close(master)

    present = {str(row["name"]): row for row in run.out["databases"]}
    selected = [
        name for name in present if not is_system_database(name, present[name].get("database_id"), azure)
    ]
    if entry.databases is not None:
        wanted = set(entry.databases)
        for name in sorted(wanted - set(present)):
            run.out["unreadable"].append(
                {"step": "database", "database": name, "reason": "configured but not on the server"}
            )
        selected = [name for name in selected if name in wanted]
    for name in selected:
        state = str(present[name].get("state_desc") or "ONLINE")
        if state != "ONLINE":
            run.out["unreadable"].append(
                {"step": "database", "database": name, "reason": f"the database is {state}"}
            )
            continue
        _read_database(run, name, [a for a in applications if a.database == name])
    read = {str(row["database"]) for row in run.out.get("database_principals", [])} | {
        str(row["database"]) for row in run.out.get("guest_connect", [])
    }
    for app in applications:
        if app.database not in read:
            why = f"database {app.database} was not read (not an online user database on {entry.name})"
            for column in app.password_columns:
                failed = {"application": app.name, "column": column, "error": why}
                run.put("password_columns", [failed], app.database)
            if app.retention is not None:
                failed = {
                    "application": app.name,
                    "measured_by": retention_description(app.retention),
                    "error": why,
                }
                run.put("message_stores", [failed], app.database)
            cards, newsletters = unmeasured_rows(app, why)
            run.put(CARD_SCANS, cards, app.database)
            run.put(NEWSLETTER_OPT_INS, newsletters, app.database)
    return run.out


def is_system_database(name: str, database_id: Any, azure: bool) -> bool:
    """Return True for master/tempdb/model/msdb (database_id 1-4), which are not user databases."""
    if azure:
        return name.lower() == "master"
    return name.lower() in SYSTEM_DATABASES or (isinstance(database_id, int) and database_id <= 4)


def _read_database(run: _Fetch, name: str, applications: list[ApplicationEntry]) -> None:
    session = run.open(name)
    try:
        run.require_visibility(session, "database_visibility", DATABASE_VISIBILITY, "VIEW DEFINITION")
        run.read(session, "database_principals", DATABASE_PRINCIPALS, per_database=True)
        run.read(session, "database_role_members", DATABASE_ROLE_MEMBERS, per_database=True)
        run.read(session, "guest_connect", GUEST_CONNECT, per_database=True)
        if run.azure:
            run.read_optional(session, "encryption_keys", AZURE_ENCRYPTION_KEYS)
            run.read_optional(session, "connections", CONNECTIONS, per_database=True)
        for app in applications:
            for column in app.password_columns:
                measured = _measure_password_column(run, session, app, column)
                run.put("password_columns", [measured], session.database)
            if app.retention is not None:
                run.put("message_stores", _measure_retention(run, session, app, app.retention), name)
            run.put(CARD_SCANS, _measure_cards(run, session, app), name)
            if app.newsletter is not None:
                run.put(NEWSLETTER_OPT_INS, [_measure_newsletter(run, session, app, app.newsletter)], name)
    finally:
        run.close(session)


def _measure_password_column(
    run: _Fetch, session: _Session, app: ApplicationEntry, column: str
) -> dict[str, Any]:
    result: dict[str, Any] = {"application": app.name, "column": column}
    try:
        schema, table, name = column.split(".")
        source = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        limit = int(run.policy.password_sample_limit)
        totals = session.rows(_sql("password_total", f"SELECT COUNT_BIG(*) AS total FROM {source}"))
        examined, counts = session.classify_column(
            _sql("password_sample", f"SELECT TOP ({limit}) {quote_identifier(name)} AS value FROM {source}")
        )
    except CatalogError as exc:
        return {**result, "error": str(exc)}
    except Exception as exc:
        return {**result, "error": f"could not be read: {_driver_error(exc, run.secret)}"}
    total = int(totals[0]["total"]) if totals and totals[0].get("total") is not None else None
    return {
        **result,
        "rows_examined": examined,
        "total_rows": total,
        "formats": sorted([fmt, count] for fmt, count in counts.items()),
        "sampled": total is not None and total > examined,
    }


def retention_description(retention: MessageRetention) -> str:
    """Return how an application's messages are measured, for the evidence (never a value)."""
    if retention.table is not None:
        return f"table {retention.table} ({retention.status_column}, {retention.timestamp_column})"
    return "configured queries"


def _measure_retention(
    run: _Fetch, session: _Session, app: ApplicationEntry, retention: MessageRetention
) -> list[dict[str, Any]]:
    measured_by = retention_description(retention)
    out: list[dict[str, Any]] = []
    for kind, values, query in (
        ("delivered", retention.delivered_values, retention.delivered_query),
        ("failed", retention.failed_values, retention.failed_query),
    ):
        row: dict[str, Any] = {"application": app.name, "measured_by": measured_by, "kind": kind}
        try:
            if query is not None:
                rows = session.rows(_sql(f"retention_{kind}", query))
                first = list(rows[0].values()) if rows else []
                if len(first) < 2:
                    raise CatalogError(f"the {kind} query must return one row of (count, oldest timestamp)")
                count, oldest = first[0], first[1]
            else:
                if not (retention.table and retention.timestamp_column and retention.status_column):
                    raise CatalogError("retention: table, timestamp_column and status_column are required")
                placeholders = ", ".join(["%s"] * len(values))
                table = ".".join(quote_identifier(part) for part in retention.table.split("."))
                oldest_of = f"MIN({quote_identifier(retention.timestamp_column)})"
                sql = (
                    f"SELECT COUNT_BIG(*) AS messages, {oldest_of} AS oldest FROM {table} "
                    f"WHERE {quote_identifier(retention.status_column)} IN ({placeholders})"
                )
                rows = session.rows(_sql(f"retention_{kind}", sql), tuple(values))
                count, oldest = (rows[0]["messages"], rows[0]["oldest"]) if rows else (0, None)
        except CatalogError as exc:
            out.append({**row, "error": str(exc)})
            continue
        except Exception as exc:
            out.append({**row, "error": f"could not be read: {_driver_error(exc, run.secret)}"})
            continue
        out.append({**row, "count": int(count or 0), "oldest": _jsonable(oldest)})
    return out


def _item_error(step: str, exc: BaseException, secret: str | None) -> str:
    """Return why one 6c/6e measurement failed, without any text that may quote a value read.

    A server error outside `QUOTABLE_ERRORS` keeps only its number; a driver error without a
    number (a timeout, a lost connection) is kept, since it carries no row of the table.
    """
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if args and isinstance(args[0], int) and args[0] not in QUOTABLE_ERRORS:
        return f"{step}: SQL Server error {args[0]} ({type(exc).__name__}; its message may quote a value)"
    return f"{step}: {_driver_error(exc, secret)}"


def _parts(name: str, count: int, form: str) -> list[str]:
    """Return the dot-separated parts of a configured name; raise CatalogError when it is not `form`."""
    parts = name.split(".")
    if len(parts) != count or not all(parts):
        raise CatalogError(f"{name!r} is not {form}")
    return parts


def _table(schema: str, table: str) -> str:
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def _scan_column(run: _Fetch, session: _Session, app: ApplicationEntry, column: str, parts: list[str]) -> Row:
    """Return the card numbers per brand in a sample of one column (schema, table, column `parts`).

    At most `policy.card_sample_limit` values are read, each classified and dropped; the row
    holds counts only, or why the column could not be read.
    """
    step = f"card scan of column {column} in database {app.database}"
    try:
        schema, table, name = parts
        source = _table(schema, table)
        totals = session.tuples(_sql("card_total", f"SELECT COUNT_BIG(*) AS total FROM {source}"))
        sample = f"SELECT TOP (%s) CAST({quote_identifier(name)} AS nvarchar(max)) AS value FROM {source}"
        counted = session.count_cards(_sql("card_sample", sample), (int(run.policy.card_sample_limit),))
    except CatalogError as exc:
        return {"application": app.name, "column": column, "error": f"{step}: {exc}"}
    except Exception as exc:
        session.forget_failure()
        return {"application": app.name, "column": column, "error": _item_error(step, exc, run.secret)}
    total = one_count(totals)
    if isinstance(total, str):
        return {"application": app.name, "column": column, "error": f"{step}: the row count: {total}"}
    return card_scan_row(app.name, column, counted, total)


def _text_columns(run: _Fetch, session: _Session, app: ApplicationEntry, table: str) -> list[str] | str:
    """Return the text columns of a configured table in order, or why they cannot be listed."""
    step = f"text columns of table {table} in database {app.database}"
    try:
        listed = session.tuples(CARD_TABLE_COLUMNS, tuple(_parts(table, 2, "schema.table")))
    except CatalogError as exc:
        return f"{step}: {exc}"
    except Exception as exc:
        session.forget_failure()
        return _item_error(step, exc, run.secret)
    if not listed:
        return f"{step}: no such table, or the auditor's login cannot see it"
    names = [row[0] if len(row) == 1 else False for row in listed]
    columns = [name for name in names if isinstance(name, str) and name]
    if len(columns) != len(names) and names != [None]:
        return f"{step}: the column list is unreadable"
    return columns


def _measure_cards(run: _Fetch, session: _Session, app: ApplicationEntry) -> list[Row]:
    """Return card-number counts of the configured columns and of every text column of the configured tables.

    A configured table that cannot be listed is one error row (`table`); one without text
    columns is a row saying so. Names compare case-insensitively, as SQL Server's do, so a
    column that is both configured and in a configured table is scanned once. No value read
    leaves this function.
    """
    out: list[Row] = []
    for column in app.card_scan:
        try:
            parts = _parts(column, 3, "schema.table.column")
        except CatalogError as exc:
            out.append({"application": app.name, "column": column, "error": str(exc)})
            continue
        out.append(_scan_column(run, session, app, column, parts))
    scanned = {column.casefold() for column in app.card_scan}
    for table in app.card_scan_tables:
        columns = _text_columns(run, session, app, table)
        if isinstance(columns, str):
            out.append({"application": app.name, "table": table, "error": columns})
            continue
        if not columns:
            out.append({"application": app.name, "table": table, "no_text_columns": True})
            continue
        for name in columns:
            qualified = f"{table}.{name}"
            if qualified.casefold() not in scanned:
                scanned.add(qualified.casefold())
                parts = [*table.split("."), name]
                out.append({**_scan_column(run, session, app, qualified, parts), "table": table})
    return out


def _measure_newsletter(
    run: _Fetch, session: _Session, app: ApplicationEntry, newsletter: NewsletterOptIn
) -> Row:
    """Return (total, without opt-in) of an application's subscriptions: counts only, never a row.

    The opt-in column's type is read first: a bit is a flag (0 or NULL = no opt-in), a date/time
    a timestamp (NULL = no opt-in), anything else an error. A configured query must answer one
    row of one whole number; any other answer is an error that never quotes it.
    """
    row: Row = {"application": app.name, "measured_by": newsletter_measured_by(newsletter)}
    step = f"newsletter subscriptions in database {app.database}"
    try:
        if newsletter.without_opt_in_query is not None:
            counted = one_count(session.tuples(_sql("newsletter_query", newsletter.without_opt_in_query)))
            if isinstance(counted, str):
                return {**row, "error": f"{step}: {counted}"}
            return {**row, "total": None, "without_opt_in": counted}
        assert newsletter.table is not None
        assert newsletter.opt_in_column is not None
        schema, table = _parts(newsletter.table, 2, "schema.table")
        column = newsletter.opt_in_column
        found = session.tuples(OPT_IN_COLUMN_TYPE, (schema, table, column))
        if not found:
            return {
                **row,
                "error": f"{step}: table {newsletter.table} has no column {column} "
                "(or the auditor's login cannot see it)",
            }
        type_name = found[0][0] if len(found) == 1 and len(found[0]) == 1 else None
        if not isinstance(type_name, str):
            return {**row, "error": f"{step}: the type of opt_in_column {column} is unreadable"}
        kind = OPT_IN_KINDS.get(type_name.lower())
        if kind is None:
            return {
                **row,
                "error": f"{step}: opt_in_column {column} is of type {type_name}, "
                "not a boolean flag or a timestamp",
            }
        quoted = quote_identifier(column)
        lacking = f"{quoted} IS NULL" if kind == "timestamp" else f"({quoted} IS NULL OR {quoted} = 0)"
        counts = session.tuples(
            _sql(
                "newsletter_counts",
                f"SELECT COUNT_BIG(*) AS total, COUNT_BIG(CASE WHEN {lacking} THEN 1 END) AS without_opt_in "
                f"FROM {_table(schema, table)}",
            )
        )
    except CatalogError as exc:
        return {**row, "error": f"{step}: {exc}"}
    except Exception as exc:
        session.forget_failure()
        return {**row, "error": _item_error(step, exc, run.secret)}
    answers = [count_answer(value) for value in counts[0]] if len(counts) == 1 and len(counts[0]) == 2 else []
    if len(answers) != 2 or not all(isinstance(answer, int) for answer in answers):
        return {**row, "error": f"{step}: the count query did not return one row of two counts"}
    return {
        **row,
        "measured_by": newsletter_measured_by(newsletter, kind),
        "total": answers[0],
        "without_opt_in": answers[1],
    }


def pymssql_connector(entry: DatabaseServerEntry, secret: str | None) -> Opener:
    """Return an opener of pymssql connections for a server (TDS 7.4, encryption required).

    Exists so `fetch` only sees the DB-API seam. pymssql's bundled FreeTDS offers
    off/request/require, not TDS 8.0 `strict`; `require` refuses a server that will not encrypt.
    """
    import pymssql

    seconds = max(1, math.ceil(entry.timeout_seconds))

    def open_database(database: str) -> DbApiConnection:
        connection = pymssql.connect(
            server=entry.host,
            port=str(entry.effective_port()),
            user=entry.user,
            password=secret or "",
            database=database,
            login_timeout=seconds,
            timeout=seconds,
            tds_version="7.4",
            encryption="require",
            appname="statement-auditor",
            autocommit=False,
        )
        return cast(DbApiConnection, connection)

    return open_database


class SqlServerReader:
    """The EngineReader of SQL Server (on-prem, `azure=False`) and Azure SQL Database (`azure=True`)."""

    def __init__(self, *, azure: bool, connector: Connector = pymssql_connector) -> None:
        self.azure = azure
        self.connector = connector

    def fetch(
        self,
        entry: DatabaseServerEntry,
        applications: list[ApplicationEntry],
        policy: Policy,
        secret: str | None,
    ) -> CatalogRows:
        """Return the server's catalog rows and reduced measurements; raise CatalogError on failure."""
        return fetch_catalog(
            self.connector(entry, secret), entry, applications, policy, secret, azure=self.azure
        )

    def parse(
        self,
        entry: DatabaseServerEntry,
        applications: list[ApplicationEntry],
        rows: CatalogRows,
        collected_at: datetime,
    ) -> ServerReading:
        """Return the facts in `rows` (see `parse_catalog`)."""
        return parse_catalog(entry, applications, rows, collected_at, azure=self.azure)


READER = SqlServerReader(azure=False)
AZURE_READER = SqlServerReader(azure=True)


# --- parse ----------------------------------------------------------------------------------------

ENCRYPTION_STATES = range(7)
"""sys.dm_database_encryption_keys.encryption_state: 0 (no key) to 6 (protection change in progress)."""
ENCRYPT_OPTIONS = ("TRUE", "FALSE")
"""sys.dm_exec_connections.encrypt_option."""


def _failed_steps(catalog: CatalogRowSet) -> dict[str, set[str]]:
    """Return step -> databases in which an optional read failed (the `unreadable` result set)."""
    failed: dict[str, set[str]] = {}
    for row in catalog("unreadable"):
        failed.setdefault(row.text("step"), set()).add(row.text("database"))
    return failed


def _optional_set(catalog: CatalogRowSet, name: str, failed: dict[str, set[str]]) -> list[CatalogRow]:
    """Return the rows of an optionally read result set: absent only when its read is listed as failed."""
    if catalog.present(name):
        return list(catalog(name))
    if name in failed:
        return []
    raise CatalogError(
        msg(
            "{server}: the catalog rows have no result set {name}, and its read is not listed as failed",
            server=catalog.server,
            name=name,
        )
    )


def _closure(start: set[str], parents: dict[str, set[str]]) -> set[str]:
    """Return every role reachable from `start` through role membership (nested roles included)."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        current = todo.pop()
        for role in parents.get(current, set()):
            if role not in seen:
                seen.add(role)
                todo.append(role)
    return seen


def _encryption_states(
    catalog: CatalogRowSet, databases: list[str], failed: dict[str, set[str]], azure: bool
) -> dict[str, str | None]:
    """Return each database's DEK encryption_state as text ('none' without a key, None when unknown)."""
    unread = failed.get("encryption_keys", set())
    offline = failed.get("database", set())

    def unknown(name: str) -> bool:
        return (azure and (name in unread or name in offline)) or (not azure and "master" in unread)

    if any(not unknown(name) for name in databases) and not catalog.present("encryption_keys"):
        raise CatalogError(
            msg(
                "{server}: the catalog rows have no result set {name}, and its read is not listed as failed",
                server=catalog.server,
                name="encryption_keys",
            )
        )
    by_name: dict[str, str] = {}
    for row in catalog.optional("encryption_keys"):
        state = row.integer("encryption_state")
        if state not in ENCRYPTION_STATES:
            raise CatalogError(
                msg(
                    "{where}: encryption_state {state} is not a documented state (0-6)",
                    where=row.where,
                    state=state,
                )
            )
        by_name[row.text("database_name")] = str(state)
    return {name: None if unknown(name) else by_name.get(name, "none") for name in databases}


@dataclass
class _LoginDraft:
    name: str
    kind: str
    disabled: bool
    sid: str | None
    server_admin: bool = False

    def __post_init__(self) -> None:
        self.privileges: list[str] = []
        self.privileges_unread = ""
        self.access: dict[str, tuple[str, tuple[str, ...]]] = {}

    def grant(self, database: str, via: str, roles: Iterable[str] = ()) -> None:
        if database in self.access:
            old_via, old_roles = self.access[database]
            self.access[database] = (old_via, tuple(dict.fromkeys((*old_roles, *roles))))
        else:
            self.access[database] = (via, tuple(dict.fromkeys(roles)))

    def fact(self) -> Login:
        return Login(
            name=self.name,
            kind=self.kind,
            disabled=self.disabled,
            server_privileges=tuple(dict.fromkeys(self.privileges)),
            databases=tuple(
                DatabaseAccess(database=db, via=via, roles=roles)
                for db, (via, roles) in sorted(self.access.items())
            ),
            is_server_admin=self.server_admin,
            privileges_unread=self.privileges_unread,
        )


def _server_privileges(
    catalog: CatalogRowSet, failed: dict[str, set[str]], azure: bool
) -> dict[str, list[str]]:
    """Return login sid -> server roles (transitively) and privileged permissions (direct or via a role)."""
    parents: dict[str, set[str]] = {}
    members = (
        _optional_set(catalog, "server_role_members", failed) if azure else catalog("server_role_members")
    )
    for row in members:
        role = row.text("role_name")
        parents.setdefault(row.text("member_sid"), set()).add(role)
        parents.setdefault(row.text("member_name"), set()).add(role)
    permissions: dict[str, set[str]] = {}
    for row in () if azure else catalog("server_permissions"):
        permission = row.text("permission_name", allowed=PRIVILEGED_PERMISSIONS)
        permissions.setdefault(row.text("grantee_name"), set()).add(permission)
        permissions.setdefault(row.text("grantee_sid"), set()).add(permission)
    for row in catalog("master_role_members") if azure else ():
        parents.setdefault(row.text("member_sid"), set()).add(row.text("role_name"))
    out: dict[str, list[str]] = {}
    for sid in {*parents, *permissions}:
        roles = _closure({sid}, parents) - {"public"}
        granted = set(permissions.get(sid, set()))
        for role in roles:
            granted |= permissions.get(role, set())
        out[sid] = sorted(roles) + sorted(granted)
    return out


def _databases(catalog: CatalogRowSet) -> dict[str, dict[str, Any]]:
    """Return sys.databases by name: database_id, owner_login (NULL for an orphaned owner), owner_sid."""
    present: dict[str, dict[str, Any]] = {}
    for row in catalog("databases"):
        present[row.text("name")] = {
            "database_id": row.integer("database_id"),
            "owner_login": row.optional_text("owner_login"),
            "owner_sid": row.text("owner_sid"),
        }
    return present


def _login_drafts(
    catalog: CatalogRowSet, failed: dict[str, set[str]], admin_name: str, azure: bool
) -> dict[str, _LoginDraft]:
    drafts: dict[str, _LoginDraft] = {}
    entra = _optional_set(catalog, "entra_logins", failed) if azure else []
    for row in [*catalog("logins"), *entra]:
        sid = row.text("sid")
        name = row.text("name")
        admin = (not azure and sid == "0x01") or (bool(admin_name) and name.lower() == admin_name.lower())
        kind = LOGIN_KINDS.get(row.text("type").strip())
        if kind is None:
            raise CatalogError(
                msg(
                    "{where}: type {type} is not a login type the query selects",
                    where=row.where,
                    type=repr(row.values["type"]),
                )
            )
        drafts[sid] = _LoginDraft(
            name=name, kind=kind, disabled=row.flag("is_disabled"), sid=sid, server_admin=admin
        )
    return drafts


def parse_catalog(
    entry: DatabaseServerEntry,
    applications: list[ApplicationEntry],
    rows: CatalogRows,
    collected_at: datetime,
    *,
    azure: bool,
) -> ServerReading:
    """Return the facts of one SQL Server / Azure SQL catalog from its rows (pure).

    Logins are matched to database users by sid; a user without a login (contained or Entra
    user) becomes a database-scoped identity of its own. Server roles and role-granted
    permissions are followed through nested roles. Raises CatalogError (the server is an
    `error`) when a value it judges is absent, null, of the wrong type or names a database
    the catalog does not list; a damaged password or message measurement errors only its own
    subject.
    """
    catalog = CatalogRowSet(entry.name, rows)
    failed = _failed_steps(catalog)
    present = _databases(catalog)
    names = [n for n in present if not is_system_database(n, present[n]["database_id"], azure)]
    if entry.databases is not None:
        names = [n for n in names if n in set(entry.databases)]
    missing = sorted(failed.get("database", set()) - set(present))
    states = _encryption_states(catalog, names, failed, azure)
    guest: set[str] = set()
    readable_guest: set[str] = set()
    for row in catalog("guest_connect"):
        database = _known_database(row, present)
        readable_guest.add(database)
        if row.integer("grants", minimum=0) > 0:
            guest.add(database)
    databases = [
        Database(
            server=entry.name,
            name=name,
            owner=present[name]["owner_login"],
            encryption_state=states[name],
            encrypted=None if states[name] is None else states[name] == "3",
            guest_connect=name in guest,
        )
        for name in names
    ] + [Database(server=entry.name, name=name) for name in missing]

    admin_name = entry.effective_admin_login()
    if not azure:
        sa_rows = list(catalog("sa"))
        if not sa_rows:
            raise CatalogError(
                msg(
                    "{server}: result set sa is empty: sid 0x01 is always a server principal",
                    server=entry.name,
                )
            )
        admin_name = sa_rows[0].text("name")
    drafts = _login_drafts(catalog, failed, admin_name, azure)
    privileges = _server_privileges(catalog, failed, azure)
    roles_unread = (
        "sys.server_role_members in master could not be read: server roles are unknown"
        if azure and not catalog.present("server_role_members")
        else ""
    )
    for key, draft in drafts.items():
        draft.privileges.extend(privileges.get(key, []))
        draft.privileges_unread = roles_unread

    readable = _map_database_users(catalog, drafts, present)
    readable = sorted(set(readable) | readable_guest)
    for name in readable:
        owner = drafts.get(present[name]["owner_sid"])
        if owner is not None:
            owner.grant(name, "database owner (dbo)", ("db_owner",))
    for draft in drafts.values():
        if draft.server_admin and azure:
            for name in readable:
                draft.grant(name, "server administrator (dbo in every database)", ("db_owner",))
        if DATABASE_CONNECTOR_ROLE in draft.privileges:
            for name in readable:
                draft.grant(name, f"server role {DATABASE_CONNECTOR_ROLE}")
        if draft.kind not in ("contained_user",):
            for name in sorted(guest):
                draft.grant(name, "guest user has CONNECT")

    server = DatabaseServer(
        name=entry.name,
        engine=entry.engine,
        host=entry.host,
        port=entry.effective_port(),
        version=_version(catalog),
        databases=tuple(databases),
        logins=tuple(d.fact() for d in drafts.values()),
        admin_login=admin_name,
        force_encryption=True if azure else _force_encryption(catalog, failed),
        connections=_connections(catalog, failed),
        applications=tuple(a.name for a in applications),
        application_logins=tuple((a.name, a.login or a.certificate or "") for a in applications),
    )
    return ServerReading(
        server=server,
        password_columns=password_columns(entry.name, catalog.optional("password_columns"), applications),
        message_stores=message_stores(
            entry.name,
            catalog.optional("message_stores"),
            applications,
            collected_at,
            age_of=_age_days,
            measured_by=lambda app: retention_description(app.retention) if app.retention else "",
        ),
        card_columns=card_columns(entry.name, catalog.optional(CARD_SCANS), applications),
        newsletters=newsletter_subscriptions(entry.name, catalog.optional(NEWSLETTER_OPT_INS), applications),
    )


def _known_database(row: CatalogRow, present: dict[str, dict[str, Any]]) -> str:
    """Return a row's database, which must be one of sys.databases."""
    name = row.text("database")
    if name not in present:
        raise CatalogError(
            msg(
                "{where}: database {name} is not in the databases result set",
                where=row.where,
                name=repr(name),
            )
        )
    return name


def _map_database_users(
    catalog: CatalogRowSet, drafts: dict[str, _LoginDraft], present: dict[str, dict[str, Any]]
) -> list[str]:
    """Grant each login the databases its sid is a user in (with roles); return the databases read."""
    parents: dict[str, dict[str, set[str]]] = {}
    for row in catalog("database_role_members"):
        members = parents.setdefault(_known_database(row, present), {})
        members.setdefault(row.text("member_name"), set()).add(row.text("role_name"))
    readable: set[str] = set()
    for row in catalog("database_principals"):
        database, user = _known_database(row, present), row.text("user_name")
        readable.add(database)
        roles = sorted(_closure({user}, parents.get(database, {})) - {"public"})
        sid = row.optional_text("sid")
        draft = drafts.get(sid) if sid else None
        if draft is None:
            kind = "entra" if (row.optional_text("type") or "").strip() in ("E", "X") else "contained_user"
            key = f"user:{user.lower()}"
            draft = drafts.setdefault(key, _LoginDraft(name=user, kind=kind, disabled=False, sid=None))
            via = f"database user {user} without a server login"
        else:
            via = "user mapping" if user.lower() == draft.name.lower() else f"user mapping (as user {user})"
        draft.grant(database, via, roles)
    return sorted(readable)


def _version(catalog: CatalogRowSet) -> str:
    server = next(iter(catalog.optional("server")), None)
    values = server.values if server is not None else {}
    return " ".join(str(values[k]) for k in ("product_version", "edition") if values.get(k))


def _force_encryption(catalog: CatalogRowSet, failed: dict[str, set[str]]) -> bool | None:
    for row in _optional_set(catalog, "registry", failed):
        if row.text("value_name") == "ForceEncryption":
            value = (row.optional_text("value_data") or "").strip()
            if value not in ("0", "1"):
                raise CatalogError(
                    msg("{where}: ForceEncryption is {value}, not 0 or 1", where=row.where, value=repr(value))
                )
            return value == "1"
    return None


def _connections(catalog: CatalogRowSet, failed: dict[str, set[str]]) -> tuple[ConnectionEncryption, ...]:
    totals: Counter[tuple[bool, str]] = Counter()
    for row in _optional_set(catalog, "connections", failed):
        encrypted = row.text("encrypt_option", allowed=ENCRYPT_OPTIONS) == "TRUE"
        totals[(encrypted, row.text("net_transport"))] += row.integer("connections", minimum=0)
    return tuple(
        ConnectionEncryption(encrypted=encrypted, count=count, transport=transport)
        for (encrypted, transport), count in sorted(totals.items())
    )


def _age_days(oldest: datetime, collected_at: datetime) -> float:
    """Return how many days before `collected_at` the oldest message is (never negative)."""
    return max(0.0, (collected_at - oldest).total_seconds() / 86400)
