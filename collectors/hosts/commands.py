"""Running one command on a host: the contract between the SSH layer and the OS gatherers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from collectors.messages import ReasonError


@dataclass(frozen=True)
class CommandResult:
    """What one remote command produced."""

    exit_code: int
    stdout: bytes
    stderr: bytes


class HostError(ReasonError):
    """The host's facts cannot be had; every item of the host becomes `error` with this message.

    `reason` is the message (what the host or the SSH library said is a plain-text part of it).
    """


class HostOutputError(HostError):
    """The host answered, but not with what the gatherer asked for (garbage, truncated, failed)."""


class CommandRunner(Protocol):
    """Anything that runs a command on one host: an SSH session, a local shell (tests), a replay."""

    def run(self, command: str, stdin: bytes | None = None, timeout: float | None = None) -> CommandResult:
        """Run `command` (feeding `stdin`), wait for it, and return its exit code and output."""
        ...


@dataclass(frozen=True)
class GatherCommand:
    """The one batched command a gatherer sends to a host, and what it writes to stdin."""

    command: str
    stdin: bytes | None = None
