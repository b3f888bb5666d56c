"""Azure DevOps Boards read for evidence (REST api-version 7.1, Basic auth: empty user, PAT).

Calls, base `https://dev.azure.com/{organization}`:

* `POST /{project}/_apis/wit/wiql` with a WIQL that selects `[System.Id]` only (ids, no text);
* `POST /_apis/wit/workitemsbatch` with `{"ids", "fields"}`, at most 200 ids a call, asking only
  for the fields a control needs (type, state, reason, tags, created / closed / resolved dates and
  the configured fields): never `System.Title`, `System.Description` or `System.History`. The
  answer must hold exactly the ids asked, each once; of a done item `System.Reason` (the reason of
  its current state, from the process: "Completed", "Won't Fix", "Duplicate", "Obsolete", ...) is
  kept as its resolution, as a short workflow word (`records.kept_resolution`);
* `GET /{project}/_apis/wit/workitemtypes/{type}/states` (data-subject requests only): whether an
  item's state counts as done (categories Resolved, Completed, Removed);
* `GET /{project}/_apis/wit/workItems/{id}/updates` (incidents, only with `notified_tag` or
  `notified_state`): reduced at once to the time the configured tag was added or the configured
  state was reached. The time of an update is its `System.ChangedDate` new value (an update's
  `revisedDate` is when the *next* revision replaced it). Authors (`revisedBy`, `System.ChangedBy`)
  and every other field of an update are dropped.

A WIQL `CONTAINS` on tags is not an equality test: the tags are compared again, whole and
case-insensitively (Azure DevOps tags are), and items without the exact tag are left out.
Keys are `<project>#<id>`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from collectors.config.trackers import BreachNotificationSettings, TrackerSource
from collectors.trackers.http import RawAnswer, TrackerClient, TrackerUnreadable, credentials
from collectors.trackers.records import (
    NOT_ANALYSED,
    UNREADABLE,
    analysis_of,
    field_analysis,
    in_period,
    kept_resolution,
    kept_time,
)
from reports.evidence import msg

API_VERSION = "7.1"
STATES_API_VERSION = "7.1-preview.1"
BATCH = 200
UPDATES_PAGE = 200
MAX_PAGES = 1000
CREATED = "System.CreatedDate"
CLOSED = "Microsoft.VSTS.Common.ClosedDate"
RESOLVED = "Microsoft.VSTS.Common.ResolvedDate"
REASON = "System.Reason"
OPEN_CATEGORIES = frozenset({"Proposed", "InProgress"})
"""State categories of an item still being worked on; any other category (or none known) is done."""


def _quoted(value: str) -> str:
    return value.replace("'", "''")  # the config refuses quotes already; doubled as WIQL escapes them


def wiql(source: TrackerSource) -> str:
    """Return the WIQL that selects the register's work item ids, newest first."""
    clauses = ["[System.TeamProject] = @project"]
    if source.work_item_type:
        clauses.append(f"[System.WorkItemType] = '{_quoted(source.work_item_type)}'")
    if source.tag:
        clauses.append(f"[System.Tags] CONTAINS '{_quoted(source.tag)}'")
    # `since` is applied after reading (records.in_period): WIQL cannot say "or still open" by state category.
    return f"SELECT [System.Id] FROM WorkItems WHERE {' AND '.join(clauses)} ORDER BY [{CREATED}] DESC"


def fields(source: TrackerSource) -> list[str]:
    """Return the fields asked of every work item (never a title, description or person)."""
    wanted = ["System.WorkItemType", "System.State", REASON, "System.Tags", CREATED, CLOSED, RESOLVED]
    if isinstance(source, BreachNotificationSettings):
        wanted += [f for f in (source.notify_field, source.notified_field, source.detected_field) if f]
    return list(dict.fromkeys(wanted))


def tags(value: Any) -> set[str]:
    """Return the tags of a `System.Tags` value ("a; b"), case-folded."""
    if not isinstance(value, str):
        return set()
    return {tag.strip().casefold() for tag in value.split(";") if tag.strip()}


def _cite(answer: RawAnswer) -> dict[str, str]:
    return {"call": answer.call, "sha256": answer.sha256, "collected_at": answer.collected_at.isoformat()}


