"""Pace ARM reads per subscription: its token bucket, and how many of its requests are in flight.

ARM meters reads per subscription (and per tenant for tenant-level calls) as a token bucket:
about 250 requests of burst, refilled at 25 per second. The auditor keeps its own bucket per
subscription a little under that, so a large subscription is read at full speed without a
storm of 429s; a 429 that happens anyway is still retried after its Retry-After.

Because the limit is per subscription, so is concurrency: each subscription may have
`[azure] max_concurrency` requests in flight, and different subscriptions are read side by
side (the run's overall cap, `max_concurrency_total`, bounds threads and connections).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/?#]+)", re.IGNORECASE)

TENANT_BUCKET = "tenant"
"""The bucket of requests outside any subscription (the subscription list, Resource Graph)."""


def bucket_of(path: str) -> str:
    """Return the bucket a request path draws from: its subscription id (lower case), or 'tenant'."""
    match = _SUBSCRIPTION.match(path)
    return match.group(1).lower() if match else TENANT_BUCKET


@dataclass
class TokenBucket:
    """A token bucket: `burst` tokens, refilled at `per_second`; reserve() says how long to wait."""

    burst: int
    per_second: float
    tokens: float = field(init=False)
    updated: float = field(init=False)
    waited: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)
        self.updated = time.monotonic()

    def reserve(self) -> float:
        """Take one token and return how long the caller must wait before using it."""
        now = time.monotonic()
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        self.tokens -= 1.0
        delay = 0.0 if self.tokens >= 0 else -self.tokens / self.per_second
        self.waited += delay
        return delay


@dataclass
class SubscriptionLane:
    """What one subscription (or the tenant) may spend: its token bucket and its in-flight slots."""

    bucket: TokenBucket
    slots: threading.BoundedSemaphore
    in_flight: int = 0
    most_in_flight: int = 0


class Pacer:
    """One lane per subscription (and one for tenant-level calls), shared by all threads.

    A request first takes one of its subscription's `in_flight` slots (waiting while the
    subscription already has that many requests out), then a token of its bucket (waiting
    until the bucket grants one); the slot is held until the answer has been read.
    """

    def __init__(self, burst: int, per_second: float, in_flight: int = 8) -> None:
        if in_flight < 1:
            raise ValueError("in_flight must be at least 1")
        self.burst = burst
        self.per_second = per_second
        self.in_flight = in_flight
        self._lanes: dict[str, SubscriptionLane] = {}
        self._lock = threading.Lock()

    def _lane(self, key: str) -> SubscriptionLane:
        with self._lock:
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = SubscriptionLane(
                    TokenBucket(self.burst, self.per_second), threading.BoundedSemaphore(self.in_flight)
                )
            return lane

    @contextmanager
    def admit(self, path: str) -> Iterator[None]:
        """Hold a slot and a token of the subscription of `path` for the duration of one request.

        Blocks until the subscription has fewer than `in_flight` requests out and its bucket
        grants a token, so a subscription is never sent more than ARM lets it read.
        """
        lane = self._lane(bucket_of(path))
        with lane.slots:
            with self._lock:
                delay = lane.bucket.reserve()
            if delay > 0:
                time.sleep(delay)
            with self._lock:
                lane.in_flight += 1
                lane.most_in_flight = max(lane.most_in_flight, lane.in_flight)
            try:
                yield
            finally:
                with self._lock:
                    lane.in_flight -= 1

    def seconds_waited(self) -> float:
        """Return the total time requests were held back by the buckets, over all subscriptions."""
        with self._lock:
            return sum(lane.bucket.waited for lane in self._lanes.values())

    def most_in_flight(self) -> dict[str, int]:
        """Return, per bucket, the most requests it ever had in flight at once (for tests and benchmarks)."""
        with self._lock:
            return {key: lane.most_in_flight for key, lane in self._lanes.items()}
