"""A local HTTPS Azure Resource Manager (ARM) emulator for driving the real Azure SDK clients.

The emulator serves a *generic* estate - a flat list of ARM resources plus the subscriptions they
live in - and derives every list operation from it, so a new control needs no new emulator code:

* ``GET /subscriptions`` lists the subscriptions;
* ``GET <id>`` of any resource, resource group or subscription returns that object;
* ``GET /subscriptions/{s}/providers/{Namespace}/{type}`` lists every resource of that type in any
  resource group of subscription ``s`` (plus subscription-scope resources of that type);
* ``GET <scope>/providers/{Namespace}/{type}`` and ``GET <parent>/<collection>`` list the resources
  whose id is exactly ``<path>/<name>`` (an empty collection is ``{"value": []}`` with 200);
* ``GET /subscriptions/{s}/resources`` and ``.../resourceGroups/{rg}/resources`` list the top-level
  resources of the subscription / resource group (``$filter`` is rejected with 400, not ignored);
* anything else is a 404 with an ARM error envelope.

A blob container (``.../blobServices/default/containers/{c}``) is answered as ARM does: its
``hasImmutabilityPolicy``, ``immutabilityPolicy`` summary and ``hasLegalHold`` follow its
``immutabilityPolicies/default`` child and ``legalHold`` in the estate unless the estate states them;
the policy itself comes with its ``ETag`` header.

It speaks TLS only (azure-core refuses to send bearer tokens over plain http), with a certificate
from a per-emulator ``trustme`` CA whose PEM is written to :attr:`ArmEmulator.ca_file` - pass it to a
client as ``connection_verify=str(emu.ca_file)``.  Every request needs ``Authorization: Bearer ...``;
faults (:class:`Fault`) inject throttling, errors, malformed bodies and latency per path regex.

Only ``GET`` is routed for resources.  Other methods are answered 405 unless a fault matches or a
subclass overrides :meth:`ArmEmulator.route_other` (the extension point for POST actions such as
``listConnectionStrings`` or long-running operations).

Manual run::

    python -m demo.standins.arm_emulator ESTATE.json [--port N] [--page-size N]

Request headers are never logged (they carry bearer tokens).

One module of ~840 lines: routing, paging and fault injection all answer from the one in-memory
estate behind one request handler, so the ARM wire contract reads in one place.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from demo.standins.loopback_https import LoopbackServer, QuietHandler, loopback_ca, serve_tls, stop_serving

__all__ = ["ArmEmulator", "Fault", "Reply", "SeenRequest", "load_estate", "main"]

_DEFAULT_CODES: dict[int, str] = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    412: "PreconditionFailed",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}

_MALFORMED_BODY = b'{"value": [{"id": "/subscriptions/'  # truncated on purpose: not valid JSON

_EXTENSION_TABLES = {
    "patchassessmentresources": "microsoft.compute/virtualmachines/patchassessmentresults",
}
"""Resource Graph tables other than Resources, and the resource type prefix their rows have."""

_ROLLUP_COLLECTIONS = {
    "replicationlinks": "databases",
    "longtermretentionbackups": "longtermretentiondatabases",
}
"""Collections ARM also lists one level up: `{server}/replicationLinks` holds every database's links,
`longTermRetentionServers/{server}/longTermRetentionBackups` every database's long-term backups."""

_LTR_SERVER = re.compile(
    r"^/subscriptions/[^/]+/providers/microsoft\.sql/locations/[^/]+/longtermretentionservers/[^/]+$"
)
"""A long-term retention server: ARM lists its backups (none: an empty list) whether or not the estate names it."""

_SITE_CONFIG_LIST = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.web/sites/[^/]+"
    r"/config/(connectionstrings|appsettings)/list$"
)
"""The App Service list actions the emulator answers (POST; they return secrets)."""

_BLOB_CONTAINER = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.storage/storageaccounts/[^/]+"
    r"/blobservices/default/containers/[^/]+$"
)
_IMMUTABILITY_POLICY = re.compile(
    _BLOB_CONTAINER.pattern.removesuffix("$") + r"/immutabilitypolicies/default$"
)
"""A blob container and its (container-level or version-level default) immutability policy."""