def _analysis(source: BreachNotificationSettings, values: dict[str, Any]) -> str:
    """Return what the analysis recorded (records.ANALYSES): the two tags, or the notify field's value."""
    if source.notify_tag is not None:
        present = tags(values.get("System.Tags"))
        return analysis_of(
            source.notify_tag.casefold() in present, str(source.no_notify_tag).casefold() in present
        )
    value = values.get(str(source.notify_field))
    if value is None or value == "" or isinstance(value, dict | list):
        return NOT_ANALYSED  # empty, or an identity / structure: not a value the analysis chose
    return field_analysis(source, [str(value)])


def reduce_item(source: TrackerSource, item: dict[str, Any], answer: RawAnswer) -> dict[str, Any] | None:
    """Return what the controls need of one work item (key and times), None when it lacks the tag.

    `_id`, `_type`, `_state` and `_reason` are kept only until the reader has used them.
    """
    values = item.get("fields")
    if not isinstance(values, dict) or not isinstance(item.get("id"), int):
        raise TrackerUnreadable(msg("{call} answered a work item without id", call=answer.call))
    if source.tag and source.tag.casefold() not in tags(values.get("System.Tags")):
        return None
    closed = values.get(CLOSED)
    record: dict[str, Any] = {
        "key": f"{source.project}#{item['id']}",
        "created": kept_time(values.get(CREATED)),
        "resolved": kept_time(closed if closed not in (None, "") else values.get(RESOLVED)),
        "done": False,
        "events": [],
        "sources": [_cite(answer)],
        "_id": item["id"],
        "_type": str(values.get("System.WorkItemType") or ""),
        "_state": str(values.get("System.State") or ""),
        "_reason": values.get(REASON),
    }
    if isinstance(source, BreachNotificationSettings):
        record["analysis"] = _analysis(source, values)
        if source.notified_field:
            record["notified"] = kept_time(values.get(source.notified_field))
        if source.detected_field:
            record["detected"] = kept_time(values.get(source.detected_field))
    return record


def _change(update: dict[str, Any], name: str) -> tuple[Any, Any] | None:
    changes = update.get("fields")
    change = changes.get(name) if isinstance(changes, dict) else None
    if not isinstance(change, dict):
        return None
    return change.get("oldValue"), change.get("newValue")


def reduce_updates(source: BreachNotificationSettings, updates: list[Any]) -> list[dict[str, Any]]:
    """Return the notification events of a work item's updates: the state reached, the tag added."""
    events: list[dict[str, Any]] = []
    for update in updates:
        if not isinstance(update, dict):
            continue
        changed = _change(update, "System.ChangedDate")
        at = (kept_time(changed[1]) if changed else None) or UNREADABLE
        state = _change(update, "System.State")
        if source.notified_state and state and state[1] == source.notified_state:
            events.append({"at": at, "kind": "state", "name": source.notified_state})
        tag_change = _change(update, "System.Tags")
        if source.notified_tag and tag_change:
            wanted = source.notified_tag.casefold()
            if wanted in tags(tag_change[1]) - tags(tag_change[0]):
                events.append({"at": at, "kind": "tag", "name": source.notified_tag})
    return events


