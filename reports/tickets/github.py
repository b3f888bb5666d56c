"""GitHub Issues as a ticket backend, on plain httpx.

Calls: find with `GET /repos/{o}/{r}/issues?labels=<fingerprint>&state=all` (every page of the
`Link` header; pull requests, which the endpoint mixes in, are dropped), create with
`POST /repos/{o}/{r}/issues`, comment with `POST /repos/{o}/{r}/issues/{n}/comments`,
resolve/reopen with `PATCH /repos/{o}/{r}/issues/{n}` (`state_reason` `completed` /
`reopened`). A person's won't-fix is `state_reason == "not_planned"`. The hidden state lives in
an HTML comment at the end of the issue body (base64 JSON, so no resource name can close the
comment early); editing a body notifies nobody.

Markdown escaping: every piece of text from the evidence is escaped (`md_text`): ASCII
punctuation is backslash-escaped (no emphasis, links, images, HTML, headings, tables), and a
zero-width space is put after `@`, `#` and inside `://` / `www.`, so a resource name can never
mention a person, reference an issue or become an autolink. Table cells also lose newlines.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from reports.tickets.http import TrackerHttp
from reports.tickets.model import Ticket, TicketDraft, TicketState, TicketText, TrackerError
from reports.tickets.settings import TicketSettings

API_VERSION = "2022-11-28"
STATE_MARK = "statement-auditor-state:"
_STATE_RE = re.compile(r"\n*<!-- statement-auditor-state:[A-Za-z0-9+/=]*-->\s*$")
_PUNCTUATION = set("\\`*_{}[]()<>#+-.!|~=\"'&:;$%^,?/")
_ZWSP = "\u200b"


def md_text(text: str) -> str:
    """Return `text` escaped for GitHub Markdown: shown literally, never a mention, link, reference or markup."""
    out: list[str] = []
    for char in text:
        if char in _PUNCTUATION:
            out.append("\\" + char)
        elif char == "@":
            out.append("@" + _ZWSP)
        elif char in "\r\n\t":
            out.append(" ")
        else:
            out.append(char)
    escaped = "".join(out)
    escaped = escaped.replace("\\#", "\\#" + _ZWSP)
    escaped = escaped.replace("\\:\\/\\/", "\\:" + _ZWSP + "\\/\\/")
    return re.sub(r"(?i)(www)(\\\.)", "\\1" + _ZWSP + "\\2", escaped)


def _md_url(url: str) -> str:
    return quote(url, safe=":/#?&=-._~%")


def markdown(text: TicketText, *, with_title: bool = False) -> str:
    """Return `text` as escaped GitHub Markdown (title in bold when asked, table, link list)."""
    parts: list[str] = []
    if with_title and text.title:
        parts.append(f"**{md_text(text.title)}**")
    parts.extend(md_text(p) for p in text.paragraphs)
    if text.table:
        header, *rows = text.table
        lines = ["| " + " | ".join(md_text(c) for c in header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(md_text(c) for c in row) + " |" for row in rows]
        parts.append("\n".join(lines))
    if text.links:
        parts.append(
            "\n".join(
                f"- [{md_text(label)}]({_md_url(url)})"
                for label, url in text.links
                if url.startswith("https://")
            )
        )
    return "\n\n".join(parts)


def _state_mark(state: TicketState, fingerprint: str) -> str:
    data = {
        "fingerprint": fingerprint,
        "failing": list(state.failing),
        "passes": state.passes,
        "last_comment": state.last_comment,
        "resolved_on": state.resolved_on,
    }
    encoded = base64.b64encode(json.dumps(data, sort_keys=True).encode()).decode()
    return f"\n\n<!-- {STATE_MARK}{encoded} -->"


def with_state(body: str, state: TicketState, fingerprint: str) -> str:
    """Return `body` with its hidden-state comment replaced by (or ending in) `state`."""
    return _STATE_RE.sub("", body or "") + _state_mark(state, fingerprint)


def state_in(body: str | None) -> TicketState:
    """Return the hidden state at the end of an issue body (empty when absent or malformed)."""
    match = re.search(r"<!-- statement-auditor-state:([A-Za-z0-9+/=]*) -->\s*$", body or "")
    if not match:
        return TicketState()
    try:
        data = json.loads(base64.b64decode(match.group(1)))
        return TicketState(
            failing=tuple(str(r) for r in data.get("failing") or ()),
            passes=int(data.get("passes") or 0),
            last_comment=str(data.get("last_comment") or ""),
            resolved_on=str(data.get("resolved_on") or ""),
        )
    except (ValueError, TypeError, AttributeError):
        return TicketState()


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class GitHubBackend:
    """Issues of one GitHub repository, labelled with fingerprints."""

    name = "github"

    def __init__(
        self,
        settings: TicketSettings,
        token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        retries: int = 3,
    ) -> None:
        """Bind to `settings.url` / `settings.repository` with a Bearer token."""
        if not settings.url or not settings.repository:
            raise TrackerError("github: [tickets] url and repository are required")
        self.settings = settings
        self.repo_path = f"/repos/{settings.repository}"
        self.http = TrackerHttp(
            settings.url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "statement-auditor",
            },
            verify=str(settings.ca_bundle) if settings.ca_bundle else True,
            timeout=settings.timeout_seconds,
            retries=retries,
            sleep=sleep,
        )
        self._bodies: dict[str, str] = {}

    def _ticket(self, issue: dict[str, Any], fingerprint: str) -> Ticket:
        key = str(issue["number"])
        body = str(issue.get("body") or "")
        self._bodies[key] = body
        is_open = issue.get("state") == "open"
        return Ticket(
            key=key,
            url=str(issue.get("html_url") or ""),
            fingerprint=fingerprint,
            open=is_open,
            resolution=None if is_open else str(issue.get("state_reason") or "completed"),
            closed_at=None if is_open else _time(issue.get("closed_at")),
            state=state_in(body),
        )

    def find(self, fingerprint: str) -> list[Ticket]:
        """Return every issue (open and closed, not pull requests) labelled `fingerprint`, newest first."""
        found: list[Ticket] = []
        url: str | None = f"{self.repo_path}/issues"
        params: dict[str, str | int] | None = {
            "labels": fingerprint,
            "state": "all",
            "per_page": 100,
            "sort": "created",
            "direction": "desc",
        }
        pages = 0
        while url and pages < 100:
            response = self.http.request("GET", url, params=params)
            for issue in response.json():
                if "pull_request" in issue:
                    continue
                found.append(self._ticket(issue, fingerprint))
            url = response.links.get("next", {}).get("url")
            params = None
            pages += 1
        return found

    def get(self, key: str) -> Ticket | None:
        """Return issue `key` read directly, or None when it does not exist (or is a pull request)."""
        response = self.http.get_if_exists(f"{self.repo_path}/issues/{quote(key)}", gone=(404, 410))
        if response is None:
            return None
        issue = response.json()
        if "pull_request" in issue:
            return None
        labels = [str(label.get("name")) for label in issue.get("labels") or [] if isinstance(label, dict)]
        fingerprint = next((label for label in labels if label.startswith("ctlfp-")), "")
        return self._ticket(issue, fingerprint)

    def create(self, draft: TicketDraft) -> Ticket:
        """Create an issue with the fingerprint label, escaped Markdown body and hidden state."""
        body = markdown(draft.text)
        if draft.related:
            body += "\n\nEarlier issues: " + ", ".join(f"#{int(k)}" for k in draft.related if k.isdigit())
        body = with_state(body, draft.state, draft.fingerprint)
        payload = {
            "title": " ".join(draft.text.title.split())[:256],
            "body": body,
            "labels": [*dict.fromkeys([*draft.labels, draft.fingerprint])],
        }
        issue = self.http.request("POST", f"{self.repo_path}/issues", json=payload, expected=(201,)).json()
        ticket = self._ticket(issue, draft.fingerprint)
        return ticket

    def _body(self, ticket: Ticket) -> str:
        if ticket.key not in self._bodies:
            self.get(ticket.key)
        return self._bodies.get(ticket.key, "")

    def _patch(self, ticket: Ticket, payload: dict[str, Any]) -> None:
        issue = self.http.request(
            "PATCH", f"{self.repo_path}/issues/{quote(ticket.key)}", json=payload
        ).json()
        if isinstance(issue, dict) and "body" in issue:
            self._bodies[ticket.key] = str(issue.get("body") or "")

    def _comment(self, ticket: Ticket, text: TicketText) -> None:
        self.http.request(
            "POST",
            f"{self.repo_path}/issues/{quote(ticket.key)}/comments",
            json={"body": markdown(text, with_title=True)},
            expected=(201,),
        )

    def save_state(self, ticket: Ticket, state: TicketState) -> None:
        """Rewrite the hidden-state comment at the end of the body (an edit notifies nobody)."""
        self._patch(ticket, {"body": with_state(self._body(ticket), state, ticket.fingerprint)})

    def comment(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Comment on the issue and store the new hidden state."""
        self._comment(ticket, text)
        self.save_state(ticket, state)

    def resolve(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Comment with the passing evidence, then close as completed with the new hidden state."""
        self._comment(ticket, text)
        body = with_state(self._body(ticket), state, ticket.fingerprint)
        self._patch(ticket, {"state": "closed", "state_reason": "completed", "body": body})

    def reopen(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Reopen with the new hidden state, then comment why."""
        body = with_state(self._body(ticket), state, ticket.fingerprint)
        self._patch(ticket, {"state": "open", "state_reason": "reopened", "body": body})
        self._comment(ticket, text)
