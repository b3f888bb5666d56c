"""Application-to-database links discovered from App Service connection strings (opt-in).

With `[azure] read_connection_strings = true`, every web app already collected has its
connection strings (`POST .../config/connectionstrings/list`) and app settings
(`POST .../config/appsettings/list`) read. Both actions return secrets and need more than
Reader: `Microsoft.Web/sites/config/list/action` (e.g. Website Contributor). Each value that
is a SQL Server / Azure SQL or PostgreSQL connection string is reduced, inside this module,
to (server host, database, user name); the password never leaves the function that parsed
the string: it is not kept, logged, raised or hashed.

Record/replay: these two POSTs do not go through the run's shared recording session. They
are sent on a session of their own whose adapter records a *redacted* body instead of the
raw one: only the values that parsed as database links, each rebuilt from its link
(`Server=...;Database=...;User ID=...`, no password), everything else dropped. Replay
serves that redacted body through the same SDK call and parser, so the links, sources and
hashes of a replay equal those of the recorded run. The source hash is the sha256 of the
redacted body, never of the raw response (a hash of a body holding a password would let a
guessed password be confirmed offline).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.web import WebSiteManagementClient

from collectors.azure import fields
from collectors.azure.base import AzureCollector, resource_group_of
from collectors.azure.facts import APP_DATABASE_LINKS, WEB_APPS, AppDatabaseLinks, DatabaseLink, WebApp
from collectors.azure.reading import Unreadable
from collectors.azure.recording import ObservingAdapter, kept_headers
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed, unobservable
from collectors.messages import Reason, english_text
from collectors.recording import RECORDED_AT_HEADER, Exchange, Recording
from reports.evidence import Message, Source, msg, sha256_hex, utc_now

LIST_PERMISSION = "Microsoft.Web/sites/config/list/action"
"""The Azure permission the two list actions need (not part of Reader)."""
CONNECTION_STRINGS, APP_SETTINGS = "connectionstrings", "appsettings"

_SITE_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Web/sites/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
_SLOT = re.compile(r"/providers/Microsoft\.Web/sites/[^/]+/slots(/|\[|$)", re.IGNORECASE)
"""A deployment slot's id (or the error subject of a site's slot list): not read here."""
_LIST_ACTION = re.compile(
    r"/providers/microsoft\.web/sites/[^/]+/config/(connectionstrings|appsettings)/list$"
)
_HOST_KEYS = ("server", "data source", "address", "addr", "network address", "host")
_DATABASE_KEYS = ("initial catalog", "database", "databasename")
_USER_KEYS = ("user id", "userid", "uid", "user", "username", "user name")
_URL_SCHEMES = ("postgresql://", "postgres://", "jdbc:postgresql://")


@dataclass(frozen=True)
class _Target:
    host: str
    database: str
    user: str

    def canonical(self) -> str:
        """Return a password-free connection string that parses back to this target."""
        return f"Server={_quoted(self.host)};Database={_quoted(self.database)};User ID={_quoted(self.user)}"


def _quoted(value: str) -> str:
    if value and not re.search(r"[;=\"'{}]|^\s|\s$", value):
        return value
    return '"' + value.replace('"', '""') + '"'


def _pairs(text: str) -> Iterator[tuple[str, str]]:
    """Yield the key=value pairs of an ADO.NET / Npgsql connection string (quotes honoured)."""
    i, n = 0, len(text)
    while i < n:
        eq = text.find("=", i)
        if eq < 0:
            return
        key = " ".join(text[i:eq].strip().lower().split())
        j = eq + 1
        while j < n and text[j] == " ":
            j += 1
        if j < n and text[j] in "\"'":
            quote, j, parts = text[j], j + 1, []
            while j < n:
                if text[j] == quote and j + 1 < n and text[j + 1] == quote:
                    parts.append(quote)
                    j += 2
                elif text[j] == quote:
                    j += 1
                    break
                else:
                    parts.append(text[j])
                    j += 1
            value = "".join(parts)
            end = text.find(";", j)
            i = n if end < 0 else end + 1
        else:
            end = text.find(";", j)
            value = text[j:] if end < 0 else text[j:end]
            i = n if end < 0 else end + 1
        yield key, value.strip()


def _clean_host(raw: str) -> str:
    host = raw.strip().split(",")[0].strip()
    for prefix in ("tcp:", "np:", "lpc:", "admin:"):
        if host.lower().startswith(prefix):
            host = host[len(prefix) :]
    host = host.split("\\")[0]
    if host.startswith("[") and "]" in host:
        return host[1 : host.index("]")].lower()
    if host.count(":") == 1:
        host = host.split(":")[0]
    return host.strip().rstrip(".").lower()


def _clean_user(user: str, host: str) -> str:
    """Drop the '@server' suffix some Azure drivers require (user@servername) when it names the host."""
    name, at, server = user.rpartition("@")
    if at and name and host.split(".")[0] == server.lower():
        return name
    return user


def _from_url(text: str) -> _Target | None:
    parts = urlsplit(text.removeprefix("jdbc:"))
    host = parts.hostname or ""
    database = unquote(parts.path.lstrip("/"))
    query = parse_qs(parts.query)
    user = unquote(parts.username or "") or (query.get("user") or [""])[0]
    host = _clean_host(host)
    if not host or not database:
        return None
    return _Target(host, database, _clean_user(user, host))


def _from_jdbc_sqlserver(text: str) -> _Target | None:
    rest = text[len("jdbc:sqlserver://") :]
    address, _, options = rest.partition(";")
    values = dict(_pairs(options))
    host = _clean_host(address)
    database = next((values[k] for k in _DATABASE_KEYS if values.get(k)), "")
    user = next((values[k] for k in _USER_KEYS if values.get(k)), "")
    return _Target(host, database, _clean_user(user, host)) if host and database else None


def _from_pairs(text: str) -> _Target | None:
    values = dict(_pairs(text))
    host = _clean_host(next((values[k] for k in _HOST_KEYS if values.get(k)), ""))
    database = next((values[k] for k in _DATABASE_KEYS if values.get(k)), "")
    user = next((values[k] for k in _USER_KEYS if values.get(k)), "")
    if not host or not database:
        return None
    return _Target(host, database, _clean_user(user, host))


def database_target(value: object) -> _Target | None:
    """Return (host, database, user) of a SQL Server / Azure SQL / PostgreSQL connection string, or None.

    Exists so a connection string is reduced at the boundary: the password in it is never
    returned, kept or put into an exception; anything that is not a database connection
    string (storage keys, Service Bus, Redis, plain settings) gives None.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        lowered = text.lower()
        if lowered.startswith(_URL_SCHEMES):
            return _from_url(text)
        if lowered.startswith("jdbc:sqlserver://"):
            return _from_jdbc_sqlserver(text)
        if "=" in text:
            return _from_pairs(text)
    except Exception:  # the text holds a password: say nothing about it, it is simply not a link
        return None
    return None


