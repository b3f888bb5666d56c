"""A generic webhook as the ticket tracker: signed JSON events, remembered in the local state file.

For trackers the auditor has no backend for (TOPdesk, ServiceNow, a chat bridge), every ticket
action is one `POST` of a JSON document to `[tickets] url`:

    {
      "schema": "statement-auditor.ticket-event/1",
      "event": "create" | "comment" | "resolve" | "reopen",
      "delivery": "<uuid4, unique per event: deduplicate retries with it>",
      "sent_at": "<UTC ISO 8601, equal to X-Auditor-Timestamp>",
      "fingerprint": "<stable problem id: ctlfp-...>",
      "ticket": {"key": "<ticket key>", "url": "<ticket URL or empty>", "open": true | false},
      "text": {"title": "...", "paragraphs": ["..."], "table": [["header", ...], ["cell", ...]],
               "links": [{"label": "...", "url": "https://..."}]},
      "state": {"failing": ["..."], "passes": 0, "last_comment": "YYYY-MM-DD", "resolved_on": ""},
      "labels": ["..."], "related": ["<earlier ticket key>"]      (create only)
    }

Texts are plain, unescaped strings: the receiver escapes them for its own markup.

Headers: `Content-Type: application/json`, `X-Auditor-Event`, `X-Auditor-Delivery`,
`X-Auditor-Timestamp` (the same instant as `sent_at`) and `X-Auditor-Signature: sha256=<hex>`, the
HMAC-SHA256 of the exact body bytes keyed with the secret from `token_env`. Because `sent_at` and
`delivery` are inside the signed body, a receiver can refuse stale or replayed events.

On `create` the receiver may answer `{"key": "...", "url": "https://..."}` to name the ticket in its
own system; otherwise the key is `<fingerprint>-<n>`. A receiver cannot be searched, so a memory
file beside the run's state file (`state_path` -> `ticket-state.webhook.json`) is this backend's
record: `find` reads it, it is written only after the receiver accepted an event, and it must be
kept between nights (a fresh state directory forgets every ticket sent). Storing hidden state (`save_state`) sends nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports.tickets.http import TrackerHttp
from reports.tickets.local_tickets import LocalTicket, LocalTickets, memory_path
from reports.tickets.model import Ticket, TicketDraft, TicketState, TicketText, TrackerError
from reports.tickets.settings import TicketSettings

SCHEMA = "statement-auditor.ticket-event/1"
SIGNATURE_HEADER = "X-Auditor-Signature"
TIMESTAMP_HEADER = "X-Auditor-Timestamp"


def signature(secret: str, body: bytes) -> str:
    """Return the `X-Auditor-Signature` value for `body`: `sha256=` and the hex HMAC-SHA256 keyed by `secret`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def text_json(text: TicketText) -> dict[str, Any]:
    """Return a TicketText as the payload's `text` object (links as label/url objects)."""
    return {
        "title": text.title,
        "paragraphs": list(text.paragraphs),
        "table": [list(row) for row in text.table],
        "links": [{"label": label, "url": url} for label, url in text.links],
    }


def state_json(state: TicketState) -> dict[str, Any]:
    """Return a TicketState as the payload's `state` object."""
    return {**asdict(state), "failing": list(state.failing)}


class WebhookBackend:
    """Tickets as signed events to one HTTPS endpoint, remembered in a local state file."""

    name = "webhook"

    def __init__(
        self,
        settings: TicketSettings,
        secret: str,
        state_path: Path | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Send to `settings.url`, signing with `secret`; remember tickets beside `state_path`.

        `sleep` (the wait before a retry) and `now` (the clock) are replaceable for tests.
        """
        if not settings.url:
            raise TrackerError("webhook: [tickets] url is required")
        if not secret:
            raise TrackerError("webhook: the signing secret is empty (set the variable named by token_env)")
        self.settings = settings
        self._secret = secret
        self._now = now
        if state_path is None:
            raise TrackerError("webhook: a state file is needed to remember tickets ([tickets] state_file)")
        self.memory = LocalTickets(memory_path(state_path, "webhook"))
        self.http = TrackerHttp(
            settings.url,
            headers={"Accept": "application/json"},
            verify=str(settings.ca_bundle) if settings.ca_bundle else True,
            timeout=settings.timeout_seconds,
            sleep=sleep,
        )

    def find(self, fingerprint: str) -> list[Ticket]:
        """Return the tickets this backend opened for `fingerprint` (from the state file), newest first."""
        return [local.ticket for local in self.memory.find(fingerprint)]

    def create(self, draft: TicketDraft) -> Ticket:
        """Send a `create` event; remember and return the ticket (key/url from the receiver when it names them)."""
        key = self.memory.next_key(draft.fingerprint)
        ticket = Ticket(key=key, url="", fingerprint=draft.fingerprint, open=True, state=draft.state)
        answer = self._send(
            "create",
            ticket,
            draft.text,
            draft.state,
            labels=[*dict.fromkeys([*self.settings.labels, *draft.labels, draft.fingerprint])],
            related=list(draft.related),
        )
        if isinstance(answer, dict):
            named_key, named_url = answer.get("key"), answer.get("url")
            if isinstance(named_key, str) and named_key.strip():
                ticket = Ticket(
                    key=named_key.strip(),
                    url=named_url if isinstance(named_url, str) and named_url.startswith("https://") else "",
                    fingerprint=draft.fingerprint,
                    open=True,
                    state=draft.state,
                )
        self.memory.add(LocalTicket(ticket=ticket))
        return ticket

    def comment(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Send a `comment` event and remember `state`."""
        self._send("comment", ticket, text, state)
        self.memory.update(ticket.key, state=state)

    def resolve(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Send a `resolve` event and remember the ticket as closed (Done) with `state`."""
        self._send("resolve", ticket, text, state, open_after=False)
        self.memory.update(ticket.key, state=state, closed=self._now())

    def reopen(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Send a `reopen` event and remember the ticket as open with `state`."""
        self._send("reopen", ticket, text, state, open_after=True)
        self.memory.update(ticket.key, state=state, reopen=True)

    def save_state(self, ticket: Ticket, state: TicketState) -> None:
        """Remember `state` locally; nothing is sent (nobody is notified)."""
        self.memory.update(ticket.key, state=state)

    def _send(
        self,
        event: str,
        ticket: Ticket,
        text: TicketText,
        state: TicketState,
        *,
        open_after: bool = True,
        labels: list[str] | None = None,
        related: list[str] | None = None,
    ) -> Any:
        sent_at = self._now().astimezone(UTC)
        payload: dict[str, Any] = {
            "schema": SCHEMA,
            "event": event,
            "delivery": str(uuid.uuid4()),
            "sent_at": sent_at.isoformat().replace("+00:00", "Z"),
            "fingerprint": ticket.fingerprint,
            "ticket": {"key": ticket.key, "url": ticket.url, "open": open_after},
            "text": text_json(text),
            "state": state_json(state),
        }
        if labels is not None:
            payload["labels"] = labels
        if related is not None:
            payload["related"] = related
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        response = self.http.request(
            "POST",
            self.settings.url or "",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Auditor-Event": event,
                "X-Auditor-Delivery": payload["delivery"],
                TIMESTAMP_HEADER: str(int(sent_at.timestamp())),
                SIGNATURE_HEADER: signature(self._secret, body),
            },
            expected=(200, 201, 202, 204),
        )
        if not response.content:
            return None
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            return None
