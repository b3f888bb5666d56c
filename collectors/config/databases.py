"""The database servers the auditor reads catalogs from (`[[databases]]`) and the applications
meant to use them (`[[applications]]`), with where each keeps its messages (clause 6e).
"""

from __future__ import annotations

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

    @field_validator("password_columns")
    @classmethod
    def _qualified_columns(cls, value: list[str]) -> list[str]:
        for column in value:
            if len([part for part in column.split(".") if part]) != 3:
                raise ValueError(f"{column!r}: expected schema.table.column, e.g. dbo.Users.PasswordHash")
        return value

    @model_validator(mode="after")
    def _identity(self) -> ApplicationEntry:
        if (self.login is None) == (self.certificate is None):
            raise ValueError("login: set exactly one of login (SQL/PostgreSQL) or certificate (RavenDB)")
        return self
