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

Card numbers (6c) and newsletter opt-ins (6e) are measured with RQL over
`GET /databases/{db}/queries?query=&start=&pageSize=`, collection queries only (`from 'Tickets'`, no `where`: they use
no index, so nothing is created on the server and nothing is stale). A collection stands for a
table and a field path for a column: `card_scan_tables = ["Tickets"]` scans every string value
of a sample of `policy.card_sample_limit` documents, one measurement per field path
(Tickets.Body, Tickets.Customer.Note); `card_scan = ["Orders.Note"]` scans one field, any
scalar read as text. `newsletter = { table = "Subscribers", opt_in_column = "OptInAt" }` reads
that one field of every document (true or a date/time = opted in; false, null or absent = not;
anything else is an error); `without_opt_in_query` is an RQL query whose TotalResults, asked
with a page size of 0, is the count. Every document is classified and dropped inside `fetch`:
only counts per field and brand, and subscription counts, leave it.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from collectors.config.databases import ApplicationEntry, DatabaseServerEntry, NewsletterOptIn
from collectors.config.policy import Policy
from collectors.databases.card_numbers import CardCount
from collectors.databases.facts import Database, DatabaseAccess, DatabaseServer, Login
from collectors.databases.privacy_scans import (
    CARD_SCANS,
    NEWSLETTER_OPT_INS,
    Row,
    card_columns,
    card_scan_row,
    count_answer,
    newsletter_measured_by,
    newsletter_subscriptions,
)
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
        card_columns=card_columns(entry.name, catalog.optional(CARD_SCANS), applications),
        newsletters=newsletter_subscriptions(entry.name, catalog.optional(NEWSLETTER_OPT_INS), applications),
    )


# --- card numbers (6c) and newsletter opt-ins (6e) -----------------------------------------------

QUERY_PAGE_SIZE = 1024
"""Documents asked for per query page."""
COLLECTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
"""A collection name the reader puts in `from '...'`; any other is refused, never escaped by guesswork."""
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
"""An opt-in field name the reader puts in `select ...`."""


class _QueryFailed(Exception):
    """One measurement's request failed; the message names the request and the status, never a value."""


