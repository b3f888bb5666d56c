"""One polite HTTP client for every ticket tracker: retries, throttling, and errors without secrets.

Every HTTP backend (Jira, GitHub, Azure DevOps, webhook) talks through `TrackerHttp`, so they all
honour `429`/`503` + `Retry-After` (seconds or an HTTP date, capped at `max_wait`), retry transient
failures a few times, and fail with one `TrackerError` that names the method, where and the
HTTP status, never a header, a token or the request body. "Where" is the tracker's scheme and
host plus the API route the backend's own code names; never the path of a configured or returned
URL: webhook URLs (Slack, Teams, ...) carry their secret in the path (`redact_urls`).

Retrying a request the tracker may already have carried out could double-create a ticket, so:
429 and 503 (the tracker says it did not process the request) and connection failures before
anything was sent are retried for every method; other 5xx answers and read timeouts are retried
only for idempotent requests (GET, PUT, DELETE, HEAD, OPTIONS, or `idempotent=True` for a
read-only POST such as Jira's search).
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import ssl
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from reports.tickets.model import TrackerError
from reports.tickets.redact import shown_location

_THROTTLED = frozenset({429, 503})
_TRANSIENT = frozenset({500, 502, 504})
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Return the wait a `Retry-After` header asks for, in seconds (>= 0), or None when absent or unreadable.

    It exists because trackers send either delta-seconds (GitHub, Jira) or an HTTP date.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _ssl_verify(verify: str | bool) -> ssl.SSLContext | bool:
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


def _error_detail(response: httpx.Response) -> str:
    """A short, secret-free reason from a tracker's JSON error body (Jira errorMessages, GitHub message)."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return ""
    parts: list[str] = []
    if isinstance(body, dict):
        messages = body.get("errorMessages")
        if isinstance(messages, list):
            parts.extend(str(m) for m in messages if isinstance(m, str))
        for key in ("message", "error"):
            if isinstance(body.get(key), str):
                parts.append(body[key])
        errors = body.get("errors")
        if isinstance(errors, dict):
            parts.extend(f"{k}: {v}" for k, v in errors.items() if isinstance(v, str))
    text = "; ".join(p.strip() for p in parts if p.strip())
    return text[:200]


class TrackerHttp:
    """An httpx client bound to one tracker's API base, with retries and secret-free errors."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str],
        auth: httpx.Auth | None = None,
        verify: str | bool = True,
        timeout: float,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Create the client; `verify` is True, False or a CA bundle path; `max_wait` caps any single wait."""
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.max_wait = max_wait
        self._sleep = sleep
        self.waits: list[float] = []
        """Every wait slept before a retry, in order (for tests and the run's log)."""
        self._client = httpx.Client(
            headers=headers,
            auth=auth,
            verify=_ssl_verify(verify),
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> TrackerHttp:
        """Return the client itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the client."""
        self.close()

    def url_for(self, path_or_url: str) -> str:
        """Return the absolute URL of `path_or_url` (paths are relative to the API base)."""
        if path_or_url.startswith(("https://", "http://")):
            return path_or_url
        return self.base_url + ("" if path_or_url.startswith("/") else "/") + path_or_url

    def _shown(self, path_or_url: str) -> str:
        """Return where a request goes, for messages: scheme and host, plus the backend's own API route.

        An absolute URL (the configured webhook, a `next` link the tracker returned) shows its
        scheme and host only; a route the backend names relative to the base shows after them,
        with `/…` standing for the configured base URL's own path (never printed).
        """
        if path_or_url.startswith(("https://", "http://")):
            return shown_location(path_or_url)
        route = urlsplit(path_or_url).path
        route = route if route.startswith("/") else "/" + route
        elided = "/…" if urlsplit(self.base_url).path.strip("/") else ""
        return shown_location(self.base_url) + elided + route

    def _backoff(self, attempt: int, response: httpx.Response | None) -> float:
        asked = retry_after_seconds(response.headers.get("Retry-After")) if response is not None else None
        if asked is None and response is not None and response.headers.get("x-ratelimit-remaining") == "0":
            reset = response.headers.get("x-ratelimit-reset")
            if reset and reset.isdigit():
                asked = max(0.0, float(reset) - time.time())
        wait = asked if asked is not None else float(2**attempt)
        return min(wait, self.max_wait)

    def get_if_exists(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        gone: tuple[int, ...] = (404,),
    ) -> httpx.Response | None:
        """Return the 200 answer of a GET, or None when the tracker says the thing does not exist.

        Exists because every backend reads a remembered ticket directly, and a ticket deleted in
        the tracker (404, or whatever `gone` lists) must be forgotten rather than fail every night.
        """
        response = self.request("GET", path_or_url, params=params, expected=(200, *gone))
        return None if response.status_code in gone else response

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        expected: tuple[int, ...] = (200, 201, 204),
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one request and return its response when its status is in `expected`.

        Retries as the module docstring says; raises TrackerError naming method, path and status
        (or the kind of network failure) when the request cannot be completed.
        """
        method = method.upper()
        url = self.url_for(path_or_url)
        label = f"{method} {self._shown(path_or_url)}"
        may_repeat = idempotent if idempotent is not None else method in _IDEMPOTENT
        body: bytes | str | None = content
        send_headers = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False).encode("utf-8")
            send_headers.setdefault("Content-Type", "application/json")
        attempt = 0
        while True:
            response: httpx.Response | None = None
            retryable = False
            try:
                response = self._client.request(
                    method, url, content=body, params=dict(params) if params else None, headers=send_headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                retryable = True
                failure = f"{label}: could not connect ({type(exc).__name__})"
            except httpx.TimeoutException as exc:
                retryable = may_repeat
                failure = f"{label}: timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                retryable = may_repeat
                failure = f"{label}: connection failed ({type(exc).__name__})"
            else:
                if response.status_code in expected:
                    return response
                detail = _error_detail(response)
                failure = f"{label}: HTTP {response.status_code}" + (f" ({detail})" if detail else "")
                retryable = response.status_code in _THROTTLED or (
                    may_repeat and response.status_code in _TRANSIENT
                )
            if not retryable or attempt >= self.retries:
                raise TrackerError(failure)
            wait = self._backoff(attempt, response)
            self.waits.append(wait)
            self._sleep(wait)
            attempt += 1
