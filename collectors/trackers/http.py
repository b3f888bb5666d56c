"""A small read-only HTTPS client for the trackers: TLS verified, 429/503 waited out, errors without secrets."""

from __future__ import annotations

import hashlib
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from collectors.config.trackers import TrackerSource
from collectors.messages import Reason
from reports.evidence import msg, utc_now

MAX_TRIES = 4
MAX_WAIT = 30.0


class TrackerUnreadable(Exception):
    """The register cannot be read; `reason` says why in words (no token, no body)."""

    def __init__(self, reason: Reason) -> None:
        self.reason = reason
        super().__init__(str(reason))


@dataclass(frozen=True)
class RawAnswer:
    """One answer of the tracker: its JSON, the call as shown in evidence, the sha256 of the raw body."""

    data: Any
    call: str
    sha256: str
    collected_at: datetime
    headers: dict[str, str] = field(default_factory=dict)


def credentials(source: TrackerSource) -> tuple[str, str | None]:
    """Return (token, user) read from the environment variables the config names."""
    token = os.environ.get(source.token_env, "")
    if not token:
        raise TrackerUnreadable(
            msg("environment variable {name} (token_env) is not set", name=source.token_env)
        )
    user = None
    if source.user_env is not None:
        user = os.environ.get(source.user_env, "")
        if not user:
            raise TrackerUnreadable(
                msg("environment variable {name} (user_env) is not set", name=source.user_env)
            )
    return token, user


class TrackerClient:
    """GET/POST JSON against one tracker; `sleep` is injectable for tests."""

    def __init__(
        self,
        source: TrackerSource,
        *,
        auth: httpx.Auth | None,
        headers: dict[str, str],
        ca_bundle: str | None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self._client = httpx.Client(
            auth=auth, headers=headers, verify=verify, timeout=source.timeout_seconds, follow_redirects=False
        )
        self._host = urlsplit(source.url).netloc
        self._sleep = sleep

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def request(self, method: str, url: str, *, shown: str, json: Any = None) -> RawAnswer:
        """Return the JSON answer to one request; TrackerUnreadable naming `shown` (never the URL's secrets)."""
        where = f"{method} {self._host}{shown}"
        for attempt in range(MAX_TRIES):
            try:
                response = self._client.request(method, url, json=json)
            except httpx.HTTPError as exc:
                if attempt + 1 < MAX_TRIES and isinstance(exc, httpx.ConnectError | httpx.ReadTimeout):
                    continue
                raise TrackerUnreadable(
                    msg("{call} failed: {error}", call=where, error=type(exc).__name__)
                ) from None
            if response.status_code in (429, 503) and attempt + 1 < MAX_TRIES:
                self._sleep(_retry_after(response.headers.get("retry-after")))
                continue
            if response.status_code != 200:
                raise TrackerUnreadable(
                    msg("{call} answered HTTP {status}", call=where, status=response.status_code)
                )
            try:
                data = response.json()
            except ValueError:
                raise TrackerUnreadable(msg("{call} answered no JSON", call=where)) from None
            return RawAnswer(
                data=data,
                call=where,
                sha256=hashlib.sha256(response.content).hexdigest(),
                collected_at=utc_now(),
                headers={k.lower(): v for k, v in response.headers.items() if k.lower() == "link"},
            )
        raise TrackerUnreadable(msg("{call} stayed throttled", call=where))  # pragma: no cover


def _retry_after(value: str | None) -> float:
    try:
        return min(MAX_WAIT, max(0.0, float(value or "1")))
    except ValueError:
        return 1.0
