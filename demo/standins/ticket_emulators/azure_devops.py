"""An Azure DevOps Boards emulator: the documented work item endpoints, payloads and refusals.

Routes (organization `org`, any project name; `api-version` is required on every call):

* `POST /{org}/{project}/_apis/wit/wiql` `{"query": "SELECT [System.Id] FROM WorkItems WHERE ..."}`
  understands `[System.TeamProject] = @project`, `[System.Tags] CONTAINS 'tag'`,
  `[System.WorkItemType] = 'type'` and `[System.CreatedDate] >= 'YYYY-MM-DD'` joined by AND (a tag
  or a type is required, 400 otherwise): ids only (`{"workItems": [{"id", "url"}]}`), newest
  first; a tag matches whole tags only;
* `GET /{org}/{project}/_apis/wit/workitems?ids=1,2&fields=A,B`: at most 200 ids, 404 for an
  unknown id; only the requested fields that have a value are returned;
* `POST /{org}[/{project}]/_apis/wit/workitemsbatch` `{"ids": [...], "fields": [...],
  "errorPolicy": "fail" | "omit"}`: the same, as `{"count", "value": [{"id", "rev", "fields", "url"}]}`
  (Work Items - Get Work Items Batch); `omit` answers null for an unknown id;
* `GET /{org}/{project}/_apis/wit/workItems/{id}/updates?$top=&$skip=`: the revisions as Updates -
  List shows them: `{"count", "value": [{"id", "workItemId", "rev", "revisedBy" (an identity with
  `uniqueName`, the person's e-mail address), "revisedDate" (when the next revision replaced this
  one; 9999-01-01 for the last), "fields": {name: {"oldValue", "newValue"}}, "url"}]}`; every
  revision changes `System.Rev`, `System.ChangedDate` and `System.ChangedBy`;
* `GET /{org}/{project}/_apis/wit/workitems/{id}[?fields=...]`;
* `POST /{org}/{project}/_apis/wit/workitems/${type}` and `PATCH .../workitems/{id}`: only
  `Content-Type: application/json-patch+json` (415 otherwise, as Azure DevOps answers), a JSON
  Patch list with `add`/`replace`/`test`/`remove` on `/fields/...` and `add` on `/relations/-`;
  `System.State` must be a state of the type (400 otherwise), a new item starts in the type's
  first state, `System.History` adds a discussion entry (`comments`), tags are normalised;
* `GET /{org}/{project}/_apis/wit/workitemtypes/{type}/states`: name, color, category.

Processes: `AGILE`, `SCRUM`, `BASIC` (work item type -> states with categories) or any mapping.
Auth: `Authorization: Basic base64(user:PAT)` with the emulator's PAT (any user), 401 otherwise.
Built on `demo.standins.ticket_emulators.base.HttpsEmulator`: faults (429 + Retry-After, 500, delays)
come from its `add_fault`, and every request is kept in `requests`. `person_close(id, state,
reason)` and `person_comment(id, text)` act as a person in the web UI would; `plant_work_item`
and `plant_update` add a person's work item and its later changes at any time (for the tracker
registers read as evidence), `ado_time` writes a time as Azure DevOps does.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from demo.standins.ticket_emulators.base import HttpsEmulator, Reply, Request

Process = Mapping[str, tuple[tuple[str, str], ...]]

AGILE: Process = {
    "Task": (("New", "Proposed"), ("Active", "InProgress"), ("Closed", "Completed"), ("Removed", "Removed")),
    "Bug": (
        ("New", "Proposed"),
        ("Active", "InProgress"),
        ("Resolved", "Resolved"),
        ("Closed", "Completed"),
        ("Removed", "Removed"),
    ),
    "Issue": (("Active", "Proposed"), ("Closed", "Completed")),
}
SCRUM: Process = {
    "Task": (
        ("To Do", "Proposed"),
        ("In Progress", "InProgress"),
        ("Done", "Completed"),
        ("Removed", "Removed"),
    ),
    "Bug": (
        ("New", "Proposed"),
        ("Approved", "Proposed"),
        ("Committed", "InProgress"),
        ("Done", "Completed"),
        ("Removed", "Removed"),
    ),
    "Impediment": (("Open", "InProgress"), ("Closed", "Completed")),
}
BASIC: Process = {
    "Issue": (("To Do", "Proposed"), ("Doing", "InProgress"), ("Done", "Completed")),
    "Task": (("To Do", "Proposed"), ("Doing", "InProgress"), ("Done", "Completed")),
}
_COLORS = {
    "Proposed": "b2b2b2",
    "InProgress": "007acc",
    "Resolved": "ff9d00",
    "Completed": "339933",
    "Removed": "ffffff",
}
_TAGS_CONTAINS = re.compile(r"\[System\.Tags\]\s+CONTAINS\s+'((?:[^']|'')*)'", re.IGNORECASE)
_TYPE_IS = re.compile(r"\[System\.WorkItemType\]\s*=\s*'((?:[^']|'')*)'", re.IGNORECASE)
_CREATED_SINCE = re.compile(r"\[System\.CreatedDate\]\s*>=\s*'([^']*)'", re.IGNORECASE)
_THIS_PROJECT = re.compile(r"\[System\.TeamProject\]\s*=\s*@project", re.IGNORECASE)
_LAST_REVISION = "9999-01-01T00:00:00Z"
JSON_PATCH = "application/json-patch+json"


@dataclass
class WorkItem:
    """A work item as the emulator stores it."""

    id: int
    type: str
    fields: dict[str, Any]
    relations: list[dict[str, Any]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    """Discussion entries (System.History), by the auditor or a person."""
    rev: int = 1
    description_edits: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    """Revisions: {"rev", "by" (e-mail), "at" (System.ChangedDate), "fields": {name: {oldValue, newValue}}}."""


def ado_time(when: datetime) -> str:
    """Return `when` as Azure DevOps writes times: UTC, milliseconds, "Z"."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def identity(email: str) -> dict[str, Any]:
    """Return an identity reference as Azure DevOps shows a person (uniqueName: the e-mail address)."""
    return {
        "id": "d291b0c4-a05c-4ea6-8df1-4b41d5f39eff",
        "displayName": email.split("@")[0].replace(".", " ").title(),
        "uniqueName": email,
        "descriptor": "aad.ZDI5MWIwYzQtYTA1Yy00ZWE2LThkZjEtNGI0MWQ1ZjM5ZWZm",
        "imageUrl": "https://dev.azure.com/org/_apis/GraphProfile/MemberAvatars/aad.ZDI5MWIw",
    }


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted(set(before) | set(after)):
        if before.get(name) == after.get(name):
            continue
        change: dict[str, Any] = {}
        if name in before:
            change["oldValue"] = before[name]
        if name in after:
            change["newValue"] = after[name]
        changes[name] = change
    return changes