def _properties(body: Any) -> dict[str, Any]:
    properties = body.get("properties") if isinstance(body, dict) else None
    return properties if isinstance(properties, dict) else {}


def redacted_body(kind: str, status: int, raw: bytes) -> bytes:
    """Return what may be recorded of a list-action answer: links rebuilt without passwords, nothing else.

    Exists so a recording and its replay never hold a secret yet replay to the same links.
    Errors keep only ARM's error code and message; a body that is not JSON becomes empty.
    """
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return b""
    if status >= 300:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return b""
        kept: dict[str, Any] = {"error": {"code": error.get("code"), "message": error.get("message")}}
    else:
        properties: dict[str, Any] = {}
        for name, entry in _properties(body).items():
            if kind == CONNECTION_STRINGS:
                value = entry.get("value") if isinstance(entry, dict) else None
                target = database_target(value)
                if target is not None and isinstance(entry, dict):
                    properties[str(name)] = {"value": target.canonical(), "type": entry.get("type")}
            else:
                target = database_target(entry)
                if target is not None:
                    properties[str(name)] = target.canonical()
        kept = {key: body.get(key) for key in ("id", "name", "type", "location") if isinstance(body, dict)}
        kept["properties"] = properties
    return json.dumps(kept, sort_keys=True, separators=(",", ":")).encode("utf-8")


