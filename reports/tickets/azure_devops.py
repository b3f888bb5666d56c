"""Azure DevOps Boards as the ticket tracker: WIQL search by tag, JSON Patch work items, hidden state.

Calls (REST api-version 7.1, base `https://dev.azure.com/{organization}`, Basic auth with an empty
user and the PAT as password):

* find: `POST /{project}/_apis/wit/wiql` with `[System.Tags] CONTAINS '<fingerprint>'` (WIQL returns
  ids only), then `GET /{project}/_apis/wit/workitems?ids=...&fields=...` for state, reason, tags
  and description; tags are compared exactly, because CONTAINS is not an equality test;
* create: `POST /{project}/_apis/wit/workitems/${type}` with `application/json-patch+json` (title,
  `; `-separated tags, HTML description, `System.LinkTypes.Related` links to earlier tickets);
* comment / resolve / reopen: one `PATCH /{project}/_apis/wit/workitems/{id}` that adds to
  `System.History` (the GA way to comment), sets `System.State` to `resolved_state` or
  `reopened_state` when asked, and rewrites the hidden state;
* save_state: a PATCH of `System.Description` alone (a field edit, not a discussion comment).

Whether a work item is open comes from its state's category (`GET .../workitemtypes/{type}/states`,
read once per type): Proposed and InProgress are open; Resolved, Completed and Removed are closed.
A closed item's `resolution` is its `System.Reason` (e.g. "Won't Fix"), which the lifecycle compares
with `[tickets] wont_fix`, so a person's decision is never reopened.

The auditor's state lives in an HTML comment at the end of `System.Description`, base64-encoded so
no value can close the comment early. Every text a person can read is HTML-escaped.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from reports.tickets.fingerprint import is_fingerprint
from reports.tickets.http import TrackerHttp
from reports.tickets.model import Ticket, TicketDraft, TicketState, TicketText, TrackerError
from reports.tickets.settings import TicketSettings

API_VERSION = "7.1"
STATES_API_VERSION = "7.1-preview.1"
JSON_PATCH = "application/json-patch+json"
_STATE_MARK = "statement-auditor-state:"
_STATE_COMMENT = re.compile(r"<!--\s*" + re.escape(_STATE_MARK) + r"\s*([A-Za-z0-9+/=]*)\s*-->")
_OPEN_CATEGORIES = frozenset({"Proposed", "InProgress"})
_CLOSED_CATEGORIES = frozenset({"Resolved", "Completed", "Removed"})
_FIELDS = (
    "System.Id",
    "System.WorkItemType",
    "System.State",
    "System.Reason",
    "System.Tags",
    "System.Description",
    "System.CreatedDate",
    "System.ChangedDate",
    "Microsoft.VSTS.Common.ClosedDate",
)
_BATCH = 200
_TITLE_MAX = 255


def render_html(text: TicketText) -> str:
    """Return `text` as escaped HTML for a rich-text field; exists so no resource name can inject markup."""
    parts = [f"<p><b>{html.escape(text.title)}</b></p>"]
    parts.extend(f"<p>{html.escape(paragraph)}</p>" for paragraph in text.paragraphs)
    if text.table:
        header, *rows = text.table
        cells = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
        )
        parts.append(f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>")
    links = [(label, url) for label, url in text.links if url.startswith("https://")]
    if links:
        items = "".join(
            f'<li><a href="{html.escape(url, quote=True)}">{html.escape(label)}</a></li>'
            for label, url in links
        )
        parts.append(f"<ul>{items}</ul>")
    return "".join(parts)


def state_comment(state: TicketState) -> str:
    """Return the hidden HTML comment that stores `state` in a description (base64 JSON: cannot break out)."""
    raw = json.dumps(asdict(state), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return f"<!-- {_STATE_MARK}{base64.b64encode(raw).decode('ascii')} -->"


def read_state(description: str) -> TicketState:
    """Return the state hidden in a description; an absent or unreadable comment gives a fresh state."""
    found = _STATE_COMMENT.findall(description or "")
    if not found:
        return TicketState()
    try:
        data = json.loads(base64.b64decode(found[-1], validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return TicketState()
    if not isinstance(data, dict):
        return TicketState()
    failing = data.get("failing", [])
    try:
        return TicketState(
            failing=tuple(str(item) for item in failing) if isinstance(failing, list) else (),
            passes=int(data.get("passes", 0)),
            last_comment=str(data.get("last_comment", "")),
            resolved_on=str(data.get("resolved_on", "")),
        )
    except (TypeError, ValueError):
        return TicketState()


def with_state(description: str, state: TicketState) -> str:
    """Return `description` with its hidden state comment replaced by (or appended with) `state`."""
    bare = _STATE_COMMENT.sub("", description or "").rstrip()
    return bare + state_comment(state)


def _tags(value: object) -> list[str]:
    if not isinstance(value, str):
        return []
    return [tag.strip() for tag in value.split(";") if tag.strip()]


def _when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _json(response: httpx.Response, label: str) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        raise TrackerError(f"{label}: the answer is not JSON (HTTP {response.status_code})") from None


class AzureDevOpsBackend:
    """Tickets as Azure DevOps work items; the work item itself is the system of record."""

    name = "azure-devops"

    def __init__(
        self, settings: TicketSettings, token: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Bind to `settings.url` (the organization) and `settings.project` with a PAT (`token`).

        Calls go through TrackerHttp with Basic auth `:PAT` and `settings.ca_bundle` as trust
        store; `sleep` is how it waits before a retry (tests record it).
        """
        if not settings.url or not settings.project:
            raise TrackerError("azure-devops: [tickets] url and project are required")
        self.settings = settings
        self._project = quote(settings.project, safe="")
        self._web_base = f"{settings.url}/{self._project}/_workitems/edit/"
        self.http = TrackerHttp(
            settings.url,
            headers={"Accept": "application/json"},
            auth=httpx.BasicAuth("", token),
            verify=str(settings.ca_bundle) if settings.ca_bundle else True,
            timeout=settings.timeout_seconds,
            sleep=sleep,
        )
        self._descriptions: dict[str, str] = {}
        self._categories: dict[str, dict[str, str]] = {}

    # -- reading ---------------------------------------------------------------------------------

    def find(self, fingerprint: str) -> list[Ticket]:
        """Return every work item tagged `fingerprint` (open and closed), newest first."""
        wiql = (
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "
            f"AND [System.Tags] CONTAINS '{fingerprint.replace(chr(39), chr(39) * 2)}' "
            "ORDER BY [System.CreatedDate] DESC"
        )
        label = "POST /_apis/wit/wiql"
        found = _json(
            self.http.request(
                "POST",
                f"/{self._project}/_apis/wit/wiql",
                json={"query": wiql},
                params={"api-version": API_VERSION, "$top": 50},
                expected=(200,),
                idempotent=True,
            ),
            label,
        )
        items = found.get("workItems") if isinstance(found, dict) else None
        if not isinstance(items, list):
            raise TrackerError(f"{label}: the answer has no workItems list")
        ids = [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]
        tickets: list[Ticket] = []
        for start in range(0, len(ids), _BATCH):
            for item in self._work_items(ids[start : start + _BATCH]):
                ticket = self._ticket(item, fingerprint)
                if ticket is not None:
                    tickets.append(ticket)
        return sorted(tickets, key=lambda t: int(t.key), reverse=True)

    def get(self, key: str) -> Ticket | None:
        """Return work item `key` as a ticket, or None when it no longer exists or lost its fingerprint tag.

        The run calls it for a ticket its local state remembers but the search did not return, so a
        deleted work item is forgotten instead of failing every later night.
        """
        if not key.isdigit():
            return None
        label = "GET /_apis/wit/workitems/{id}"
        response = self.http.get_if_exists(
            f"/{self._project}/_apis/wit/workitems/{key}",
            params={"fields": ",".join(_FIELDS), "api-version": API_VERSION},
        )
        if response is None:
            return None
        item = _json(response, label)
        fields = item.get("fields") if isinstance(item, dict) else None
        if not isinstance(fields, dict):
            raise TrackerError(f"{label}: the answer has no fields")
        tags = [tag for tag in _tags(fields.get("System.Tags")) if is_fingerprint(tag)]
        return self._ticket(item, tags[0]) if tags else None

    def _work_items(self, ids: list[str]) -> list[dict[str, Any]]:
        label = "GET /_apis/wit/workitems"
        answer = _json(
            self.http.request(
                "GET",
                f"/{self._project}/_apis/wit/workitems",
                params={"ids": ",".join(ids), "fields": ",".join(_FIELDS), "api-version": API_VERSION},
                expected=(200,),
            ),
            label,
        )
        value = answer.get("value") if isinstance(answer, dict) else None
        if not isinstance(value, list):
            raise TrackerError(f"{label}: the answer has no value list")
        return [item for item in value if isinstance(item, dict)]

    def _category(self, work_item_type: str, state: str) -> str | None:
        if work_item_type not in self._categories:
            label = "GET /_apis/wit/workitemtypes/{type}/states"
            answer = _json(
                self.http.request(
                    "GET",
                    f"/{self._project}/_apis/wit/workitemtypes/{quote(work_item_type, safe='')}/states",
                    params={"api-version": STATES_API_VERSION},
                    expected=(200,),
                ),
                label,
            )
            value = answer.get("value") if isinstance(answer, dict) else None
            if not isinstance(value, list):
                raise TrackerError(f"{label}: the answer has no value list")
            self._categories[work_item_type] = {
                str(entry.get("name")): str(entry.get("category"))
                for entry in value
                if isinstance(entry, dict)
            }
        return self._categories[work_item_type].get(state)

    def _is_open(self, work_item_type: str, state: str) -> bool:
        category = self._category(work_item_type, state) if work_item_type else None
        if category in _OPEN_CATEGORIES:
            return True
        if category in _CLOSED_CATEGORIES:
            return False
        # A state the type does not list: only the configured open states count as open.
        return state in (self.settings.open_state, self.settings.reopened_state)

    def _ticket(self, item: dict[str, Any], fingerprint: str) -> Ticket | None:
        fields = item.get("fields")
        if not isinstance(fields, dict) or "id" not in item:
            return None
        if fingerprint not in _tags(fields.get("System.Tags")):
            return None
        key = str(item["id"])
        description = str(fields.get("System.Description") or "")
        self._descriptions[key] = description
        state = str(fields.get("System.State") or "")
        is_open = self._is_open(str(fields.get("System.WorkItemType") or ""), state)
        reason = fields.get("System.Reason")
        return Ticket(
            key=key,
            url=self._web_base + key,
            fingerprint=fingerprint,
            open=is_open,
            resolution=None if is_open else (str(reason) if reason else state),
            closed_at=None
            if is_open
            else (
                _when(fields.get("Microsoft.VSTS.Common.ClosedDate"))
                or _when(fields.get("System.ChangedDate"))
            ),
            state=read_state(description),
        )

    # -- writing ---------------------------------------------------------------------------------

    def create(self, draft: TicketDraft) -> Ticket:
        """Create a work item of `settings.issue_type` with the fingerprint tag and hidden state; return it."""
        tags = [*dict.fromkeys([*self.settings.labels, *draft.labels, draft.fingerprint])]
        description = render_html(draft.text)
        if draft.related:
            earlier = ", ".join(
                f'<a href="{html.escape(self._web_base + key, quote=True)}">#{html.escape(key)}</a>'
                for key in draft.related
            )
            description += f"<p>Earlier tickets for the same problem: {earlier}</p>"
        description += state_comment(draft.state)
        ops: list[dict[str, Any]] = [
            {"op": "add", "path": "/fields/System.Title", "value": draft.text.title[:_TITLE_MAX]},
            {"op": "add", "path": "/fields/System.Tags", "value": "; ".join(tags)},
            {"op": "add", "path": "/fields/System.Description", "value": description},
        ]
        ops.extend(
            {
                "op": "add",
                "path": "/relations/-",
                "value": {
                    "rel": "System.LinkTypes.Related",
                    "url": f"{self.settings.url}/_apis/wit/workItems/{quote(key, safe='')}",
                },
            }
            for key in draft.related
            if key.isdigit()
        )
        work_item_type = quote("$" + self.settings.issue_type, safe="$")
        answer = _json(
            self._patch_request("POST", f"/{self._project}/_apis/wit/workitems/{work_item_type}", ops),
            "POST /_apis/wit/workitems",
        )
        if not isinstance(answer, dict) or "id" not in answer:
            raise TrackerError("POST /_apis/wit/workitems: the answer has no id")
        key = str(answer["id"])
        self._descriptions[key] = description
        return Ticket(
            key=key, url=self._web_base + key, fingerprint=draft.fingerprint, open=True, state=draft.state
        )

    def comment(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Add `text` to the work item's discussion (System.History) and store `state`."""
        self._update(ticket, state, history=text)

    def resolve(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Comment, set System.State to `resolved_state`, and store `state`."""
        self._update(ticket, state, history=text, new_state=self.settings.resolved_state)

    def reopen(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Comment why, set System.State to `reopened_state`, and store `state`."""
        self._update(ticket, state, history=text, new_state=self.settings.reopened_state)

    def save_state(self, ticket: Ticket, state: TicketState) -> None:
        """Rewrite the hidden state in the description only: no discussion entry, no state change."""
        self._update(ticket, state)

    def _update(
        self,
        ticket: Ticket,
        state: TicketState,
        *,
        history: TicketText | None = None,
        new_state: str | None = None,
    ) -> None:
        if not ticket.key.isdigit():
            raise TrackerError(f"azure-devops: {ticket.key!r} is not a work item id")
        description = with_state(self._description(ticket.key), state)
        ops: list[dict[str, Any]] = [
            {"op": "add", "path": "/fields/System.Description", "value": description}
        ]
        if new_state is not None:
            ops.append({"op": "add", "path": "/fields/System.State", "value": new_state})
        if history is not None:
            ops.append({"op": "add", "path": "/fields/System.History", "value": render_html(history)})
        self._patch_request("PATCH", f"/{self._project}/_apis/wit/workitems/{ticket.key}", ops)
        self._descriptions[ticket.key] = description

    def _description(self, key: str) -> str:
        if key not in self._descriptions:
            label = "GET /_apis/wit/workitems/{id}"
            answer = _json(
                self.http.request(
                    "GET",
                    f"/{self._project}/_apis/wit/workitems/{key}",
                    params={"fields": "System.Description", "api-version": API_VERSION},
                    expected=(200,),
                ),
                label,
            )
            fields = answer.get("fields") if isinstance(answer, dict) else None
            if not isinstance(fields, dict):
                raise TrackerError(f"{label}: the answer has no fields")
            self._descriptions[key] = str(fields.get("System.Description") or "")
        return self._descriptions[key]

    def _patch_request(self, method: str, path: str, ops: list[dict[str, Any]]) -> httpx.Response:
        return self.http.request(
            method,
            path,
            content=json.dumps(ops, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": JSON_PATCH},
            params={"api-version": API_VERSION},
            expected=(200,),
        )