_DESCRIPTION = "Serve an ARM estate over HTTPS on 127.0.0.1 for the Azure SDK clients."
_RG_TYPE = "Microsoft.Resources/resourceGroups"
_DEFAULT_RG_LOCATION = "westeurope"


def default_error_code(status: int) -> str:
    """Return the ARM error code the emulator uses for ``status`` when a fault names none."""
    return _DEFAULT_CODES.get(status, f"Http{status}")


@dataclass
class Fault:
    """A fault injected into every request whose path matches ``path``.

    ``path`` is a regular expression searched case-insensitively in the decoded URL path (without
    the query string).  The first matching fault that still has ``times`` left answers the request.

    A fault with a 2xx ``status`` that is not ``malformed`` does not answer by itself: it only adds
    its ``latency`` (and counts down ``times``) and the request is then routed normally - use
    ``Fault(path, status=200, latency=2.0)`` for a slow but correct endpoint.

    ``body`` (any JSON value) makes the fault answer with that body as it is: valid JSON of an
    unexpected shape, e.g. ``Fault(path, status=200, body={"value": "garbage"})``.
    """

    path: str
    status: int = 500
    times: int | None = None
    retry_after: str | None = None
    code: str = ""
    message: str = ""
    malformed: bool = False
    latency: float = 0.0
    method: str | None = None
    body: Any = None


