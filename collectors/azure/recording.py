"""Record and replay of raw ARM exchanges, at the HTTP adapter under the SDK's transport.

The adapters below sit under azure-core's RequestsTransport: `ObservingAdapter` sends for real
(paced, stamped with the UTC time each answer arrived), `RecordingAdapter` also keeps every
final answer in a `collectors.recording.Recording`, and `ReplayAdapter` answers from one with no
network at all.
"""

from __future__ import annotations

import io
import json
import threading
from contextlib import nullcontext
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

from collectors.azure.pacing import Pacer
from collectors.recording import KEPT_HEADERS, RECORDED_AT_HEADER, Exchange, Recording
from reports.evidence import utc_now


def _body_text(body: object) -> str | None:
    """Return a request body as text for the recording (request bodies of reads hold no secrets)."""
    if not body:
        return None
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        return body
    raise TypeError(f"a streamed request body ({type(body).__name__}) cannot be recorded")


def kept_headers(headers: Any) -> dict[str, str]:
    """Return the response headers worth keeping in a recording (never authorisation material)."""
    return {name: headers[name] for name in KEPT_HEADERS if name in headers}


class ObservingAdapter(HTTPAdapter):
    """A requests adapter that sends for real and stamps each answer with the UTC time it arrived.

    The stamp travels in a response header to the provenance hook, so a live run, its
    recording and a replay of it all cite the same observation time.
    """

    def __init__(self, pool_maxsize: int, pacer: Pacer | None = None) -> None:
        """Keep up to `pool_maxsize` connections per host: the run's overall concurrency cap."""
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize)
        self.pacer = pacer
        self.sent = 0
        self.throttled = 0
        self._count_lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Send the request (paced) and return its answer, read in full and stamped.

        With a pacer, the request holds one of its subscription's in-flight slots and one of its
        tokens until the answer is read, so a subscription never has more requests out than allowed.
        """
        admitted = self.pacer.admit(urlsplit(request.url or "").path) if self.pacer else nullcontext()
        with admitted:
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
        kept = kept_headers(response.headers)
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