def _error(status: int, message: str, type_name: str) -> Reply:
    return Reply(
        status,
        {
            "$id": "1",
            "innerException": None,
            "message": message,
            "typeName": type_name,
            "typeKey": type_name,
            "errorCode": 0,
        },
    )


class AzureDevOpsEmulator(HttpsEmulator):
    """The state and routes of one Azure DevOps organization, served over HTTPS."""

    name = "ado-emulator"

    def __init__(
        self,
        *,
        pat: str,
        organization: str = "org",
        process: Process = AGILE,
        clock: datetime | None = None,
        strip_html_comments: bool = False,
    ) -> None:
        """Serve `organization` with work item types and states of `process`; only `pat` authenticates.

        `strip_html_comments` plays an HTML sanitiser that drops `<!-- ... -->` from stored
        descriptions (not confirmed for the real service either way).
        """
        super().__init__()
        self.strip_html_comments = strip_html_comments
        self.pat = pat
        self.organization = organization
        self.process = dict(process)
        self.items: dict[int, WorkItem] = {}
        self._next_id = 1000
        self._clock = clock or datetime(2026, 11, 1, tzinfo=UTC)
        self.auditor_email = "auditor-pat@example.com"
        self.person_email = "person@example.com"

    @property
    def base_url(self) -> str:
        """The organization URL, `[tickets] url`: https://127.0.0.1:PORT/org."""
        return f"{self.url}/{self.organization}"

    # -- a person in the web UI ------------------------------------------------------------------

    def person_close(self, item_id: int, state: str = "Closed", reason: str = "Won't Fix") -> None:
        """Close a work item the way a person does in the web UI: a state and a reason."""
        with self.lock:
            item = self.items[item_id]
            before = dict(item.fields)
            self._set_state(item, state, reason)
            item.rev += 1
            self._record(item, before, self.person_email)

    def person_comment(self, item_id: int, text: str) -> None:
        """Add a discussion entry as a person."""
        with self.lock:
            self.items[item_id].comments.append(text)

    def plant_work_item(
        self,
        *,
        title: str,
        created: datetime,
        work_item_type: str,
        tags: tuple[str, ...] | list[str] = (),
        description: str = "",
        project: str = "Ops",
        fields: dict[str, Any] | None = None,
        author_email: str | None = None,
    ) -> int:
        """Add a work item as a person made it at `created` (first state of its type); return its id.

        `fields` are set last (e.g. an unreadable date, a custom field); revision 1 records them all.
        """
        with self.lock:
            self._next_id += 1
            by = author_email or self.person_email
            item = WorkItem(
                id=self._next_id,
                type=work_item_type,
                fields={
                    "System.Id": self._next_id,
                    "System.WorkItemType": work_item_type,
                    "System.TeamProject": project,
                    "System.Title": title,
                    "System.State": self._states(work_item_type)[0][0],
                    "System.Reason": "New",
                    "System.CreatedDate": ado_time(created),
                    "System.CreatedBy": identity(by),
                    "System.ChangedDate": ado_time(created),
                    "System.ChangedBy": identity(by),
                },
            )
            if description:
                item.fields["System.Description"] = f"<div>{description}</div>"
            if tags:
                item.fields["System.Tags"] = "; ".join(sorted(set(tags), key=str.casefold))
            item.fields.update(fields or {})
            self.items[item.id] = item
            self._record(item, {}, by)
            return item.id

    def plant_update(
        self, item_id: int, at: datetime, changes: dict[str, Any], *, author_email: str | None = None
    ) -> None:
        """Change a work item as a person did at `at` (a value None removes the field): one revision.

        `System.Tags` is given as the whole new "a; b" text; closing means `System.State` and
        `Microsoft.VSTS.Common.ClosedDate` (as `ado_time(...)`) together, as the process rules do.
        """
        with self.lock:
            item = self.items[item_id]
            by = author_email or self.person_email
            before = dict(item.fields)
            for name, value in changes.items():
                if value is None:
                    item.fields.pop(name, None)
                elif name == "System.Tags":
                    tags = {t.strip() for t in str(value).split(";") if t.strip()}
                    item.fields[name] = "; ".join(sorted(tags, key=str.casefold))
                else:
                    item.fields[name] = value
            item.fields["System.ChangedDate"] = ado_time(at)
            item.fields["System.ChangedBy"] = identity(by)
            item.rev += 1
            self._record(item, before, by)

    def _record(self, item: WorkItem, before: dict[str, Any], by: str) -> None:
        changes = _diff(before, item.fields)
        changes["System.Rev"] = {"newValue": item.rev, **({"oldValue": item.rev - 1} if before else {})}
        item.updates.append(
            {"rev": item.rev, "by": by, "at": item.fields.get("System.ChangedDate"), "fields": changes}
        )

    def tickets_tagged(self, tag: str) -> list[WorkItem]:
        """Return the work items carrying `tag`, oldest first."""
        with self.lock:
            return [item for item in self.items.values() if tag in self._tags(item)]

    def is_write(self, request: Request) -> bool:
        """Return whether `request` changes something: POST and PATCH, except the read-only WIQL and batch POSTs."""
        return request.method in ("POST", "PATCH") and not request.path.endswith(("/wiql", "/workitemsbatch"))

    def check_auth(self, request: Request) -> Reply | None:
        """Refuse (401, as Azure DevOps does) a request without Basic auth carrying the PAT."""
        authorization = request.headers.get("authorization", "")
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[6:], validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            if decoded.partition(":")[2] == self.pat:
                return None
        return Reply(401, {"message": "TF400813: The user is not authorized to access this resource."})

    # -- helpers ---------------------------------------------------------------------------------

    def _now(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.isoformat().replace("+00:00", "Z")

    @staticmethod
    def _tags(item: WorkItem) -> list[str]:
        return [t.strip() for t in str(item.fields.get("System.Tags", "")).split(";") if t.strip()]

    def _states(self, work_item_type: str) -> tuple[tuple[str, str], ...]:
        return self.process[work_item_type]

    def _set_state(self, item: WorkItem, state: str, reason: str | None = None) -> None:
        categories = dict(self._states(item.type))
        old = item.fields.get("System.State")
        item.fields["System.State"] = state
        category = categories[state]
        if reason is None:
            reason = {
                "Proposed": "New",
                "InProgress": "Reactivated"
                if old is not None and categories.get(str(old)) in ("Completed", "Resolved")
                else "Started",
                "Resolved": "Fixed",
                "Completed": "Completed",
                "Removed": "Removed from the backlog",
            }[category]
        item.fields["System.Reason"] = reason
        now = self._now()
        item.fields["System.ChangedDate"] = now
        if category in ("Completed", "Removed"):
            item.fields["Microsoft.VSTS.Common.ClosedDate"] = now
        else:
            item.fields.pop("Microsoft.VSTS.Common.ClosedDate", None)

    def _item_json(self, project: str, item: WorkItem, fields: list[str] | None) -> dict[str, Any]:
        shown = {k: v for k, v in item.fields.items() if fields is None or k in fields}
        return {
            "id": item.id,
            "rev": item.rev,
            "fields": shown,
            "relations": item.relations if fields is None else None,
            "url": f"{self.base_url}/{project}/_apis/wit/workItems/{item.id}",
        }

    # -- routing ---------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        """Answer one authorised request."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        with self.lock:
            if "api-version" not in request.query:
                return _error(
                    400, "No api-version was supplied for the request.", "VssVersionNotSpecifiedException"
                )
            parts = [unquote(p) for p in request.path.split("/") if p]
            if parts[1:] == ["_apis", "wit", "workitemsbatch"] and request.method == "POST":
                return self._batch_post(None, request.body)
            if len(parts) < 4 or parts[0] != self.organization or parts[2:4] != ["_apis", "wit"]:
                return _error(404, f"No route for {request.path}", "RouteNotFound")
            return self._route(request.method, parts[1], parts[4:], request.query, content_type, request.body)

    def _route(
        self,
        method: str,
        project: str,
        rest: list[str],
        query: dict[str, list[str]],
        content_type: str,
        body: bytes,
    ) -> Reply:
        if rest == ["wiql"] and method == "POST":
            return self._wiql(project, body)
        if rest == ["workitems"] and method == "GET":
            return self._batch(project, query)
        if rest == ["workitemsbatch"] and method == "POST":
            return self._batch_post(project, body)
        if len(rest) == 3 and rest[0].lower() == "workitems" and rest[1].isdigit() and rest[2] == "updates":
            if method != "GET":
                return _error(405, "Method not allowed", "MethodNotAllowed")
            return self._updates(project, int(rest[1]), query)
        if len(rest) == 2 and rest[0] == "workitems" and rest[1].startswith("$"):
            if method != "POST":
                return _error(405, "Method not allowed", "MethodNotAllowed")
            return self._create(project, rest[1][1:], content_type, body)
        if len(rest) == 2 and rest[0].lower() == "workitems" and rest[1].isdigit():
            if method == "GET":
                return self._get(project, int(rest[1]), query)
            if method == "PATCH":
                return self._update(project, int(rest[1]), content_type, body)
        if len(rest) == 3 and rest[0] == "workitemtypes" and rest[2] == "states" and method == "GET":
            if rest[1] not in self.process:
                return _error(
                    404,
                    f"TF201036: work item type {rest[1]} does not exist.",
                    "WorkItemTypeNotFoundException",
                )
            states = self._states(rest[1])
            return Reply(
                200,
                {
                    "count": len(states),
                    "value": [{"name": n, "color": _COLORS[c], "category": c} for n, c in states],
                },
            )
        return _error(404, "No such route", "RouteNotFound")

    def _wiql(self, project: str, body: bytes) -> Reply:
        try:
            query = json.loads(body)["query"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "The query is missing.", "ArgumentNullException")
        match = _TAGS_CONTAINS.search(query)
        type_match = _TYPE_IS.search(query)
        if match is None and type_match is None:
            return _error(
                400,
                "The emulator supports [System.Tags] CONTAINS '...' or [System.WorkItemType] = '...' queries only.",
                "WiqlParse",
            )
        found = list(self.items.values())
        if match is not None:
            tag = match.group(1).replace("''", "'")
            found = [item for item in found if tag in self._tags(item)]
        if type_match is not None:
            wanted = type_match.group(1).replace("''", "'").casefold()
            found = [item for item in found if item.type.casefold() == wanted]
        if _THIS_PROJECT.search(query):
            found = [
                i
                for i in found
                if str(i.fields.get("System.TeamProject", "")).casefold() == project.casefold()
            ]
        since = _CREATED_SINCE.search(query)
        if since is not None:
            found = [i for i in found if str(i.fields["System.CreatedDate"])[:10] >= since.group(1)[:10]]
        found = sorted(found, key=lambda item: str(item.fields["System.CreatedDate"]), reverse=True)
        return Reply(
            200,
            {
                "queryType": "flat",
                "queryResultType": "workItem",
                "asOf": self._now(),
                "columns": [{"referenceName": "System.Id", "name": "ID"}],
                "workItems": [
                    {"id": i.id, "url": f"{self.base_url}/_apis/wit/workItems/{i.id}"} for i in found
                ],
            },
        )

    def _batch(self, project: str, query: dict[str, list[str]]) -> Reply:
        raw = ",".join(query.get("ids", []))
        try:
            ids = [int(x) for x in raw.split(",") if x]
        except ValueError:
            return _error(400, "ids must be integers", "ArgumentException")
        if not ids or len(ids) > 200:
            return _error(400, "VS402337: between 1 and 200 ids are allowed.", "ArgumentException")
        missing = [i for i in ids if i not in self.items]
        if missing:
            return _error(
                404, f"TF401232: Work item {missing[0]} does not exist.", "WorkItemDoesNotExistException"
            )
        fields = ",".join(query.get("fields", [])).split(",") if "fields" in query else None
        value = [self._item_json(project, self.items[i], fields) for i in ids]
        return Reply(200, {"count": len(value), "value": value})

    def _batch_post(self, project: str | None, body: bytes) -> Reply:
        try:
            request = json.loads(body)
            ids = [int(i) for i in request["ids"]]
        except (ValueError, KeyError, TypeError):
            return _error(400, "The ids of the work items are missing.", "ArgumentNullException")
        if not ids or len(ids) > 200:
            return _error(400, "VS402337: between 1 and 200 ids are allowed.", "ArgumentException")
        fields = request.get("fields")
        policy = str(request.get("errorPolicy") or "fail").lower()
        missing = [i for i in ids if i not in self.items]
        if missing and policy != "omit":
            return _error(
                404, f"TF401232: Work item {missing[0]} does not exist.", "WorkItemDoesNotExistException"
            )
        value: list[dict[str, Any] | None] = []
        for i in ids:
            item = self.items.get(i)
            if item is None:
                value.append(None)
                continue
            shown = {k: v for k, v in item.fields.items() if fields is None or k in fields}
            where = project or str(item.fields.get("System.TeamProject"))
            value.append(
                {
                    "id": item.id,
                    "rev": item.rev,
                    "fields": shown,
                    "url": f"{self.base_url}/{where}/_apis/wit/workItems/{item.id}",
                }
            )
        return Reply(200, {"count": len(value), "value": value})

    def _updates(self, project: str, item_id: int, query: dict[str, list[str]]) -> Reply:
        item = self.items.get(item_id)
        if item is None:
            return _error(
                404, f"TF401232: Work item {item_id} does not exist.", "WorkItemDoesNotExistException"
            )
        skip = int((query.get("$skip") or ["0"])[0])
        top = min(200, int((query.get("$top") or ["200"])[0]))
        value = []
        for index, update in enumerate(item.updates):
            later = item.updates[index + 1]["at"] if index + 1 < len(item.updates) else _LAST_REVISION
            value.append(
                {
                    "id": index + 1,
                    "workItemId": item.id,
                    "rev": update["rev"],
                    "revisedBy": {
                        **identity(update["by"]),
                        "url": f"{self.base_url}/_apis/Identities/d291b0c4-a05c-4ea6-8df1-4b41d5f39eff",
                    },
                    "revisedDate": later,
                    "fields": copy.deepcopy(update["fields"]),
                    "url": f"{self.base_url}/{project}/_apis/wit/workItems/{item.id}/updates/{index + 1}",
                }
            )
        page = value[skip : skip + top]
        return Reply(200, {"count": len(page), "value": page})

    def _get(self, project: str, item_id: int, query: dict[str, list[str]]) -> Reply:
        if item_id not in self.items:
            return _error(
                404, f"TF401232: Work item {item_id} does not exist.", "WorkItemDoesNotExistException"
            )
        fields = ",".join(query.get("fields", [])).split(",") if "fields" in query else None
        return Reply(200, self._item_json(project, self.items[item_id], fields))

    def _patch_ops(self, content_type: str, body: bytes) -> list[dict[str, Any]] | Reply:
        if content_type != JSON_PATCH:
            return _error(
                415,
                f'The request indicated a Content-Type of "{content_type}" for method type "POST" which is not '
                "supported. Valid content types for this method are: application/json-patch+json.",
                "VssRequestContentTypeNotSupportedException",
            )
        try:
            ops = json.loads(body)
        except ValueError:
            return _error(400, "The body is not JSON.", "JsonReaderException")
        if not isinstance(ops, list) or not all(
            isinstance(op, dict) and "op" in op and "path" in op for op in ops
        ):
            return _error(
                400,
                "You must pass a valid patch document in the body of the request.",
                "VssPropertyValidationException",
            )
        return ops

    def _apply(self, project: str, item: WorkItem, ops: list[dict[str, Any]]) -> Reply | None:
        for op in ops:
            kind, path, value = op["op"], str(op["path"]), op.get("value")
            if path == "/relations/-" and kind == "add":
                if not isinstance(value, dict) or "rel" not in value or "url" not in value:
                    return _error(400, "A relation needs rel and url.", "InvalidRelation")
                item.relations.append(
                    {"rel": value["rel"], "url": value["url"], "attributes": value.get("attributes", {})}
                )
                continue
            if not path.startswith("/fields/"):
                return _error(400, f"Invalid path {path}", "InvalidPath")
            name = path.removeprefix("/fields/")
            if kind == "test":
                if item.fields.get(name) != value:
                    return _error(412, "The test operation failed.", "TestOperationFailed")
                continue
            if kind == "remove":
                item.fields.pop(name, None)
                continue
            if kind not in ("add", "replace"):
                return _error(400, f"Unsupported op {kind}", "InvalidOperation")
            if name == "System.History":
                item.comments.append(str(value))
            elif name == "System.State":
                if str(value) not in dict(self._states(item.type)):
                    return _error(
                        400,
                        f"TF401320: Rule Error for field State. Error code: Required, HasValues, LimitedToValues, "
                        f"AllowsOldValue, InvalidEmpty. Value {value!r} is not a state of {item.type}.",
                        "RuleValidationException",
                    )
                self._set_state(item, str(value))
            elif name == "System.Tags":
                tags = sorted({t.strip() for t in str(value).split(";") if t.strip()}, key=str.casefold)
                item.fields[name] = "; ".join(tags)
            else:
                if name == "System.Description" and name in item.fields:
                    item.description_edits += 1
                if name == "System.Description" and self.strip_html_comments:
                    value = re.sub(r"<!--.*?-->", "", str(value), flags=re.DOTALL)
                item.fields[name] = value
        return None

    def _create(self, project: str, work_item_type: str, content_type: str, body: bytes) -> Reply:
        ops = self._patch_ops(content_type, body)
        if isinstance(ops, Reply):
            return ops
        if work_item_type not in self.process:
            return _error(
                404,
                f"TF201036: work item type {work_item_type} does not exist.",
                "WorkItemTypeNotFoundException",
            )
        self._next_id += 1
        now = self._now()
        item = WorkItem(
            id=self._next_id,
            type=work_item_type,
            fields={
                "System.Id": self._next_id,
                "System.WorkItemType": work_item_type,
                "System.TeamProject": project,
                "System.CreatedDate": now,
                "System.ChangedDate": now,
            },
        )
        self._set_state(item, self._states(work_item_type)[0][0])
        failed = self._apply(project, item, ops)
        if failed is not None:
            return failed
        if not item.fields.get("System.Title"):
            return _error(
                400, "TF401320: Rule Error for field Title. Error code: Required.", "RuleValidationException"
            )
        self.items[item.id] = item
        self._record(item, {}, self.auditor_email)
        return Reply(200, self._item_json(project, item, None))

    def _update(self, project: str, item_id: int, content_type: str, body: bytes) -> Reply:
        ops = self._patch_ops(content_type, body)
        if isinstance(ops, Reply):
            return ops
        if item_id not in self.items:
            return _error(
                404, f"TF401232: Work item {item_id} does not exist.", "WorkItemDoesNotExistException"
            )
        item = copy.deepcopy(self.items[item_id])  # a failing op changes nothing, as in Azure DevOps
        before = dict(item.fields)
        failed = self._apply(project, item, ops)
        if failed is not None:
            return failed
        self.items[item_id] = item
        item.rev += 1
        item.fields["System.ChangedDate"] = self._now()
        self._record(item, before, self.auditor_email)
        return Reply(200, self._item_json(project, item, None))
