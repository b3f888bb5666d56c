"""Indexing one archived night into the history database, idempotently.

A night is indexed from its bundle alone (evidence.json, the manifest's sha256 and chain.json), so
the same night indexed twice, or the whole archive re-indexed into an empty database, gives the
same rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reports.archive.chain import ChainLink, RunKey
from reports.history.database import HistoryDatabase

_BATCH = 500


@dataclass(frozen=True)
class IndexedRun:
    """What indexing a night wrote: its key and how many results."""

    run_key: str
    results: int


def _document(value: Mapping[str, Any]) -> tuple[str, str]:
    body = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest(), body


def _batches(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _BATCH):
        yield values[start : start + _BATCH]


def _document_ids(db: HistoryDatabase, documents: Mapping[str, str]) -> dict[str, int]:
    """Return {sha256: id} for `documents` ({sha256: body}), inserting those not stored yet."""
    shas = sorted(documents)
    found: dict[str, int] = {}
    for batch in _batches(shas):
        marks = ",".join("?" * len(batch))
        found.update(
            (sha, int(i))
            for i, sha in db.execute(f"SELECT id, sha256 FROM documents WHERE sha256 IN ({marks})", batch)
        )
    missing = [(sha, documents[sha]) for sha in shas if sha not in found]
    if missing:
        db.execute_many("INSERT INTO documents (sha256, body) VALUES (?, ?)", missing)
        for batch in _batches([sha for sha, _ in missing]):
            marks = ",".join("?" * len(batch))
            found.update(
                (sha, int(i))
                for i, sha in db.execute(f"SELECT id, sha256 FROM documents WHERE sha256 IN ({marks})", batch)
            )
    return found


def _item_ids(db: HistoryDatabase, items: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Return {(control, resource): id}, inserting the items not stored yet."""
    known = {(c, r): int(i) for i, c, r in db.execute("SELECT id, control, resource FROM items")}
    missing = sorted(items - set(known))
    if missing:
        db.execute_many("INSERT INTO items (control, resource) VALUES (?, ?)", missing)
        known = {(c, r): int(i) for i, c, r in db.execute("SELECT id, control, resource FROM items")}
    return known


def _forget(db: HistoryDatabase, run_key: str) -> None:
    for (run,) in db.execute("SELECT id FROM runs WHERE run_key = ?", (run_key,)):
        db.execute("DELETE FROM results WHERE run = ?", (run,))
        db.execute("DELETE FROM controls WHERE run = ?", (run,))
        db.execute("DELETE FROM runs WHERE id = ?", (run,))


def index_run(
    db: HistoryDatabase,
    key: RunKey,
    evidence: Mapping[str, Any],
    manifest_sha256: str,
    link: ChainLink | None,
) -> IndexedRun:
    """Write one archived night into the history (replacing what an earlier indexing of it wrote).

    `evidence` is the night's evidence.json, `manifest_sha256` the sha256 of its manifest and `link`
    its chain.json (None when the bundle has none). Raises KeyError/TypeError/ValueError when the
    evidence lacks what the history needs; nothing is written then.
    """
    run = evidence["run"]
    results = evidence["results"]
    if not isinstance(results, list):
        raise TypeError("evidence.json: results is not a list")
    tool = run.get("tool") or {}
    counts: dict[str, int] = {}
    documents: dict[str, str] = {}
    rows: list[tuple[tuple[str, str], str, str | None, str | None]] = []
    for result in results:
        status = str(result["status"])
        counts[status] = counts.get(status, 0) + 1
        finding_sha = waiver_sha = None
        if status != "pass" or result.get("finding") is not None:
            finding_sha, body = _document(
                {"message": result.get("message", ""), "finding": result.get("finding")}
            )
            documents[finding_sha] = body
        if result.get("waiver"):
            waiver_sha, body = _document(result["waiver"])
            documents[waiver_sha] = body
        rows.append(((str(result["control"]), str(result["resource"])), status, finding_sha, waiver_sha))
    with db.transaction():
        _forget(db, key.prefix)
        db.execute(
            "INSERT INTO runs (run_key, night, run_id, started_at, finished_at, tool_version, git_commit, "
            "config_sha256, policy, manifest_sha256, previous_key, previous_sha256, chain_unknown, waivers, "
            "tickets, counts, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.prefix,
                key.night.isoformat(),
                key.run_id,
                str(run["started_at"]),
                str(run.get("finished_at") or run["started_at"]),
                tool.get("version"),
                tool.get("git_commit"),
                (run.get("config") or {}).get("sha256"),
                json.dumps(run.get("policy") or {}, sort_keys=True),
                manifest_sha256,
                link.previous.key if link is not None and link.previous is not None else None,
                link.previous.manifest_sha256 if link is not None and link.previous is not None else None,
                (link.unknown or None) if link is not None else "no chain.json in the bundle",
                json.dumps(evidence.get("waivers") or [], sort_keys=True),
                json.dumps(evidence["tickets"], sort_keys=True) if evidence.get("tickets") else None,
                json.dumps(counts, sort_keys=True),
                datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ),
        )
        [(run_row,)] = db.execute("SELECT id FROM runs WHERE run_key = ?", (key.prefix,))
        per_control: dict[str, dict[str, int]] = {}
        for (control, _resource), status, _f, _w in rows:
            tally = per_control.setdefault(control, {})
            tally[status] = tally.get(status, 0) + 1
        db.execute_many(
            "INSERT INTO controls (run, control, clause, title, severity, pass_condition, counts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_row,
                    c["id"],
                    c["clause"],
                    c["title"],
                    c["severity"],
                    c.get("pass_condition", ""),
                    json.dumps(per_control.get(c["id"], {}), sort_keys=True),
                )
                for c in evidence.get("controls") or []
            ],
        )
        items = _item_ids(db, {item for item, *_ in rows})
        ids = _document_ids(db, documents)
        db.execute_many(
            "INSERT INTO results (run, item, status, finding, waiver) VALUES (?, ?, ?, ?, ?)",
            [
                (run_row, items[item], status, ids[f] if f else None, ids[w] if w else None)
                for item, status, f, w in rows
            ],
        )
    return IndexedRun(key.prefix, len(rows))
