"""Stand-ins for database servers that cannot run here: SQL Server and RavenDB.

- `RecordedServer` answers the SQL Server reader's tagged queries (`/* auditor:NAME */`) through
  a DB-API connection with recorded rows shaped like the documented catalog views and DMVs
  (demo/standins/database_recordings/sqlserver/); `recorded(fixture, *variants)` builds one,
  `recorded_privacy(*variants)` the on-prem server with the 6c/6e tables of privacy.json. A tag
  that answers several statements (one per scanned column) holds `cases`, each matched by
  fragments of the statement (`when`) or by its bound values (`params`), both compared
  case-insensitively like SQL Server's default collation; `TOP (%s)` is honoured.
- `FakeRavenDb` is a real TLS server that requires a client certificate signed by its client
  CA and serves recorded RavenDB REST answers (demo/standins/database_recordings/ravendb/), and
  pages recorded query answers (`GET /databases/{db}/queries?query=&start=&pageSize=`) like
  RavenDB; `Pki` makes the CAs and certificate files.

Used by the catalog tests and by demo/make_recording.py.
"""

from __future__ import annotations

import copy
import json
import ssl
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote

import trustme

from collectors.config.databases import (
    ApplicationEntry,
    DatabaseServerEntry,
    MessageRetention,
    NewsletterOptIn,
)
from collectors.databases.sqlserver import DbApiConnection, DbApiCursor, query_name

FIXTURES = Path(__file__).parent / "database_recordings"
AUDITOR = "statement-auditor"


class RecordedError(Exception):
    """Raised like a pymssql error: (number, message bytes)."""


class RecordedCursor:
    """A DB-API cursor answering tagged queries from the recorded result sets of one database."""

    def __init__(self, server: RecordedServer, database: str) -> None:
        self.server = server
        self.database = database
        self.description: Sequence[Sequence[Any]] | None = None
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, operation: str, params: Any = None) -> None:
        self.server.statements.append((self.database, operation, params))
        if operation.startswith("SET LOCK_TIMEOUT"):
            self.description, self._rows = None, []
            return
        name = query_name(operation)
        answers = self.server.results.get(self.database, {})
        if name is None or name not in answers:
            raise RecordedError(
                208, f"no recorded answer to {name or operation!r} in {self.database}".encode()
            )
        answer = answers[name]
        if isinstance(answer, dict) and "cases" in answer:
            answer = _case(answer["cases"], operation, params)
            if answer is None:
                raise RecordedError(208, f"no recorded case of {name!r} in {self.database}".encode())
        if isinstance(answer, dict) and "error" in answer:
            number, message = answer["error"]
            raise RecordedError(number, message.encode())
        rows: list[dict[str, Any]] = answer["rows"] if isinstance(answer, dict) else answer
        if "TOP (%s)" in operation and params:
            rows = rows[: int(params[0])]
        columns = list(rows[0]) if rows else ["value"]
        self.description = [(column, None) for column in columns]
        self._rows = [tuple(row[column] for column in columns) for row in rows]

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        batch, self._rows = self._rows[:size], self._rows[size:]
        return batch

    def close(self) -> None:
        pass


def _case(cases: list[dict[str, Any]], operation: str, params: Any) -> dict[str, Any] | None:
    """Return the first recorded case whose statement fragments and bound values match, or None."""
    bound = [str(value).casefold() for value in params or ()]
    statement = operation.casefold()
    for case in cases:
        if all(fragment.casefold() in statement for fragment in case.get("when", [])) and (
            "params" not in case or [str(value).casefold() for value in case["params"]] == bound
        ):
            return case
    return None


class RecordedConnection:
    """A DB-API connection to one database of a recorded server."""

    def __init__(self, server: RecordedServer, database: str) -> None:
        self.server, self.database = server, database
        self.rolled_back = self.closed = False

    def cursor(self) -> DbApiCursor:
        return RecordedCursor(self.server, self.database)

    def rollback(self) -> None:
        self.rolled_back = True

    def close(self) -> None:
        self.closed = True

    def commit(self) -> None:  # pragma: no cover - the reader must never call it
        raise AssertionError("the reader committed")


