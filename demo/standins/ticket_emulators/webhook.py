"""A webhook receiver that checks what a real one must: the HMAC signature and the timestamp header.

`POST /hook` is accepted (204, or 201 with `{"key", "url"}` when `name_tickets` is set) only when
`X-Auditor-Signature` is `sha256=` + HMAC-SHA256 of the exact body bytes under the shared secret
and `X-Auditor-Timestamp` matches the body's `sent_at`; otherwise 401. Accepted events are kept,
parsed, in `events`; refused ones are counted in `refused`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from demo.standins.ticket_emulators.base import HttpsEmulator, Reply, Request

PATH = "/hook"


class WebhookReceiver(HttpsEmulator):
    """An HTTPS endpoint that verifies and records signed ticket events."""

    name = "webhook-receiver"

    def __init__(self, secret: str, *, name_tickets: bool = False) -> None:
        """Verify with `secret`; with `name_tickets`, answer a create with a key and URL of its own."""
        super().__init__()
        self.secret = secret
        self.name_tickets = name_tickets
        self.events: list[dict[str, Any]] = []
        self.refused = 0

    @property
    def hook_url(self) -> str:
        """The URL to configure as `[tickets] url`."""
        return self.url + PATH

    def check_auth(self, request: Request) -> Reply | None:
        """Refuse (401) an event whose signature or timestamp does not verify."""
        expected = "sha256=" + hmac.new(self.secret.encode(), request.body, hashlib.sha256).hexdigest()
        given = request.headers.get("x-auditor-signature", "")
        fresh = False
        try:
            sent_at = datetime.fromisoformat(str(json.loads(request.body)["sent_at"]).replace("Z", "+00:00"))
            fresh = str(int(sent_at.timestamp())) == request.headers.get("x-auditor-timestamp")
        except (ValueError, KeyError, TypeError):
            fresh = False
        if hmac.compare_digest(expected, given) and fresh:
            return None
        with self.lock:
            self.refused += 1
        return Reply(401, {"message": "signature or timestamp does not verify"})

    def handle(self, request: Request) -> Reply:
        """Record a verified event; name the ticket on create when asked to."""
        if request.method != "POST" or request.path != PATH:
            return Reply(404, {"message": "Not Found"})
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return Reply(415, {"message": "expected application/json"})
        event = json.loads(request.body)
        with self.lock:
            self.events.append(event)
            number = len(self.events)
        if self.name_tickets and event["event"] == "create":
            return Reply(201, {"key": f"OPS-{number}", "url": f"https://ops.example/tickets/OPS-{number}"})
        return Reply(204)

    def of(self, event: str) -> list[dict[str, Any]]:
        """Return the accepted events of one kind, in order."""
        with self.lock:
            return [e for e in self.events if e["event"] == event]
