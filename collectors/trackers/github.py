"""GitHub Issues read for evidence: `GET /repos/{o}/{r}/issues` (labels, state=all, Link paging) and
`GET /repos/{o}/{r}/issues/{n}/events` (when a label was added).

The listing returns titles and bodies whatever is asked: they are dropped here, at the boundary,
with the pull requests the listing mixes in. Of a closed issue its `state_reason` ("completed",
"not_planned", "duplicate"; null on issues closed before GitHub kept one) is kept as its
resolution. Of the labels only whether the configured ones are present is kept. Of the events only
the configured label's `labeled` time is kept (never the actor).

Paging follows the `Link: rel="next"` header, only to URLs under the configured API base (the
token is sent to no other host), and fails closed: a next link answered before (a loop) or a
listing still going after MAX_PAGES makes the register unreadable rather than short.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from collectors.config.trackers import BreachNotificationSettings, TrackerSource
from collectors.trackers.http import RawAnswer, TrackerClient, TrackerUnreadable, credentials
from collectors.trackers.records import analysis_of, in_period, kept_resolution, kept_time
from reports.evidence import msg

PAGE_SIZE = 100
MAX_PAGES = 1000
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def _cite(answer: RawAnswer) -> dict[str, str]:
    return {"call": answer.call, "sha256": answer.sha256, "collected_at": answer.collected_at.isoformat()}


def reduce_issue(source: TrackerSource, issue: dict[str, Any], answer: RawAnswer) -> dict[str, Any]:
    """Return what the controls need of one listed issue (number and times; never title or body)."""
    number = issue.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise TrackerUnreadable(msg("{call} answered an issue without number", call=answer.call))
    labels = {str(label.get("name")) for label in issue.get("labels") or [] if isinstance(label, dict)}
    done = issue.get("state") == "closed"
    record: dict[str, Any] = {
        "key": f"{source.repository}#{number}",
        "number": number,
        "created": kept_time(issue.get("created_at")),
        "resolved": kept_time(issue.get("closed_at")),
        "done": done,
        "resolution": kept_resolution(issue.get("state_reason")) if done else None,
        "events": [],
        "sources": [_cite(answer)],
    }
    if isinstance(source, BreachNotificationSettings):
        record["analysis"] = analysis_of(source.notify_label in labels, source.no_notify_label in labels)
    return record


def reduce_events(source: BreachNotificationSettings, events: list[Any]) -> list[dict[str, Any]]:
    """Return the times the configured label was added."""
    return [
        {
            "at": kept_time(event.get("created_at")) or "unreadable",
            "kind": "label",
            "name": source.notified_label,
        }
        for event in events
        if isinstance(event, dict)
        and event.get("event") == "labeled"
        and (event.get("label") or {}).get("name") == source.notified_label
    ]


class GitHubReader:
    """Reads one register from a GitHub repository's issues."""

    def __init__(self, source: TrackerSource) -> None:
        token, _ = credentials(source)
        self.source = source
        self.client = TrackerClient(
            source,
            auth=None,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            ca_bundle=str(source.ca_bundle) if source.ca_bundle else None,
        )

    def query(self) -> str:
        """Return the query as shown in the evidence."""
        since = (
            f" (created>={self.source.since.isoformat()} or closed>={self.source.since.isoformat()} or open)"
            if self.source.since
            else ""
        )
        return f"repo:{self.source.repository} is:issue label:{self.source.label}{since}"

    def read(self) -> list[dict[str, Any]]:
        """Return every issue of the register, reduced; TrackerUnreadable when any page cannot be read."""
        try:
            return self._read()
        finally:
            self.client.close()

    def _next(self, answer: RawAnswer, seen: set[str]) -> str | None:
        """Return the Link header's next URL, None after the last page; TrackerUnreadable for a loop or another host."""
        found = _NEXT.search(answer.headers.get("link", ""))
        if found is None:
            return None
        url = found.group(1)
        if not url.startswith(f"{self.source.url}/"):
            raise TrackerUnreadable(
                msg("{call} links its next page outside {base}", call=answer.call, base=self.source.url)
            )
        if url in seen:
            raise TrackerUnreadable(msg("{call} links to a page it had answered before", call=answer.call))
        seen.add(url)
        return url

    def _read(self) -> list[dict[str, Any]]:
        base = f"{self.source.url}/repos/{self.source.repository}/issues"
        url: str = (
            f"{base}?labels={quote(str(self.source.label))}&state=all&sort=created&direction=desc"
            f"&per_page={PAGE_SIZE}"
        )
        seen = {url}
        records: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            answer = self.client.request(
                "GET", url, shown=f"/repos/{self.source.repository}/issues page {page}"
            )
            if not isinstance(answer.data, list):
                raise TrackerUnreadable(msg("{call} answered no issues list", call=answer.call))
            for issue in answer.data:
                if not isinstance(issue, dict):
                    raise TrackerUnreadable(msg("{call} answered an issue without number", call=answer.call))
                if "pull_request" not in issue:
                    records.append(reduce_issue(self.source, issue, answer))
            following = self._next(answer, seen)
            if following is None:
                break
            url = following
        else:
            raise TrackerUnreadable(
                msg("{call} did not end after {pages} pages", call="issues", pages=MAX_PAGES)
            )
        records = [record for record in records if in_period(record, self.source.since)]
        if isinstance(self.source, BreachNotificationSettings):
            for record in records:
                self._events(self.source, record)
        for record in records:
            record.pop("number", None)
        return records

    def _events(self, source: BreachNotificationSettings, record: dict[str, Any]) -> None:
        number = record["number"]
        url: str = f"{source.url}/repos/{source.repository}/issues/{number}/events?per_page={PAGE_SIZE}"
        seen = {url}
        for page in range(1, MAX_PAGES + 1):
            answer = self.client.request(
                "GET", url, shown=f"/repos/{source.repository}/issues/{number}/events page {page}"
            )
            if not isinstance(answer.data, list):
                raise TrackerUnreadable(msg("{call} answered no events list", call=answer.call))
            record["events"].extend(reduce_events(source, answer.data))
            record["sources"].append(_cite(answer))
            following = self._next(answer, seen)
            if following is None:
                return
            url = following
        where = f"issues/{number}/events"
        raise TrackerUnreadable(msg("{call} did not end after {pages} pages", call=where, pages=MAX_PAGES))
