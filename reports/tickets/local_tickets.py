"""The memory of trackers that cannot be searched (webhook, e-mail): tickets kept in a local JSON file.

A webhook receiver or a mailbox cannot be asked "which ticket has this fingerprint?", so these
backends remember every ticket they opened - key, open/closed, hidden state and a few
backend-specific values such as the e-mail thread's root Message-ID - in one JSON file:

    {"version": 1, "tickets": [{"key": "...", "url": "...", "fingerprint": "...", "open": true,
      "resolution": null, "closed_at": null, "state": {...}, "extra": {...}}, ...]}

The file lives beside the run's state file (`memory_path`: `ticket-state.webhook.json`,
`ticket-state.email.json`) and must be kept between nights: it is the only record of what was sent.
It is rewritten atomically (temporary file + rename) after every successful delivery, so a
crash mid-run never leaves half a file; a missing file is an empty memory; an unreadable one is a
TrackerError (silently starting afresh would double-create every ticket).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from reports.tickets.model import Ticket, TicketState, TrackerError

_VERSION = 1


@dataclass(frozen=True)
class LocalTicket:
    """One remembered ticket plus the backend's own values (e.g. the mail thread's Message-ID)."""

    ticket: Ticket
    extra: dict[str, str] = field(default_factory=dict)


def _state(data: object) -> TicketState:
    if not isinstance(data, dict):
        return TicketState()
    failing = data.get("failing", [])
    return TicketState(
        failing=tuple(str(item) for item in failing) if isinstance(failing, list) else (),
        passes=int(data.get("passes", 0)),
        last_comment=str(data.get("last_comment", "")),
        resolved_on=str(data.get("resolved_on", "")),
    )


def _from_json(entry: dict[str, Any]) -> LocalTicket:
    closed_at = entry.get("closed_at")
    extra = entry.get("extra") or {}
    return LocalTicket(
        ticket=Ticket(
            key=str(entry["key"]),
            url=str(entry.get("url", "")),
            fingerprint=str(entry["fingerprint"]),
            open=bool(entry["open"]),
            resolution=None if entry.get("resolution") is None else str(entry["resolution"]),
            closed_at=datetime.fromisoformat(closed_at) if isinstance(closed_at, str) else None,
            state=_state(entry.get("state")),
        ),
        extra={str(k): str(v) for k, v in extra.items()} if isinstance(extra, dict) else {},
    )


def _to_json(local: LocalTicket) -> dict[str, Any]:
    ticket = local.ticket
    return {
        "key": ticket.key,
        "url": ticket.url,
        "fingerprint": ticket.fingerprint,
        "open": ticket.open,
        "resolution": ticket.resolution,
        "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
        "state": {**asdict(ticket.state), "failing": list(ticket.state.failing)},
        "extra": dict(local.extra),
    }


def memory_path(state_path: Path, backend: str) -> Path:
    """Return the memory file of `backend` beside the run's state file (`ticket-state.json` -> `ticket-state.webhook.json`).

    It exists because the run's own state file (reports/tickets/state.py) is rewritten by the
    run after every action; sharing it would let one overwrite the other's memory.
    """
    return state_path.with_name(f"{state_path.stem}.{backend}.json")


class LocalTickets:
    """The tickets a non-searchable backend opened, persisted in `path`."""

    def __init__(self, path: Path) -> None:
        """Remember tickets in `path` (created with its folder on the first write)."""
        self.path = path

    def all(self) -> list[LocalTicket]:
        """Return every remembered ticket in creation order; raises TrackerError on an unreadable file."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise TrackerError(f"{self.path}: the ticket memory cannot be read ({exc.strerror})") from None
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("version") != _VERSION:
                raise ValueError("unknown layout")
            return [_from_json(entry) for entry in data["tickets"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise TrackerError(f"{self.path}: the ticket memory is not readable ({exc})") from None

    def find(self, fingerprint: str) -> list[LocalTicket]:
        """Return the remembered tickets of `fingerprint`, newest first."""
        return [local for local in reversed(self.all()) if local.ticket.fingerprint == fingerprint]

    def get(self, key: str) -> LocalTicket:
        """Return the remembered ticket `key`; raises TrackerError when this memory never opened it."""
        for local in self.all():
            if local.ticket.key == key:
                return local
        raise TrackerError(f"{self.path}: no ticket {key!r} in the ticket memory")

    def next_key(self, fingerprint: str) -> str:
        """Return a new key for `fingerprint`: the fingerprint and a sequence number (`ctlfp-...-2`)."""
        return f"{fingerprint}-{len(self.find(fingerprint)) + 1}"

    def add(self, local: LocalTicket) -> None:
        """Remember a newly opened ticket."""
        self._write([*self.all(), local])

    def update(
        self, key: str, *, state: TicketState, closed: datetime | None = None, reopen: bool = False
    ) -> None:
        """Store a ticket's new hidden state; `closed` marks it resolved (Done) then, `reopen` opens it."""
        entries = self.all()
        for index, local in enumerate(entries):
            if local.ticket.key == key:
                ticket = replace(local.ticket, state=state)
                if closed is not None:
                    ticket = replace(ticket, open=False, resolution="Done", closed_at=closed)
                if reopen:
                    ticket = replace(ticket, open=True, resolution=None, closed_at=None)
                entries[index] = replace(local, ticket=ticket)
                self._write(entries)
                return
        raise TrackerError(f"{self.path}: no ticket {key!r} in the ticket memory")

    def remember(self, key: str, **extra: str) -> None:
        """Store backend-specific values (e.g. the last Message-ID of a mail thread) for ticket `key`."""
        entries = self.all()
        for index, local in enumerate(entries):
            if local.ticket.key == key:
                entries[index] = replace(local, extra={**local.extra, **extra})
                self._write(entries)
                return
        raise TrackerError(f"{self.path}: no ticket {key!r} in the ticket memory")

    def _write(self, entries: list[LocalTicket]) -> None:
        document = {"version": _VERSION, "tickets": [_to_json(local) for local in entries]}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, indent=1, sort_keys=True)
            os.replace(temporary, self.path)
        except OSError as exc:
            raise TrackerError(f"{self.path}: the ticket memory cannot be written ({exc.strerror})") from None