class RecordedServer:
    """A recorded SQL Server: result sets per database and query name, and the statements received."""

    def __init__(self, results: dict[str, dict[str, Any]], refuse_login: str | None = None) -> None:
        self.results = results
        self.refuse_login = refuse_login
        self.statements: list[tuple[str, str, Any]] = []
        self.connections: list[RecordedConnection] = []

    def open(self, database: str) -> DbApiConnection:
        if self.refuse_login is not None:
            raise RecordedError(18456, f"Login failed for user '{self.refuse_login}'.".encode())
        connection = RecordedConnection(self, database)
        self.connections.append(connection)
        return connection

    def connector(self, entry: DatabaseServerEntry, secret: str | None) -> Any:
        return self.open


def onprem_entry(**overrides: Any) -> DatabaseServerEntry:
    """Return the `[[databases]]` entry of the recorded on-prem SQL Server (sqlserver/onprem.json)."""
    settings: dict[str, Any] = {
        "name": "sql01",
        "engine": "sqlserver",
        "host": "sql01.example.nl",
        "user": "audit_reader",
        "password_env": "AUDIT_SQL_PASSWORD",
    }
    return DatabaseServerEntry.model_validate({**settings, **overrides})


def azure_entry(**overrides: Any) -> DatabaseServerEntry:
    """Return the `[[databases]]` entry of the recorded Azure SQL server (sqlserver/azure.json)."""
    settings: dict[str, Any] = {
        "name": "sql-weu",
        "engine": "azuresql",
        "host": "sql-weu.database.windows.net",
        "user": "audit_reader",
        "password_env": "AUDIT_SQL_PASSWORD",
        "admin_login": "sqladmin",
    }
    return DatabaseServerEntry.model_validate({**settings, **overrides})


def onprem_apps(prefix: str = "") -> list[ApplicationEntry]:
    """Return the applications of the recorded on-prem server: shop (a password column) and crm (messages)."""
    return [
        ApplicationEntry(
            name=f"{prefix}shop",
            server="sql01",
            database="Shop",
            login="shop_app",
            password_columns=["dbo.Users.PasswordHash"],
        ),
        ApplicationEntry(
            name=f"{prefix}crm",
            server="sql01",
            database="Crm",
            login="crm_app",
            retention=MessageRetention(
                table="dbo.Messages",
                timestamp_column="CreatedAt",
                status_column="Status",
                delivered_values=["Delivered"],
                failed_values=["Failed", "Bounced"],
            ),
        ),
    ]


def azure_apps(prefix: str = "") -> list[ApplicationEntry]:
    """Return the applications of the recorded Azure SQL server: shop and crm."""
    return [
        ApplicationEntry(name=f"{prefix}shop", server="sql-weu", database="shop", login="shop_app"),
        ApplicationEntry(name=f"{prefix}crm", server="sql-weu", database="crm", login="crm_app"),
    ]


def recorded(fixture: str, *variants: str | None) -> RecordedServer:
    """Return the recorded server of a sqlserver/ fixture file, with the variants' result sets replaced."""
    document = json.loads((FIXTURES / "sqlserver" / fixture).read_text(encoding="utf-8"))
    results: dict[str, dict[str, Any]] = copy.deepcopy(document["base"])
    for variant in variants:
        if variant is None:
            continue
        for database, answers in document["variants"][variant].items():
            results.setdefault(database, {}).update(answers)
    return RecordedServer(results)


def recorded_privacy(*variants: str | None) -> RecordedServer:
    """Return the recorded on-prem server (onprem.json) with the 6c/6e answers of privacy.json and its variants."""
    server = recorded("onprem.json")
    document = json.loads((FIXTURES / "sqlserver" / "privacy.json").read_text(encoding="utf-8"))
    for layer in [document["base"], *(document["variants"][v] for v in variants if v is not None)]:
        for database, answers in layer.items():
            server.results.setdefault(database, {}).update(copy.deepcopy(answers))
    return server


