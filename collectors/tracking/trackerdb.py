"""The tracker database the pages' hosts are looked up in: a compact copy of Ghostery's TrackerDB.

`trackerdb.json` beside this module is generated from the npm package `@ghostery/trackerdb`
at the version pinned in `update_trackerdb.py` (see the README beside it); it maps each
tracker domain to a tracker key, and each key to (name, category, organization). TrackerDB is
CC-BY-NC-SA-4.0 (non-commercial): `[tracking] tracker_database` points the auditor at a file of
the same reduced shape made from a licensed copy (`update_trackerdb.py --from FILE`).

A database is checked whole when it is read: a file that is missing, not JSON or not the reduced
shape is refused (`TrackerDatabaseError`), never half used, since a domain that silently matches
nothing would let a tracker through.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from collectors.tracking.facts import TrackerMatch, match_tracker

DATABASE = Path(__file__).with_name("trackerdb.json")
HOW_TO_MAKE_ONE = "make one with `python -m collectors.tracking.update_trackerdb --from FILE --output PATH`"


class TrackerDatabaseError(ValueError):
    """A tracker database file that cannot be used: missing, unreadable, not JSON or not the reduced shape."""


@dataclass(frozen=True)
class TrackerDatabase:
    """Tracker domains and what they belong to, with where they came from."""

    source: str
    """What the file says it was made from ("npm:@ghostery/trackerdb@1.0.945")."""
    domains: Mapping[str, str]
    trackers: Mapping[str, Sequence[str]]
    sha256: str
    """The sha256 of the file as read: which copy it was, whatever its `source` says."""

    @property
    def label(self) -> str:
        """Return how the evidence names the database: its source and the sha256 of the file read.

        Recorded with every page visit, so an auditor sees which database (name, version, copy)
        classified the requests, and a replay judges against the one the run used.
        """
        return f"{self.source}, sha256 {self.sha256}"

    def match(self, host: str) -> TrackerMatch | None:
        """Return the tracker `host` (or a parent domain of it) belongs to, or None."""
        return match_tracker(host, self.domains, self.trackers)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def shape_problem(data: Any) -> str | None:
    """Return what keeps `data` from being a reduced tracker database, or None when it is one.

    The shape is the shipped file's: a non-empty `source`, `trackers` mapping each key to
    [name, category, organization] (texts; the organization may be ""), and a non-empty `domains`
    mapping lower-case domains to keys that `trackers` lists. Only the first problem is named.
    """
    if not isinstance(data, dict):
        return "expected a JSON object"
    if not _is_text(data.get("source")):
        return '"source" must name the database (e.g. "npm:@ghostery/trackerdb@1.0.945")'
    trackers, domains = data.get("trackers"), data.get("domains")
    if not isinstance(trackers, dict):
        return '"trackers" must be an object: tracker key -> [name, category, organization]'
    if not isinstance(domains, dict) or not domains:
        return '"domains" must be a non-empty object: domain -> tracker key'
    for key, words in trackers.items():
        if not (isinstance(words, list) and len(words) == 3 and all(isinstance(w, str) for w in words)):
            return f"trackers[{key!r}] must be [name, category, organization] (three texts)"
        if not (words[0] and words[1]):
            return f"trackers[{key!r}] needs a name and a category"
    for domain, key in domains.items():
        if not domain or domain != domain.strip().lower().strip("."):
            return f"domains[{domain!r}] must be a lower-case domain without leading or trailing dots"
        if not isinstance(key, str) or key not in trackers:
            return f'domains[{domain!r}] names tracker {key!r}, which "trackers" does not list'
    return None


def read_tracker_database(path: Path) -> TrackerDatabase:
    """Return the reduced tracker database in `path`, checked whole.

    Raises TrackerDatabaseError naming `path` and what is wrong (no such file, unreadable, not
    JSON, not the reduced shape), so a bad `[tracking] tracker_database` stops the run before
    anything is collected instead of classifying nothing.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TrackerDatabaseError(f"no such file {path}") from None
    except OSError as exc:
        raise TrackerDatabaseError(f"{path} cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrackerDatabaseError(f"{path} is not valid JSON ({exc})") from None
    problem = shape_problem(data)
    if problem is not None:
        raise TrackerDatabaseError(f"{path} is not a reduced tracker database: {problem} ({HOW_TO_MAKE_ONE})")
    return TrackerDatabase(
        source=data["source"],
        domains=data["domains"],
        trackers=data["trackers"],
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def tracker_database(path: Path = DATABASE) -> TrackerDatabase:
    """Return the database read from `path`, checked (see `read_tracker_database`).

    Read once per version of the file (its size and modification time), because the config check
    and the collector ask for the same file: the run classifies with the copy checked when the
    config was loaded, and a long-lived process still sees a file replaced since.
    """
    try:
        stat = path.stat()
    except OSError:
        return read_tracker_database(path)  # raises, saying why the file cannot be read
    return _read_once(path, stat.st_size, stat.st_mtime_ns)


@cache
def _read_once(path: Path, size: int, modified_ns: int) -> TrackerDatabase:
    """Return `read_tracker_database(path)`, cached per (path, size, modification time)."""
    return read_tracker_database(path)
