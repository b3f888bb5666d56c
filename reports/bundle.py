"""Assemble and write the evidence bundle of a run: evidence.json and report.html."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from collectors.estate import Estate
from controls.catalog import CLAUSES, CONTROLS
from controls.framework import STATUSES
from reports.evidence import (
    SCHEMA_VERSION,
    TOOL_NAME,
    ResultRecord,
    git_commit,
    iso_utc,
    machine_identity,
    tool_version,
    write_json,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class RunFacts:
    """What the run was: when, how, on which config and recording."""

    started_at: datetime
    config_path: Path
    config_sha256: str
    policy: dict[str, Any]
    mode: str
    command: str
    recording: dict[str, str] | None = None
    finished_at: datetime | None = None
    run_date: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _counts(results: list[ResultRecord]) -> dict[str, int]:
    counter = Counter(r.status for r in results)
    return {status: counter.get(status, 0) for status in STATUSES}


def build_bundle(run: RunFacts, estate: Estate | None, results: list[ResultRecord]) -> dict[str, Any]:
    """Return the evidence.json document of a run (see reports/evidence.schema.json)."""
    by_control: dict[str, list[ResultRecord]] = {}
    for record in results:
        by_control.setdefault(record.control, []).append(record)
    controls = []
    for control_id in sorted(by_control, key=lambda c: (CONTROLS[c].clause, c)):
        spec = CONTROLS[control_id]
        clause = CLAUSES[spec.clause]
        controls.append(
            {
                "id": spec.id,
                "clause": spec.clause,
                "title": spec.title,
                "severity": spec.severity,
                "iso27001": list(spec.iso27001),
                "pass_condition": spec.pass_condition,
                "clause_text_nl": clause.text_nl,
                "clause_text_en": clause.text_en,
                "counts": _counts(by_control[control_id]),
            }
        )
    populations: dict[str, Any] = {}
    if estate is not None:
        for name in estate.store.names():
            population = estate.store.population(name)
            populations[name] = {
                "count": len(population.subjects),
                "out_of_scope": population.out_of_scope,
                "notes": list(population.notes),
            }
    summary = _counts(results)
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "started_at": iso_utc(run.started_at),
            "finished_at": iso_utc(run.finished_at or run.started_at),
            "run_date": run.run_date,
            "tool": {"name": TOOL_NAME, "version": tool_version(), "git_commit": git_commit(REPO_ROOT)},
            "config": {"path": str(run.config_path), "sha256": run.config_sha256},
            "policy": run.policy,
            "machine": machine_identity(),
            "mode": run.mode,
            "recording": run.recording,
            "command": run.command,
            "scope": {
                "azure": estate.azure.as_json() if estate and estate.azure else None,
                "hosts": estate.hosts.as_json() if estate and estate.hosts else None,
                "populations": populations,
            },
        },
        "controls": controls,
        "results": [r.as_json() for r in results],
        "summary": {**summary, "total": len(results)},
    }


def write_bundle(directory: Path, bundle: dict[str, Any]) -> Path:
    """Write evidence.json and report.html into `directory`; return the report's path."""
    from reports.html import write_html

    directory.mkdir(parents=True, exist_ok=True)
    write_json(directory / "evidence.json", bundle)
    report = directory / "report.html"
    write_html(bundle, report)
    return report