class AzureDevOpsReader:
    """Reads one register from an Azure DevOps project's work items."""

    def __init__(self, source: TrackerSource) -> None:
        token, _ = credentials(source)
        self.source = source
        self.project = str(source.project)
        self.org_path = urlsplit(source.url).path.rstrip("/")
        self.client = TrackerClient(
            source,
            auth=httpx.BasicAuth("", token),
            headers={"Accept": "application/json"},
            ca_bundle=str(source.ca_bundle) if source.ca_bundle else None,
        )

    def query(self) -> str:
        """Return the query as shown in the evidence."""
        return wiql(self.source)

    def read(self) -> list[dict[str, Any]]:
        """Return every work item of the register, reduced; TrackerUnreadable when any call fails."""
        try:
            return self._read()
        finally:
            self.client.close()

    def _project_url(self, rest: str) -> tuple[str, str]:
        path = f"/{quote(self.project, safe='')}/_apis/wit/{rest}"
        return f"{self.source.url}{path}", f"{self.org_path}{path}"

    def _read(self) -> list[dict[str, Any]]:
        url, shown = self._project_url("wiql")
        answer = self.client.request(
            "POST", f"{url}?api-version={API_VERSION}", shown=shown, json={"query": self.query()}
        )
        found = answer.data.get("workItems") if isinstance(answer.data, dict) else None
        if not isinstance(found, list):
            raise TrackerUnreadable(msg("{call} answered no workItems list", call=answer.call))
        ids: list[int] = []
        for item in found:
            number = item.get("id") if isinstance(item, dict) else None
            if not isinstance(number, int) or isinstance(number, bool):
                raise TrackerUnreadable(msg("{call} answered a work item without id", call=answer.call))
            ids.append(number)
        records: list[dict[str, Any]] = []
        for start in range(0, len(ids), BATCH):
            records.extend(self._batch(ids[start : start + BATCH], start // BATCH + 1))
        source = self.source
        if isinstance(source, BreachNotificationSettings):
            if source.notified_tag or source.notified_state:
                for record in records:
                    self._updates(source, record)
        else:
            self._done(records)
        for record in records:
            for temporary in ("_id", "_type", "_state", "_reason"):
                record.pop(temporary, None)
        return [record for record in records if in_period(record, source.since)]

    def _batch(self, ids: list[int], number: int) -> list[dict[str, Any]]:
        path = "/_apis/wit/workitemsbatch"
        answer = self.client.request(
            "POST",
            f"{self.source.url}{path}?api-version={API_VERSION}",
            shown=f"{self.org_path}{path} batch {number}",
            json={"ids": ids, "fields": fields(self.source)},
        )
        value = answer.data.get("value") if isinstance(answer.data, dict) else None
        if not isinstance(value, list) or len(value) != len(ids):
            raise TrackerUnreadable(msg("{call} answered no value list", call=answer.call))
        answered = [item.get("id") if isinstance(item, dict) else None for item in value]
        numbers = [i for i in answered if isinstance(i, int) and not isinstance(i, bool)]
        if len(numbers) != len(answered) or sorted(numbers) != sorted(ids):
            raise TrackerUnreadable(
                msg("{call} answered other work items than the ids asked", call=answer.call)
            )
        reduced = [reduce_item(self.source, item, answer) for item in value]
        return [record for record in reduced if record is not None]

    def _done(self, records: list[dict[str, Any]]) -> None:
        categories: dict[str, dict[str, str]] = {}
        for record in records:
            kind = record["_type"]
            if kind not in categories:
                categories[kind] = self._categories(kind)
            record["done"] = categories[kind].get(record["_state"]) not in OPEN_CATEGORIES
            record["resolution"] = kept_resolution(record["_reason"]) if record["done"] else None

    def _categories(self, work_item_type: str) -> dict[str, str]:
        url, shown = self._project_url(f"workitemtypes/{quote(work_item_type, safe='')}/states")
        answer = self.client.request("GET", f"{url}?api-version={STATES_API_VERSION}", shown=shown)
        value = answer.data.get("value") if isinstance(answer.data, dict) else None
        if not isinstance(value, list):
            raise TrackerUnreadable(msg("{call} answered no value list", call=answer.call))
        return {
            str(state.get("name")): str(state.get("category")) for state in value if isinstance(state, dict)
        }

    def _updates(self, source: BreachNotificationSettings, record: dict[str, Any]) -> None:
        url, shown = self._project_url(f"workItems/{record['_id']}/updates")
        skip = 0
        for _ in range(MAX_PAGES):
            answer = self.client.request(
                "GET",
                f"{url}?$top={UPDATES_PAGE}&$skip={skip}&api-version={API_VERSION}",
                shown=shown if skip == 0 else f"{shown} from {skip}",
            )
            value = answer.data.get("value") if isinstance(answer.data, dict) else None
            if not isinstance(value, list):
                raise TrackerUnreadable(msg("{call} answered no updates list", call=answer.call))
            record["events"].extend(reduce_updates(source, value))
            record["sources"].append(_cite(answer))
            skip += len(value)
            if len(value) < UPDATES_PAGE:
                return
        raise TrackerUnreadable(msg("{call} did not end after {pages} pages", call=shown, pages=MAX_PAGES))