@dataclass(frozen=True)
class SeenRequest:
    """One request as the emulator saw it (headers are deliberately not kept)."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorized: bool
    at: float


@dataclass
class Reply:
    """What the emulator answers: status, JSON body (``None`` = empty) and extra headers.

    ``raw`` replaces the JSON body with the given bytes (used for malformed responses).
    """

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def payload(self) -> bytes:
        """Return the encoded response body."""
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body).encode("utf-8")


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """Build an ARM error reply ``{"error": {"code": ..., "message": ...}}``."""
    return Reply(status, {"error": {"code": code, "message": message}}, dict(headers or {}))


@dataclass
class _ArmedFault:
    fault: Fault
    pattern: re.Pattern[str]
    remaining: int | None


def _norm(path: str) -> str:
    """Lower-case ``path`` and strip trailing slashes (ARM paths are case-insensitive)."""
    stripped = path.rstrip("/")
    return (stripped or "/").lower()


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0]


def load_estate(path: Path) -> dict[str, Any]:
    """Load an estate: a JSON file, or a folder of them merged in name order.

    Each file is ``{"subscriptions": [...], "resources": [...]}`` (either key optional); a
    subscription listed in several files is kept once.
    """
    files = sorted(Path(path).glob("*.json")) if Path(path).is_dir() else [Path(path)]
    estate: dict[str, Any] = {"subscriptions": [], "resources": []}
    seen: set[str] = set()
    for file in files:
        with file.open(encoding="utf-8") as fh:
            data = json.load(fh)
        if not isinstance(data, dict):
            raise ValueError(f"{file}: an estate must be a JSON object")
        for subscription in data.get("subscriptions", []):
            key = str(subscription.get("id") or subscription.get("subscriptionId")).lower()
            if key not in seen:
                seen.add(key)
                estate["subscriptions"].append(subscription)
        estate["resources"].extend(data.get("resources", []))
    return estate


class _Handler(QuietHandler):
    server_version = "ArmEmulator/1.0"

    def _dispatch(self) -> None:
        emulator = cast("LoopbackServer[ArmEmulator]", self.server).emulator
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            body = b""
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
        reply = emulator._respond(self.command, self.path, self.headers.get("Authorization"), body)
        request_id = ("x-ms-request-id", str(uuid.uuid4()))
        self.send_json(reply.status, reply.payload(), [request_id, *reply.headers.items()])

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch
    do_DELETE = _dispatch
    do_HEAD = _dispatch
    do_OPTIONS = _dispatch


class ArmEmulator:
    """HTTPS ARM emulator serving ``estate`` on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        estate: dict[str, Any],
        *,
        page_size: int = 0,
        faults: Sequence[Fault] = (),
        latency: float = 0.0,
        tokens: Collection[str] | Callable[[str], bool] | None = None,
        port: int = 0,
        throttle: tuple[int, float] | None = None,
        graph_quota: int | None = None,
        graph_window: float = 5.0,
    ) -> None:
        """Index ``estate`` and create the TLS material; call :meth:`start` to serve.

        ``page_size`` > 0 splits every list into pages linked by ``nextLink``; ``latency`` is slept
        before every answer; ``tokens`` (if given) are the only bearer tokens accepted; ``port`` 0
        picks a free port.
        """
        self.page_size = page_size
        self.latency = latency
        self.throttle = throttle
        self.throttled = 0
        self._buckets: dict[str, list[float]] = {}
        self.graph_quota = graph_quota
        self.graph_window = graph_window
        self._graph_window: list[float] = []
        self.tokens: frozenset[str] | Callable[[str], bool] | None = (
            tokens if tokens is None or callable(tokens) else frozenset(tokens)
        )
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._faults: list[_ArmedFault] = []
        for fault in faults:
            self.add_fault(fault)
        self._port = port
        self._server: LoopbackServer[ArmEmulator] | None = None
        self._bound_port: int | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

        self._subscriptions: list[dict[str, Any]] = []
        self._subs_by_id: dict[str, dict[str, Any]] = {}
        self._resources: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._children: dict[str, list[dict[str, Any]]] = {}
        self._site_config_lists: dict[str, dict[str, Any]] = {}
        """Site id -> its "connection_strings" / "app_settings" (served only by the POST list actions)."""
        self._index(copy.deepcopy(estate))

        self._cert, self.ca_file = loopback_ca(self, "arm-emulator-", "arm-emulator-ca.pem")

    # ------------------------------------------------------------------ estate
    def _index(self, estate: dict[str, Any]) -> None:
        for sub in estate.get("subscriptions", []):
            sub_id = sub.get("id") or f"/subscriptions/{sub['subscriptionId']}"
            sub.setdefault("id", sub_id)
            sub.setdefault("subscriptionId", sub_id.rsplit("/", 1)[-1])
            key = _norm(sub_id)
            if key in self._subs_by_id:
                raise ValueError(f"duplicate subscription {sub_id}")
            self._subscriptions.append(sub)
            self._subs_by_id[key] = sub

        resources: list[dict[str, Any]] = []
        for res in estate.get("resources", []):
            res_id = str(res["id"]).rstrip("/")
            res["id"] = res_id
            res.setdefault("name", res_id.rsplit("/", 1)[-1])
            listed = {key: res.pop(key) for key in ("connection_strings", "app_settings") if key in res}
            if listed:
                self._site_config_lists[_norm(res_id)] = listed
            if _norm(res_id) in self._by_id:
                raise ValueError(f"duplicate resource id {res_id}")
            self._by_id[_norm(res_id)] = res
            resources.append(res)

        # Resource groups not listed explicitly are derived from the ids of their resources.
        rg_pattern = re.compile(r"^(/subscriptions/[^/]+)/resourcegroups/([^/]+)(/|$)", re.IGNORECASE)
        derived: list[dict[str, Any]] = []
        for res in resources:
            match = rg_pattern.match(res["id"])
            if not match:
                continue
            rg_id = f"{match.group(1)}/resourceGroups/{match.group(2)}"
            if _norm(rg_id) in self._by_id:
                continue
            rg = {
                "id": rg_id,
                "name": match.group(2),
                "type": _RG_TYPE,
                "location": next(
                    (
                        r["location"]
                        for r in resources
                        if r.get("location") and _norm(r["id"]).startswith(_norm(rg_id) + "/")
                    ),
                    _DEFAULT_RG_LOCATION,
                ),
                "properties": {"provisioningState": "Succeeded"},
            }
            self._by_id[_norm(rg_id)] = rg
            derived.append(rg)
        self._resources = resources + derived
        for res in self._resources:
            self._children.setdefault(_parent(_norm(res["id"])), []).append(res)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> ArmEmulator:
        """Bind 127.0.0.1, wrap the socket in TLS and serve in a daemon thread."""
        if self._server is not None or self._stopped:
            raise RuntimeError("an ArmEmulator can be started only once")
        server = LoopbackServer(("127.0.0.1", self._port), _Handler, self)
        self._server = server
        self._bound_port = int(server.server_address[1])
        self._thread = serve_tls(server, self._cert, "arm-emulator")
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and cut open connections.

        The CA file stays until the emulator is garbage-collected or the interpreter exits, so
        a client of a stopped emulator sees a connection error, not a missing-CA-bundle error.
        """
        self._stopped = True
        stop_serving(self._server, self._thread)
        self._server = None
        self._thread = None

    def __enter__(self) -> ArmEmulator:
        """Start the emulator."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the emulator."""
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port the emulator listens (or, once stopped, listened) on."""
        if self._bound_port is None:
            raise RuntimeError("the ArmEmulator has not been started; call start() first")
        return self._bound_port

    @property
    def url(self) -> str:
        """Base URL for the SDK clients, e.g. ``https://127.0.0.1:54321``."""
        return f"https://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ faults
    def add_fault(self, fault: Fault) -> None:
        """Arm ``fault`` (after the ones already armed)."""
        armed = _ArmedFault(fault, re.compile(fault.path, re.IGNORECASE), fault.times)
        with self._lock:
            self._faults.append(armed)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for armed in self._faults:
                fault = armed.fault
                if fault.method is not None and fault.method.upper() != method:
                    continue
                if armed.remaining is not None and armed.remaining <= 0:
                    continue
                if not armed.pattern.search(path):
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                return fault
        return None

    # ------------------------------------------------------------------ request handling
    def _respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Reply:
        """Answer one request (called from the server threads)."""
        split = urllib.parse.urlsplit(target)
        raw_path = split.path.rstrip("/") or "/"
        path = urllib.parse.unquote(raw_path)
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        authorized = self._authorized(authorization)
        with self._lock:
            self.requests.append(SeenRequest(method, path, query, authorized, time.monotonic()))

        reply = self._answer(method, path, raw_path, query, authorized, body)
        if self.latency > 0:
            time.sleep(self.latency)
        return reply

    def _authorized(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        if self.tokens is None:
            return True
        return self.tokens(token) if callable(self.tokens) else token in self.tokens

    def _answer(
        self,
        method: str,
        path: str,
        raw_path: str,
        query: dict[str, list[str]],
        authorized: bool,
        body: bytes,
    ) -> Reply:
        if not authorized:
            # No WWW-Authenticate header: a claims challenge would make the SDK re-authenticate.
            return arm_error(
                401,
                "InvalidAuthenticationToken",
                "The access token is missing or invalid.",
            )
        throttled = self._take_token(path)
        if throttled is not None:
            return throttled
        fault = self._take_fault(method, path)
        if fault is not None:
            if fault.latency > 0:
                time.sleep(fault.latency)
            if fault.malformed or fault.body is not None or not 200 <= fault.status < 300:
                return self._fault_reply(fault, method, path)
        if method == "GET":
            return self.route_get(path, raw_path, query)
        reply = self.route_other(method, path, query, body)
        if reply is not None:
            return reply
        return arm_error(
            405,
            "MethodNotAllowed",
            f"The emulator does not support {method} on '{path}'.",
            {"Allow": "GET"},
        )

    @staticmethod
    def _fault_reply(fault: Fault, method: str, path: str) -> Reply:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if fault.malformed:
            return Reply(
                fault.status if 200 <= fault.status < 300 else 200, headers=headers, raw=_MALFORMED_BODY
            )
        if fault.body is not None:
            return Reply(fault.status, fault.body, headers)
        code = fault.code or default_error_code(fault.status)
        message = fault.message or f"Injected fault: HTTP {fault.status} for {method} {path}."
        return arm_error(fault.status, code, message, headers)

    def _take_token(self, path: str) -> Reply | None:
        """Enforce ARM's read token bucket per subscription (and tenant): 429 + Retry-After when empty."""
        if self.throttle is None:
            return None
        burst, per_second = self.throttle
        match = re.match(r"^/subscriptions/([^/]+)", _norm(path))
        key = match.group(1) if match else "tenant"
        now = time.monotonic()
        with self._lock:
            tokens, updated = self._buckets.get(key, [float(burst), now])
            tokens = min(float(burst), tokens + (now - updated) * per_second)
            if tokens < 1.0:
                self._buckets[key] = [tokens, now]
                self.throttled += 1
                return arm_error(
                    429,
                    "TooManyRequests",
                    "The request is being throttled (subscription read limit).",
                    {"Retry-After": "1", "x-ms-ratelimit-remaining-subscription-reads": "0"},
                )
            self._buckets[key] = [tokens - 1.0, now]
        return None

    def route_other(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply | None:
        """Answer non-GET requests: Resource Graph queries; other POSTs return ``None`` (405).

        Subclasses extend this for further POST actions or LROs; ``path`` is decoded and has no
        trailing slash.
        """
        if method == "POST" and _norm(path) == "/providers/microsoft.resourcegraph/resources":
            return self.resource_graph(body)
        if method == "POST" and _SITE_CONFIG_LIST.match(_norm(path)):
            return self.site_config_list(path, query)
        return None

    def resource_graph(self, body: bytes) -> Reply:
        """Answer a Resource Graph query: a small KQL subset over the estate, paged by $skipToken.

        Understood: the table (`Resources`, or an extension table such as
        `patchassessmentresources`, matched on the resource type prefix it holds), and
        `where type in~ ('a', 'b')` / `where type =~ 'a'` filters. Quota headers are sent on every
        answer; past `graph_quota` queries per 5 s window the answer is 429 without Retry-After.
        """
        now = time.monotonic()
        with self._lock:
            oldest = min(self._graph_window, default=now)
        resets = max(0.0, self.graph_window - (now - oldest))
        headers = {"x-ms-user-quota-resets-after": f"00:00:{resets:06.3f}"}
        if self.graph_quota is not None:
            with self._lock:
                self._graph_window = [t for t in self._graph_window if now - t < self.graph_window]
                if len(self._graph_window) >= self.graph_quota:
                    return arm_error(429, "RateLimiting", "Resource Graph quota exceeded.", headers)
                self._graph_window.append(now)
                headers["x-ms-user-quota-remaining"] = str(self.graph_quota - len(self._graph_window))
        try:
            request = json.loads(body or b"{}")
            kql = str(request["query"])
        except (ValueError, KeyError, TypeError):
            return arm_error(400, "BadRequest", "The request body is not a Resource Graph query.")
        subscriptions = {str(s).lower() for s in request.get("subscriptions") or []}
        options = request.get("options") or {}
        table = kql.strip().split("|", 1)[0].strip().lower()
        types = [
            t.lower()
            for t in re.findall(r"'([^']+)'", " ".join(re.findall(r"type\s*(?:in~|=~)\s*\(?([^)|]+)", kql)))
        ]
        rows = []
        for resource in self._resources:
            rtype = str(resource.get("type", "")).lower()
            if table == "resources":
                if "/patchassessmentresults" in rtype or (types and rtype not in types):
                    continue
            elif not rtype.startswith(_EXTENSION_TABLES.get(table, "\x00")):
                continue
            sub_match = re.match(r"^/subscriptions/([^/]+)", _norm(resource["id"]))
            if not sub_match or sub_match.group(1) not in subscriptions:
                continue
            row = {**copy.deepcopy(resource), "type": rtype, "subscriptionId": sub_match.group(1)}
            rows.append(row)
        rows.sort(key=lambda r: _norm(r["id"]))
        top = int(options.get("$top") or 1000)
        start = int(options.get("$skipToken") or 0)
        page = rows[start : start + top]
        answer: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "data": page,
            "facets": [],
            "resultTruncated": "false",
        }
        if start + top < len(rows):
            answer["$skipToken"] = str(start + top)
        return Reply(200, answer, headers)

    def route_get(self, path: str, raw_path: str, query: dict[str, list[str]]) -> Reply:
        """Answer a GET from the estate (see the module docstring for the rules)."""
        if not any(key.lower() == "api-version" for key in query):
            return arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        lp = _norm(path)
        if lp == "/subscriptions":
            return self._list(self._subscriptions, raw_path, query)

        sub_match = re.match(r"^/subscriptions/([^/]+)", lp)
        if not sub_match:
            return self._not_found(path)
        sub_key = f"/subscriptions/{sub_match.group(1)}"
        if sub_key not in self._subs_by_id:
            return arm_error(
                404, "SubscriptionNotFound", f"The subscription '{sub_match.group(1)}' could not be found."
            )
        if lp == sub_key:
            return Reply(200, self._subs_by_id[sub_key])
        if lp in self._by_id:
            if _BLOB_CONTAINER.match(lp):
                return Reply(200, self._blob_container(lp))
            if _IMMUTABILITY_POLICY.match(lp) and self._by_id[lp].get("etag"):
                return Reply(200, self._by_id[lp], {"ETag": str(self._by_id[lp]["etag"])})
            return Reply(200, self._by_id[lp])

        rg_match = re.match(r"^(/subscriptions/[^/]+/resourcegroups/[^/]+)", lp)
        if rg_match and rg_match.group(1) not in self._by_id:
            rg_name = path.split("/")[4]
            return arm_error(404, "ResourceGroupNotFound", f"Resource group '{rg_name}' could not be found.")

        resource_scopes = {sub_key} | ({rg_match.group(1)} if rg_match else set())
        if lp.endswith("/resources") and _parent(lp) in resource_scopes:
            if any(key.lower() == "$filter" for key in query):
                return arm_error(400, "UnsupportedFilter", "The emulator does not implement $filter.")
            scope = _parent(lp)
            top = re.compile(rf"^{re.escape(scope)}(/resourcegroups/[^/]+)?/providers/[^/]+/[^/]+/[^/]+$")
            return self._list([r for r in self._resources if top.match(_norm(r["id"]))], raw_path, query)

        provider_match = re.match(r"^(.*)/providers/([^/]+)/([^/]+)$", lp)
        if provider_match:
            scope = provider_match.group(1)
            if scope not in self._by_id and scope not in self._subs_by_id:
                return self._not_found(path)
            items = list(self._children.get(lp, []))
            if scope == sub_key:
                namespace, rtype = provider_match.group(2), provider_match.group(3)
                in_rg = re.compile(
                    rf"^{re.escape(sub_key)}/resourcegroups/[^/]+/providers/"
                    rf"{re.escape(namespace)}/{re.escape(rtype)}/[^/]+$"
                )
                items += [r for r in self._resources if in_rg.match(_norm(r["id"]))]
            return self._list(items, raw_path, query)

        parent = _parent(lp)
        rollup = _ROLLUP_COLLECTIONS.get(lp.rsplit("/", 1)[-1])
        if rollup and (parent in self._by_id or _LTR_SERVER.match(parent)) and not self._children.get(lp):
            # e.g. ReplicationLinks_ListByServer: the links of every database of the server
            below = re.compile(
                rf"^{re.escape(parent)}/{rollup}/[^/]+/{re.escape(lp.rsplit('/', 1)[-1])}/[^/]+$"
            )
            return self._list([r for r in self._resources if below.match(_norm(r["id"]))], raw_path, query)
        if parent in self._by_id or parent in self._subs_by_id:
            return self._list(list(self._children.get(lp, [])), raw_path, query)
        return self._not_found(path)

    def site_config_list(self, path: str, query: dict[str, list[str]]) -> Reply:
        """Answer `POST .../sites/{name}/config/{connectionstrings|appsettings}/list` like ARM does.

        The values come from the site's `"connection_strings"` (`{"Name": {"value": ..., "type":
        "SQLAzure"}}`) and `"app_settings"` (`{"NAME": "value"}`) keys in the estate, which a GET of
        the site never shows; a resource at `{site}/config/{connectionstrings|appsettings}` in the
        estate is served as it is instead. Answers have Microsoft's documented shape: `{"id", "name",
        "type": "Microsoft.Web/sites/config", "location", "properties": {...}}`.
        """
        if not any(key.lower() == "api-version" for key in query):
            return arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        lp = _norm(path)
        config_id = lp.removesuffix("/list")
        if config_id in self._by_id:
            return Reply(200, self._by_id[config_id])
        site_id, kind = config_id.rsplit("/config/", 1)
        site = self._by_id.get(site_id)
        if site is None:
            return self._not_found(path.rsplit("/config/", 1)[0])
        listed = self._site_config_lists.get(site_id, {})
        if kind == "connectionstrings":
            properties: dict[str, Any] = {
                name: {"value": entry.get("value"), "type": entry.get("type", "Custom")}
                for name, entry in listed.get("connection_strings", {}).items()
            }
        else:
            properties = dict(listed.get("app_settings", {}))
        return Reply(
            200,
            {
                "id": f"{site['id']}/config/{kind}",
                "name": kind,
                "type": "Microsoft.Web/sites/config",
                "location": site.get("location"),
                "properties": properties,
            },
        )

    def _blob_container(self, lp: str) -> dict[str, Any]:
        """Return a blob container as ARM shows it: with its immutability policy and legal hold summary.

        The flags and the embedded policy follow the estate's `{container}/immutabilityPolicies/default`
        (a policy in state "Deleted" counts as none) and the container's `legalHold`; whatever the
        estate states itself is served unchanged.
        """
        container = copy.deepcopy(self._by_id[lp])
        properties = container.setdefault("properties", {})
        policy = self._by_id.get(f"{lp}/immutabilitypolicies/default")
        policy_properties = (policy or {}).get("properties") or {}
        has_policy = policy is not None and str(policy_properties.get("state", "")).lower() != "deleted"
        properties.setdefault("hasImmutabilityPolicy", has_policy)
        if has_policy and policy is not None:
            summary: dict[str, Any] = {"properties": copy.deepcopy(policy_properties), "updateHistory": []}
            if policy.get("etag"):
                summary["etag"] = policy["etag"]
            properties.setdefault("immutabilityPolicy", summary)
        legal_hold = properties.get("legalHold")
        properties.setdefault(
            "hasLegalHold", bool(isinstance(legal_hold, dict) and legal_hold.get("hasLegalHold"))
        )
        return container

    @staticmethod
    def _not_found(path: str) -> Reply:
        return arm_error(404, "ResourceNotFound", f"The resource '{path}' was not found.")

    def _list(self, items: list[dict[str, Any]], raw_path: str, query: dict[str, list[str]]) -> Reply:
        if self.page_size <= 0:
            return Reply(200, {"value": items})
        tokens = [v for k, vs in query.items() if k.lower() == "$skiptoken" for v in vs]
        try:
            start = int(tokens[0]) if tokens else 0
        except ValueError:
            start = -1
        if start < 0:
            return arm_error(400, "InvalidSkipToken", "The $skipToken is not valid.")
        end = start + self.page_size
        body: dict[str, Any] = {"value": items[start:end]}
        if end < len(items):
            params = [(k, v) for k, vs in query.items() if k.lower() != "$skiptoken" for v in vs]
            params.append(("$skipToken", str(end)))
            body["nextLink"] = f"{self.url}{raw_path}?{urllib.parse.urlencode(params, safe='$')}"
        return Reply(200, body)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Serve an estate file until Ctrl-C (``python -m demo.standins.arm_emulator ESTATE.json``)."""
    parser = argparse.ArgumentParser(prog="python -m demo.standins.arm_emulator", description=_DESCRIPTION)
    parser.add_argument("estate", type=Path, help="estate JSON file")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--page-size", type=int, default=0, help="split lists into pages of N items")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds slept before every answer")
    parser.add_argument(
        "--throttle",
        metavar="BURST,PER_SECOND",
        default=None,
        help="enforce ARM's read token bucket per subscription, e.g. 250,25 (429 + Retry-After when empty)",
    )
    parser.add_argument(
        "--stats", action="store_true", help="print request and throttle counts on SIGTERM/Ctrl-C"
    )
    args = parser.parse_args(argv)
    throttle = None
    if args.throttle:
        burst, per_second = args.throttle.split(",")
        throttle = (int(burst), float(per_second))
    emulator = ArmEmulator(
        load_estate(args.estate),
        page_size=args.page_size,
        port=args.port,
        latency=args.latency,
        throttle=throttle,
    )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        emulator.start()
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        emulator.stop()
        return 2
    print(f"ARM emulator: {emulator.url}", flush=True)
    print(f"CA file: {emulator.ca_file}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        if args.stats:
            print(
                json.dumps({"requests": len(emulator.requests), "throttled": emulator.throttled}), flush=True
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
