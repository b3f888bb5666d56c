"""Rebuilding the history from the archive alone: every archived night, indexed again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from reports.archive.chain import CHAIN_NAME, ChainLink, RunKey, runs_in
from reports.archive.store import ArchiveError, ArchiveStore
from reports.history.database import HistoryDatabase
from reports.history.indexing import IndexedRun, index_run
from reports.manifest import EVIDENCE_NAME, MANIFEST_NAME


@dataclass
class ReindexReport:
    """What a reindex did: the nights indexed and those it could not read (each with why)."""

    indexed: list[IndexedRun] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def index_archived_run(store: ArchiveStore, db: HistoryDatabase, run: RunKey) -> IndexedRun:
    """Index one archived night from its objects; ArchiveError/ValueError/KeyError/TypeError when unreadable."""
    manifest = store.get(run.prefix + MANIFEST_NAME)
    evidence = json.loads(store.get(run.prefix + EVIDENCE_NAME).decode("utf-8"))
    try:
        link: ChainLink | None = ChainLink.loads(store.get(run.prefix + CHAIN_NAME))
    except ArchiveError:
        link = None
    return index_run(db, run, evidence, hashlib.sha256(manifest).hexdigest(), link)


def reindex(
    store: ArchiveStore, db: HistoryDatabase, progress: Callable[[int, int, RunKey], None] | None = None
) -> ReindexReport:
    """Index every archived night with a manifest into `db` (idempotent); return what was done.

    A night that cannot be read or indexed is skipped with its reason: the history never holds a
    night the archive cannot back. Raises ArchiveError when the archive cannot be listed.
    """
    report = ReindexReport()
    runs, _strays = runs_in(store.list(""))
    for number, run in enumerate(runs, start=1):
        if progress is not None:
            progress(number, len(runs), run)
        try:
            report.indexed.append(index_archived_run(store, db, run))
        except ArchiveError as exc:
            report.skipped.append(f"{run.prefix}: {exc}")
        except (ValueError, KeyError, TypeError) as exc:
            report.skipped.append(
                f"{run.prefix}: evidence.json cannot be indexed: {type(exc).__name__}: {exc}"
            )
    return report
