"""The database servers the auditor reads catalogs from (`[[databases]]`) and the applications
meant to use them (`[[applications]]`), with where each keeps its messages and newsletter
subscriptions (clause 6e) and which columns may not hold payment card numbers (6c).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from reports.setting_types import ConfigPath, ConfigSection, EnvName, HostName, Port, Seconds

DatabaseEngine = Literal["sqlserver", "azuresql", "postgresql", "ravendb"]
DEFAULT_DATABASE_PORTS: dict[str, int] = {
    "sqlserver": 1433,
    "azuresql": 1433,
    "postgresql": 5432,
    "ravendb": 443,
}
DEFAULT_ADMIN_LOGINS: dict[str, str] = {
    "sqlserver": "sa",
    "azuresql": "",
    "postgresql": "postgres",
    "ravendb": "",
}


class DatabaseServerEntry(ConfigSection):
    """One database server the auditor reads catalogs from (`[[databases]]`)."""

    name: str = Field(min_length=1)
    engine: DatabaseEngine
    host: HostName
    port: Port | None = None
    user: str | None = None
    """The auditor's own read-only login (SQL Server, Azure SQL, PostgreSQL)."""
    password_env: EnvName | None = None
    """The environment variable holding that login's password; never the password itself."""
    client_cert: ConfigPath | None = None
    """RavenDB: PEM file with the auditor's client certificate (and its key unless client_key is set)."""
    client_key: ConfigPath | None = None
    ca_bundle: ConfigPath | None = None
    databases: list[str] | None = None
    """Databases to read; all user databases when absent."""
    admin_login: str | None = None
    """The server's administrator login (Azure SQL administratorLogin); default sa / postgres."""
    timeout_seconds: Seconds = 15.0
    site: str = "local"
    """The `[[sites]]` entry this server is read from (default "local": the run's own machine)."""

    @model_validator(mode="after")
    def _credentials_for_engine(self) -> DatabaseServerEntry:
        if self.engine == "ravendb":
            if self.client_cert is None:
                raise ValueError("client_cert: RavenDB is read with a client certificate; set client_cert")
        elif self.user is None:
            raise ValueError(f"user: the auditor's read-only login is required for engine {self.engine!r}")
        return self

    def effective_port(self) -> int:
        """Return the configured port or the engine's default port."""
        return self.port or DEFAULT_DATABASE_PORTS[self.engine]

    def effective_admin_login(self) -> str:
        """Return the server administrator's login name ('' when the engine has none)."""
        return self.admin_login or DEFAULT_ADMIN_LOGINS[self.engine]


class MessageRetention(ConfigSection):
    """Where an application keeps its messages, so their age can be measured (clause 6e).

    Either table/column settings (the auditor builds a bounded aggregate query with quoted
    identifiers) or two queries that each return one row: (count, oldest timestamp).
    """

    table: str | None = None
    timestamp_column: str | None = None
    status_column: str | None = None
    delivered_values: list[str] = Field(default_factory=list)
    failed_values: list[str] = Field(default_factory=list)
    delivered_query: str | None = None
    failed_query: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> MessageRetention:
        by_table = self.table is not None
        by_query = self.delivered_query is not None or self.failed_query is not None
        if by_table == by_query:
            raise ValueError(
                "expected either table/timestamp_column/status_column/delivered_values/failed_values "
                "or delivered_query/failed_query"
            )
        if by_table and not (
            self.timestamp_column and self.status_column and self.delivered_values and self.failed_values
        ):
            raise ValueError(
                "table: also set timestamp_column, status_column, delivered_values and failed_values"
            )
        if by_query and not (self.delivered_query and self.failed_query):
            raise ValueError("delivered_query: set both delivered_query and failed_query")
        return self


def _dotted(value: str, parts: range, example: str) -> str:
    """Return `value` when it has a number in `parts` of non-empty dot-separated names; raise naming the form."""
    names = value.split(".")
    if len(names) not in parts or not all(name.strip() for name in names):
        raise ValueError(f"{value!r}: expected {example}")
    return value


SQL_ENGINES = ("sqlserver", "azuresql", "postgresql")
"""Engines whose scans name schema.table(.column); RavenDB names Collection(.Field)."""
TABLE_EXAMPLE = "schema.table (SQL, e.g. public.support_tickets) or a RavenDB collection (e.g. Tickets)"
COLUMN_EXAMPLE = (
    "schema.table.column (SQL, e.g. public.orders.note) or Collection.Field (RavenDB, e.g. Orders.Note)"
)


