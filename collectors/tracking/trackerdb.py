"""The tracker database the pages' hosts are looked up in: a compact, pinned copy of Ghostery's.

`trackerdb.json` beside this module is generated from the npm package `@ghostery/trackerdb`
at the version pinned in `update_trackerdb.py` (see the README beside it); it maps each
tracker domain to a tracker key, and each key to (name, category, organization).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from collectors.tracking.facts import TrackerMatch, match_tracker

DATABASE = Path(__file__).with_name("trackerdb.json")


@dataclass(frozen=True)
class TrackerDatabase:
    """Tracker domains and what they belong to."""

    source: str
    """"npm:@ghostery/trackerdb@<version>": recorded with every page visit."""
    domains: Mapping[str, str]
    trackers: Mapping[str, Sequence[str]]

    def match(self, host: str) -> TrackerMatch | None:
        """Return the tracker `host` (or a parent domain of it) belongs to, or None."""
        return match_tracker(host, self.domains, self.trackers)


@cache
def tracker_database(path: Path = DATABASE) -> TrackerDatabase:
    """Return the database read from `path` (once per process)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return TrackerDatabase(source=data["source"], domains=data["domains"], trackers=data["trackers"])
