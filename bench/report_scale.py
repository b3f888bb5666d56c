"""Benchmark: the HTML evidence report at estate scale (20,000 results over 60 controls).

    python -m bench.report_scale [--results 20000] [--controls 60] [--runs 5] [--render-runs 5]
                                 [--lang en] [--keep DIR]

Generates a bundle shaped like a nightly run over a large Azure estate: 20 subscriptions, ARM
resource ids, one per-resource GET per result (its own sha256) plus, for half the controls, a
listing call shared by the results of a subscription; messages, observed and expected values
like the real controls write; about 86 % pass, 8 % fail, 2 % error, 1 % waived (with approver,
justification and expiry; some expired waivers on failures) and 3 % not applicable. Then:

* **generation**: `reports.html.render_html` on the bundle, the median of `--runs` runs;
* **size**: the written report.html in MB (10^6 bytes);
* **first render in Chromium**: Debian's headless Chromium (through Playwright) opens the file
  in a fresh context, the median of `--render-runs` runs of navigation start → first
  contentful paint and navigation start → load event end.

Compared with the targets of issue 7: under 5 s to generate, under 15 MB, under 3 s to render.
Exit status 0 when every target is met, 1 otherwise (2 when Chromium is missing).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controls.catalog import catalog_entries
from reports.evidence import STATUSES
from reports.html import render_html, write_html
from reports.i18n.translation import Language

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TARGET_GENERATION_S = 5.0
TARGET_SIZE_MB = 15.0
TARGET_RENDER_S = 3.0
ARM = "https://management.azure.com"
STARTED = "2026-11-29T02:00:00Z"


@dataclass(frozen=True)
class ResourceKind:
    """One kind of Azure resource a generated control evaluates."""

    provider: str
    api_version: str
    detail: str
    observed_key: str
    good: str
    bad: str


KINDS: tuple[ResourceKind, ...] = (
    ResourceKind(
        "Microsoft.Sql/servers/{name}/databases/db-{i:04d}",
        "2023-08-01",
        "/transparentDataEncryption/current",
        "tde_state",
        "Enabled",
        "Disabled",
    ),
    ResourceKind("Microsoft.Sql/servers/{name}", "2023-08-01", "", "minimal_tls_version", "1.2", "1.0"),
    ResourceKind(
        "Microsoft.Storage/storageAccounts/st{i:05d}",
        "2023-05-01",
        "",
        "minimum_tls_version",
        "TLS1_2",
        "TLS1_0",
    ),
    ResourceKind(
        "Microsoft.Web/sites/app-{i:04d}", "2023-12-01", "/config/web", "min_tls_version", "1.2", "1.0"
    ),
    ResourceKind(
        "Microsoft.Compute/virtualMachines/vm-{i:04d}",
        "2024-07-01",
        "",
        "encryption_at_host",
        "true",
        "false",
    ),
    ResourceKind(
        "Microsoft.Network/networkSecurityGroups/nsg-{i:04d}",
        "2024-05-01",
        "",
        "open_admin_ports",
        "[]",
        "[3389]",
    ),
)


def _sha(*parts: object) -> str:
    """Return a deterministic sha256 standing in for the hash of a raw response."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _status(rng: random.Random) -> str:
    """Return a status drawn with the mix of a mostly compliant estate."""
    roll = rng.random()
    if roll < 0.86:
        return "pass"
    if roll < 0.94:
        return "fail"
    if roll < 0.96:
        return "error"
    if roll < 0.97:
        return "waived"
    return "not_applicable"


