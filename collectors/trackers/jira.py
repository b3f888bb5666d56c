"""Jira Cloud (REST v3) read for evidence: `POST /rest/api/3/search/jql` and `GET /rest/api/3/issue/{key}/changelog`.

The search asks only for the fields a control needs (`created`, `resolutiondate`, `resolution`,
`status`, `labels` and the configured custom fields): never `summary`, `description` or
`comment`. Of the labels only whether the configured ones are present is kept; of the resolution
only its name, as a short workflow word (`records.kept_resolution`). The changelog (read only
when a label or status records the notification) is reduced to the one label or status that
matters; its authors are never kept.

Paging fails closed: a search page saying more follow without a `nextPageToken`, a token that
comes back, a `total` larger than what was read, or a changelog that ends before its `total` (or
says neither `isLast` nor `total`) makes the register unreadable rather than short.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from collectors.config.trackers import BreachNotificationSettings, TrackerSource
from collectors.trackers.http import RawAnswer, TrackerClient, TrackerUnreadable, credentials
from collectors.trackers.records import (
    NOT_ANALYSED,
    analysis_of,
    field_analysis,
    in_period,
    kept_resolution,
    kept_time,
)
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
        start = source.since.isoformat()
        # the period's own tickets, those resolved in it, and every one still open whatever its age
        clauses.append(f'(created >= "{start}" OR resolutiondate >= "{start}" OR statusCategory != Done)')
    return " AND ".join(clauses) + " ORDER BY created DESC"


def _fields(source: TrackerSource) -> list[str]:
    fields = ["created", "resolutiondate", "resolution", "status", "labels"]
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


def _labels(fields: dict[str, Any]) -> list[str]:
    labels = fields.get("labels")
    return [label for label in labels if isinstance(label, str)] if isinstance(labels, list) else []


def _analysis(source: BreachNotificationSettings, fields: dict[str, Any]) -> str:
    """Return what the analysis recorded (records.ANALYSES): the two labels, or the notify field's values."""
    if source.notify_label is not None:
        labels = _labels(fields)
        return analysis_of(source.notify_label in labels, source.no_notify_label in labels)
    texts = _field_text(fields.get(str(source.notify_field)))
    return field_analysis(source, texts) if texts else NOT_ANALYSED


def _resolution(fields: dict[str, Any]) -> str | None:
    value = fields.get("resolution")
    if isinstance(value, dict):
        return kept_resolution(value.get("name") or "?")  # a resolution without a name is not a word
    return kept_resolution(value)


def reduce_issue(source: TrackerSource, issue: dict[str, Any], answer: RawAnswer) -> dict[str, Any]:
    """Return what the controls need of one searched issue (keys and times, no text)."""
    key = issue.get("key")
    if not isinstance(key, str) or not key:
        raise TrackerUnreadable(msg("{call} answered an issue without key", call=answer.call))
    fields = issue.get("fields") or {}
    if not isinstance(fields, dict):
        raise TrackerUnreadable(msg("{call} answered an issue without fields", call=answer.call))
    status = fields.get("status") or {}
    category = (status.get("statusCategory") or {}).get("key") if isinstance(status, dict) else None
    done = category == "done"
    record: dict[str, Any] = {
        "key": key,
        "created": kept_time(fields.get("created")),
        "resolved": kept_time(fields.get("resolutiondate")),
        "done": done,
        "resolution": _resolution(fields) if done else None,
        "events": [],
        "sources": [_cite(answer)],
    }
    if isinstance(source, BreachNotificationSettings):
        record["analysis"] = _analysis(source, fields)
        if source.notified_field:
            record["notified"] = kept_time(fields.get(source.notified_field))
        if source.detected_field:
            record["detected"] = kept_time(fields.get(source.detected_field))
        if source.notified_label and source.notified_label in _labels(fields):
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
        tokens: set[str] = set()
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
            for issue in issues:
                if not isinstance(issue, dict):
                    raise TrackerUnreadable(msg("{call} answered an issue without key", call=answer.call))
                records.append(reduce_issue(self.source, issue, answer))
            _check_total(answer, len(records))
            token = _next_token(answer, tokens)
            if token is None:
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
        return [record for record in records if in_period(record, self.source.since)]

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
            if _changelog_ends(answer, start, bool(values)):
                break
        else:
            where = f"{key}/changelog"
            raise TrackerUnreadable(
                msg("{call} did not end after {pages} pages", call=where, pages=MAX_PAGES)
            )
        if record.pop("label_present", False) and not any(e["kind"] == "label" for e in record["events"]):
            # Set when the issue was created: the changelog records no addition.
            record["events"].append({"at": record["created"], "kind": "label", "name": source.notified_label})


def _total(answer: RawAnswer) -> int | None:
    total = answer.data.get("total") if isinstance(answer.data, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _check_total(answer: RawAnswer, read: int) -> None:
    """Refuse a search whose `total` (when Jira gives one) counts more issues than were read so far and
    says it is the last page."""
    total = _total(answer)
    last = answer.data.get("isLast") is True or not answer.data.get("nextPageToken")
    if total is not None and last and total > read:
        raise TrackerUnreadable(
            msg(
                "{call} counts more issues ({total}) than its pages held ({count}): tickets would be missing",
                call=answer.call,
                total=total,
                count=read,
            )
        )


def _next_token(answer: RawAnswer, seen: set[str]) -> str | None:
    """Return the next page's token, None after the last page; TrackerUnreadable when paging is inconsistent."""
    token = answer.data.get("nextPageToken")
    is_last = answer.data.get("isLast")
    if is_last is True:
        return None
    if not isinstance(token, str) or not token:
        if is_last is False:
            raise TrackerUnreadable(
                msg("{call} says more pages follow but gives no nextPageToken", call=answer.call)
            )
        return None
    if token in seen:
        raise TrackerUnreadable(
            msg("{call} answered a nextPageToken it had answered before", call=answer.call)
        )
    seen.add(token)
    return token


def _changelog_ends(answer: RawAnswer, read: int, progressed: bool) -> bool:
    """Return whether the changelog is complete after `read` entries; TrackerUnreadable when it stops short.

    Jira's PageBeanChangelog says `isLast` and `total`; a page that says neither, an empty page
    that is not the last, or a last page before `total` would silently drop changes (a label
    added later would then seem to be there from the issue's creation).
    """
    is_last = answer.data.get("isLast")
    total = _total(answer)
    if is_last is None and total is None:
        raise TrackerUnreadable(
            msg(
                "{call} says neither isLast nor total: whether more changes follow is unknown",
                call=answer.call,
            )
        )
    ends = is_last is True or (is_last is None and total is not None and read >= total)
    if not ends and not progressed:
        raise TrackerUnreadable(msg("{call} says more changes follow but answered none", call=answer.call))
    if ends and total is not None and read < total:
        raise TrackerUnreadable(
            msg(
                "{call} counts more changes ({total}) than its pages held ({count}): changes would be missing",
                call=answer.call,
                total=total,
                count=read,
            )
        )
    return ends
