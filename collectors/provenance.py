"""Where a fact came from: the call that produced it, when, and a hash of the raw answer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime


def utc_now() -> datetime:
    """Return the current time in UTC; every timestamp in the evidence is UTC."""
    return datetime.now(UTC)


def sha256_hex(raw: bytes) -> str:
    """Return the hex sha256 of raw evidence bytes, so an auditor can match the recording."""
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Source:
    """One raw observation behind a fact: an API response, a command output or a file."""

    collector: str
    call: str
    collected_at: datetime
    sha256: str
    api_version: str | None = None
    status: int | None = None

    def as_json(self) -> dict[str, object]:
        """Return the JSON form used in evidence.json."""
        return {
            "collector": self.collector,
            "call": self.call,
            "api_version": self.api_version,
            "status": self.status,
            "collected_at": self.collected_at.isoformat().replace("+00:00", "Z"),
            "sha256": self.sha256,
        }