def _query(client: httpx.Client, database: str, rql: str, start: int, page_size: int) -> dict[str, Any]:
    """Return the JSON answer of one page of an RQL query, or raise _QueryFailed saying why.

    Sent as RavenDB Studio sends it: `GET /databases/{db}/queries?query=&start=&pageSize=`. Only
    the status and the error's type are kept of a refusal (the server's message may quote the
    data); an answer that is stale, or does not say, is refused too: its count is not final.
    """
    path = f"/databases/{quote(database, safe='')}/queries"
    try:
        response = client.get(path, params={"query": rql, "start": start, "pageSize": page_size})
    except httpx.HTTPError as exc:
        raise _QueryFailed(f"GET {path} failed ({type(exc).__name__})") from None
    if response.status_code != 200:
        kind = ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("Type"), str):
            kind = f" ({body['Type'].rsplit('.', 1)[-1][:100]})"
        raise _QueryFailed(f"GET {path} answered HTTP {response.status_code}{kind}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise _QueryFailed(f"GET {path} did not return a JSON object")
    if answer.get("IsStale") is not False:
        raise _QueryFailed(
            f"GET {path}: the answer is stale, or does not say (IsStale): its count is not final"
        )
    return answer


def _total(answer: dict[str, Any]) -> int:
    """Return an answer's TotalResults; raise _QueryFailed when it is not a count (never quoting it)."""
    total = count_answer(answer.get("TotalResults"))
    if isinstance(total, str):
        raise _QueryFailed(f"TotalResults: {total}")
    return total


def _results(answer: dict[str, Any], page_size: int) -> list[dict[str, Any]]:
    """Return an answer's documents; raise _QueryFailed when they are not a list of at most `page_size` objects."""
    results = answer.get("Results")
    if not isinstance(results, list) or not all(isinstance(item, dict) for item in results):
        raise _QueryFailed("Results is not a list of documents")
    if len(results) > page_size:
        raise _QueryFailed("the server answered more documents than the page size asked for")
    return results


class _Documents:
    """The documents of one collection query, read page by page: `total`, then each document once."""

    def __init__(self, client: httpx.Client, database: str, rql: str, limit: int | None) -> None:
        """Read the first page (raise _QueryFailed when it fails); `limit` None reads every document."""
        self.client, self.database, self.rql, self.limit = client, database, rql, limit
        self._first, self.total = self._page(0)

    def _page(self, start: int) -> tuple[list[dict[str, Any]], int]:
        size = QUERY_PAGE_SIZE if self.limit is None else min(QUERY_PAGE_SIZE, self.limit - start)
        answer = _query(self.client, self.database, self.rql, start, size)
        return _results(answer, size), _total(answer)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yield each document; raise _QueryFailed when a page fails or the collection changes under the read."""
        wanted = self.total if self.limit is None else min(self.total, self.limit)
        page, read = self._first, 0
        while True:
            yield from page
            read += len(page)
            if read >= wanted or len(page) < QUERY_PAGE_SIZE:
                break
            page, total = self._page(read)
            if total != self.total:
                raise _QueryFailed("the collection changed while it was read: the counts would not add up")
        if self.limit is None and read != self.total:
            raise _QueryFailed(f"{read} documents were read of the {self.total} the collection holds")


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Yield (field path, scalar) of a JSON value, lists flattened into their field; `@metadata` is skipped."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "@metadata":
                yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, path)
    else:
        yield path, value


def _under(document: dict[str, Any], path: list[str]) -> tuple[bool, list[str]]:
    """Return (the field exists, its scalars read as text) of a field path in a document."""
    found: list[Any] = [document]
    for key in path:
        found = [
            child[key]
            for item in found
            for child in (item if isinstance(item, list) else [item])
            if isinstance(child, dict) and key in child
        ]
        if not found:
            return False, []
    texts = [
        scalar if isinstance(scalar, str) else str(scalar)
        for item in found
        for _path, scalar in _leaves(item, "")
        if scalar is not None and not isinstance(scalar, bool)
    ]
    return True, texts


@dataclass(frozen=True)
class _Wanted:
    """What one application scans in one collection: configured fields, and/or the collection as a whole."""

    collection: str
    columns: list[str] = field(default_factory=list)
    """Configured card_scan names (Collection.Field.Path)."""
    tables: list[str] = field(default_factory=list)
    """Configured card_scan_tables names of this collection."""


def _wanted(app: ApplicationEntry) -> list[_Wanted]:
    """Return an application's scans grouped by collection (names compare case-insensitively, as RavenDB's do)."""
    found: dict[str, _Wanted] = {}
    for column in app.card_scan:
        collection = column.split(".", 1)[0]
        found.setdefault(collection.casefold(), _Wanted(collection)).columns.append(column)
    for table in app.card_scan_tables:
        found.setdefault(table.casefold(), _Wanted(table)).tables.append(table)
    return list(found.values())


@dataclass(frozen=True)
class _Sample:
    """The card numbers in one collection's sampled documents, per field path; the values are gone."""

    examined: int
    total: int
    strings: dict[str, CardCount]
    """Every field path holding text in some sampled document -> its card numbers."""
    fields: dict[str, CardCount | None]
    """Configured field path -> its card numbers (any scalar read as text); None when no sampled document has it."""


def _sample(client: httpx.Client, database: str, collection: str, paths: list[str], limit: int) -> _Sample:
    """Return the card numbers of at most `limit` documents of a collection; raise _QueryFailed when unreadable.

    Every document examined counts for every field (one without the field holds no card number
    in it), so a field's counts read like a column's. Each document is dropped once counted.
    """
    documents = _Documents(client, database, f"from '{collection}'", limit)
    strings: dict[str, CardCount] = {}
    fields = {path: CardCount() for path in paths}
    present: set[str] = set()
    examined = 0
    for document in documents:
        examined += 1
        texts: dict[str, list[str]] = {}
        for path, value in _leaves(document, ""):
            if isinstance(value, str):
                texts.setdefault(path, []).append(value)
        for path, values in texts.items():
            strings.setdefault(path, CardCount()).add_row(values)
        for path, counted in fields.items():
            exists, values = _under(document, path.split("."))
            if exists:
                present.add(path)
            counted.add_row(values)
    for counted in strings.values():
        counted.examined = examined  # the documents without this field were examined too
    return _Sample(
        examined=examined,
        total=documents.total,
        strings=strings,
        fields={
            path: counted if path in present or not examined else None for path, counted in fields.items()
        },
    )


