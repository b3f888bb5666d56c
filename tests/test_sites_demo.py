"""The two-site demo (README "Several sites"): one command, two real workers, one report, nothing left running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.audit_runs import ROOT


def _processes(needle: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in listing.splitlines() if needle in line and "ps -eo" not in line]


def test_the_two_site_demo_runs_both_sites_and_stops_what_it_started(tmp_path: Path) -> None:
    out = tmp_path / "sites-demo"
    demo = subprocess.run(
        [sys.executable, "-m", "demo.sites", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = demo.stdout + demo.stderr
    assert demo.returncode == 1, output  # the demo estate has findings on purpose
    assert "== workers and broker stopped" in output
    bundle = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    sites = {site["name"]: site for site in bundle["run"]["scope"]["sites"]}
    assert set(sites) == {"rivium", "amsterdam"}
    assert [order["kind"] for order in sites["rivium"]["orders"]] == ["azure", "azure"], (
        "one order per subscription"
    )
    assert all(site["unanswered"] == 0 for site in sites.values())
    assert sites["amsterdam"]["orders"][0]["worker"].startswith("amsterdam@")
    probes = [r for r in bundle["results"] if r["control"] == "12b.exposure-probe"]
    assert [r["status"] for r in probes] == ["fail"], "the emulator's port is open from the untrusted site"
    assert probes[0]["resource"].endswith(" from amsterdam")
    azure = [r for r in bundle["results"] if r["resource"].startswith("/subscriptions/")]
    assert len(azure) > 50
    assert not any("did not answer" in r["message"] for r in bundle["results"])
    assert "Databarn Rivium" in (out / "report.html").read_text(encoding="utf-8")
    assert not _processes("collectors.distributed.app"), "a worker was left running"
    assert not _processes("sites-demo-"), (
        "the broker (its config in the demo's scratch folder) was left running"
    )
