"""The demo's verdicts are a fixed point: restructuring the code must not change one result.

`tests/fixtures/demo_results.json` holds every result of `pytest controls/ --demo` (node id,
control, resource, status, message, observed, expected), with the checkout's path written as
`<repo>`. A change that is meant to change a verdict regenerates it:

    UPDATE_DEMO_RESULTS=1 .venv/bin/python -m pytest tests/test_demo_results.py

and the diff of that file is then part of the change, for a reviewer to read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.audit_runs import ROOT, run_demo

GOLDEN = Path(__file__).with_name("fixtures") / "demo_results.json"
COMPARED = ("control", "resource", "status", "message", "observed", "expected")
"""What is compared per result; sources carry collection times and durations vary."""


def comparable_results(bundle: dict[str, Any], root: Path) -> dict[str, dict[str, Any]]:
    """Return the bundle's results by node id, reduced to COMPARED with `root` written as <repo>."""
    text = json.dumps(
        {r["nodeid"]: {key: r[key] for key in COMPARED} for r in bundle["results"]}, sort_keys=True
    )
    reduced: dict[str, dict[str, Any]] = json.loads(text.replace(str(root), "<repo>"))
    return reduced


def test_demo_results_are_unchanged(tmp_path: Path) -> None:
    completed = run_demo(tmp_path / "evidence")
    assert completed.returncode == 1, completed.stdout[-2000:] + completed.stderr[-2000:]
    bundle = json.loads((tmp_path / "evidence" / "evidence.json").read_text(encoding="utf-8"))
    now = comparable_results(bundle, ROOT)
    if os.environ.get("UPDATE_DEMO_RESULTS") == "1":
        GOLDEN.write_text(
            json.dumps(now, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    before: dict[str, dict[str, Any]] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(now) == sorted(before), "the demo's items changed (ids added or removed)"
    changed = [node for node in sorted(before) if before[node] != now[node]]
    assert not changed, (
        f"{len(changed)} demo results changed, first: {changed[0]}: {before[changed[0]]} -> {now[changed[0]]}"
    )
