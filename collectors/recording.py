"""Recordings: the raw observations of a run (ARM exchanges, host outputs), for replay.

`--record FILE` keeps the final raw response of every request of a run; `--replay FILE`
serves them back with no network, so the same SDK clients, parsers and controls run again
on exactly what was observed. Only response status, a few response headers and the body are
stored: request headers (the bearer token) never are.

`Recording.load` checks the structure of every part before anything is replayed (exchanges,
hosts, tls, probes, databases, azure_principal): a part that is not in the recording format
raises RecordingError naming the file, the part, the index and the field, so the CLI ends
with one line (exit 4) instead of a traceback halfway through a run. What the targets
answered (an ARM body, a host's output, a database's rows, a TLS scan result, a probe's
outcome) is not judged here: an odd answer replays to `error` items for that target only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from collectors.fact_json import FactDecodeError, check_subject_json
from collectors.messages import Reason, reason_from_json, reason_json

RECORDING_VERSION = 1
RECORDED_AT_HEADER = "x-auditor-recorded-at"
KEPT_HEADERS = ("content-type", "retry-after", "x-ms-user-quota-remaining", "x-ms-user-quota-resets-after")
HOST_OS_FAMILIES = ("linux", "windows", "auto")
"""A host run's `os`: the family the host reported, or the config's "auto" when it was never reached."""


class RecordingError(Exception):
    """A recording file cannot be used for replay; the message names the file and the problem."""


class RecordingShapeError(ValueError):
    """A part of a recording document is not in the recording format; the message names where."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _shape(where: str, expected: str, value: Any) -> RecordingShapeError:
    kind = "null" if value is None else type(value).__name__
    return RecordingShapeError(f"{where}: expected {expected}, got {kind} {_shown(value)}")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _shape(where, "an object", value)
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _shape(where, "a list", value)
    return value


def _text(
    data: dict[str, Any], key: str, where: str, *, nullable: bool = False, optional: bool = False
) -> Any:
    if key not in data:
        if optional:
            return None
        raise RecordingShapeError(f"{where}.{key}: missing")
    value = data[key]
    if value is None and (nullable or optional):
        return None
    if not isinstance(value, str):
        raise _shape(f"{where}.{key}", "a string" + (" or null" if nullable else ""), value)
    return value


def _reason(data: dict[str, Any], key: str, where: str) -> Reason | None:
    """Return an optional recorded reason: text, or a message as `reason_json` writes it."""
    value = data.get(key)
    if value is None:
        return None
    try:
        return reason_from_json(value)
    except ValueError:
        raise _shape(f"{where}.{key}", "a string, a recorded message or null", value) from None


def _integer(data: dict[str, Any], key: str, where: str, low: int, high: int) -> int:
    if key not in data:
        raise RecordingShapeError(f"{where}.{key}: missing")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _shape(f"{where}.{key}", f"an integer from {low} to {high}", value)
    return value


def _timestamp(data: dict[str, Any], key: str, where: str) -> datetime:
    text = _text(data, key, where)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _shape(f"{where}.{key}", "an ISO 8601 date-time", text) from None


def _base64(data: dict[str, Any], key: str, where: str) -> bytes:
    text = _text(data, key, where)
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise _shape(f"{where}.{key}", "base64 text", text) from None


def check_probes_part(value: Any) -> None:
    """Raise RecordingShapeError unless `value` is a recorded probe run, or a list of them (one per site).

    The structure is what names the items: the vantage point, the timeout, and each
    observation's address, port and origins. What each connect attempt saw is the target's
    answer and is read by `collectors.probes` (a malformed one is an `error` for its port).
    """
    if isinstance(value, list):
        if not value:
            raise RecordingShapeError("probes: an empty list (a recorded probe part holds at least one run)")
        sites: dict[str, int] = {}
        for index, run in enumerate(value):
            _check_probe_run(run, f"probes[{index}]")
            site = run["vantage"].get("site", "local")
            if site in sites:
                raise RecordingShapeError(
                    f"probes[{index}].vantage.site: a second run from site {site!r} (probes[{sites[site]}])"
                )
            sites[site] = index
        return
    _check_probe_run(value, "probes")


