"""Small sealed, chained archives built night by night from a plan, for the history and period tests."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from reports.archive.archiver import archive_bundle, chain_link
from reports.archive.chain import CHAIN_NAME, RunKey
from reports.archive.store import FolderStore
from reports.evidence import write_json
from reports.manifest import write_manifest

START = date(2026, 11, 1)
DB_CONTROL = "12e.azure-sql-tde"


def evidence(night: date, statuses: dict[str, str], policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a small evidence.json of `night`: one result per resource with the given status."""
    return {
        "run": {
            "started_at": f"{night.isoformat()}T02:00:00Z",
            "finished_at": f"{night.isoformat()}T02:05:00Z",
            "tool": {"name": "statement-auditor", "version": "0.1.0", "git_commit": "a" * 40},
            "config": {"path": "audit.toml", "sha256": "c" * 64},
            "policy": policy or {"min_tls": "1.2"},
        },
        "controls": [
            {
                "id": DB_CONTROL,
                "clause": "12e",
                "title": "SQL databases are encrypted",
                "severity": "high",
                "pass_condition": "TDE on",
            }
        ],
        "results": [
            {
                "control": DB_CONTROL,
                "resource": resource,
                "status": status,
                "message": f"TDE is {'Disabled' if status == 'fail' else 'Enabled'} on {resource}",
                "finding": {"id": "TDE is {state} on {db}", "params": {"state": "Disabled", "db": resource}}
                if status == "fail"
                else None,
                "waiver": None,
            }
            for resource, status in statuses.items()
        ],
        "waivers": [],
        "tickets": None,
    }


def nights_of(plan: dict[str, str]) -> list[tuple[date, dict[str, str]]]:
    """Return (night, statuses) per night of a plan {resource: one letter per night, P pass, F fail, - absent, ' ' no run}."""
    length = max(len(v) for v in plan.values())
    out = []
    for index in range(length):
        marks = {resource: line[index] for resource, line in plan.items()}
        if all(mark == " " for mark in marks.values()):
            continue
        statuses = {r: {"P": "pass", "F": "fail", "E": "error"}[m] for r, m in marks.items() if m in "PFE"}
        out.append((START + timedelta(days=index), statuses))
    return out


def build_archive(root: Path, plan: dict[str, str], policy: dict[str, Any] | None = None) -> FolderStore:
    """Return a folder archive with one sealed, chained night per night of `plan`."""
    store = FolderStore(root / "archive")
    for night, statuses in nights_of(plan):
        key = RunKey(night, night.strftime("%Y%m%dT020000Z"))
        bundle = root / "bundles" / night.isoformat()
        bundle.mkdir(parents=True)
        write_json(bundle / "evidence.json", evidence(night, statuses, policy))
        (bundle / CHAIN_NAME).write_bytes(chain_link(store, key).dumps())
        write_manifest(bundle)
        archive_bundle(bundle, store, key.prefix)
    return store
