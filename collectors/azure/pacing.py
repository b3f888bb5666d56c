"""Pace ARM reads under the subscription's token bucket instead of being throttled into failure.

ARM meters reads per subscription (and per tenant for tenant-level calls) as a token bucket:
about 250 requests of burst, refilled at 25 per second. The auditor keeps its own bucket per
subscription a little under that, so a large subscription is read at full speed without a
storm of 429s; a 429 that happens anyway is still retried after its Retry-After.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/?#]+)", re.IGNORECASE)


def bucket_of(path: str) -> str:
    """Return the bucket a request path draws from: its subscription id, or 'tenant'."""
    match = _SUBSCRIPTION.match(path)
    return match.group(1).lower() if match else "tenant"


@dataclass
class TokenBucket:
    """A token bucket: `burst` tokens, refilled at `per_second`; acquire() waits for a token."""

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


class Pacer:
    """One token bucket per subscription (and one for tenant-level calls), shared by all threads."""

    def __init__(self, burst: int, per_second: float) -> None:
        self.burst = burst
        self.per_second = per_second
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def acquire(self, path: str) -> None:
        """Block until the bucket of `path` grants one request."""
        key = bucket_of(path)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(self.burst, self.per_second)
            delay = bucket.reserve()
        if delay > 0:
            time.sleep(delay)

    def seconds_waited(self) -> float:
        """Return the total time requests were held back, over all buckets."""
        with self._lock:
            return sum(bucket.waited for bucket in self._buckets.values())