def _check_probe_run(value: Any, where: str) -> None:
    run = _object(value, where)
    vantage = _object(run.get("vantage"), f"{where}.vantage")
    _text(vantage, "host", f"{where}.vantage")
    _text(vantage, "site", f"{where}.vantage", optional=True)
    trust = _text(vantage, "trust", f"{where}.vantage", optional=True)
    if trust is not None and trust not in ("trusted", "untrusted"):
        raise _shape(f"{where}.vantage.trust", "trusted or untrusted", trust)
    for index, address in enumerate(
        _list(vantage.get("source_addresses"), f"{where}.vantage.source_addresses")
    ):
        if not isinstance(address, str):
            raise _shape(f"{where}.vantage.source_addresses[{index}]", "a string", address)
    _timestamp(vantage, "started_at", f"{where}.vantage")
    _reason(run, "unanswered", where)
    timeout = run.get("timeout_s")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < 3600:
        raise _shape(f"{where}.timeout_s", "a number of seconds above 0", timeout)
    observations = _list(run.get("observations"), f"{where}.observations")
    if not observations:
        # A run with nothing to probe is not recorded at all (the part is null).
        raise RecordingShapeError(f"{where}.observations: empty (a recorded probe run probed something)")
    for index, item in enumerate(observations):
        at = f"{where}.observations[{index}]"
        observation = _object(item, at)
        if not _text(observation, "address", at):
            raise _shape(f"{at}.address", "a non-empty string", observation["address"])
        _integer(observation, "port", at, 1, 65535)
        origins = _list(observation.get("origins"), f"{at}.origins")
        if not origins or not all(isinstance(o, str) for o in origins):
            raise _shape(f"{at}.origins", "a non-empty list of strings", origins)
        if "judged" in observation and not isinstance(observation["judged"], bool):
            raise _shape(f"{at}.judged", "true or false", observation["judged"])


def _check_subjects(value: Any, part: str, what: str) -> None:
    """Raise RecordingShapeError unless `value` is a non-empty list of recorded subjects with distinct ids."""
    items = _list(value, part)
    if not items:
        # A run with nothing of this kind records no such part at all (null).
        raise RecordingShapeError(f"{part}: empty (a recorded {part} part holds at least one {what})")
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            check_subject_json(item)
        except FactDecodeError as exc:
            raise RecordingShapeError(f"{part}[{index}]: {exc}") from None
        if item["id"] in seen:
            raise RecordingShapeError(f"{part}[{index}]: a second result for {item['id']}")
        seen.add(item["id"])


def check_tls_part(value: Any) -> None:
    """Raise RecordingShapeError unless `value` is a list of recorded subjects (id, fact or error, sources).

    Each scan result itself is rebuilt strictly on replay (`collectors.fact_json`); a result
    missing a field is an `error` for that endpoint, not a refused recording.
    """
    _check_subjects(value, "tls", "scanned endpoint")


def check_tracking_part(value: Any) -> None:
    """Raise RecordingShapeError unless `value` is a list of recorded page visits (id, fact or error, sources).

    Each visit is rebuilt strictly on replay (`collectors.tracking.pages.replayed_subject`).
    """
    _check_subjects(value, "tracking", "page visit")


def check_databases_part(value: Any) -> None:
    """Raise RecordingShapeError unless `value` maps server names to recorded reads.

    A read is {engine, collected_at, and either error or rows}; rows are result-set name ->
    list of row objects. The values inside the rows are the server's answers, read by the
    database collector (odd ones are `error` items there).
    """
    for name, item in _object(value, "databases").items():
        where = f"databases[{name!r}]"
        run = _object(item, where)
        _text(run, "engine", where)
        _timestamp(run, "collected_at", where)
        error = _reason(run, "error", where)
        rows = run.get("rows")
        if error is None and rows is None:
            raise RecordingShapeError(f"{where}: neither rows nor error")
        if rows is not None:
            for result_set, result_rows in _object(rows, f"{where}.rows").items():
                for row_index, row in enumerate(_list(result_rows, f"{where}.rows.{result_set}")):
                    _object(row, f"{where}.rows.{result_set}[{row_index}]")


