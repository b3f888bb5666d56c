"""How an engine's catalog is read: live rows out of `fetch`, facts out of `parse`.

Every engine module (postgresql, sqlserver, ravendb) provides an `EngineReader`:

- `fetch` does the I/O with the auditor's read-only login and returns `CatalogRows`: named
  result sets of JSON-safe values. Catalog rows (logins, roles, grants, database options)
  are kept as read; password columns and message tables are reduced *inside* fetch to
  counts per hash format and (count, oldest timestamp), so no application value ever leaves
  it. These rows are what a recording stores.
- `parse` is pure: the same rows, live or replayed, become the typed facts of
  `collectors.databases.facts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from collectors.config.databases import ApplicationEntry, DatabaseServerEntry
from collectors.config.policy import Policy
from collectors.databases.facts import (
    CardColumn,
    DatabaseServer,
    MessageStore,
    NewsletterSubscriptions,
    PasswordColumn,
)
from collectors.messages import Reason, ReasonError

CatalogRows = dict[str, list[dict[str, Any]]]
"""Result sets by query name, e.g. {'roles': [{'rolname': 'app_a', 'rolsuper': False, ...}], ...}."""


class CatalogError(ReasonError):
    """A server's catalog could not be read; the message names server, step and cause, never a secret.

    `reason` is the message (what the server or the driver said is a plain-text part of it).
    """


@dataclass(frozen=True)
class ServerReading:
    """Everything read from one server: its catalog, and the per-application data measurements."""

    server: DatabaseServer
    password_columns: dict[tuple[str, str], PasswordColumn | Reason] = field(default_factory=dict)
    """(application, schema.table.column) -> counts, or why that column could not be measured."""
    message_stores: dict[str, MessageStore | Reason] = field(default_factory=dict)
    """application -> measured message ages, or why they could not be measured."""
    card_columns: dict[tuple[str, str], CardColumn | Reason] = field(default_factory=dict)
    """(application, schema.table.column) -> card numbers per brand, or why that column could not be
    scanned; (application, schema.table) for a configured table that could not be listed or has no
    text column."""
    newsletters: dict[str, NewsletterSubscriptions | Reason] = field(default_factory=dict)
    """application -> its subscriptions with and without an opt-in, or why they could not be counted."""


class EngineReader(Protocol):
    """Reads one engine's catalog (see the module docstring for the fetch/parse split)."""

    def fetch(
        self,
        entry: DatabaseServerEntry,
        applications: list[ApplicationEntry],
        policy: Policy,
        secret: str | None,
    ) -> CatalogRows:
        """Return the server's catalog rows and reduced measurements; raise CatalogError on failure.

        `applications` are the `[[applications]]` on this server (their password columns and
        retention settings say what to measure); `secret` is the auditor's password read from
        `entry.password_env` (None for RavenDB, which uses `entry.client_cert`).
        """
        ...

    def parse(
        self,
        entry: DatabaseServerEntry,
        applications: list[ApplicationEntry],
        rows: CatalogRows,
        collected_at: datetime,
    ) -> ServerReading:
        """Return the facts in `rows`; ages are measured against `collected_at` (the time of fetch)."""
        ...