def privacy_apps(server: str = "sql01") -> list[ApplicationEntry]:
    """Return the applications of privacy.json (and ravendb/privacy.json, on server `server`).

    On SQL Server: webshop (Shop) scans dbo.Orders and the tables dbo.Tickets, dbo.Ledger (no
    text column) and dbo.Missing, and counts dbo.Subscribers (bit flag); on Crm news counts
    dbo.Readers (timestamp, one missing), club dbo.Members (all set), mailer a query answering
    0 and letters a query answering an e-mail address. `privacy_raven_apps` is RavenDB's.
    """
    return [
        ApplicationEntry(
            name="webshop",
            server=server,
            database="Shop",
            login="shop_app",
            card_scan=["dbo.Orders.Note", "dbo.Orders.Reference", "dbo.Orders.NoSuchColumn"],
            card_scan_tables=["dbo.Tickets", "dbo.Ledger", "dbo.Missing"],
            newsletter=NewsletterOptIn(table="dbo.Subscribers", opt_in_column="OptedIn"),
        ),
        ApplicationEntry(
            name="news",
            server=server,
            database="Crm",
            login="crm_app",
            newsletter=NewsletterOptIn(table="dbo.Readers", opt_in_column="OptedInAt"),
        ),
        ApplicationEntry(
            name="club",
            server=server,
            database="Crm",
            login="crm_app",
            newsletter=NewsletterOptIn(table="dbo.Members", opt_in_column="ConsentAt"),
        ),
        ApplicationEntry(
            name="mailer",
            server=server,
            database="Crm",
            login="crm_app",
            newsletter=NewsletterOptIn(
                without_opt_in_query="SELECT COUNT_BIG(*) FROM dbo.Members WHERE ConsentAt IS NULL"
            ),
        ),
        ApplicationEntry(
            name="letters",
            server=server,
            database="Crm",
            login="crm_app",
            newsletter=NewsletterOptIn(
                without_opt_in_query="SELECT TOP (1) Email FROM dbo.Members ORDER BY Id"
            ),
        ),
    ]


def privacy_raven_apps(server: str = "raven01") -> list[ApplicationEntry]:
    """Return the applications of ravendb/privacy.json: collections stand for tables, fields for columns.

    webshop (Shop) scans the fields Orders.Note, Orders.Reference, Orders.NoSuchField and the
    collections Tickets, Ledgers (no text) and Missing, and counts Subscribers (flag OptIn);
    on Synda news counts Readers (timestamp OptInAt, one null), club Members (all set), mailer
    a query matching none and letters a query whose index is stale.
    """
    return [
        ApplicationEntry(
            name="webshop",
            server=server,
            database="Shop",
            certificate="3F2A9C1B7D8E6F5A4B3C2D1E0F9A8B7C6D5E4F3A",
            card_scan=["Orders.Note", "Orders.Reference", "Orders.NoSuchField"],
            card_scan_tables=["Tickets", "Ledgers", "Missing"],
            newsletter=NewsletterOptIn(table="Subscribers", opt_in_column="OptIn"),
        ),
        ApplicationEntry(
            name="news",
            server=server,
            database="Synda",
            certificate="7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C8D",
            newsletter=NewsletterOptIn(table="Readers", opt_in_column="OptInAt"),
        ),
        ApplicationEntry(
            name="club",
            server=server,
            database="Synda",
            certificate="7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C8D",
            newsletter=NewsletterOptIn(table="Members", opt_in_column="ConsentAt"),
        ),
        ApplicationEntry(
            name="mailer",
            server=server,
            database="Synda",
            certificate="7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C8D",
            newsletter=NewsletterOptIn(without_opt_in_query="from Members where ConsentAt = null"),
        ),
        ApplicationEntry(
            name="letters",
            server=server,
            database="Synda",
            certificate="7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C8D",
            newsletter=NewsletterOptIn(without_opt_in_query="from Members where Email != null select Email"),
        ),
    ]


