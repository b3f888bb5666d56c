"""A GitHub Issues REST emulator: the documented endpoints the ticket backend uses.

Endpoints: `GET /repos/{o}/{r}/issues` (`labels`, `state`, `per_page`, `page`, `sort`,
`direction`; pull requests mixed in, marked by a `pull_request` key; pagination by the `Link`
header), `POST /repos/{o}/{r}/issues`, `GET|PATCH /repos/{o}/{r}/issues/{n}` (`state_reason` is
ignored unless `state` changes), `POST /repos/{o}/{r}/issues/{n}/comments`,
`GET /repos/{o}/{r}/issues/{n}/events` (`per_page`, `page`, `Link`; issue events such as
`labeled` with `label.name`, `actor` and `created_at`). `add_issue` seeds an issue as a person
made it (any creation and close time, labels added later with `add_label_event`).

Authentication: `Authorization: Bearer <token>` (401 "Bad credentials" otherwise) and an
`X-GitHub-Api-Version` of 2022-11-28 (400 otherwise). `throttle_once=True` answers the first
write with 429 and `Retry-After: 1` (a secondary rate limit). `close_by_person` closes an issue
as a person would (e.g. `not_planned`); `add_pull_request` mixes a PR into the listing.
`page_overlap` (default 0) makes every listing page after the first start that many issues early,
as when an issue is created while a client pages through a newest-first listing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from demo.standins.ticket_emulators.base import HttpsEmulator, Reply, Request


def _now() -> str:
    return _time(datetime.now(UTC))


def _time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubEmulator(HttpsEmulator):
    """GitHub Issues of one repository (see the module docstring)."""

    name = "github-emulator"

    def __init__(
        self, *, repository: str = "lucrasoft/ops", token: str = "gh-token", throttle_once: bool = False
    ) -> None:
        """Serve `repository` accepting Bearer `token`."""
        super().__init__()
        self.repository = repository
        self.token = token
        self.throttle_once = throttle_once
        self.throttled = 0
        self.items: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[str]] = {}
        self.events: dict[int, list[dict[str, Any]]] = {}
        self.page_size = 3
        self.page_overlap = 0

    def check_auth(self, request: Request) -> Reply | None:
        """Refuse a missing or wrong token (401) and an unsupported API version (400)."""
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                },
            )
        if request.headers.get("x-github-api-version") != "2022-11-28":
            return Reply(400, {"message": "Unsupported 'X-GitHub-Api-Version'"})
        if self.throttle_once and self.is_write(request) and self.throttled == 0:
            self.throttled += 1
            return Reply(
                429,
                {
                    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
                },
                {"Retry-After": "1"},
            )
        return None

    def _next_number(self) -> int:
        return max(self.items, default=0) + 1

    def add_pull_request(self, labels: list[str]) -> int:
        """Add an open pull request carrying `labels` (the issues listing returns PRs too)."""
        with self.lock:
            number = self._next_number()
            self.items[number] = self._issue(number, "a pull request", "", labels)
            self.items[number]["pull_request"] = {"url": f"{self.url}/repos/{self.repository}/pulls/{number}"}
            return number

    def close_by_person(self, number: int, reason: str = "not_planned") -> None:
        """Close issue `number` as a person would, with `state_reason` `reason`."""
        with self.lock:
            item = self.items[number]
            item.update(state="closed", state_reason=reason, closed_at=_now())

    def add_issue(
        self,
        *,
        title: str,
        body: str,
        labels: list[str],
        created: datetime,
        closed: datetime | None = None,
        actor: str = "ops-person",
        state_reason: str | None = "completed",
    ) -> int:
        """Add an issue made by a person at `created` (closed at `closed` with `state_reason`); return its number."""
        with self.lock:
            number = self._next_number()
            item = self._issue(number, title, body, labels)
            item["created_at"] = _time(created)
            if closed is not None:
                item.update(state="closed", state_reason=state_reason, closed_at=_time(closed))
            self.items[number] = item
            self.events[number] = []
            for name in labels:
                self._label_event(number, name, created, actor)
            return number

    def add_label_event(self, number: int, name: str, when: datetime, actor: str = "ops-person") -> None:
        """Add label `name` to issue `number` at `when`, as a person would (a `labeled` event)."""
        with self.lock:
            self.items[number]["labels"].append({"name": name})
            self._label_event(number, name, when, actor)

    def _label_event(self, number: int, name: str, when: datetime, actor: str) -> None:
        events = self.events.setdefault(number, [])
        events.append(
            {
                "id": 5000 + sum(len(e) for e in self.events.values()),
                "url": f"{self.url}/repos/{self.repository}/issues/events/{len(events) + 1}",
                "actor": {"login": actor, "id": 42, "type": "User"},
                "event": "labeled",
                "commit_id": None,
                "commit_url": None,
                "created_at": _time(when),
                "label": {"name": name, "color": "d73a4a"},
            }
        )

    def issues(self) -> list[dict[str, Any]]:
        """Return the issues (not pull requests), oldest first."""
        with self.lock:
            return [i for _, i in sorted(self.items.items()) if "pull_request" not in i]

    def _issue(self, number: int, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        return {
            "id": 1000 + number,
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "state_reason": None,
            "labels": [{"name": name} for name in labels],
            "html_url": f"https://github.example/{self.repository}/issues/{number}",
            "created_at": _now(),
            "closed_at": None,
        }

    def handle(self, request: Request) -> Reply:
        """Route one request to the documented endpoint it targets."""
        base = f"/repos/{self.repository}/issues"
        if request.path == base and request.method == "GET":
            return self._list(request)
        if request.path == base and request.method == "POST":
            body = request.json()
            if not isinstance(body.get("title"), str) or not body["title"]:
                return Reply(422, {"message": "Validation Failed"})
            with self.lock:
                number = self._next_number()
                self.items[number] = self._issue(
                    number, body["title"], body.get("body") or "", list(body.get("labels") or [])
                )
                self.comments[number] = []
                return Reply(201, self.items[number])
        events = re.fullmatch(re.escape(base) + r"/(\d+)/events", request.path)
        if events and request.method == "GET":
            return self._events(request, int(events.group(1)))
        match = re.fullmatch(re.escape(base) + r"/(\d+)(/comments)?", request.path)
        if not match:
            return Reply(404, {"message": "Not Found"})
        number = int(match.group(1))
        with self.lock:
            item = self.items.get(number)
            if item is None:
                return Reply(404, {"message": "Not Found"})
            if match.group(2) and request.method == "POST":
                self.comments.setdefault(number, []).append(str(request.json()["body"]))
                return Reply(201, {"id": len(self.comments[number]), "body": request.json()["body"]})
            if not match.group(2) and request.method == "GET":
                return Reply(200, item)
            if not match.group(2) and request.method == "PATCH":
                body = request.json()
                if "body" in body:
                    item["body"] = body["body"]
                if "title" in body:
                    item["title"] = body["title"]
                state = body.get("state")
                if state in ("open", "closed") and state != item["state"]:
                    item["state"] = state
                    item["state_reason"] = body.get("state_reason") or (
                        "completed" if state == "closed" else "reopened"
                    )
                    item["closed_at"] = _now() if state == "closed" else None
                return Reply(200, item)
        return Reply(404, {"message": "Not Found"})

    def _events(self, request: Request, number: int) -> Reply:
        per_page = min(int(request.param("per_page", "30") or 30), self.page_size)
        page = int(request.param("page", "1") or 1)
        with self.lock:
            if number not in self.items:
                return Reply(404, {"message": "Not Found"})
            events = list(self.events.get(number, []))
        headers: dict[str, str] = {}
        if page * per_page < len(events):
            headers["Link"] = f'<{self.url}{request.path}?per_page={per_page}&page={page + 1}>; rel="next"'
        return Reply(200, events[(page - 1) * per_page : page * per_page], headers)

    def _list(self, request: Request) -> Reply:
        wanted = [name for name in (request.param("labels") or "").split(",") if name]
        state = request.param("state", "open")
        per_page = min(int(request.param("per_page", "30") or 30), self.page_size)
        page = int(request.param("page", "1") or 1)
        with self.lock:
            hits = [
                item
                for item in self.items.values()
                if all(name in {label["name"] for label in item["labels"]} for name in wanted)
                and (state == "all" or item["state"] == state)
            ]
        hits.sort(key=lambda i: i["number"], reverse=request.param("direction", "desc") == "desc")
        start = max(0, (page - 1) * per_page - (self.page_overlap if page > 1 else 0))
        chunk = hits[start : start + per_page]
        headers: dict[str, str] = {}
        if start + per_page < len(hits):
            query = "&".join(f"{k}={v[0]}" for k, v in sorted(request.query.items()) if k != "page")
            headers["Link"] = f'<{self.url}{request.path}?{query}&page={page + 1}>; rel="next"'
        return Reply(200, chunk, headers)