class RedactingRecordingAdapter(ObservingAdapter):
    """Sends the list actions for real and records each answer redacted (see `redacted_body`)."""

    def __init__(self, recording: Recording | None, pool_maxsize: int, pacer: Any = None) -> None:
        super().__init__(pool_maxsize=pool_maxsize, pacer=pacer)
        self.recording = recording

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Send, then keep the redacted answer (the raw one is never stored)."""
        response = super().send(request, *args, **kwargs)
        if self.recording is not None:
            url = request.url or ""
            body = request.body
            sent = (
                body.decode("utf-8", "replace")
                if isinstance(body, bytes)
                else body
                if isinstance(body, str)
                else None
            )
            self.recording.put(
                Exchange(
                    request.method or "POST",
                    url,
                    response.status_code,
                    kept_headers(response.headers),
                    redacted_body(_kind_of(url), response.status_code, response.content),
                    datetime.fromisoformat(response.headers[RECORDED_AT_HEADER]),
                    request_body=sent or None,
                )
            )
        return response


def _kind_of(url: str) -> str:
    match = _LIST_ACTION.search(urlsplit(url).path.lower().rstrip("/"))
    return match.group(1) if match else ""


def _with_permission_hint(reason: Reason) -> Reason:
    """Return a failure reason, naming the permission the list actions need when ARM answered 403."""
    if ": HTTP 403" not in english_text(reason):
        return reason
    return msg(
        "{reason}: the auditor lacks {permission} (Reader does not include it; grant it, e.g. "
        "through Website Contributor, or set read_connection_strings = false)",
        reason=reason,
        permission=LIST_PERMISSION,
    )


def _properties_of(answer: Any, what: Message) -> dict[str, Any]:
    """Return the `properties` mapping of a list-action answer; anything else is unreadable."""
    properties = fields.raw(answer, "properties", "properties", nested=False)
    if properties is None:
        raise fields.FieldUnreadable(msg("the {what} answer has no properties", what=what))
    if not isinstance(properties, Mapping):
        raise fields.FieldUnreadable(msg("the {what} answer's properties is not an object", what=what))
    return dict(properties)


def connection_string_links(answer: Any) -> tuple[DatabaseLink, ...]:
    """Return the database links of a connection-strings answer (the values are reduced, never kept)."""
    links = []
    for name, pair in sorted(_properties_of(answer, msg("connection strings")).items()):
        if not fields.is_object(pair):
            raise fields.FieldUnreadable(
                msg("connection string {name} is not a value/type object", name=name)
            )
        value = pair.get("value") if type(pair) is dict else getattr(pair, "value", None)
        target = database_target(value)
        if target is not None:
            kind = pair.get("type") if type(pair) is dict else getattr(pair, "type", None)
            kind = getattr(kind, "value", kind)
            where = f"connection string {name}" + (f" ({kind})" if isinstance(kind, str) and kind else "")
            links.append(DatabaseLink(target.host, target.database, target.user, where))
    return tuple(links)


def app_setting_links(answer: Any) -> tuple[DatabaseLink, ...]:
    """Return the database links of an app-settings answer (the values are reduced, never kept)."""
    links = []
    for name, value in sorted(_properties_of(answer, msg("app settings")).items()):
        target = database_target(value)
        if target is not None:
            links.append(DatabaseLink(target.host, target.database, target.user, f"app setting {name}"))
    return tuple(links)


@dataclass(frozen=True)
class _Site:
    id: str
    name: str
    subscription_id: str
    resource_group: str


class ConnectionStringCollector(AzureCollector):
    """Fills `azure.app_database_links` from the web apps' connection strings and app settings (opt-in)."""

    populations = (APP_DATABASE_LINKS,)

    def collect(self, subscriptions: list[AzureSubscription]) -> None:
        """Read both list actions of every collected web app, unless read_connection_strings is off."""
        population = self.population(APP_DATABASE_LINKS)
        if not self.arm.source.read_connection_strings:
            population.out_of_scope = msg(
                "[azure] read_connection_strings is false: App Service connection strings are not read"
            )
            return
        sites: list[_Site] = []
        population.notes.append(
            msg("the connection strings and app settings of deployment slots are not read (apps only)")
        )
        for subject in self.population(WEB_APPS).subjects:
            fact = subject.fact
            if _SLOT.search(subject.id):
                continue
            if isinstance(fact, WebApp):
                sites.append(_Site(fact.id, fact.name, fact.subscription_id, fact.resource_group))
                continue
            match = _SITE_ID.match(subject.id)
            if match:
                sites.append(_Site(subject.id, match["name"], match["sub"], resource_group_of(subject.id)))
            else:
                population.add(unobservable(subject.id, subject.error or msg("web apps could not be listed")))
        self.context.progress(
            f"azure: reading connection strings and app settings of {len(sites)} web app(s)"
        )
        self._session: requests.Session | None = None
        if not self.arm.replaying:
            self._session = requests.Session()
            adapter = RedactingRecordingAdapter(
                self.arm.recording, pool_maxsize=self.arm.in_flight_total, pacer=self.arm.pacer
            )
            self._session.mount("https://", adapter)
            self._session.mount("http://", adapter)
        self._clients: dict[tuple[Any, str], Any] = {}
        try:
            self.arm.map(self._links_of, sites)
        finally:
            if self._session is not None:
                self._session.close()

    def _web(self, subscription_id: str) -> WebSiteManagementClient:
        if self._session is None:  # replay: the recording holds the redacted answers
            return self.client(WebSiteManagementClient, subscription_id)
        with self._clients_lock:
            key = (WebSiteManagementClient, subscription_id)
            if key not in self._clients:
                options = self.arm.client_options()
                shared = options["transport"].connection_config
                options["transport"] = RequestsTransport(
                    session=self._session,
                    session_owner=False,
                    connection_timeout=shared.timeout,
                    read_timeout=shared.read_timeout,
                    connection_verify=shared.verify,
                )
                self._clients[key] = WebSiteManagementClient(self.arm.credential, subscription_id, **options)
            client: WebSiteManagementClient = self._clients[key]
            return client

    def _links_of(self, site: _Site) -> None:
        population = self.population(APP_DATABASE_LINKS)
        web = self._web(site.subscription_id).web_apps

        def failed(unreadable: Unreadable) -> None:
            population.add(
                unobservable(site.id, _with_permission_hint(unreadable.reason), unreadable.sources)
            )

        strings = self.read_parsed(
            msg("the connection strings of web app {app} could not be read", app=site.name),
            lambda hook: web.list_connection_strings(site.resource_group, site.name, raw_response_hook=hook),
            connection_string_links,
            failed=failed,
            source_of=self._source_of,
            reveal=False,
        )
        if strings is None:
            return
        settings = self.read_parsed(
            msg("the app settings of web app {app} could not be read", app=site.name),
            lambda hook: web.list_application_settings(
                site.resource_group, site.name, raw_response_hook=hook
            ),
            app_setting_links,
            failed=failed,
            source_of=self._source_of,
            reveal=False,
        )
        if settings is None:
            return
        (string_links, string_sources), (setting_links, setting_sources) = strings, settings
        links = AppDatabaseLinks(site.name, (*string_links, *setting_links))
        population.add(observed(site.id, links, (*string_sources, *setting_sources)))

    def _source_of(self, http: Any) -> Source:
        url = str(http.request.url)
        recorded = http.headers.get(RECORDED_AT_HEADER)
        return Source(
            collector=self.arm.collector,
            call=f"{http.request.method} {url}",
            api_version=parse_qs(urlsplit(url).query).get("api-version", [None])[0],
            status=http.status_code,
            collected_at=datetime.fromisoformat(recorded) if recorded else utc_now(),
            sha256=sha256_hex(redacted_body(_kind_of(url), http.status_code, http.body() or b"")),
        )
