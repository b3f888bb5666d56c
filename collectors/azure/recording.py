"""Record and replay of raw ARM exchanges, at the HTTP adapter under the SDK's transport.

`--record FILE` keeps the final raw response of every request of a run; `--replay FILE`
serves them back with no network, so the same SDK clients, parsers and controls run again
on exactly what was observed. Only response status, a few response headers and the body are
stored: request headers (the bearer token) never are.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

from collectors.azure.pacing import Pacer
from collectors.provenance import utc_now

RECORDING_VERSION = 1
RECORDED_AT_HEADER = "x-auditor-recorded-at"
_KEPT_HEADERS = ("content-type", "retry-after", "x-ms-user-quota-remaining", "x-ms-user-quota-resets-after")


class RecordingError(Exception):
    """A recording file cannot be used for replay; the message names the file and the problem."""


def exchange_key(method: str, url: str, body: bytes | str | None = None) -> str:
    """Return the host-independent key of a request: method, lower-cased path, sorted query.

    A request with a body (a Resource Graph query is a POST) is also keyed by the body's
    sha256, so two queries to one URL stay apart.
    """
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    path = parts.path.rstrip("/").lower() or "/"
    key = f"{method.upper()} {path}?{query}" if query else f"{method.upper()} {path}"
    if body:
        key += " body:" + hashlib.sha256(body.encode() if isinstance(body, str) else body).hexdigest()[:16]
    return key


@dataclass(frozen=True)
class Exchange:
    """The final answer to one request: status, kept headers and body (or a transport error)."""

    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    recorded_at: datetime
    transport_error: str | None = None
    request_body: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the JSON form stored in the recording file."""
        try:
            body: dict[str, str] = {"body": self.body.decode("utf-8")}
        except UnicodeDecodeError:
            body = {"body_base64": base64.b64encode(self.body).decode("ascii")}
        return {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "headers": self.headers,
            "recorded_at": self.recorded_at.isoformat(),
            "transport_error": self.transport_error,
            "request_body": self.request_body,
            **body,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Exchange:
        """Return an exchange read back from a recording file."""
        raw = (
            base64.b64decode(data["body_base64"])
            if "body_base64" in data
            else data.get("body", "").encode("utf-8")
        )
        return cls(
            method=data["method"],
            url=data["url"],
            status=int(data["status"]),
            headers=dict(data.get("headers", {})),
            body=raw,
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
            transport_error=data.get("transport_error"),
            request_body=data.get("request_body"),
        )


@dataclass(frozen=True)
class HostRun:
    """The raw outcome of gathering one host: its batched command's output, or why there was none."""

    host: str
    os: str
    command_sha256: str
    exit_code: int
    stdout: bytes
    stderr: bytes
    recorded_at: datetime
    error: str | None = None
    host_key: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the JSON form stored in the recording file (outputs base64: they may be binary)."""
        return {
            "host": self.host,
            "os": self.os,
            "command_sha256": self.command_sha256,
            "exit_code": self.exit_code,
            "stdout_base64": base64.b64encode(self.stdout).decode("ascii"),
            "stderr_base64": base64.b64encode(self.stderr).decode("ascii"),
            "recorded_at": self.recorded_at.isoformat(),
            "error": self.error,
            "host_key": self.host_key,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostRun:
        """Return a host run read back from a recording file."""
        return cls(
            host=data["host"],
            os=data["os"],
            command_sha256=data["command_sha256"],
            exit_code=int(data["exit_code"]),
            stdout=base64.b64decode(data["stdout_base64"]),
            stderr=base64.b64decode(data["stderr_base64"]),
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
            error=data.get("error"),
            host_key=data.get("host_key"),
        )


class Recording:
    """The raw observations of one run: ARM exchanges keyed by request, host runs keyed by host."""

    def __init__(self, endpoint: str, run_date: str, exchanges: dict[str, Exchange] | None = None) -> None:
        self.endpoint = endpoint
        self.run_date = run_date
        self._exchanges: dict[str, Exchange] = dict(exchanges or {})
        self.host_runs: dict[str, HostRun] = {}
        self._lock = threading.Lock()

    def put_host(self, run: HostRun) -> None:
        """Keep the outcome of gathering one host."""
        with self._lock:
            self.host_runs[run.host] = run

    def put(self, exchange: Exchange) -> None:
        """Keep `exchange` as the answer to its request."""
        with self._lock:
            self._exchanges[exchange_key(exchange.method, exchange.url, exchange.request_body)] = exchange

    def get(self, method: str, url: str, body: bytes | str | None = None) -> Exchange | None:
        """Return the recorded answer to a request, or None if the run never made it."""
        return self._exchanges.get(exchange_key(method, url, body))

    def __len__(self) -> int:
        return len(self._exchanges)

    def save(self, path: Path) -> None:
        """Write the recording as JSON (sorted, so two recordings of one estate diff cleanly)."""
        document = {
            "version": RECORDING_VERSION,
            "kind": "auditor",
            "endpoint": self.endpoint,
            "run_date": self.run_date,
            "exchanges": [self._exchanges[key].as_json() for key in sorted(self._exchanges)],
            "hosts": [self.host_runs[name].as_json() for name in sorted(self.host_runs)],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Recording:
        """Return the recording stored at `path`, or raise RecordingError saying what is wrong."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RecordingError(f"{path}: no such recording file") from None
        except (OSError, ValueError) as exc:
            raise RecordingError(f"{path}: not a readable JSON recording ({exc})") from None
        if not isinstance(document, dict) or document.get("version") != RECORDING_VERSION:
            raise RecordingError(f"{path}: not an auditor recording of version {RECORDING_VERSION}")
        try:
            exchanges = [Exchange.from_json(item) for item in document["exchanges"]]
            host_runs = [HostRun.from_json(item) for item in document.get("hosts", [])]
            recording = cls(endpoint=document["endpoint"], run_date=document["run_date"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordingError(f"{path}: malformed recording ({exc!r})") from None
        for exchange in exchanges:
            recording.put(exchange)
        for run in host_runs:
            recording.put_host(run)
        return recording


def _body_text(body: object) -> str | None:
    """Return a request body as text for the recording (request bodies of reads hold no secrets)."""
    if not body:
        return None
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        return body
    raise TypeError(f"a streamed request body ({type(body).__name__}) cannot be recorded")


def _kept_headers(headers: Any) -> dict[str, str]:
    return {name: headers[name] for name in _KEPT_HEADERS if name in headers}


class ObservingAdapter(HTTPAdapter):
    """A requests adapter that sends for real and stamps each answer with the UTC time it arrived.

    The stamp travels in a response header to the provenance hook, so a live run, its
    recording and a replay of it all cite the same observation time.
    """

    def __init__(self, pool_maxsize: int, pacer: Pacer | None = None) -> None:
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize)
        self.pacer = pacer
        self.sent = 0
        self.throttled = 0
        self._count_lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Send the request (paced) and return its answer, read in full and stamped."""
        if self.pacer is not None:
            self.pacer.acquire(urlsplit(request.url or "").path)
        with self._count_lock:
            self.sent += 1
        response = super().send(request, *args, **kwargs)
        if response.status_code == 429:
            with self._count_lock:
                self.throttled += 1
        response.content  # noqa: B018 - read now (requests caches it for the SDK)
        response.headers[RECORDED_AT_HEADER] = utc_now().isoformat()
        return response


class RecordingAdapter(ObservingAdapter):
    """An observing adapter that also keeps the final answer to every request in a recording."""

    def __init__(self, recording: Recording, pool_maxsize: int, pacer: Pacer | None = None) -> None:
        super().__init__(pool_maxsize=pool_maxsize, pacer=pacer)
        self.recording = recording

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Send the request, store its answer (or transport error) and return the answer."""
        method, url, sent = request.method or "GET", request.url or "", _body_text(request.body)
        try:
            response = super().send(request, *args, **kwargs)
        except requests.RequestException as exc:
            failed = Exchange(method, url, 0, {}, b"", utc_now(), type(exc).__name__, request_body=sent)
            self.recording.put(failed)
            raise
        observed_at = datetime.fromisoformat(response.headers[RECORDED_AT_HEADER])
        kept = _kept_headers(response.headers)
        self.recording.put(
            Exchange(
                method, url, response.status_code, kept, response.content, observed_at, request_body=sent
            )
        )
        return response


class ReplayAdapter(HTTPAdapter):
    """A requests adapter that answers from a recording and never opens a connection."""

    def __init__(self, recording: Recording) -> None:
        super().__init__()
        self.recording = recording

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Return the recorded answer to `request`; a request the run never made is a 404."""
        method, url = request.method or "GET", request.url or ""
        exchange = self.recording.get(method, url, _body_text(request.body))
        if exchange is not None and exchange.transport_error:
            raise requests.ConnectionError(f"recorded transport failure: {exchange.transport_error}")
        if exchange is None:
            body = json.dumps(
                {
                    "error": {
                        "code": "NotInRecording",
                        "message": f"{method} {url} was not made by the recorded run",
                    }
                }
            ).encode()
            status, headers, recorded_at = 404, {"content-type": "application/json"}, utc_now()
        else:
            body, status, headers, recorded_at = (
                exchange.body,
                exchange.status,
                exchange.headers,
                exchange.recorded_at,
            )
        raw = HTTPResponse(
            body=io.BytesIO(body),
            headers={
                **headers,
                RECORDED_AT_HEADER: recorded_at.isoformat(),
                "content-length": str(len(body)),
            },
            status=status,
            preload_content=False,
            decode_content=False,
        )
        return self.build_response(request, raw)
