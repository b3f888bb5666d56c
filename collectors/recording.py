"""Recordings: the raw observations of a run (ARM exchanges, host outputs), for replay.

`--record FILE` keeps the final raw response of every request of a run; `--replay FILE`
serves them back with no network, so the same SDK clients, parsers and controls run again
on exactly what was observed. Only response status, a few response headers and the body are
stored: request headers (the bearer token) never are.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

RECORDING_VERSION = 1
RECORDED_AT_HEADER = "x-auditor-recorded-at"
KEPT_HEADERS = ("content-type", "retry-after", "x-ms-user-quota-remaining", "x-ms-user-quota-resets-after")


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
        self.tls: list[dict[str, Any]] | None = None
        """The TLS scan results of the run (`collectors.fact_json.subject_to_json` per endpoint), if any."""
        self.probes: dict[str, Any] | None = None
        """The exposure probes of the run (`collectors.probes.ProbeRun.as_json()`), if any."""
        self.databases: dict[str, Any] | None = None
        """The database catalog reads of the run (catalog rows and reduced counts, never values), if any."""
        self.azure_principal: dict[str, str] | None = None
        """Who the auditor was in Azure (the token's principal claims, never the token), if known."""
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
            "probes": self.probes,
            "databases": self.databases,
            "azure_principal": self.azure_principal,
            "tls": self.tls,
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
        tls = document.get("tls")
        recording.tls = tls if isinstance(tls, list) else None
        probes = document.get("probes")
        recording.probes = probes if isinstance(probes, dict) else None
        databases = document.get("databases")
        recording.databases = databases if isinstance(databases, dict) else None
        principal = document.get("azure_principal")
        recording.azure_principal = principal if isinstance(principal, dict) else None
        return recording