def _result(control: dict[str, Any], kind: ResourceKind, index: int, rng: random.Random) -> dict[str, Any]:
    """Return one generated result of `control` over the `index`-th resource of its kind."""
    subscription = f"{index % 20 + 1:08d}-1111-4111-8111-{index % 20 + 1:012d}"
    group = f"rg-{['web', 'data', 'synda', 'partner', 'legacy'][index % 5]}-{index % 7:02d}"
    name = f"sql-{['weu', 'neu', 'gwc'][index % 3]}-{index // 10:04d}"
    resource = f"/subscriptions/{subscription}/resourceGroups/{group}/providers/" + kind.provider.format(
        name=name, i=index
    )
    status = _status(rng)
    collected = f"2026-11-29T02:{index // 600 % 60:02d}:{index % 60:02d}Z"
    call = f"GET {ARM}{resource}{kind.detail}?api-version={kind.api_version}"
    sources = [
        {
            "collector": "azure.arm",
            "call": call,
            "api_version": kind.api_version,
            "status": 200 if status != "error" else 403,
            "collected_at": collected,
            "sha256": _sha(call, collected),
        }
    ]
    if control["shared_listing"]:
        listing = f"GET {ARM}/subscriptions/{subscription}/providers/{kind.provider.split('/')[0]}/{kind.provider.split('/')[1]}?api-version={kind.api_version}"
        sources.append(
            {
                "collector": "azure.arm",
                "call": listing,
                "api_version": kind.api_version,
                "status": 200,
                "collected_at": "2026-11-29T02:00:01Z",
                "sha256": _sha(listing),
            }
        )
    short = resource.rsplit("/", 1)[-1]
    observed: dict[str, Any] = {kind.observed_key: kind.bad if status in ("fail", "waived") else kind.good}
    observed["location"] = ["westeurope", "northeurope", "germanywestcentral"][index % 3]
    message = f"{kind.observed_key} is {observed[kind.observed_key]} on {short}"
    waiver = None
    if status == "error":
        observed = {}
        message = f"GET {kind.provider.split('/')[1]} on {short}: HTTP 403 AuthorizationFailed (the credential lacks read access)"
    elif status == "not_applicable":
        observed = {}
        message = f"{short} is deallocated: nothing to evaluate"
    elif status == "waived":
        waiver = {
            "resource_pattern": f"/subscriptions/{subscription}/resourceGroups/{group}/*",
            "justification": "Legacy client requires TLS 1.0 until migration ticket OPS-1234 lands",
            "approved_by": "J. de Vries (CISO)",
            "expires": "2027-03-31",
            "expired": False,
        }
    elif status == "fail" and index % 11 == 0:
        waiver = {
            "resource_pattern": f"/subscriptions/{subscription}/*",
            "justification": "Temporary exception during the datacenter move",
            "approved_by": "J. de Vries (CISO)",
            "expires": "2026-10-31",
            "expired": True,
        }
        message += " (waiver expired on 2026-10-31)"
    test = control["test"]
    return {
        "control": control["id"],
        "clause": control["clause"],
        "title": control["title"],
        "severity": control["severity"],
        "resource": resource,
        "status": status,
        "message": message,
        "observed": observed,
        "expected": {kind.observed_key: kind.good},
        "sources": sources,
        "waiver": waiver,
        "nodeid": f"{test}[{resource}]",
        "duration_seconds": 0.0002,
    }


