"""Jira Cloud (REST v3) read for evidence: `POST /rest/api/3/search/jql` and `GET /rest/api/3/issue/{key}/changelog`.

The search asks only for the fields a control needs (`created`, `resolutiondate`, `status`,
`labels` and the configured custom fields): never `summary`, `description` or `comment`. The
changelog (read only when a label or status records the notification) is reduced to the one
label or status that matters; its authors are never kept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from collectors.config.trackers import BreachNotificationSettings, TrackerSource
from collectors.trackers.http import RawAnswer, TrackerClient, TrackerUnreadable, credentials
from collectors.trackers.records import kept_time
from reports.evidence import msg

PAGE_SIZE = 100
MAX_PAGES = 1000


def jql(source: TrackerSource) -> str:
    """Return the JQL that selects the register's issues, oldest detail last (the config refuses quotes)."""
    clauses = [f'project = "{source.project}"']
    if source.label:
        clauses.append(f'labels = "{source.label}"')
    if source.issue_type:
        clauses.append(f'issuetype = "{source.issue_type}"')
    if source.since:
        clauses.append(f'created >= "{source.since.isoformat()}"')
    return " AND ".join(clauses) + " ORDER BY created DESC"


def _fields(source: TrackerSource) -> list[str]:
    fields = ["created", "resolutiondate", "status", "labels"]
    if isinstance(source, BreachNotificationSettings):
        fields += [f for f in (source.notify_field, source.notified_field, source.detected_field) if f]
    return list(dict.fromkeys(fields))


def _cite(answer: RawAnswer) -> dict[str, str]:
    return {"call": answer.call, "sha256": answer.sha256, "collected_at": answer.collected_at.isoformat()}


def _field_text(value: Any) -> list[str]:
    """Return the texts of a Jira field value: a string, an option {"value"}, a named object, or a list of them."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [text for item in value for text in _field_text(item)]
    if isinstance(value, dict):
        for key in ("value", "name"):
            if isinstance(value.get(key), str):
                return [value[key]]
        return []
    return [str(value)]


def _notify(source: BreachNotificationSettings, fields: dict[str, Any]) -> bool | None:
    if source.notify_label is not None:
        return source.notify_label in (fields.get("labels") or [])
    texts = _field_text(fields.get(str(source.notify_field)))
    if not texts:
        return None
    wanted = {value.casefold() for value in source.notify_values}
    return any(text.casefold() in wanted for text in texts)


def reduce_issue(source: TrackerSource, issue: dict[str, Any], answer: RawAnswer) -> dict[str, Any]:
    """Return what the controls need of one searched issue (keys and times, no text)."""
    fields = issue.get("fields") or {}
    status = fields.get("status") or {}
    category = (status.get("statusCategory") or {}).get("key") if isinstance(status, dict) else None
    record: dict[str, Any] = {
        "key": str(issue.get("key")),
        "created": kept_time(fields.get("created")),
        "resolved": kept_time(fields.get("resolutiondate")),
        "done": category == "done",
        "events": [],
        "sources": [_cite(answer)],
    }
    if isinstance(source, BreachNotificationSettings):
        record["notify"] = _notify(source, fields)
        if source.notified_field:
            record["notified"] = kept_time(fields.get(source.notified_field))
        if source.detected_field:
            record["detected"] = kept_time(fields.get(source.detected_field))
        if source.notified_label and source.notified_label in (fields.get("labels") or []):
            record["label_present"] = True
    return record


def reduce_changelog(source: BreachNotificationSettings, histories: list[Any]) -> list[dict[str, Any]]:
    """Return the notification events of a changelog: the configured status reached, the label added."""
    events: list[dict[str, Any]] = []
    for history in histories:
        if not isinstance(history, dict):
            continue
        at = kept_time(history.get("created")) or "unreadable"
        for item in history.get("items") or []:
            if not isinstance(item, dict):
                continue
            field = item.get("fieldId") or item.get("field")
            if (
                field == "status"
                and source.notified_status
                and item.get("toString") == source.notified_status
            ):
                events.append({"at": at, "kind": "status", "name": source.notified_status})
            if field == "labels" and source.notified_label:
                before = set(str(item.get("fromString") or "").split())
                after = set(str(item.get("toString") or "").split())
                if source.notified_label in after - before:
                    events.append({"at": at, "kind": "label", "name": source.notified_label})
    return events


class JiraReader:
    """Reads one register from Jira Cloud."""

    def __init__(self, source: TrackerSource) -> None:
        token, user = credentials(source)
        self.source = source
        self.client = TrackerClient(
            source,
            auth=httpx.BasicAuth(user or "", token),
            headers={"Accept": "application/json"},
            ca_bundle=str(source.ca_bundle) if source.ca_bundle else None,
        )

    def query(self) -> str:
        """Return the query as shown in the evidence."""
        return jql(self.source)

    def read(self) -> list[dict[str, Any]]:
        """Return every issue of the register, reduced; TrackerUnreadable when any page cannot be read."""
        try:
            return self._read()
        finally:
            self.client.close()

    def _read(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            body: dict[str, Any] = {
                "jql": self.query(),
                "fields": _fields(self.source),
                "maxResults": PAGE_SIZE,
            }
            if token:
                body["nextPageToken"] = token
            answer = self.client.request(
                "POST", f"{self.source.url}/rest/api/3/search/jql", shown="/rest/api/3/search/jql", json=body
            )
            issues = answer.data.get("issues") if isinstance(answer.data, dict) else None
            if not isinstance(issues, list):
                raise TrackerUnreadable(msg("{call} answered no issues list", call=answer.call))
            records.extend(
                reduce_issue(self.source, issue, answer) for issue in issues if isinstance(issue, dict)
            )
            token = answer.data.get("nextPageToken")
            if answer.data.get("isLast", token is None) or not token:
                break
        else:
            raise TrackerUnreadable(
                msg("{call} did not end after {pages} pages", call="search/jql", pages=MAX_PAGES)
            )
        if isinstance(self.source, BreachNotificationSettings) and (
            self.source.notified_label or self.source.notified_status
        ):
            for record in records:
                self._history(self.source, record)
        return records

    def _history(self, source: BreachNotificationSettings, record: dict[str, Any]) -> None:
        key = record["key"]
        start = 0
        for _ in range(MAX_PAGES):
            answer = self.client.request(
                "GET",
                f"{source.url}/rest/api/3/issue/{quote(key)}/changelog?startAt={start}&maxResults={PAGE_SIZE}",
                shown=f"/rest/api/3/issue/{key}/changelog",
            )
            values = answer.data.get("values") if isinstance(answer.data, dict) else None
            if not isinstance(values, list):
                raise TrackerUnreadable(msg("{call} answered no changelog", call=answer.call))
            record["events"].extend(reduce_changelog(source, values))
            record["sources"].append(_cite(answer))
            start += len(values)
            if answer.data.get("isLast", True) or not values:
                break
        if record.pop("label_present", False) and not any(e["kind"] == "label" for e in record["events"]):
            # Set when the issue was created: the changelog records no addition.
            record["events"].append({"at": record["created"], "kind": "label", "name": source.notified_label})
