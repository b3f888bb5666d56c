"""RavenDB catalogs over HTTPS with the auditor's client certificate.

`fetch` reads two REST endpoints, paged: `GET /databases` (DatabaseInfo: `Name`, `Disabled`,
`IsEncrypted`, ...) and `GET /admin/certificates` (CertificateDefinition: `Name`,
`Thumbprint`, `SecurityClearance`, `Permissions` per database). The second needs the
auditor's certificate to hold Operator clearance or above. Only the fields the controls need
are kept (no certificate bodies). Every client certificate becomes a `Login` of kind
'certificate' named by its thumbprint; ClusterAdmin, ClusterNode and Operator reach every
database.

Password columns and message retention are not measured on RavenDB: documents have no
columns to sample and no fixed status/timestamp schema, so an application that asks for them
gets an error saying so (never a pass).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from collectors.config.databases import ApplicationEntry, DatabaseServerEntry
from collectors.config.policy import Policy
from collectors.databases.facts import Database, DatabaseAccess, DatabaseServer, Login
from collectors.databases.reading import CatalogError, CatalogRows, ServerReading
from collectors.databases.rows import CatalogRow, CatalogRowSet
from collectors.messages import Reason
from reports.evidence import msg

PAGE_SIZE = 1024
PRIVILEGED_CLEARANCES = ("ClusterAdmin", "ClusterNode", "Operator")
"""Clearances with power over every database (ClusterNode is the server's own, equal to ClusterAdmin)."""
ADMIN_CLEARANCES = ("ClusterAdmin", "ClusterNode")
SECURITY_CLEARANCES = ("ClusterAdmin", "ClusterNode", "Operator", "ValidUser", "UnauthenticatedClients")
"""RavenDB's SecurityClearance values (Raven.Client.ServerWide.Operations.Certificates.SecurityClearance)."""
ACCESS_LEVELS = ("Admin", "ReadWrite", "Read")
"""RavenDB's DatabaseAccess values of a certificate's per-database Permissions."""
DATABASE_FIELDS = ("Name", "Disabled", "IsEncrypted", "LoadError")
CERTIFICATE_FIELDS = ("Name", "Thumbprint", "SecurityClearance", "Permissions", "NotAfter")
UNSUPPORTED_PASSWORD_COLUMNS = (
    "password_columns are not supported for RavenDB: documents have no columns to sample; "
    "check password storage where the application keeps it, or remove password_columns"
)
UNSUPPORTED_RETENTION = (
    "retention is not supported for RavenDB: documents have no fixed status and timestamp columns; "
    "measure message retention elsewhere (e.g. RavenDB document expiration), or remove retention"
)

ClientFactory = Callable[[DatabaseServerEntry], httpx.Client]


def base_url(entry: DatabaseServerEntry) -> str:
    """Return the server's HTTPS base URL (RavenDB is only read over TLS)."""
    return f"https://{entry.host}:{entry.effective_port()}"


def https_client(entry: DatabaseServerEntry) -> httpx.Client:
    """Return an httpx client presenting the auditor's client certificate and verifying the server.

    Raises CatalogError when the certificate, its key or the CA bundle cannot be loaded.
    """
    if entry.client_cert is None:
        raise CatalogError(
            msg(
                "{server}: client_cert is not set (RavenDB is read with a client certificate)",
                server=entry.name,
            )
        )
    try:
        context = ssl.create_default_context(cafile=str(entry.ca_bundle) if entry.ca_bundle else None)
    except (OSError, ssl.SSLError) as exc:
        raise CatalogError(
            msg(
                "{server}: the CA bundle {path} could not be loaded: {error_type}: {error}",
                server=entry.name,
                path=str(entry.ca_bundle),
                error_type=type(exc).__name__,
                error=str(exc.strerror or exc),
            )
        ) from None
    try:
        context.load_cert_chain(str(entry.client_cert), str(entry.client_key) if entry.client_key else None)
    except (OSError, ssl.SSLError) as exc:
        certificate: Reason = (
            msg("{certificate} with key {key}", certificate=str(entry.client_cert), key=str(entry.client_key))
            if entry.client_key
            else str(entry.client_cert)
        )
        raise CatalogError(
            msg(
                "{server}: the client certificate {certificate} could not be loaded: {error_type}: {error}",
                server=entry.name,
                certificate=certificate,
                error_type=type(exc).__name__,
                error=str(exc.strerror or exc),
            )
        ) from None
    return httpx.Client(
        base_url=base_url(entry), verify=context, timeout=entry.timeout_seconds, follow_redirects=False
    )


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        message = body.get("Message") or body.get("Error") or ""
        return " ".join(str(message).split())[:300]
    return ""


def _pages(client: httpx.Client, entry: DatabaseServerEntry, path: str, key: str) -> list[dict[str, Any]]:
    """Return every item of a paged RavenDB list (`start`/`pageSize`), or raise CatalogError."""
    items: list[dict[str, Any]] = []
    start = 0
    while True:
        url = f"{path}?start={start}&pageSize={PAGE_SIZE}"
        try:
            response = client.get(url)
        except httpx.HTTPError as exc:
            failed_url = f"{base_url(entry)}{path}"
            said: Reason = str(exc) or msg("connection closed")
            raise CatalogError(
                msg(
                    "{server}: GET {url} failed ({error_type}: {error}); a refused or unknown client "
                    "certificate ends the TLS handshake like this",
                    server=entry.name,
                    url=failed_url,
                    error_type=type(exc).__name__,
                    error=said,
                )
            ) from None
        if response.status_code != 200:
            answered: Reason = f"HTTP {response.status_code}"
            if path.startswith("/admin/"):
                answered = msg(
                    "HTTP {status} (reading certificates needs Operator clearance)",
                    status=response.status_code,
                )
            detail = _error_text(response)
            url = f"{base_url(entry)}{path}"
            raise CatalogError(
                msg(
                    "{server}: GET {url} answered {answer}: {detail}",
                    server=entry.name,
                    url=url,
                    answer=answered,
                    detail=detail,
                )
                if detail
                else msg("{server}: GET {url} answered {answer}", server=entry.name, url=url, answer=answered)
            )
        try:
            page = response.json()[key]
        except (ValueError, KeyError, TypeError):
            raise CatalogError(
                msg(
                    "{server}: GET {path} did not return a JSON object with {key}",
                    server=entry.name,
                    path=path,
                    key=key,
                )
            ) from None
        if not isinstance(page, list) or not all(isinstance(item, dict) for item in page):
            raise CatalogError(
                msg(
                    "{server}: GET {path}: {key} is not a list of objects",
                    server=entry.name,
                    path=path,
                    key=key,
                )
            )
        items.extend(page)
        if len(page) < PAGE_SIZE:
            return items
        start += PAGE_SIZE


def fetch_catalog(client: httpx.Client, entry: DatabaseServerEntry) -> CatalogRows:
    """Return the database and certificate rows of one RavenDB server, reduced to the fields judged."""
    databases = _pages(client, entry, "/databases", "Databases")
    certificates = _pages(client, entry, "/admin/certificates", "Results")
    return {
        "databases": [{k: item.get(k) for k in DATABASE_FIELDS} for item in databases],
        "certificates": [{k: item.get(k) for k in CERTIFICATE_FIELDS} for item in certificates],
    }


def certificate_login(row: CatalogRow, databases: list[str]) -> Login:
    """Return the Login of one certificate definition: thumbprint, clearance, per-database access.

    Raises CatalogError when the thumbprint, the clearance or the permissions cannot be read:
    a certificate whose powers are unknown is never read as one without any.
    """
    clearance = row.text("SecurityClearance", allowed=SECURITY_CLEARANCES)
    privileged = clearance in PRIVILEGED_CLEARANCES
    permissions = row.mapping("Permissions")
    access: list[DatabaseAccess] = []
    if privileged:
        access = [DatabaseAccess(name, f"clearance {clearance}", ("Admin",)) for name in databases]
    else:
        for name, level in sorted(permissions.items()):
            if level not in ACCESS_LEVELS:
                raise CatalogError(
                    msg(
                        "{where}: Permissions[{name}] is {value}, not one of {levels}",
                        where=row.where,
                        name=name,
                        value=repr(level),
                        levels=list(ACCESS_LEVELS),
                    )
                )
            access.append(DatabaseAccess(str(name), "certificate permission", (str(level),)))
    return Login(
        name=row.text("Thumbprint").upper(),
        kind="certificate",
        server_privileges=(clearance,) if privileged else (),
        databases=tuple(access),
        is_server_admin=clearance in ADMIN_CLEARANCES,
        display_name=row.optional_text("Name") or "",
    )


def parse_catalog(
    entry: DatabaseServerEntry, applications: list[ApplicationEntry], rows: CatalogRows
) -> ServerReading:
    """Return the facts of one RavenDB catalog (pure): databases with Encrypted, certificates as logins.

    Raises CatalogError when a result set, a database name or a certificate's thumbprint,
    clearance or permissions is absent or unreadable. `IsEncrypted` may be absent or null:
    the database is then `error` for 12e (the record does not say), never unencrypted-and-fine.
    """
    catalog = CatalogRowSet(entry.name, rows)
    databases = []
    for row in catalog("databases"):
        encrypted = row.values.get("IsEncrypted")
        if encrypted is not None and not isinstance(encrypted, bool):
            raise CatalogError(
                msg("{where}: IsEncrypted is {value}, not a boolean", where=row.where, value=repr(encrypted))
            )
        known = isinstance(encrypted, bool)
        databases.append(
            Database(
                server=entry.name,
                name=row.text("Name"),
                encryption_state=f"Encrypted: {str(encrypted).lower()}" if known else None,
                encrypted=encrypted if known else None,
            )
        )
    names = [d.name for d in databases]
    for database in sorted({a.database for a in applications} - set(names)):
        # An application's database the server does not list: its encryption is unknown (error).
        databases.append(Database(server=entry.name, name=database))
    server = DatabaseServer(
        name=entry.name,
        engine="ravendb",
        host=entry.host,
        port=entry.effective_port(),
        databases=tuple(databases),
        logins=tuple(certificate_login(row, names) for row in catalog("certificates")),
        admin_login=entry.effective_admin_login(),
        applications=tuple(a.name for a in applications),
        application_logins=tuple(
            (a.name, (a.certificate or "").upper() if a.certificate else a.login or "") for a in applications
        ),
    )
    return ServerReading(
        server=server,
        password_columns={
            (a.name, column): UNSUPPORTED_PASSWORD_COLUMNS
            for a in applications
            for column in a.password_columns
        },
        message_stores={a.name: UNSUPPORTED_RETENTION for a in applications if a.retention is not None},
    )


class RavenDbReader:
    """The EngineReader of RavenDB: REST over HTTPS with the auditor's client certificate."""

    def __init__(self, client_factory: ClientFactory = https_client) -> None:
        self.client_factory = client_factory

    def fetch(
        self,
        entry: DatabaseServerEntry,
        applications: list[ApplicationEntry],
        policy: Policy,
        secret: str | None,
    ) -> CatalogRows:
        """Return the server's database and certificate rows; raise CatalogError on failure."""
        with self.client_factory(entry) as client:
            return fetch_catalog(client, entry)

    def parse(
        self,
        entry: DatabaseServerEntry,
        applications: list[ApplicationEntry],
        rows: CatalogRows,
        collected_at: datetime,
    ) -> ServerReading:
        """Return the facts in `rows` (see `parse_catalog`)."""
        return parse_catalog(entry, applications, rows)


READER = RavenDbReader()
