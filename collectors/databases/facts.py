"""What the auditor knows about database servers and the applications that use them.

These are the facts of clauses 12d (one database per application, least-privilege logins),
12e/12f (encryption of databases and their connections), 6b (hashed passwords), 6c (no
payment card data) and 6e (message retention, newsletter opt-in). Collectors of every engine reduce their catalog rows to these types;
the controls never see an engine's raw rows, and no fact ever holds a password or a value
read from an application's table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Engine = Literal["sqlserver", "azuresql", "postgresql", "ravendb"]

SERVERS = "databases.servers"
"""Every `[[databases]]` server: 12d.db-shared-logins."""
SQLSERVER_SERVERS = "databases.sqlserver_servers"
"""Every SQL Server and Azure SQL server: 12f.sqlserver-encrypted-connections."""
SQLSERVER_DATABASES = "databases.sqlserver_databases"
"""Every user database on SQL Server and Azure SQL servers: 12e.sqlserver-tde."""
RAVENDB_DATABASES = "databases.ravendb_databases"
"""Every database on RavenDB servers: 12e.ravendb-encryption."""
APPLICATIONS = "databases.applications"
"""Every `[[applications]]` entry (and applications discovered from App Service connection strings)."""
PASSWORD_COLUMNS = "databases.password_columns"
"""Every configured password column: 6b.hashed-passwords."""
MESSAGE_STORES = "databases.message_stores"
"""Every application with a `retention` setting: 6e.message-retention."""
CARD_COLUMNS = "databases.card_columns"
"""Every column scanned for payment card numbers (`card_scan`, `card_scan_tables`): 6c.no-card-data."""
NEWSLETTER_SUBSCRIPTIONS = "databases.newsletter_subscriptions"
"""Every application with a `newsletter` setting: 6e.newsletter-opt-in."""

DATABASE_POPULATIONS = (
    SERVERS,
    SQLSERVER_SERVERS,
    SQLSERVER_DATABASES,
    RAVENDB_DATABASES,
    APPLICATIONS,
    PASSWORD_COLUMNS,
    MESSAGE_STORES,
    CARD_COLUMNS,
    NEWSLETTER_SUBSCRIPTIONS,
)


@dataclass(frozen=True)
class DatabaseAccess:
    """How one login reaches one database, and with which database-level roles."""

    database: str
    via: str
    """Why the login can reach it: 'user mapping', 'CONNECT granted to PUBLIC', 'certificate permission', ..."""
    roles: tuple[str, ...] = ()
    """Database roles or access levels: db_owner, db_datareader, ReadWrite, Admin, ..."""


@dataclass(frozen=True)
class Login:
    """A server-level identity: a SQL login, a PostgreSQL role, or a RavenDB client certificate."""

    name: str
    """Login or role name; for RavenDB the certificate thumbprint."""
    kind: str
    """'sql_login', 'windows_login', 'windows_group', 'entra', 'role' (PostgreSQL), 'certificate' (RavenDB)."""
    disabled: bool = False
    server_privileges: tuple[str, ...] = ()
    """Server-wide powers: sysadmin, securityadmin, serveradmin, dbmanager, loginmanager, CONTROL SERVER
    (SQL Server); SUPERUSER, CREATEROLE, CREATEDB (PostgreSQL); ClusterAdmin, Operator (RavenDB)."""
    databases: tuple[DatabaseAccess, ...] = ()
    """Every database this login can reach (mapped into, CONNECT-able, permitted)."""
    is_server_admin: bool = False
    """The server's administrator: sa (sid 0x01, even renamed), the Azure SQL administratorLogin,
    the PostgreSQL bootstrap superuser."""
    display_name: str = ""
    """RavenDB: the certificate's name; empty elsewhere."""
    privileges_unread: str = ""
    """Why `server_privileges` may be incomplete (a catalog read that failed); empty when read in full."""

    def reaches(self) -> tuple[str, ...]:
        """Return the names of the databases this login can reach, in order."""
        return tuple(access.database for access in self.databases)


@dataclass(frozen=True)
class Database:
    """One user database (system databases are excluded and said so in the population notes)."""

    server: str
    """The `[[databases]]` name of its server."""
    name: str
    owner: str | None = None
    encryption_state: str | None = None
    """As the catalog says it: SQL Server sys.dm_database_encryption_keys encryption_state
    ('3' = encrypted, 'none' when the database has no key); RavenDB 'Encrypted: true/false'.
    None when the engine does not report it (PostgreSQL)."""
    encrypted: bool | None = None
    guest_connect: bool = False
    """SQL Server: the guest user has CONNECT in this database."""
    public_connect: bool = False
    """PostgreSQL: PUBLIC has CONNECT on this database."""


@dataclass(frozen=True)
class ConnectionEncryption:
    """SQL Server connections grouped by whether they are encrypted (sys.dm_exec_connections)."""

    encrypted: bool
    count: int
    transport: str = "TCP"


