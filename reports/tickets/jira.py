"""Jira Cloud (REST v3) as a ticket backend, on plain httpx.

Calls: search with `POST /rest/api/3/search/jql` following `nextPageToken` (the old
`/rest/api/3/search` answers 410 Gone), create with `POST /rest/api/3/issue` (ADF description,
labels, and the hidden state as the `statement-auditor` issue property in the same call),
comment with `POST /rest/api/3/issue/{key}/comment`, resolve/reopen with
`GET`/`POST /rest/api/3/issue/{key}/transitions` (resolve: a transition whose
`to.statusCategory.key` is `done`; reopen: one to `new`, else `indeterminate`), hidden state with
`PUT /rest/api/3/issue/{key}/properties/statement-auditor` (no notification), read back through
the search's `properties` and `GET /rest/api/3/issue/{key}`.

Descriptions and comments are Atlassian Document Format: structured JSON whose text nodes are
shown as text, so no resource name can inject markup, links or mentions.

Eventual consistency: `search/jql` may miss an issue created moments ago. The backend keeps the
issues it created in this process and adds them to `find`, and `run.py` completes a search from
the local state file (fetching the issue by key). What is left: two runs on two machines with no
shared state file, minutes apart, can still both create; the older duplicate stays open and the
planner acts on the newest one (and says so in its note).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from reports.tickets.http import TrackerHttp
from reports.tickets.model import Ticket, TicketDraft, TicketState, TicketText, TrackerError
from reports.tickets.settings import TicketSettings

PROPERTY = "statement-auditor"
_FIELDS = ["summary", "status", "resolution", "resolutiondate", "labels", "created"]
PAGE_SIZE = 50


def _text_node(text: str, href: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if href:
        node["marks"] = [{"type": "link", "attrs": {"href": href}}]
    return node


def _paragraph(text: str, *, strong: bool = False) -> dict[str, Any]:
    if not text:
        return {"type": "paragraph", "content": []}
    node = _text_node(text)
    if strong:
        node["marks"] = [{"type": "strong"}]
    return {"type": "paragraph", "content": [node]}


def adf(text: TicketText, *, with_title: bool = False) -> dict[str, Any]:
    """Return `text` as an Atlassian Document Format document (title as a bold first line when asked)."""
    content: list[dict[str, Any]] = []
    if with_title and text.title:
        content.append(_paragraph(text.title, strong=True))
    content.extend(_paragraph(p) for p in text.paragraphs)
    if text.table:
        rows = []
        for index, row in enumerate(text.table):
            cell_type = "tableHeader" if index == 0 else "tableCell"
            rows.append(
                {
                    "type": "tableRow",
                    "content": [
                        {"type": cell_type, "attrs": {}, "content": [_paragraph(cell)]} for cell in row
                    ],
                }
            )
        content.append(
            {"type": "table", "attrs": {"isNumberColumnEnabled": False, "layout": "default"}, "content": rows}
        )
    if text.links:
        content.append(
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [_text_node(label, url)]}],
                    }
                    for label, url in text.links
                    if url.startswith("https://")
                ],
            }
        )
    return {"type": "doc", "version": 1, "content": content}


def state_json(state: TicketState, fingerprint: str) -> dict[str, Any]:
    """Return the hidden state as stored in the issue property."""
    return {
        "fingerprint": fingerprint,
        "failing": list(state.failing),
        "passes": state.passes,
        "last_comment": state.last_comment,
        "resolved_on": state.resolved_on,
    }


def state_from(value: Any) -> TicketState:
    """Return the hidden state read from the issue property (an empty state when absent or malformed)."""
    if not isinstance(value, dict):
        return TicketState()
    try:
        return TicketState(
            failing=tuple(str(r) for r in value.get("failing") or ()),
            passes=int(value.get("passes") or 0),
            last_comment=str(value.get("last_comment") or ""),
            resolved_on=str(value.get("resolved_on") or ""),
        )
    except (TypeError, ValueError):
        return TicketState()


def _jira_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None


class JiraBackend:
    """Jira Cloud issues of one project, labelled with fingerprints."""

    name = "jira"

    def __init__(
        self,
        settings: TicketSettings,
        user: str,
        token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        retries: int = 3,
    ) -> None:
        """Bind to `settings.url` / `settings.project` with Basic auth `user`:`token`."""
        if not settings.url or not settings.project:
            raise TrackerError("jira: [tickets] url and project are required")
        self.settings = settings
        self.project = settings.project
        self.site = settings.url
        self.http = TrackerHttp(
            settings.url,
            headers={"Accept": "application/json", "User-Agent": "statement-auditor"},
            auth=httpx.BasicAuth(user, token),
            verify=str(settings.ca_bundle) if settings.ca_bundle else True,
            timeout=settings.timeout_seconds,
            retries=retries,
            sleep=sleep,
        )
        self._created: dict[str, list[Ticket]] = {}

    def _ticket(self, issue: dict[str, Any], fingerprint: str) -> Ticket:
        fields = issue.get("fields") or {}
        category = (((fields.get("status") or {}).get("statusCategory")) or {}).get("key")
        is_open = category != "done"
        resolution = (fields.get("resolution") or {}).get("name") if not is_open else None
        properties = issue.get("properties") or {}
        key = str(issue["key"])
        return Ticket(
            key=key,
            url=f"{self.site}/browse/{key}",
            fingerprint=fingerprint,
            open=is_open,
            resolution=resolution if resolution else (None if is_open else "Done"),
            closed_at=None if is_open else _jira_time(fields.get("resolutiondate")),
            state=state_from(properties.get(PROPERTY)),
        )

    def find(self, fingerprint: str) -> list[Ticket]:
        """Return every issue of the project labelled `fingerprint`, newest first (all pages)."""
        jql = f'project = "{self.project}" AND labels = "{fingerprint}" ORDER BY created DESC'
        body: dict[str, Any] = {
            "jql": jql,
            "fields": _FIELDS,
            "properties": [PROPERTY],
            "maxResults": PAGE_SIZE,
        }
        found: list[Ticket] = []
        seen_tokens: set[str] = set()
        while True:
            page = self.http.request("POST", "/rest/api/3/search/jql", json=body, idempotent=True).json()
            found.extend(self._ticket(issue, fingerprint) for issue in page.get("issues") or [])
            token = page.get("nextPageToken")
            if not token or page.get("isLast") is True or token in seen_tokens:
                break
            seen_tokens.add(token)
            body = {**body, "nextPageToken": token}
        keys = {t.key for t in found}
        missing = [t for t in self._created.get(fingerprint, []) if t.key not in keys]
        return missing + found

    def get(self, key: str) -> Ticket | None:
        """Return the issue `key` read directly (strongly consistent), or None when it does not exist."""
        response = self.http.get_if_exists(
            f"/rest/api/3/issue/{quote(key)}", params={"fields": ",".join(_FIELDS), "properties": PROPERTY}
        )
        if response is None:
            return None
        issue = response.json()
        labels = (issue.get("fields") or {}).get("labels") or []
        fingerprint = next((str(label) for label in labels if str(label).startswith("ctlfp-")), "")
        return self._ticket(issue, fingerprint)

    def create(self, draft: TicketDraft) -> Ticket:
        """Create an issue with the fingerprint label, ADF description and hidden state; link earlier issues."""
        fields = {
            "project": {"key": self.project},
            "issuetype": {"name": self.settings.issue_type},
            "summary": draft.text.title[:255],
            "labels": [*dict.fromkeys([*draft.labels, draft.fingerprint])],
            "description": adf(draft.text),
        }
        payload = {
            "fields": fields,
            "properties": [{"key": PROPERTY, "value": state_json(draft.state, draft.fingerprint)}],
        }
        created = self.http.request("POST", "/rest/api/3/issue", json=payload, expected=(201,)).json()
        key = str(created["key"])
        ticket = Ticket(key, f"{self.site}/browse/{key}", draft.fingerprint, True, state=draft.state)
        self._created.setdefault(draft.fingerprint, []).insert(0, ticket)
        for old in draft.related:
            self.http.request(
                "POST",
                "/rest/api/3/issueLink",
                json={"type": {"name": "Relates"}, "inwardIssue": {"key": key}, "outwardIssue": {"key": old}},
                expected=(200, 201),
            )
        return ticket

    def _comment(self, ticket: Ticket, text: TicketText) -> None:
        self.http.request(
            "POST",
            f"/rest/api/3/issue/{quote(ticket.key)}/comment",
            json={"body": adf(text, with_title=True)},
            expected=(201,),
        )

    def save_state(self, ticket: Ticket, state: TicketState) -> None:
        """Store the hidden state in the issue property (no notification)."""
        self.http.request(
            "PUT",
            f"/rest/api/3/issue/{quote(ticket.key)}/properties/{PROPERTY}",
            json=state_json(state, ticket.fingerprint),
            expected=(200, 201, 204),
        )

    def comment(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Comment on the issue and store the new hidden state."""
        self._comment(ticket, text)
        self.save_state(ticket, state)

    def _transition(self, ticket: Ticket, categories: tuple[str, ...]) -> None:
        listing = self.http.request("GET", f"/rest/api/3/issue/{quote(ticket.key)}/transitions").json()
        transitions = listing.get("transitions") or []
        wont = {w.casefold() for w in self.settings.wont_fix}
        for category in categories:
            options = [
                t
                for t in transitions
                if (((t.get("to") or {}).get("statusCategory")) or {}).get("key") == category
                and str(t.get("name", "")).casefold() not in wont
                and str((t.get("to") or {}).get("name", "")).casefold() not in wont
            ]
            if options:
                self.http.request(
                    "POST",
                    f"/rest/api/3/issue/{quote(ticket.key)}/transitions",
                    json={"transition": {"id": str(options[0]["id"])}},
                    expected=(204,),
                )
                return
        raise TrackerError(
            f"jira: issue {ticket.key} has no transition to a status of category {' or '.join(categories)}"
        )

    def resolve(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Comment with the passing evidence, transition to a done status, store the state."""
        self._comment(ticket, text)
        self._transition(ticket, ("done",))
        self.save_state(ticket, state)

    def reopen(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Transition back to a new (else in-progress) status, comment why, store the state."""
        self._transition(ticket, ("new", "indeterminate"))
        self._comment(ticket, text)
        self.save_state(ticket, state)