class NewsletterOptIn(ConfigSection):
    """Where an application keeps its newsletter subscriptions and their opt-in (clause 6e).

    Either a table and its opt-in column (a boolean flag that must be true, or a timestamp that
    must be set; the auditor counts with a bounded aggregate and quoted identifiers), or one
    query that returns one row of one column: the number of subscriptions without an opt-in.

    On RavenDB `table` is a collection and `opt_in_column` a top-level field of its documents
    (true, or an ISO 8601 date/time, = opted in; false, null or absent = not); every document's
    field is read with a collection query (no index is created) and any other value is an error.
    `without_opt_in_query` is then an RQL query matching the subscriptions without an opt-in,
    counted by its TotalResults with a page size of 0 (a stale index is an error).
    """

    table: str | None = None
    """schema.table of the subscriptions, e.g. public.subscribers; on RavenDB a collection, e.g. Subscribers."""
    opt_in_column: str | None = None
    """Its opt-in column: boolean (true = opted in) or a timestamp (set = opted in); RavenDB: a document field."""
    without_opt_in_query: str | None = None
    """SELECT count(*) ... of the subscriptions that lack an opt-in (RavenDB: an RQL query matching them)."""

    @field_validator("table")
    @classmethod
    def _qualified_table(cls, value: str | None) -> str | None:
        example = "schema.table (SQL, e.g. public.subscribers) or a RavenDB collection (e.g. Subscribers)"
        return None if value is None else _dotted(value, range(1, 3), example)

    @field_validator("opt_in_column")
    @classmethod
    def _plain_column(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "." in value):
            raise ValueError(f"{value!r}: expected a column name of the table, e.g. opted_in_at")
        return value

    @field_validator("without_opt_in_query")
    @classmethod
    def _a_query(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("the query is empty")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> NewsletterOptIn:
        by_table = self.table is not None or self.opt_in_column is not None
        by_query = self.without_opt_in_query is not None
        if by_table == by_query:
            raise ValueError("expected either table and opt_in_column, or without_opt_in_query")
        if by_table and (self.table is None or self.opt_in_column is None):
            raise ValueError("table: set both table and opt_in_column")
        return self


@dataclass
class ScanShapeProblems:
    """The 6c/6e names of an application that do not fit its server's engine, each with why."""

    columns: dict[str, str] = dataclass_field(default_factory=dict)
    """card_scan name -> why it does not fit."""
    tables: dict[str, str] = dataclass_field(default_factory=dict)
    """card_scan_tables name -> why it does not fit."""
    newsletter: str | None = None
    """Why newsletter.table does not fit, if it does not."""

    def __bool__(self) -> bool:
        """Return True when any name does not fit."""
        return bool(self.columns or self.tables or self.newsletter)


class ApplicationEntry(ConfigSection):
    """One application and the database it is meant to use (`[[applications]]`)."""

    name: str = Field(min_length=1)
    server: str
    """The `[[databases]]` name of the server holding its database."""
    database: str
    login: str | None = None
    certificate: str | None = None
    """RavenDB: the thumbprint of the application's client certificate."""
    owner: str | None = None
    password_columns: list[str] = Field(default_factory=list)
    """Columns holding password hashes, as schema.table.column (e.g. dbo.Users.PasswordHash)."""
    retention: MessageRetention | None = None
    card_scan: list[str] = Field(default_factory=list)
    """6c: columns to scan for payment card numbers, as schema.table.column (e.g. public.orders.note);
    on RavenDB Collection.Field (e.g. Orders.Note, or Orders.Payment.Note for a nested field)."""
    card_scan_tables: list[str] = Field(default_factory=list)
    """6c: tables whose every text column is scanned, as schema.table (e.g. public.support_tickets);
    on RavenDB a collection (e.g. Tickets), whose every string value is scanned, per field path."""
    newsletter: NewsletterOptIn | None = None
    """6e: where the newsletter subscriptions and their opt-in are kept."""
    terminated_on: date | None = None
    """11: the day the client's agreement for this application ended (its databases must then go)."""

    @field_validator("password_columns")
    @classmethod
    def _qualified_columns(cls, value: list[str]) -> list[str]:
        for column in value:
            if len([part for part in column.split(".") if part]) != 3:
                raise ValueError(f"{column!r}: expected schema.table.column, e.g. dbo.Users.PasswordHash")
        return value

    @field_validator("card_scan")
    @classmethod
    def _qualified_scan_columns(cls, value: list[str]) -> list[str]:
        for column in value:
            _dotted(column, range(2, 64), COLUMN_EXAMPLE)
        if len(set(value)) != len(value):
            raise ValueError("a column is listed twice")
        return value

    @field_validator("card_scan_tables")
    @classmethod
    def _qualified_scan_tables(cls, value: list[str]) -> list[str]:
        for table in value:
            _dotted(table, range(1, 3), TABLE_EXAMPLE)
        if len(set(value)) != len(value):
            raise ValueError("a table is listed twice")
        return value

    def scan_shape_problems(self, engine: str) -> ScanShapeProblems:
        """Return which 6c/6e names do not fit `engine`, and why (nothing when all fit).

        The config alone cannot tell schema.table from Collection.Field, so the databases
        collector asks this once the server's engine is known: a misfit is an `error` of that
        subject (never read as "nothing found"), and is never handed to a reader.
        """
        sql = engine in SQL_ENGINES
        table_parts, table_form = (2, "schema.table") if sql else (1, "a collection name")
        problems = ScanShapeProblems()
        for column in self.card_scan:
            if sql and len(column.split(".")) != 3:
                problems.columns[column] = f"card_scan {column!r}: expected schema.table.column on {engine}"
        for table in self.card_scan_tables:
            if len(table.split(".")) != table_parts:
                problems.tables[table] = f"card_scan_tables {table!r}: expected {table_form} on {engine}"
        subscriptions = self.newsletter.table if self.newsletter is not None else None
        if subscriptions is not None and len(subscriptions.split(".")) != table_parts:
            problems.newsletter = f"newsletter table {subscriptions!r}: expected {table_form} on {engine}"
        return problems

    @model_validator(mode="after")
    def _identity(self) -> ApplicationEntry:
        if (self.login is None) == (self.certificate is None):
            raise ValueError("login: set exactly one of login (SQL/PostgreSQL) or certificate (RavenDB)")
        return self