def check_trackers_part(value: Any) -> None:
    """Raise RecordingShapeError unless `value` maps tracker sections to reads: {register, observed_at,
    error or tickets}, each ticket an object with a string key. The times inside are the tracker's
    answers, read by `collectors.trackers.records` (an unreadable one is an `error` for that ticket)."""
    for section, item in _object(value, "trackers").items():
        where = f"trackers[{section!r}]"
        read = _object(item, where)
        _text(read, "register", where)
        _timestamp(read, "observed_at", where)
        _reason(read, "error", where)
        for index, ticket in enumerate(_list(read.get("tickets"), f"{where}.tickets")):
            at = f"{where}.tickets[{index}]"
            if not _text(_object(ticket, at), "key", at):
                raise _shape(f"{at}.key", "a ticket key", ticket["key"])


def check_principal_part(value: Any) -> None:
    """Raise RecordingShapeError unless `value` is the Azure principal: an object of strings."""
    for key, text in _object(value, "azure_principal").items():
        if not isinstance(text, str):
            raise _shape(f"azure_principal.{key}", "a string", text)


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
    def from_json(cls, data: Any, where: str = "exchange") -> Exchange:
        """Return an exchange read back from a recording file; RecordingShapeError naming the field if malformed."""
        item = _object(data, where)
        if "body_base64" in item:
            raw = _base64(item, "body_base64", where)
        else:
            raw = _text(item, "body", where).encode("utf-8")
        headers = _object(item.get("headers", {}), f"{where}.headers")
        for name, value in headers.items():
            if not isinstance(value, str):
                raise _shape(f"{where}.headers.{name}", "a string", value)
        method = _text(item, "method", where)
        if not method:
            raise _shape(f"{where}.method", "an HTTP method", method)
        return cls(
            method=method,
            url=_text(item, "url", where),
            status=_integer(item, "status", where, 0, 999),
            headers=dict(headers),
            body=raw,
            recorded_at=_timestamp(item, "recorded_at", where),
            transport_error=_text(item, "transport_error", where, optional=True),
            request_body=_text(item, "request_body", where, optional=True),
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
    error: Reason | None = None
    """Why there is no output: a message, recorded as its id and parameters (older recordings: text)."""
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
            "error": reason_json(self.error) if self.error is not None else None,
            "host_key": self.host_key,
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "host") -> HostRun:
        """Return a host run read back from a recording file; RecordingShapeError naming the field if malformed.

        The outputs stay as recorded: what the host printed is read (and judged) by the host parsers.
        """
        item = _object(data, where)
        host = _text(item, "host", where)
        if not host:
            raise _shape(f"{where}.host", "a host name", host)
        os_family = _text(item, "os", where)
        if os_family not in HOST_OS_FAMILIES:
            raise _shape(f"{where}.os", f"one of {', '.join(HOST_OS_FAMILIES)}", os_family)
        return cls(
            host=host,
            os=os_family,
            command_sha256=_text(item, "command_sha256", where),
            exit_code=_integer(item, "exit_code", where, -(2**31), 2**31 - 1),
            stdout=_base64(item, "stdout_base64", where),
            stderr=_base64(item, "stderr_base64", where),
            recorded_at=_timestamp(item, "recorded_at", where),
            error=_reason(item, "error", where),
            host_key=_text(item, "host_key", where, optional=True),
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
        self.probes: dict[str, Any] | list[dict[str, Any]] | None = None
        """The exposure probes of the run (`ProbeRun.as_json()`, or a list of them: one per site), if any."""
        self.databases: dict[str, Any] | None = None
        """The database catalog reads of the run (catalog rows and reduced counts, never values), if any."""
        self.azure_principal: dict[str, str] | None = None
        """Who the auditor was in Azure (the token's principal claims, never the token), if known."""
        self.tracking: list[dict[str, Any]] | None = None
        """The page visits of the run (`collectors.tracking`): cookies by name and request hosts, never values."""
        self.trackers: dict[str, Any] | None = None
        """The tracker registers read (`collectors.trackers`): keys and times per ticket, never its text."""
        self.azure_unanswered: Reason | None = None
        """Why no Azure observation exists at all (a distributed run whose Azure site did not answer)."""
        self.unanswered_subscriptions: dict[str, Reason] = {}
        """Subscriptions whose observations never came back (their site did not answer in time), and why."""
        self.azure_chunks: list[tuple[str, ...]] = []
        """The chunks of subscriptions a distributed run read Azure in (each replays on its own)."""
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

    def exchanges(self) -> list[Exchange]:
        """Return every recorded exchange, in key order (what a worker sends back to the coordinator)."""
        with self._lock:
            return [self._exchanges[key] for key in sorted(self._exchanges)]

    def __len__(self) -> int:
        return len(self._exchanges)

    def __bool__(self) -> bool:
        """A recording is a replay even when it holds no ARM exchange (`len()` counts exchanges only).

        Without this, `if replay:` on a recording of hosts only, or of an Azure site that never
        answered, was false: the run went live instead of replaying (and called itself live).
        """
        return True

    def save(self, path: Path) -> None:
        """Write the recording as JSON (sorted, so two recordings of one estate diff cleanly)."""
        document: dict[str, Any] = {
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
        if self.trackers is not None:
            document["trackers"] = self.trackers
        if self.tracking is not None:
            document["tracking"] = self.tracking
        if self.azure_chunks:
            document["azure_chunks"] = [list(chunk) for chunk in self.azure_chunks]
        if self.azure_unanswered is not None or self.unanswered_subscriptions:
            document["unanswered"] = {
                "azure": reason_json(self.azure_unanswered) if self.azure_unanswered is not None else None,
                "subscriptions": {
                    key: reason_json(reason) for key, reason in sorted(self.unanswered_subscriptions.items())
                },
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
            recording = cls(endpoint=_text(document, "endpoint", "recording"), run_date=_run_date(document))
            for index, item in enumerate(_list(document.get("exchanges"), "exchanges")):
                recording.put(Exchange.from_json(item, f"exchanges[{index}]"))
            for index, item in enumerate(_list(document.get("hosts", []), "hosts")):
                run = HostRun.from_json(item, f"hosts[{index}]")
                if run.host in recording.host_runs:
                    raise RecordingShapeError(f"hosts[{index}]: a second run of host {run.host!r}")
                recording.put_host(run)
            parts: tuple[tuple[str, Callable[[Any], None]], ...] = (
                ("tls", check_tls_part),
                ("probes", check_probes_part),
                ("databases", check_databases_part),
                ("azure_principal", check_principal_part),
                ("trackers", check_trackers_part),
                ("tracking", check_tracking_part),
            )
            for name, check in parts:
                if document.get(name) is not None:
                    check(document[name])
            for index, chunk in enumerate(_list(document.get("azure_chunks") or [], "azure_chunks")):
                if not _list(chunk, f"azure_chunks[{index}]") or not all(isinstance(s, str) for s in chunk):
                    raise _shape(f"azure_chunks[{index}]", "a non-empty list of subscription ids", chunk)
                recording.azure_chunks.append(tuple(chunk))
            unanswered = _object(document.get("unanswered") or {}, "unanswered")
            recording.azure_unanswered = _reason(unanswered, "azure", "unanswered")
            subscriptions = _object(unanswered.get("subscriptions") or {}, "unanswered.subscriptions")
            for key in subscriptions:
                reason = _reason(subscriptions, key, "unanswered.subscriptions")
                if reason is None:
                    raise RecordingShapeError(f"unanswered.subscriptions.{key}: expected a reason, got null")
                recording.unanswered_subscriptions[key] = reason
        except RecordingShapeError as exc:
            raise RecordingError(f"{path}: malformed recording: {exc}") from None
        recording.tls = document.get("tls")
        recording.probes = document.get("probes")
        recording.databases = document.get("databases")
        recording.azure_principal = document.get("azure_principal")
        recording.trackers = document.get("trackers")
        recording.tracking = document.get("tracking")
        return recording


def _run_date(document: dict[str, Any]) -> str:
    text = _text(document, "run_date", "recording")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise _shape("run_date", "a date (YYYY-MM-DD)", text) from None
    return str(text)
