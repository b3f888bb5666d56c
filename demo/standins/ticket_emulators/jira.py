"""A Jira Cloud REST v3 emulator: the documented endpoints and payloads the ticket backend uses.

Endpoints: `POST /rest/api/3/search/jql` (jql: `project = "X"` AND-ed with `labels = "L"`,
`issuetype = "T"`, `created >= "YYYY-MM-DD"`, an audit period `(created >= "D" OR resolutiondate >= "D"
OR statusCategory != Done)`, then `ORDER BY created DESC`; `fields` (only those
are returned), `properties`, `maxResults`, `nextPageToken` paging; no `startAt`/`total`), the
removed `GET|POST /rest/api/3/search` (410 Gone with Atlassian's message), `POST /rest/api/3/issue`
(ADF description validated, labels without spaces, `properties`), `GET /rest/api/3/issue/{key}`,
`POST /rest/api/3/issue/{key}/comment`, `GET|POST /rest/api/3/issue/{key}/transitions`,
`PUT|GET /rest/api/3/issue/{key}/properties/{prop}`, `POST /rest/api/3/issueLink`,
`GET /rest/api/3/issue/{key}/changelog` (`startAt`, `maxResults`; a PageBeanChangelog:
`values` of {id, author, created, items: [{field, fieldtype, fieldId, from, fromString, to,
toString}]}, `isLast`, `total`). `add_issue` seeds an issue as the ops team would have made it
(any creation time, custom fields, a changelog with authors' e-mail addresses).

Authentication is Basic e-mail:API token (401 otherwise). Search is eventually consistent: a new
issue shows up in search only after `search_lag` further searches. `page_overlap` (default 0)
makes every search page after the first start that many issues early (overlapping pages). `close_by_person` and
`reopen_by_person` act as a person in the web UI (e.g. resolution "Won't Do").
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from demo.standins.ticket_emulators.base import HttpsEmulator, Reply, Request

STATUSES = {
    "To Do": {"id": "10000", "name": "To Do", "statusCategory": {"key": "new", "name": "To Do"}},
    "In Progress": {
        "id": "3",
        "name": "In Progress",
        "statusCategory": {"key": "indeterminate", "name": "In Progress"},
    },
    "Done": {"id": "10001", "name": "Done", "statusCategory": {"key": "done", "name": "Done"}},
}
TRANSITIONS = [
    {"id": "11", "name": "To Do", "to": "To Do"},
    {"id": "21", "name": "In Progress", "to": "In Progress"},
    {"id": "31", "name": "Done", "to": "Done"},
]
_JQL_ORDER = " ORDER BY created DESC"
_JQL_CLAUSE = re.compile(r'^(project|labels|issuetype) = "([^"]+)"$|^created >= "(\d{4}-\d{2}-\d{2})"$')
_JQL_PERIOD = re.compile(
    r'^\(created >= "(\d{4}-\d{2}-\d{2})" OR resolutiondate >= "(\d{4}-\d{2}-\d{2})" '
    r"OR statusCategory != Done\)$"
)
"""An audit period: tickets created or resolved on or after the day, or not done whatever their age."""
_ADF_NODES = {
    "doc", "paragraph", "text", "table", "tableRow", "tableHeader", "tableCell",
    "bulletList", "listItem", "heading", "hardBreak",
}  # fmt: skip


def validate_adf(node: Any, top: bool = True) -> None:
    """Raise ValueError unless `node` is an ADF document made of the node types the backend may use."""
    if not isinstance(node, dict) or node.get("type") not in _ADF_NODES:
        raise ValueError(f"not an ADF node: {node!r:.80}")
    if top and (node.get("type") != "doc" or node.get("version") != 1):
        raise ValueError("ADF must be {type: doc, version: 1}")
    if node["type"] == "text":
        if not isinstance(node.get("text"), str) or not node["text"]:
            raise ValueError("ADF text nodes need non-empty text")
        for mark in node.get("marks") or []:
            if mark.get("type") == "link" and not str(mark["attrs"]["href"]).startswith("https://"):
                raise ValueError("link to a non-https URL")
        return
    for child in node.get("content") or []:
        validate_adf(child, top=False)


def adf_plain(node: Any) -> str:
    """Return the text of an ADF document (for assertions)."""
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text"))
        return " ".join(adf_plain(c) for c in node.get("content") or [])
    return ""


@dataclass
class Issue:
    """One emulated issue."""

    id: str
    key: str
    fields: dict[str, Any]
    properties: dict[str, Any] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    visible_after: int = 0
    links: list[str] = field(default_factory=list)
    changelog: list[dict[str, Any]] = field(default_factory=list)


class JiraEmulator(HttpsEmulator):
    """Jira Cloud for one project (see the module docstring)."""

    name = "jira-emulator"

    def __init__(
        self,
        *,
        project: str = "SEC",
        email: str = "auditor@example.com",
        token: str = "jira-token",
        search_lag: int = 1,
    ) -> None:
        """Serve project `project`, accepting Basic `email`:`token`; new issues lag `search_lag` searches."""
        super().__init__()
        self.project = project
        self.credentials = base64.b64encode(f"{email}:{token}".encode()).decode()
        self.search_lag = search_lag
        self.issues: dict[str, Issue] = {}
        self.searches = 0
        self.page_size = 2
        self.page_overlap = 0

    def check_auth(self, request: Request) -> Reply | None:
        """Refuse requests without the right Basic credentials (401, as Jira Cloud does)."""
        if request.headers.get("authorization") != f"Basic {self.credentials}":
            return Reply(
                401,
                {
                    "errorMessages": [
                        "You are not authenticated. Authentication required to perform this operation."
                    ]
                },
            )
        return None

    def is_write(self, request: Request) -> bool:
        """Searches are POSTs that change nothing: only other non-GET requests are writes."""
        return request.method not in ("GET", "HEAD") and request.path != "/rest/api/3/search/jql"

    # -- person in the web UI
    def close_by_person(self, key: str, resolution: str = "Won't Do", when: datetime | None = None) -> None:
        """Close `key` as a person would, with `resolution`."""
        with self.lock:
            issue = self.issues[key]
            issue.fields["status"] = STATUSES["Done"]
            issue.fields["resolution"] = {"name": resolution}
            issue.fields["resolutiondate"] = _jira_time(when or datetime.now(UTC))

    def comments_of(self, key: str) -> list[str]:
        """Return the plain text of every comment on `key`."""
        with self.lock:
            return [adf_plain(c["body"]) for c in self.issues[key].comments]

    def add_issue(
        self,
        *,
        summary: str,
        created: datetime,
        labels: list[str] | None = None,
        issue_type: str = "Task",
        description: str = "",
        resolved: datetime | None = None,
        fields: dict[str, Any] | None = None,
        resolution: str = "Done",
    ) -> str:
        """Add an issue as a person made it (`created` any time; Done, as `resolution`, with `resolved`); return its key."""
        with self.lock:
            number = len(self.issues) + 1
            key = f"{self.project}-{number}"
            doc = {"type": "doc", "version": 1, "content": []}
            if description:
                doc["content"] = [{"type": "paragraph", "content": [{"type": "text", "text": description}]}]
            self.issues[key] = Issue(
                id=str(10000 + number),
                key=key,
                fields={
                    "summary": summary,
                    "description": doc,
                    "labels": list(labels or []),
                    "issuetype": {"name": issue_type},
                    "status": STATUSES["Done" if resolved else "To Do"],
                    "resolution": {"name": resolution} if resolved else None,
                    "resolutiondate": _jira_time(resolved) if resolved else None,
                    "created": _jira_time(created),
                    **(fields or {}),
                },
            )
            return key

    def add_history(self, key: str, when: datetime, items: list[dict[str, Any]], author_email: str) -> None:
        """Append a changelog entry to `key` made by a person (`items` as Jira writes them)."""
        with self.lock:
            issue = self.issues[key]
            issue.changelog.append(
                {
                    "id": str(20000 + sum(len(i.changelog) for i in self.issues.values())),
                    "author": {
                        "accountId": "5b10a2844c20165700ede21g",
                        "emailAddress": author_email,
                        "displayName": author_email.split("@")[0],
                        "active": True,
                    },
                    "created": _jira_time(when),
                    "items": items,
                }
            )

    # -- endpoints
    def handle(self, request: Request) -> Reply:
        """Route one request to the documented endpoint it targets."""
        path, method = request.path, request.method
        if path == "/rest/api/3/search":
            return Reply(
                410,
                {
                    "errorMessages": [
                        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
                    ]
                },
            )
        if path == "/rest/api/3/search/jql" and method == "POST":
            return self._search(request.json())
        if path == "/rest/api/3/issue" and method == "POST":
            return self._create(request.json())
        if path == "/rest/api/3/issueLink" and method == "POST":
            return self._link(request.json())
        match = re.fullmatch(r"/rest/api/3/issue/([A-Z][A-Z0-9]*-\d+)(/.*)?", path)
        if not match:
            return Reply(404, {"errorMessages": ["Not found"]})
        with self.lock:
            issue = self.issues.get(match.group(1))
        if issue is None:
            return Reply(
                404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
            )
        rest = match.group(2) or ""
        if rest == "" and method == "GET":
            props = (request.param("properties") or "").split(",")
            return Reply(200, self._issue_json(issue, None, [p for p in props if p]))
        if rest == "/comment" and method == "POST":
            body = request.json()["body"]
            validate_adf(body)
            with self.lock:
                issue.comments.append({"id": str(len(issue.comments) + 1), "body": body})
            return Reply(201, {"id": str(len(issue.comments))})
        if rest == "/changelog" and method == "GET":
            return self._changelog(issue, request)
        if rest == "/transitions" and method == "GET":
            return Reply(200, {"transitions": self._transitions(issue)})
        if rest == "/transitions" and method == "POST":
            wanted = request.json()["transition"]["id"]
            target = next((t for t in TRANSITIONS if t["id"] == wanted), None)
            if target is None or target["to"] == issue.fields["status"]["name"]:
                return Reply(
                    400, {"errorMessages": [f"Transition id '{wanted}' is not valid for this issue."]}
                )
            with self.lock:
                self._move(issue, target["to"], "Done")
            return Reply(204)
        prop = re.fullmatch(r"/properties/([A-Za-z0-9._-]+)", rest)
        if prop and method == "PUT":
            value = request.json()
            if len(request.body) > 32768:
                return Reply(
                    400, {"errorMessages": ["The property value is too long (32768 bytes at most)."]}
                )
            with self.lock:
                created = prop.group(1) not in issue.properties
                issue.properties[prop.group(1)] = value
            return Reply(201 if created else 200)
        if prop and method == "GET":
            if prop.group(1) not in issue.properties:
                return Reply(404, {"errorMessages": ["The property was not found."]})
            return Reply(200, {"key": prop.group(1), "value": issue.properties[prop.group(1)]})
        return Reply(405, {"errorMessages": ["Method not allowed"]})

    def _transitions(self, issue: Issue) -> list[dict[str, Any]]:
        current = issue.fields["status"]["name"]
        return [
            {"id": t["id"], "name": t["name"], "to": STATUSES[t["to"]], "hasScreen": False}
            for t in TRANSITIONS
            if t["to"] != current
        ]

    @staticmethod
    def _move(issue: Issue, status: str, resolution: str) -> None:
        issue.fields["status"] = STATUSES[status]
        if STATUSES[status]["statusCategory"]["key"] == "done":  # type: ignore[index]
            issue.fields["resolution"] = {"name": resolution}
            issue.fields["resolutiondate"] = _jira_time(datetime.now(UTC))
        else:
            issue.fields["resolution"] = None
            issue.fields["resolutiondate"] = None

    def _issue_json(self, issue: Issue, fields: list[str] | None, properties: list[str]) -> dict[str, Any]:
        shown = {k: v for k, v in issue.fields.items() if fields is None or k in fields}
        data: dict[str, Any] = {
            "id": issue.id,
            "key": issue.key,
            "self": f"{self.url}/rest/api/3/issue/{issue.id}",
            "fields": shown,
        }
        if properties:
            data["properties"] = {p: issue.properties[p] for p in properties if p in issue.properties}
        return data

    def _search(self, body: dict[str, Any]) -> Reply:
        if "startAt" in body:
            return Reply(400, {"errorMessages": ["startAt is not supported; use nextPageToken"]})
        wanted = _parse_jql(str(body.get("jql", "")))
        if wanted is None:
            return Reply(400, {"errorMessages": [f"Unsupported JQL in this emulator: {body.get('jql')!r}"]})
        with self.lock:
            self.searches += 1
            hits = [
                i
                for i in self.issues.values()
                if wanted.get("project") == self.project
                and ("labels" not in wanted or wanted["labels"] in i.fields["labels"])
                and ("issuetype" not in wanted or wanted["issuetype"] == i.fields["issuetype"]["name"])
                and ("created" not in wanted or i.fields["created"][:10] >= wanted["created"])
                and ("period" not in wanted or _in_period(i.fields, wanted["period"]))
                and i.visible_after <= self.searches
            ]
        hits.sort(key=lambda i: int(i.id), reverse=True)
        size = min(int(body.get("maxResults", 50)), self.page_size)
        start = int(body.get("nextPageToken") or 0)
        page = hits[start : start + size]
        reply: dict[str, Any] = {
            "issues": [
                self._issue_json(i, list(body.get("fields") or []), list(body.get("properties") or []))
                for i in page
            ],
            "isLast": start + size >= len(hits),
        }
        if start + size < len(hits):
            reply["nextPageToken"] = str(max(start + 1, start + size - self.page_overlap))
        return Reply(200, reply)

    def _changelog(self, issue: Issue, request: Request) -> Reply:
        start = int(request.param("startAt", "0") or 0)
        size = min(int(request.param("maxResults", "100") or 100), self.page_size)
        with self.lock:
            values = issue.changelog[start : start + size]
            total = len(issue.changelog)
        reply: dict[str, Any] = {
            "self": f"{self.url}/rest/api/3/issue/{issue.key}/changelog?startAt={start}&maxResults={size}",
            "maxResults": size,
            "startAt": start,
            "total": total,
            "isLast": start + size >= total,
            "values": values,
        }
        if start + size < total:
            reply["nextPage"] = (
                f"{self.url}/rest/api/3/issue/{issue.key}/changelog?startAt={start + size}&maxResults={size}"
            )
        return Reply(200, reply)

    def _create(self, body: dict[str, Any]) -> Reply:
        fields = body["fields"]
        errors: dict[str, str] = {}
        if fields.get("project", {}).get("key") != self.project:
            errors["project"] = "valid project is required"
        if (
            not isinstance(fields.get("summary"), str)
            or not fields["summary"]
            or len(fields["summary"]) > 255
        ):
            errors["summary"] = "You must specify a summary of the issue (at most 255 characters)."
        if not fields.get("issuetype", {}).get("name"):
            errors["issuetype"] = "valid issue type is required"
        if any(" " in str(label) for label in fields.get("labels") or []):
            errors["labels"] = "The label can't contain spaces."
        try:
            validate_adf(fields.get("description"))
        except ValueError as exc:
            errors["description"] = f"Operation value must be an Atlassian Document: {exc}"
        if errors:
            return Reply(400, {"errorMessages": [], "errors": errors})
        with self.lock:
            number = len(self.issues) + 1
            key = f"{self.project}-{number}"
            issue = Issue(
                id=str(10000 + number),
                key=key,
                fields={
                    "summary": fields["summary"],
                    "description": fields["description"],
                    "labels": list(fields.get("labels") or []),
                    "issuetype": {"name": fields["issuetype"]["name"]},
                    "status": STATUSES["To Do"],
                    "resolution": None,
                    "resolutiondate": None,
                    "created": _jira_time(datetime.now(UTC)),
                },
                properties={p["key"]: p["value"] for p in body.get("properties") or []},
                visible_after=self.searches + self.search_lag + 1,
            )
            self.issues[key] = issue
        return Reply(201, {"id": issue.id, "key": key, "self": f"{self.url}/rest/api/3/issue/{issue.id}"})

    def _link(self, body: dict[str, Any]) -> Reply:
        inward, outward = body["inwardIssue"]["key"], body["outwardIssue"]["key"]
        with self.lock:
            if inward not in self.issues or outward not in self.issues:
                return Reply(404, {"errorMessages": ["Issue does not exist"]})
            self.issues[inward].links.append(outward)
        return Reply(201)


def _in_period(fields: dict[str, Any], start: str) -> bool:
    """Return True for an issue `(created >= start OR resolutiondate >= start OR statusCategory != Done)` selects."""
    category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
    resolved = fields.get("resolutiondate")
    return (
        str(fields.get("created", ""))[:10] >= start
        or (isinstance(resolved, str) and resolved[:10] >= start)
        or category != "done"
    )


def _parse_jql(jql: str) -> dict[str, str] | None:
    """Return {project, labels, issuetype, created} of the JQL this emulator understands, else None."""
    if not jql.endswith(_JQL_ORDER):
        return None
    wanted: dict[str, str] = {}
    for clause in jql[: -len(_JQL_ORDER)].split(" AND "):
        period = _JQL_PERIOD.match(clause)
        if period and period.group(1) == period.group(2):
            wanted["period"] = period.group(1)
            continue
        match = _JQL_CLAUSE.match(clause)
        if not match:
            return None
        if match.group(3):
            wanted["created"] = match.group(3)
        else:
            wanted[match.group(1)] = match.group(2)
    return wanted if "project" in wanted else None


def _jira_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}" + when.strftime("%z")
