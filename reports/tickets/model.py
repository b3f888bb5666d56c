"""What every ticket backend speaks: tickets, their texts, and the hidden state the auditor keeps.

The tracker is the system of record. Each ticket carries the auditor's fingerprint as a
label/tag, and a small hidden state (consecutive passes, the failing set last reported, when
it last commented) stored where a person is not notified: a Jira issue property, an HTML
comment in a GitHub issue body or Azure DevOps description. Backends without a tracker
(webhook, e-mail) keep the same state in the local state file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol


class TrackerError(Exception):
    """The tracker refused or failed a call; the message says which call and the HTTP status, never a secret."""


@dataclass(frozen=True)
class TicketText:
    """A ticket body or comment in neutral form; each backend renders and escapes it in its own markup."""

    title: str
    paragraphs: tuple[str, ...] = ()
    table: tuple[tuple[str, ...], ...] = ()
    """Rows of a table; the first row is the header. Empty for no table."""
    links: tuple[tuple[str, str], ...] = ()
    """(label, https URL) pairs, e.g. the evidence report."""


@dataclass(frozen=True)
class TicketState:
    """What the auditor remembers about a ticket between nights, stored on the ticket itself."""

    failing: tuple[str, ...] = ()
    """The failing resources last reported (sorted)."""
    passes: int = 0
    """Consecutive passing runs since the last failure."""
    last_comment: str = ""
    """UTC date (YYYY-MM-DD) of the auditor's last comment or creation."""
    resolved_on: str = ""
    """UTC date the auditor resolved it, when it did."""


@dataclass(frozen=True)
class Ticket:
    """A ticket as the tracker has it."""

    key: str
    """The tracker's key: 'SEC-42', GitHub issue number '17', work item id '1234'."""
    url: str
    fingerprint: str
    open: bool
    resolution: str | None = None
    """Why it is closed: 'Done', "Won't Fix", 'completed', 'not_planned', ... None while open."""
    closed_at: datetime | None = None
    state: TicketState = field(default_factory=TicketState)


@dataclass(frozen=True)
class TicketDraft:
    """A ticket to create."""

    fingerprint: str
    text: TicketText
    labels: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    """Keys of earlier tickets of the same problem, linked from the new one."""
    state: TicketState = field(default_factory=TicketState)


class TicketBackend(Protocol):
    """One tracker. Every method raises TrackerError when the tracker fails."""

    name: str

    def find(self, fingerprint: str) -> list[Ticket]:
        """Return every ticket (open and closed) labelled with `fingerprint`, newest first."""
        ...

    def create(self, draft: TicketDraft) -> Ticket:
        """Create a ticket with the fingerprint label and hidden state; return it."""
        ...

    def comment(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Add a comment and store the new hidden state."""
        ...

    def resolve(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Comment, then close the ticket as done/completed, and store the new hidden state."""
        ...

    def reopen(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Reopen a ticket the auditor resolved, comment why, and store the new hidden state."""
        ...

    def save_state(self, ticket: Ticket, state: TicketState) -> None:
        """Store the hidden state without notifying anyone (e.g. a passing night's count)."""
        ...


ActionKind = Literal["create", "comment", "resolve", "reopen", "remember", "summary", "none"]