@dataclass(frozen=True)
class DatabaseServer:
    """One database server's catalog, as the auditor's read-only login sees it."""

    name: str
    engine: Engine
    host: str
    port: int
    version: str = ""
    databases: tuple[Database, ...] = ()
    logins: tuple[Login, ...] = ()
    admin_login: str = ""
    """The server's administrator login name (sa, administratorLogin, postgres)."""
    force_encryption: bool | None = None
    """SQL Server: the ForceEncryption setting (None when it could not be read, e.g. Azure SQL)."""
    connections: tuple[ConnectionEncryption, ...] = ()
    applications: tuple[str, ...] = ()
    """Names of the applications (configured or discovered) whose database is on this server."""
    application_logins: tuple[tuple[str, str], ...] = ()
    """(application, login or certificate) pairs on this server, for 12d.db-shared-logins."""
    application_databases: tuple[str, ...] = ()
    """Names of the databases the applications on this server use (PUBLIC CONNECT is judged on these)."""

    def login(self, name: str) -> Login | None:
        """Return the login called `name` (case-insensitive for SQL Server), or None."""
        fold = self.engine in ("sqlserver", "azuresql")
        for login in self.logins:
            if login.name == name or (fold and login.name.lower() == name.lower()):
                return login
        return None


@dataclass(frozen=True)
class Application:
    """An application and how it reaches its database (12d.app-*)."""

    name: str
    server: str
    engine: Engine
    database: str
    """The database the inventory says it uses."""
    identity: str
    """Its login (SQL Server, PostgreSQL) or certificate thumbprint (RavenDB)."""
    owner: str | None = None
    databases_used: tuple[str, ...] = ()
    """Every database it is configured or discovered to use (inventory + connection strings)."""
    shared_with: tuple[str, ...] = ()
    """Other applications that use one of its databases."""
    login: Login | None = None
    """Its login as the server's catalog has it; None when the catalog has no such login."""
    admin_login: str = ""
    """The server's administrator login, which no application may use."""
    discovered_from: tuple[str, ...] = ()
    """Where links were discovered (e.g. 'App Service connection string DefaultConnection'), never the string."""
    terminated_on: date | None = None
    """The day its agreement ended (`terminated_on`); None while it runs."""
    database_exists: bool | None = None
    """Whether the server's catalog lists its database; None when the server's read leaves it out."""


@dataclass(frozen=True)
class PasswordColumn:
    """Counts of how the values of one password column are stored; never a value (6b)."""

    application: str
    server: str
    database: str
    column: str
    """schema.table.column as configured."""
    rows_examined: int
    total_rows: int | None
    formats: tuple[tuple[str, int], ...]
    """(format, count), e.g. ('bcrypt', 812), ('pbkdf2-django', 3), ('unrecognised', 2), ('empty', 1)."""
    sampled: bool = False
    """True when more rows existed than the sampling limit allowed to read."""

    def count_of(self, fmt: str) -> int:
        """Return how many values had format `fmt`."""
        return sum(count for name, count in self.formats if name == fmt)


@dataclass(frozen=True)
class MessageAge:
    """How many messages of one kind an application keeps and how old the oldest is (6e)."""

    kind: Literal["delivered", "failed"]
    count: int
    oldest_age_days: float | None
    """None when there are none."""


@dataclass(frozen=True)
class MessageStore:
    """An application's message table, measured by count and oldest age only (6e)."""

    application: str
    server: str
    database: str
    measured_by: str
    """'table dbo.Messages (status, created_at)' or 'configured queries'."""
    ages: tuple[MessageAge, ...] = field(default_factory=tuple)

    def age(self, kind: str) -> MessageAge | None:
        """Return the measurement of delivered or failed messages."""
        return next((a for a in self.ages if a.kind == kind), None)


@dataclass(frozen=True)
class CardColumn:
    """How many payment card numbers one sampled column holds, per card brand; never a value (6c)."""

    application: str
    server: str
    database: str
    column: str
    """schema.table.column; for a configured table without any text column, schema.table."""
    rows_examined: int
    total_rows: int | None
    brands: tuple[tuple[str, int], ...] = ()
    """(card brand, how many card numbers of that brand), e.g. ('Visa', 2); only brands found."""
    values_with_cards: int = 0
    """How many of the examined values hold at least one card number."""
    sampled: bool = False
    """True when more rows existed than policy.card_sample_limit allowed to read."""
    no_text_columns: bool = False
    """A configured table (`card_scan_tables`) that has no text column: nothing to scan."""

    def card_numbers(self) -> int:
        """Return how many card numbers were found, of every brand."""
        return sum(count for _brand, count in self.brands)


@dataclass(frozen=True)
class NewsletterSubscriptions:
    """How many newsletter subscriptions an application holds and how many lack an opt-in (6e)."""

    application: str
    server: str
    database: str
    measured_by: str
    """'table public.subscribers, opt-in flag opted_in', '... opt-in timestamp opted_in_at' or 'configured query'."""
    without_opt_in: int
    total: int | None = None
    """None when a configured query counts only the subscriptions without an opt-in."""
