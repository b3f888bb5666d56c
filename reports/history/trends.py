"""Trends for the nightly report, from the history: each control's last nights, each failing item's streak.

Computed by the run before its bundle is written and stored in evidence.json (`trends`), so the
report still renders from the bundle alone. The current night comes from the run's own results
(it is indexed only after archiving); earlier nights from the history.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from reports.history.database import HistoryDatabase

TREND_NIGHTS = 90
"""How many nights (the current one included) a control's trend shows."""

NIGHT_MARK = {"fail": "F", "error": "E", "waived": "W", "pass": "P", "not_applicable": "N"}
"""One letter per night: its worst status (fail, error, waived, pass, not applicable); '-' no run."""
_WORST = ("fail", "error", "waived", "pass", "not_applicable")


def _worst(statuses: Sequence[str] | set[str]) -> str:
    return next((NIGHT_MARK[s] for s in _WORST if s in statuses), "-")


def _last_runs(db: HistoryDatabase, first: date, before: date) -> dict[date, int]:
    """Return {night: run id} of the last indexed run of each night in [first, before)."""
    runs: dict[date, int] = {}
    for run_id, night in db.execute(
        "SELECT id, night FROM runs WHERE night >= ? AND night < ? ORDER BY night, run_id",
        (first.isoformat(), before.isoformat()),
    ):
        runs[date.fromisoformat(str(night))] = int(run_id)
    return runs


def night_trends(
    db: HistoryDatabase, run_date: date, results: Sequence[Mapping[str, Any]], *, nights: int = TREND_NIGHTS
) -> dict[str, Any]:
    """Return evidence.json's `trends`: per control its last `nights` as letters and its mean time to
    remediate, per currently failing item the first night of its current streak.

    A streak runs back through consecutive indexed nights on which the item did not pass; a night
    with no run does not break it (nothing was observed), a pass or absence from a run does.
    """
    first = run_date - timedelta(days=nights - 1)
    runs = _last_runs(db, first, run_date)
    by_run = {run_id: night for night, run_id in runs.items()}
    ids = sorted(by_run)
    daily: dict[str, dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))
    marks = ",".join("?" * len(ids))
    if ids:
        for run_id, control, counts in db.execute(
            f"SELECT run, control, counts FROM controls WHERE run IN ({marks})", ids
        ):
            daily[str(control)][by_run[int(run_id)]].update(k for k, v in json.loads(counts).items() if v)
    for result in results:
        daily[str(result["control"])][run_date].add(str(result["status"]))
    window = [first + timedelta(days=i) for i in range(nights)]
    failing = [(str(r["control"]), str(r["resource"])) for r in results if r["status"] in ("fail", "error")]
    history: dict[tuple[str, str], dict[date, str]] = defaultdict(dict)
    remediation: dict[str, list[int]] = defaultdict(list)
    if ids:
        for run_id, control, resource, status in db.execute(
            "SELECT r.run, i.control, i.resource, r.status FROM results r JOIN items i ON i.id = r.item "
            f"WHERE r.run IN ({marks}) AND i.id IN (SELECT item FROM results WHERE run IN ({marks}) "
            "AND status IN ('fail', 'error'))",
            [*ids, *ids],
        ):
            history[(str(control), str(resource))][by_run[int(run_id)]] = str(status)
    current = {(str(r["control"]), str(r["resource"])): str(r["status"]) for r in results}
    for (control, resource), seen in history.items():
        opened: date | None = None
        for night in sorted([*seen, run_date]):
            status = current.get((control, resource)) if night == run_date else seen.get(night)
            if status in ("fail", "error"):
                opened = opened or night
            elif opened is not None and (status == "pass" or night == run_date):
                if status == "pass":
                    remediation[control].append((night - opened).days)
                opened = None
    items = []
    ran = sorted(runs)
    for control, resource in failing:
        seen = history.get((control, resource), {})
        since = run_date
        for night in reversed(ran):
            if seen.get(night) in ("fail", "error"):
                since = night
            else:
                break
        items.append({"control": control, "resource": resource, "failing_since": since.isoformat()})
    return {
        "nights": nights,
        "from": first.isoformat(),
        "to": run_date.isoformat(),
        "controls": {
            control: {
                "marks": "".join(_worst(days.get(night, set())) for night in window),
                "mttr_days": round(sum(remediation[control]) / len(remediation[control]), 1)
                if remediation.get(control)
                else None,
            }
            for control, days in sorted(daily.items())
        },
        "failing": items,
    }