def scale_bundle(results: int = 20_000, controls: int = 60, seed: int = 7) -> dict[str, Any]:
    """Return a deterministic, schema-shaped evidence bundle of `results` results over `controls` controls.

    Control texts come from the real catalog (cycled, with a suffix once it runs out), so
    clause texts, titles and pass conditions have their real lengths.
    """
    rng = random.Random(seed)
    catalog = sorted(catalog_entries().values(), key=lambda entry: entry.id)
    specs: list[dict[str, Any]] = []
    for n in range(controls):
        entry = catalog[n % len(catalog)]
        control_id = entry.id if n < len(catalog) else f"{entry.id}-{n // len(catalog) + 1}"
        specs.append(
            {
                **dataclasses.replace(entry, id=control_id).as_json({}),
                "shared_listing": n % 2 == 0,
                "test": f"controls/test_{entry.clause}_generated.py::test_{control_id.replace('.', '_').replace('-', '_')}",
            }
        )
    records = [
        _result(specs[i % controls], KINDS[(i % controls) % len(KINDS)], i // controls, rng)
        for i in range(results)
    ]
    counts: dict[str, dict[str, int]] = {entry["id"]: dict.fromkeys(STATUSES, 0) for entry in specs}
    for record in records:
        counts[record["control"]][record["status"]] += 1
    control_list = [
        {
            **{k: v for k, v in entry.items() if k not in ("shared_listing", "test", "counts")},
            "counts": counts[entry["id"]],
        }
        for entry in specs
    ]
    summary = {status: sum(1 for r in records if r["status"] == status) for status in STATUSES}
    return {
        "schema_version": "1",
        "run": {
            "started_at": STARTED,
            "finished_at": "2026-11-29T02:07:41Z",
            "run_date": "2026-11-29",
            "tool": {
                "name": "statement-auditor",
                "version": "0.1.0",
                "git_commit": "9f3c2a7be41d05c8e6a1f2b3c4d5e6f708192a3b",
            },
            "config": {"path": "/etc/audit/audit.toml", "sha256": _sha("config")},
            "policy": {
                "trusted_networks": ["192.0.2.0/24", "198.51.100.16/28"],
                "min_tls": "1.2",
                "allowed_regions": ["westeurope", "northeurope", "germanywestcentral"],
                "attestation_max_age_days": 92,
                "certificate_min_days_left": 30,
            },
            "machine": {
                "hostname": "audit01",
                "fqdn": "audit01.mgmt.example.nl",
                "user": "auditor",
                "platform": "Linux-6.1.0-27-amd64-x86_64-with-glibc2.36",
                "python": "3.11.7",
            },
            "mode": "live",
            "recording": None,
            "command": "pytest controls/ --audit-config /etc/audit/audit.toml",
            "scope": {
                "azure": {
                    "endpoint": ARM,
                    "subscriptions": [
                        {
                            "id": f"{n:08d}-1111-4111-8111-{n:012d}",
                            "name": f"Subscription {n}",
                            "state": "Enabled",
                        }
                        for n in range(1, 21)
                    ],
                    "missing_subscriptions": [],
                },
                "hosts": None,
                "populations": {
                    "azure.resources": {"count": results // controls, "out_of_scope": None, "notes": []},
                },
            },
        },
        "controls": control_list,
        "results": records,
        "summary": {**summary, "total": len(records)},
    }


def measure_generation(bundle: dict[str, Any], runs: int, lang: Language) -> list[float]:
    """Return the wall-clock seconds of `runs` renderings of the bundle."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        render_html(bundle, lang=lang)
        timings.append(time.perf_counter() - started)
    return timings


@dataclass(frozen=True)
class RenderTiming:
    """One page load in Chromium: navigation start to first contentful paint and to the load event."""

    first_contentful_paint_s: float
    load_event_end_s: float


def measure_render(report: Path, runs: int) -> list[RenderTiming]:
    """Return Chromium's timings of `runs` fresh loads of the report (each in a new browser context)."""
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(report.as_uri(), wait_until="load", timeout=120_000)
                entry = page.evaluate(
                    """() => {
                      const nav = performance.getEntriesByType("navigation")[0];
                      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
                      return {load: nav.loadEventEnd - nav.startTime, fcp: fcp ? fcp.startTime : -1};
                    }"""
                )
                timings.append(RenderTiming(entry["fcp"] / 1000, entry["load"] / 1000))
                context.close()
        finally:
            browser.close()
    return timings


def _line(label: str, value: float, unit: str, target: float) -> str:
    """Return one printed figure with its target and 'ok' or 'OVER'."""
    verdict = "ok" if value < target else "OVER"
    return f"{label:26s}: {value:6.2f} {unit:2s}  target < {target:.0f} {unit:2s}  {verdict}"


def main() -> int:
    """Generate the bundle, measure generation, size and Chromium render, print them with the targets."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=int, default=20_000)
    parser.add_argument("--controls", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5, help="renderings timed (median printed)")
    parser.add_argument(
        "--render-runs", type=int, default=5, help="Chromium page loads timed (median printed)"
    )
    parser.add_argument("--lang", choices=("en", "nl"), default="en")
    parser.add_argument("--keep", type=Path, help="write report.html here instead of a temporary folder")
    args = parser.parse_args()
    lang: Language = "nl" if args.lang == "nl" else "en"

    bundle = scale_bundle(args.results, args.controls)
    counts = bundle["summary"]
    print(
        f"bundle: {counts['total']:,} results over {len(bundle['controls'])} controls "
        f"({', '.join(f'{counts[s]:,} {s}' for s in STATUSES)})"
    )
    generation = statistics.median(measure_generation(bundle, args.runs, lang))
    with tempfile.TemporaryDirectory(prefix="report-scale-") as scratch:
        folder = args.keep or Path(scratch)
        report = folder / "report.html"
        write_html(bundle, report, lang=lang)
        size_mb = report.stat().st_size / 1e6
        print(_line(f"generation  median of {args.runs}", generation, "s", TARGET_GENERATION_S))
        print(_line("size", size_mb, "MB", TARGET_SIZE_MB))
        met = generation < TARGET_GENERATION_S and size_mb < TARGET_SIZE_MB
        if not CHROMIUM.exists():
            print(f"render: skipped, {CHROMIUM} is not installed")
            return 2
        timings = measure_render(report, args.render_runs)
        fcp = statistics.median(t.first_contentful_paint_s for t in timings)
        load = statistics.median(t.load_event_end_s for t in timings)
        print(_line(f"render FCP  median of {args.render_runs}", fcp, "s", TARGET_RENDER_S))
        print(_line(f"render load median of {args.render_runs}", load, "s", TARGET_RENDER_S))
        if args.keep:
            print(f"report: {report}")
        return 0 if met and fcp < TARGET_RENDER_S and load < TARGET_RENDER_S else 1


if __name__ == "__main__":
    sys.exit(main())
