"""One ARM reading session: credential, transport, retries, bounded concurrency and provenance.

Every SDK client of a run shares one requests session (so record/replay and connection
pooling see every request) and one retry policy. Each call returns its result together with
the `Source` of every page that produced it.

Concurrency follows ARM's limits, which are per subscription: each subscription may have
`[azure] max_concurrency` requests in flight, subscriptions are read side by side, and the
whole run has at most `max_concurrency_total` (its worker threads and pooled connections).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import requests
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    DecodeError,
    DeserializationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.paging import ItemPaged
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.core.pipeline.transport import RequestsTransport

from collectors.azure.pacing import Pacer, bucket_of
from collectors.azure.recording import ObservingAdapter, RecordingAdapter, ReplayAdapter
from collectors.config.inventory import AzureSource
from collectors.messages import Reason, english_text
from collectors.recording import RECORDED_AT_HEADER, Recording
from reports.evidence import Source, msg, sha256_hex, utc_now

T = TypeVar("T")
R = TypeVar("R")
ResponseHook = Callable[[PipelineResponse[Any, Any]], None]

STATIC_TOKEN_VARIABLE = "AUDIT_AZURE_TOKEN"


SDK_PARSE_FAILURES: tuple[type[Exception], ...] = (
    DeserializationError,
    TypeError,
    AttributeError,
    ValueError,
    KeyError,
)
"""What the SDK raises on a 2xx answer it cannot turn into models (or page through)."""


class ArmUnavailable(Exception):
    """ARM cannot be read at all (no credential, endpoint unreachable): the run cannot start."""


class MalformedAnswer(AzureError):
    """ARM answered, but not in the shape the SDK or the auditor's parser needs.

    `call` names the request (method and URL path); `problem` says what was wrong, without
    echoing the body when the body may hold secrets.
    """

    def __init__(self, call: Reason, problem: Reason) -> None:
        super().__init__(f"malformed answer to {english_text(call)}: {english_text(problem)}")
        self.call = call
        self.problem = problem


def call_text(method: str | None, url: str) -> str:
    """Return a request as "METHOD /path" (no host, no query): how failures name the call."""
    return f"{(method or 'GET').upper()} {urlsplit(url).path or '/'}"


def failed_call(exc: BaseException) -> Reason | None:
    """Return the request a failure answered ("METHOD /path"), when the exception knows it."""
    if isinstance(exc, MalformedAnswer):
        return exc.call
    response = getattr(exc, "response", None)
    request = getattr(response, "request", None)
    url = getattr(request, "url", None)
    return call_text(getattr(request, "method", None), str(url)) if url else None


def list_page_problem(body: bytes) -> Reason | None:
    """Return what is wrong with a list answer's envelope ({"value": [...], "nextLink": ...}), or None.

    Exists because the SDK's newer models page through `{"value": "garbage"}` character by
    character and read `{}` as an empty list: neither is an answer the auditor may trust.
    """
    try:
        page = json.loads(body or b"null")
    except ValueError:
        return None  # the SDK raises DecodeError for a body that is not JSON
    if not isinstance(page, dict):
        return msg("the answer is {type}, not a list envelope object", type=type(page).__name__)
    if "value" not in page:
        return msg("the list answer has no value")
    if not isinstance(page["value"], list):
        return msg("value is {type}, not a list", type=type(page["value"]).__name__)
    next_link = page.get("nextLink")
    if next_link is not None and not isinstance(next_link, str):
        return msg("nextLink is {type}, not a URL", type=type(next_link).__name__)
    return None


class ThrottleAwareRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    """azure-core's retry policy, but a 429 is retried for every method.

    azure-core retries a POST 429 only when Retry-After is present; Resource Graph and other
    POST reads answer 429 without it, and must back off rather than fail.
    """

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        """Return True when the response should be retried (any 429, plus azure-core's own rules)."""
        if response.http_response.status_code == 429:
            return True
        return bool(super().is_retry(settings, response))

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        """Return the wait the service asked for: Retry-After, or Resource Graph's quota reset time."""
        asked = super().get_retry_after(response)
        if asked:
            return float(asked)
        resets = response.http_response.headers.get("x-ms-user-quota-resets-after")
        return quota_reset_seconds(resets) if resets else None


def quota_reset_seconds(text: str) -> float | None:
    """Return Resource Graph's `x-ms-user-quota-resets-after` (hh:mm:ss) in seconds, or None."""
    try:
        hours, minutes, seconds = text.strip().split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


class StaticTokenCredential:
    """A credential that hands out one bearer token read from the environment (emulators, tests)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return the configured token, valid for an hour from now."""
        return AccessToken(self._token, int(utc_now().timestamp()) + 3600)


class ReplayCredential(StaticTokenCredential):
    """The credential of a replay: nothing leaves the machine, so no real token is needed."""

    def __init__(self) -> None:
        super().__init__("replay")


def build_credential(source: AzureSource) -> TokenCredential:
    """Return the credential named by `[azure] credential`, or raise ArmUnavailable saying why not."""
    if source.credential == "static-token":
        token = os.environ.get(STATIC_TOKEN_VARIABLE, "").strip()
        if not token:
            raise ArmUnavailable(
                f"[azure] credential = 'static-token' reads the token from ${STATIC_TOKEN_VARIABLE}, "
                "which is not set"
            )
        return StaticTokenCredential(token)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def describe_failure(exc: BaseException) -> str:
    """Return a one-line account of a failed ARM call in English (`failure_reason` as text)."""
    return english_text(failure_reason(exc))


def failure_reason(exc: BaseException) -> Reason:
    """Return a one-line account of a failed ARM call: HTTP status and ARM error code when known.

    What ARM answered (status, error code, its message) is data, shown as received.
    """
    if isinstance(exc, MalformedAnswer):
        return msg("malformed answer: {problem}", problem=exc.problem)
    if isinstance(exc, DecodeError):
        first = str(exc).splitlines()[0] if str(exc) else "DecodeError"
        return msg(
            "malformed response (not valid JSON) with HTTP {status}: {detail}",
            status=str(exc.status_code),
            detail=first,
        )
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        # The error envelope is the target's answer too: any of its fields may be of any type.
        code = _plain(getattr(exc.error, "code", None) if exc.error is not None else None)
        message = _plain(getattr(exc.error, "message", None) if exc.error is not None else None)
        reason = _plain(exc.reason)
        text = (message or reason or "").strip().splitlines()
        detail = f": {text[0][:300]}" if text else ""
        return f"HTTP {exc.status_code} {code or reason or ''}".rstrip() + detail
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return msg(
            "ARM unreachable or timed out ({error_type}): {detail}",
            error_type=type(exc).__name__,
            detail=first,
        )
    if isinstance(exc, ClientAuthenticationError):
        said: Reason = str(exc).splitlines()[0] if str(exc) else msg("no token")
        return msg("authentication failed: {detail}", detail=said)
    return f"{type(exc).__name__}: {exc}"


def _plain(value: object) -> str | None:
    """Return a field of an error envelope as one line of text (None when absent or empty)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text.strip()[:200] or None


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if len(first) <= limit else first[: limit - 1] + "…"


@dataclass(frozen=True)
class Fetched:
    """The result of one SDK call and the sources (one per page) it was read from."""

    value: Any
    sources: tuple[Source, ...]


def subscription_of(item: object) -> str | None:
    """Return the subscription (lower-case id) an item of collector work reads from, or None.

    `ArmReader.map` interleaves work by it, so that every subscription is read side by side
    rather than one subscription's items queueing behind its own in-flight limit. Understands
    what the collectors hand to `map`: a subscription (`resource_id`), a fact or listing with a
    `subscription_id` or an ARM `id`, an ARM id itself, or a tuple whose first such member decides.
    """
    if isinstance(item, str):
        return bucket_of(item) if item.lower().startswith("/subscriptions/") else None
    if isinstance(item, tuple):
        for member in item:
            found = subscription_of(member)
            if found is not None:
                return found
        return None
    subscription_id = getattr(item, "subscription_id", None)
    if isinstance(subscription_id, str) and subscription_id:
        return subscription_id.lower()
    for attribute in ("resource_id", "id"):
        arm_id = getattr(item, attribute, None)
        if isinstance(arm_id, str) and arm_id.lower().startswith("/subscriptions/"):
            return bucket_of(arm_id)
    return None


class ArmReader:
    """The ARM side of one run: builds SDK clients and runs their calls with provenance."""

    collector = "azure.arm"

    def __init__(
        self,
        source: AzureSource,
        credential: TokenCredential,
        *,
        ca_bundle: str | None,
        recording: Recording | None = None,
        replay: Recording | None = None,
    ) -> None:
        self.source = source
        self.endpoint = replay.endpoint if replay else source.endpoint
        self.credential = credential
        self.recording = recording
        self.replaying = replay is not None
        self._session = requests.Session()
        adapter: requests.adapters.HTTPAdapter
        self.per_subscription = source.max_concurrency
        self.in_flight_total = source.max_concurrency_total
        self.pacer = (
            None
            if replay
            else Pacer(source.reads_burst, source.reads_per_second, in_flight=self.per_subscription)
        )
        if replay is not None:
            adapter = ReplayAdapter(replay)
            self._session.trust_env = False  # a replay reaches no network: no proxy or netrc lookups
        elif recording is not None:
            adapter = RecordingAdapter(recording, pool_maxsize=self.in_flight_total, pacer=self.pacer)
        else:
            adapter = ObservingAdapter(pool_maxsize=self.in_flight_total, pacer=self.pacer)
        self.adapter = adapter
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._ca_bundle = ca_bundle
        self._worker = threading.local()
        self._pool = ThreadPoolExecutor(
            max_workers=self.in_flight_total,
            thread_name_prefix="arm",
            initializer=self._mark_worker,
        )

    def _mark_worker(self) -> None:
        self._worker.inside = True

    def client_options(self) -> dict[str, Any]:
        """Return the keyword arguments every SDK management client of this run is built with."""
        options: dict[str, Any] = {
            "base_url": self.endpoint,
            "credential_scopes": [f"{self.endpoint}/.default"],
            "transport": RequestsTransport(
                session=self._session,
                session_owner=False,
                connection_timeout=self.source.timeout_seconds,
                read_timeout=self.source.timeout_seconds,
                connection_verify=self._ca_bundle or True,
            ),
            "retry_policy": self._retry_policy(),
        }
        return options

    def _retry_policy(self) -> ThrottleAwareRetryPolicy:
        if self.replaying:
            return ThrottleAwareRetryPolicy(retry_total=0)
        retries = self.source.retries
        return ThrottleAwareRetryPolicy(
            retry_total=3 * retries + 1,
            retry_connect=retries,
            retry_read=retries,
            retry_status=retries,
            retry_backoff_factor=self.source.retry_backoff_seconds,
        )

    def fetch(
        self,
        call: Callable[[ResponseHook], Any],
        *,
        source_of: Callable[[Any], Source] | None = None,
        reveal: bool = True,
    ) -> Fetched:
        """Run one SDK call (pages included) and return its value with one source per page read.

        `call` receives the response hook to pass as `raw_response_hook=`. SDK exceptions
        (AzureError) propagate to the collector, which turns them into `error` subjects; a 2xx
        answer the SDK cannot deserialise or page through, or a list page that is not
        `{"value": [...]}`, raises `MalformedAnswer` (an AzureError) naming the call. With
        `reveal=False` (answers holding secrets) the problem names the exception type only,
        never the body. `source_of` replaces how a page's `Source` is made (e.g. a redacted hash).
        """
        sources: list[Source] = []
        calls: list[str] = []
        paging: list[bool] = []
        bad_pages: list[tuple[str, Reason]] = []

        def hook(response: PipelineResponse[Any, Any]) -> None:
            http = response.http_response
            calls.append(call_text(http.request.method, str(http.request.url)))
            if http.status_code < 300:
                sources.append((source_of or self._source_of)(http))
                problem = list_page_problem(http.body()) if paging else None
                if problem is not None:
                    bad_pages.append((calls[-1], problem))

        try:
            value = call(hook)
            if isinstance(value, ItemPaged):
                paging.append(True)
                value = list(value)
        except AzureError:
            raise
        except SDK_PARSE_FAILURES as exc:
            detail: Reason = _first_line(exc) if reveal else msg("the answer is not shown")
            problem = msg(
                "the SDK could not read it ({error_type}: {detail})",
                error_type=type(exc).__name__,
                detail=detail,
            )
            raise MalformedAnswer(calls[-1] if calls else "the call", problem) from None
        if bad_pages:
            raise MalformedAnswer(*bad_pages[0])
        return Fetched(value=value, sources=tuple(sources))

    def _source_of(self, http: Any) -> Source:
        url = str(http.request.url)
        recorded = http.headers.get(RECORDED_AT_HEADER)
        api_version = parse_qs(urlsplit(url).query).get("api-version", [None])[0]
        return Source(
            collector=self.collector,
            call=f"{http.request.method} {url}",
            api_version=api_version,
            status=http.status_code,
            collected_at=datetime.fromisoformat(recorded) if recorded else utc_now(),
            sha256=sha256_hex(http.body() or b""),
        )

    def map(self, work: Callable[[T], R], items: Sequence[T] | Iterable[T]) -> list[R]:
        """Run `work` over `items`, subscriptions side by side; return the results in the items' order.

        At most `max_concurrency` items of one subscription (`subscription_of`) run at once, and
        at most `max_concurrency_total` overall; subscriptions take turns for free workers, so a
        large subscription does not hold the run's workers waiting on its own in-flight limit
        while the others idle. Items whose subscription is unknown are limited by the total only
        (their requests still wait for their subscription's slots in the adapter). When items
        fail, the rest already running finish, none is started, and the first failure in the
        items' order is raised. Called from inside a worker, it runs the items one by one (a
        nested fan-out must not wait for the workers it occupies).
        """
        items = list(items)
        if getattr(self._worker, "inside", False):
            return [work(item) for item in items]
        pending: dict[str | None, deque[int]] = {}
        for index, item in enumerate(items):
            pending.setdefault(subscription_of(item), deque()).append(index)
        ready: deque[str | None] = deque(pending)  # subscriptions with an item to start and a free slot
        queued: set[str | None] = set(pending)
        busy: Counter[str | None] = Counter()
        running: dict[Future[R], tuple[str | None, int]] = {}
        results: dict[int, R] = {}
        failures: dict[int, BaseException] = {}

        def limit(key: str | None) -> int:
            return self.per_subscription if key is not None else self.in_flight_total

        def take_turn(key: str | None) -> None:
            if pending[key] and busy[key] < limit(key) and key not in queued:
                ready.append(key)
                queued.add(key)

        while running or (ready and not failures):
            while ready and len(running) < self.in_flight_total and not failures:
                key = ready.popleft()
                queued.discard(key)
                index = pending[key].popleft()
                running[self._pool.submit(work, items[index])] = (key, index)
                busy[key] += 1
                take_turn(key)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                key, index = running.pop(future)
                busy[key] -= 1
                failure = future.exception()
                if failure is not None:
                    failures[index] = failure
                else:
                    results[index] = future.result()
                take_turn(key)
        if failures:
            raise failures[min(failures)]
        return [results[index] for index in range(len(items))]

    def requests_sent(self) -> int:
        """Return how many HTTP requests this run sent (0 on replay)."""
        return self.adapter.sent if isinstance(self.adapter, ObservingAdapter) else 0

    def requests_throttled(self) -> int:
        """Return how many answers were 429 (each was retried)."""
        return self.adapter.throttled if isinstance(self.adapter, ObservingAdapter) else 0

    def close(self) -> None:
        """Release the worker threads and pooled connections."""
        self._pool.shutdown(wait=True)
        self._session.close()