class _RavenHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

    def do_GET(self) -> None:
        server: FakeRavenDb = self.server  # type: ignore[assignment]
        assert isinstance(self.connection, ssl.SSLSocket)
        peer = self.connection.getpeercert()
        subject = cast(tuple[tuple[tuple[str, str], ...], ...], (peer or {}).get("subject", ()))
        names = [value for rdn in subject for key, value in rdn if key == "commonName"]
        path, _, query = self.path.partition("?")
        server.seen.append((path, query, names[0] if names else ""))
        if names != [AUDITOR]:
            self._reply(
                403,
                {
                    "Type": "InvalidAuth",
                    "Message": f"The supplied client certificate '{names}' is unknown to the server.",
                },
            )
        elif path in server.answers:
            self._reply(200, server.answers[path])
        elif path.startswith("/databases/") and path.endswith("/queries"):
            self._query(server, unquote(path.split("/")[2]), parse_qs(query))
        else:
            self._reply(
                404, {"Type": "RouteNotFound", "Message": f"There is no handler for path: GET {path}"}
            )

    def _query(self, server: FakeRavenDb, database: str, query: dict[str, list[str]]) -> None:
        """Answer one page of a recorded RQL query, as RavenDB pages it (start, pageSize)."""
        rql = query.get("query", [""])[0]
        answer = server.queries.get(database, {}).get(rql)
        if answer is None:
            self._reply(
                400,
                {
                    "Type": "Raven.Client.Exceptions.InvalidQueryException",
                    "Message": f"no recorded answer to {rql!r} in {database}",
                },
            )
            return
        if "status" in answer:
            self._reply(answer["status"], answer["body"])
            return
        start = int(query.get("start", ["0"])[0])
        size = int(query.get("pageSize", [str(2**31 - 1)])[0])
        results = answer.get("Results", [])
        page = {**answer, "Results": results[start : start + size]}
        page.setdefault("TotalResults", len(results))
        page.setdefault("SkippedResults", 0)
        self._reply(200, page)

    def _reply(self, status: int, body: object) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FakeRavenDb(ThreadingHTTPServer):
    """A TLS server that requires a client certificate and serves recorded RavenDB answers."""

    daemon_threads = True

    def __init__(
        self,
        server_ca: trustme.CA,
        client_ca: trustme.CA,
        answers: dict[str, Any],
        queries: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _RavenHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ca.issue_cert("127.0.0.1").configure_cert(context)
        context.verify_mode = ssl.CERT_REQUIRED
        client_ca.configure_trust(context)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.answers = answers
        self.queries: dict[str, dict[str, Any]] = queries or {}
        """database -> RQL -> a recorded QueryResult (all its Results), or {"status", "body"} of a refusal."""
        self.seen: list[tuple[str, str, str]] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Refused handshakes are expected in these tests."""


class Pki:
    """The test CAs and the certificate files the reader is given."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server_ca, self.client_ca = trustme.CA(), trustme.CA()
        self.ca_bundle = folder / "server-ca.pem"
        self.server_ca.cert_pem.write_to_path(str(self.ca_bundle))

    def client_pem(self, name: str, ca: trustme.CA | None = None) -> Path:
        """Write a combined certificate+key PEM for a client called `name`."""
        cert = (ca or self.client_ca).issue_cert(f"{name}.clients.example.nl", common_name=name)
        path = self.folder / f"{name}.pem"
        cert.private_key_and_cert_chain_pem.write_to_path(str(path))
        return path

    def client_pair(self, name: str) -> tuple[Path, Path]:
        """Write the certificate and key of a client to separate files."""
        cert = self.client_ca.issue_cert(f"{name}.clients.example.nl", common_name=name)
        cert_path, key_path = self.folder / f"{name}.crt", self.folder / f"{name}.key"
        cert.cert_chain_pems[0].write_to_path(str(cert_path))
        cert.private_key_pem.write_to_path(str(key_path))
        return cert_path, key_path


def recorded_answers() -> dict[str, Any]:
    """Return the recorded RavenDB answers by path."""
    folder = FIXTURES / "ravendb"
    return {
        "/databases": json.loads((folder / "databases.json").read_text(encoding="utf-8")),
        "/admin/certificates": json.loads((folder / "certificates.json").read_text(encoding="utf-8")),
    }


def recorded_privacy_answers(*variants: str | None) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Return (REST answers by path, query answers by database and RQL) of ravendb/privacy.json.

    The REST answers are `recorded_answers()` plus each database's collection statistics; the
    variants replace single query answers.
    """
    document = json.loads((FIXTURES / "ravendb" / "privacy.json").read_text(encoding="utf-8"))
    answers = recorded_answers()
    for database, stats in document["stats"].items():
        answers[f"/databases/{database}/collections/stats"] = stats
    queries: dict[str, dict[str, Any]] = copy.deepcopy(document["queries"])
    for variant in variants:
        if variant is None:
            continue
        for database, replaced in document["variants"][variant].items():
            queries.setdefault(database, {}).update(copy.deepcopy(replaced))
    return answers, queries