class _OptIns:
    """The opt-in values of a collection's documents, tallied by kind; the values are dropped."""

    def __init__(self) -> None:
        self.flags = self.timestamps = self.without = 0
        self.odd: str | None = None
        """What the first value that is neither a flag nor a timestamp is (its kind, never the value)."""

    def add(self, value: object) -> None:
        """Count one document's opt-in value."""
        if value is None:
            self.without += 1
        elif value is False:
            self.flags += 1
            self.without += 1
        elif value is True:
            self.flags += 1
        elif isinstance(value, str) and _is_timestamp(value):
            self.timestamps += 1
        elif self.odd is None:
            self.odd = _kind_of(value)


def _is_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _kind_of(value: object) -> str:
    """Return what a JSON value is, in words (never the value itself)."""
    if isinstance(value, str):
        return "text that is not a date/time"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "an object"


class _PrivacyScan:
    """The 6c/6e measurements of the applications on one RavenDB server, through one HTTPS client."""

    def __init__(self, client: httpx.Client, limit: int) -> None:
        self.client = client
        self.limit = limit
        """policy.card_sample_limit: documents read per scanned collection."""
        self._collections: dict[str, dict[str, str] | str] = {}

    def collection(self, database: str, name: str) -> str:
        """Return a collection's name as the server spells it (names compare case-insensitively).

        Raises _QueryFailed when the name is not one the reader puts in a query, or the
        database has no such collection: a mistyped name is never read as an empty collection.
        """
        if not COLLECTION_NAME.match(name):
            raise _QueryFailed(f"{name!r} is not a plain collection name (letters, digits, _ and -)")
        if database not in self._collections:
            self._collections[database] = self._collection_names(database)
        known = self._collections[database]
        if isinstance(known, str):
            raise _QueryFailed(known)
        if name.casefold() not in known:
            raise _QueryFailed(f"database {database} has no collection {name}")
        return known[name.casefold()]

    def _collection_names(self, database: str) -> dict[str, str] | str:
        """Return folded name -> name of a database's collections (collection statistics), or why unreadable."""
        path = f"/databases/{quote(database, safe='')}/collections/stats"
        try:
            response = self.client.get(path)
        except httpx.HTTPError as exc:
            return f"GET {path} failed ({type(exc).__name__})"
        if response.status_code != 200:
            return f"GET {path} answered HTTP {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            body = None
        names = body.get("Collections") if isinstance(body, dict) else None
        if not isinstance(names, dict):
            return f"GET {path} did not return the collections"
        return {str(name).casefold(): str(name) for name in names}

    def cards(self, app: ApplicationEntry) -> list[Row]:
        """Return card-number counts of the configured fields and of every string field of the configured collections.

        One sample of at most `limit` documents is read per collection. A configured field no
        sampled document has is an error (a mistyped name is not a clean field); a collection
        whose documents hold no text is a row saying so. No value leaves this method.
        """
        out: list[Row] = []
        for wanted in _wanted(app):
            paths = [column.split(".", 1)[1] for column in wanted.columns]
            try:
                name = self.collection(app.database, wanted.collection)
                sample = _sample(self.client, app.database, name, paths, self.limit)
            except _QueryFailed as exc:
                out.extend(
                    {
                        "application": app.name,
                        "column": column,
                        "error": f"card scan of field {column} in database {app.database}: {exc}",
                    }
                    for column in wanted.columns
                )
                out.extend(
                    {
                        "application": app.name,
                        "table": table,
                        "error": f"string fields of collection {table} in database {app.database}: {exc}",
                    }
                    for table in wanted.tables
                )
                continue
            for column, path in zip(wanted.columns, paths, strict=True):
                counted = sample.fields[path]
                out.append(
                    card_scan_row(app.name, column, counted, sample.total)
                    if counted is not None
                    else {
                        "application": app.name,
                        "column": column,
                        "error": f"card scan of field {column} in database {app.database}: none of the "
                        f"{sample.examined} sampled documents has this field",
                    }
                )
            for table in wanted.tables:
                if not sample.strings:
                    out.append({"application": app.name, "table": table, "no_text_columns": True})
                out.extend(
                    {**card_scan_row(app.name, f"{table}.{path}", counted, sample.total), "table": table}
                    for path, counted in sorted(sample.strings.items())
                    if path not in paths
                )
        return out

    def newsletter(self, app: ApplicationEntry, newsletter: NewsletterOptIn) -> Row:
        """Return (total, without opt-in) of an application's subscriptions: counts only, never a document."""
        words = {"table": "collection", "column": "field"}
        row: Row = {"application": app.name, "measured_by": newsletter_measured_by(newsletter, **words)}
        step = f"newsletter subscriptions in database {app.database}"
        opt_ins = _OptIns()
        try:
            if newsletter.without_opt_in_query is not None:
                answer = _query(self.client, app.database, newsletter.without_opt_in_query, 0, 0)
                counted = count_answer(answer.get("TotalResults"))
                if isinstance(counted, str):
                    return {**row, "error": f"{step}: {counted}"}
                return {**row, "total": None, "without_opt_in": counted}
            assert newsletter.table is not None
            assert newsletter.opt_in_column is not None
            name = newsletter.opt_in_column
            if not FIELD_NAME.match(name):
                raise _QueryFailed(
                    f"opt_in_column {name!r} is not a plain field name (letters, digits and _)"
                )
            collection = self.collection(app.database, newsletter.table)
            documents = _Documents(self.client, app.database, f"from '{collection}' select {name}", None)
            for document in documents:
                opt_ins.add(document.get(name))
        except _QueryFailed as exc:
            return {**row, "error": f"{step}: {exc}"}
        if opt_ins.odd is not None:
            return {
                **row,
                "error": f"{step}: opt_in_column {name} holds {opt_ins.odd}, not a boolean flag or a timestamp",
            }
        if opt_ins.flags and opt_ins.timestamps:
            return {**row, "error": f"{step}: opt_in_column {name} holds both boolean flags and timestamps"}
        kind = "flag" if opt_ins.flags else "timestamp" if opt_ins.timestamps else "never set"
        return {
            **row,
            "measured_by": newsletter_measured_by(newsletter, kind, **words),
            "total": documents.total,
            "without_opt_in": opt_ins.without,
        }


def fetch_privacy_scans(
    client: httpx.Client, applications: list[ApplicationEntry], policy: Policy
) -> tuple[list[Row], list[Row]]:
    """Return the (card scan rows, newsletter rows) of the applications on one server.

    Exists so RavenDB's 6c/6e measurements write the rows every engine writes; a collection or
    query that cannot be read is an error row of its own subject, never of the server.
    """
    scan = _PrivacyScan(client, policy.card_sample_limit)
    cards: list[Row] = []
    newsletters: list[Row] = []
    for app in applications:
        cards.extend(scan.cards(app))
        if app.newsletter is not None:
            newsletters.append(scan.newsletter(app, app.newsletter))
    return cards, newsletters


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
        """Return the server's database and certificate rows and the 6c/6e counts; raise CatalogError on failure."""
        with self.client_factory(entry) as client:
            rows = fetch_catalog(client, entry)
            if any(a.card_scan or a.card_scan_tables or a.newsletter is not None for a in applications):
                rows[CARD_SCANS], rows[NEWSLETTER_OPT_INS] = fetch_privacy_scans(client, applications, policy)
            return rows

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
