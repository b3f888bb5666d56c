"""The optional local state file: fingerprint -> the ticket as last seen, to bridge slow tracker searches.

The tracker is the system of record: every run still asks it (`find`) for every fingerprint, so a
fresh, empty state directory changes nothing. The file only helps where the tracker lags: Jira's
`search/jql` is eventually consistent, so a ticket created minutes ago may be missing from the
search; the file still knows its key, and the run fetches it directly (or uses the remembered
copy) instead of creating a second ticket. A missing or unreadable file is an empty state.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from reports.tickets.model import Ticket, TicketState

VERSION = 1


def _ticket_json(ticket: Ticket) -> dict[str, Any]:
    data = asdict(ticket)
    data["closed_at"] = ticket.closed_at.isoformat() if ticket.closed_at else None
    data["state"]["failing"] = list(ticket.state.failing)
    return data


def _ticket_from(data: dict[str, Any]) -> Ticket:
    state = data.get("state") or {}
    closed = data.get("closed_at")
    return Ticket(
        key=str(data["key"]),
        url=str(data.get("url") or ""),
        fingerprint=str(data["fingerprint"]),
        open=bool(data.get("open")),
        resolution=data.get("resolution"),
        closed_at=datetime.fromisoformat(closed) if closed else None,
        state=TicketState(
            failing=tuple(str(r) for r in state.get("failing") or ()),
            passes=int(state.get("passes") or 0),
            last_comment=str(state.get("last_comment") or ""),
            resolved_on=str(state.get("resolved_on") or ""),
        ),
    )


class LocalState:
    """The tickets remembered from earlier runs, keyed by fingerprint; saved atomically after every change."""

    def __init__(self, path: Path | None, tickets: dict[str, Ticket] | None = None) -> None:
        """Wrap `tickets` (default none) to be saved at `path` (None: kept in memory only)."""
        self.path = path
        self.tickets: dict[str, Ticket] = dict(tickets or {})

    @classmethod
    def load(cls, path: Path | None) -> LocalState:
        """Return the state stored at `path`; an absent, unreadable or foreign file gives an empty state."""
        if path is None or not path.is_file():
            return cls(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entries = raw["tickets"] if raw.get("version") == VERSION else {}
            return cls(path, {fp: _ticket_from(entry) for fp, entry in entries.items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(path)

    def get(self, fingerprint: str) -> Ticket | None:
        """Return the ticket remembered for `fingerprint`, if any."""
        return self.tickets.get(fingerprint)

    def forget(self, fingerprint: str) -> None:
        """Drop what is remembered for `fingerprint` (the tracker no longer has that ticket)."""
        self.tickets.pop(fingerprint, None)

    def remember(self, ticket: Ticket) -> None:
        """Remember `ticket` (by its fingerprint) and save the file at once, so a retried run finds it."""
        self.tickets[ticket.fingerprint] = ticket
        self.save()

    def save(self) -> None:
        """Write the file atomically (temporary file + rename); does nothing without a path."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": VERSION,
            "tickets": {fp: _ticket_json(t) for fp, t in sorted(self.tickets.items())},
        }
        fd, tmp = tempfile.mkstemp(prefix=".ticket-state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
