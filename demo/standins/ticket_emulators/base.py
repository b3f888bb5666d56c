"""A small HTTPS server on loopback for ticket-tracker emulators (reusable: subclass `HttpsEmulator`).

How to write an emulator on this base (Azure DevOps, webhook, ...):

    class MyEmulator(HttpsEmulator):
        def handle(self, request: Request) -> Reply:
            if request.method == "POST" and request.path == "/hook":
                return Reply(204)
            return Reply(404, {"message": "Not Found"})

    with MyEmulator() as emulator:           # starts a TLS server on 127.0.0.1, random port
        settings_url = emulator.url          # https://127.0.0.1:PORT
        ca_bundle = emulator.ca_file         # PEM of the emulator's own trustme CA ([tickets] ca_bundle)
        ...
        emulator.requests                    # every Request seen, in order (method, path, query, headers, body)
        emulator.write_requests()            # the ones that change something (see `is_write`)

- `handle` runs in the server's threads; take `self.lock` around shared data.
- `Reply(status, body, headers)`: a dict/list body is sent as JSON, bytes as-is, None as empty.
- Faults (`add_fault(Fault(...))`) answer before `handle`: a status with optional
  `Retry-After`/headers and body, `times` times, or a `delay` (longer than the client's timeout
  to simulate a timeout). `path` is a regular expression searched in the path.
- `check_auth(request)` (override) returns a Reply (e.g. 401) to refuse a request, or None.
- Nothing is logged: requests carry credentials.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qs, urlsplit

from demo.standins.loopback_https import LoopbackServer, QuietHandler, loopback_ca, serve_tls, stop_serving


@dataclass(frozen=True)
class Request:
    """One request as the emulator saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes

    def json(self) -> Any:
        """Return the body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None

    def param(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of query parameter `name`."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    """An answer: status, JSON-able body (or bytes), extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        """Return the body as bytes."""
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass
class Fault:
    """A canned failure for requests matching `method` (None: any) and the `path` regular expression."""

    status: int = 500
    path: str = ".*"
    method: str | None = None
    times: int | None = 1
    """How many matching requests get the fault (None: all)."""
    retry_after: str | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering (longer than the client's timeout: a timeout)."""


class _Handler(QuietHandler):
    server_version = "TicketEmulator/1.0"

    def _dispatch(self) -> None:
        emulator = cast("LoopbackServer[HttpsEmulator]", self.server).emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        reply = emulator._respond(request)
        try:
            self.send_json(reply.status, reply.payload(), reply.headers.items())
        except OSError:
            self.close_connection = True

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch
    do_DELETE = _dispatch
    do_HEAD = _dispatch


class HttpsEmulator:
    """Base of the ticket emulators: TLS on 127.0.0.1 with a trustme CA, request log, faults."""

    name = "ticket-emulator"

    def __init__(self) -> None:
        """Create the TLS material; call `start` (or use `with`) to serve."""
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self._faults: list[Fault] = []
        self._server: LoopbackServer[HttpsEmulator] | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._cert, self.ca_file = loopback_ca(self, f"{self.name}-", "ca.pem")

    # -- to override
    def handle(self, request: Request) -> Reply:
        """Answer one authorised request (subclasses implement their tracker's endpoints)."""
        return Reply(404, {"message": "Not Found"})

    def check_auth(self, request: Request) -> Reply | None:
        """Return a refusal for an unauthorised request, or None to let it through."""
        return None

    def is_write(self, request: Request) -> bool:
        """Return whether `request` changes something (default: any method but GET/HEAD)."""
        return request.method not in ("GET", "HEAD")

    # -- log and faults
    def write_requests(self) -> list[Request]:
        """Return every request seen that changes something, in order."""
        with self.lock:
            return [r for r in self.requests if self.is_write(r)]

    def add_fault(self, fault: Fault) -> None:
        """Arm `fault` after the ones already armed."""
        with self.lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        with self.lock:
            self._faults.clear()

    def _take_fault(self, request: Request) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.method is not None and fault.method.upper() != request.method:
                    continue
                if fault.times is not None and fault.times <= 0:
                    continue
                if not re.search(fault.path, request.path):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def _respond(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            headers = dict(fault.headers)
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return Reply(
                fault.status, fault.body if fault.body is not None else {"message": "fault"}, headers
            )
        refusal = self.check_auth(request)
        if refusal is not None:
            return refusal
        try:
            return self.handle(request)
        except (ValueError, KeyError, TypeError) as exc:
            return Reply(400, {"message": f"bad request: {type(exc).__name__}"})

    # -- lifecycle
    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port, wrap in TLS and serve in a daemon thread."""
        server: LoopbackServer[HttpsEmulator] = LoopbackServer(("127.0.0.1", 0), _Handler, self)
        self._server = server
        self._port = int(server.server_address[1])
        self._thread = serve_tls(server, self._cert, self.name)
        return self

    def stop(self) -> None:
        """Stop serving and cut open connections."""
        stop_serving(self._server, self._thread)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        """Start serving."""
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop serving."""
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, e.g. https://127.0.0.1:54321."""
        if self._port is None:
            raise RuntimeError("the emulator has not been started")
        return f"https://127.0.0.1:{self._port}"
