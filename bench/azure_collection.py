"""Benchmark: Azure collection on a large emulated estate, against a plain sequential collector.

    python -m bench.azure_collection [--runs 3] [--sequential-runs 1] [--latency 0.1]
                                     [--concurrency N] [--with-resource-graph] [--pacing-only]

Generates an estate of about 4,500 resources over 20 subscriptions (cloned from the demo
estate), serves it with the HTTPS ARM emulator in its own process with 100 ms latency on every
request and ARM's read token bucket (250 burst, 25/s per subscription) enforced, and collects
it (a) as the auditor does with its default `[azure]` settings (`max_concurrency` requests in
flight per subscription, `max_concurrency_total` overall, paced per subscription), (a') with
`--with-resource-graph`, the same with `use_resource_graph = true`, and (b) one request at a
time (as Prowler and inspec-azure do). Each collection runs in its own process, so peak memory
is that collection's own. Prints the median of the runs, requests per second, throttled (429)
requests and items in error (both must be 0), and the speed-up of (a) over (b) (target >= 10x).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.estate_generator import TENANT, clone, find, load_template, new_id, subscription_ids, subtree
from collectors import messages

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIPTIONS = 20
PLAN = {
    "sql_servers": 200,
    "databases_per_server": 10,
    "web_apps": 500,
    "storage_accounts": 500,
    "nsgs": 300,
    "vms": 500,
}


def build_estate(
    template: dict[str, Any], scale: float = 1.0, subscriptions: int = SUBSCRIPTIONS
) -> dict[str, Any]:
    """Return the benchmark estate: the PLAN's counts (times `scale`) spread over the subscriptions."""
    plan = {key: max(1, round(value * scale)) for key, value in PLAN.items()}
    plan["databases_per_server"] = PLAN["databases_per_server"]
    demo: list[dict[str, Any]] = template["resources"]
    subs = subscription_ids(subscriptions)
    resources: list[dict[str, Any]] = []

    def place(index: int, resource_type: str, name: str) -> str:
        return new_id(
            subs[index % subscriptions], f"rg-bench-{index % 7}", resource_type, f"{name}-{index:04d}"
        )

    server = find(demo, "Microsoft.Sql/servers", "sql-prod-weu")
    database = find(demo, "Microsoft.Sql/servers/databases", "emma")
    for i in range(plan["sql_servers"]):
        server_id = place(i, "Microsoft.Sql/servers", "sql")
        resources += clone(subtree(demo, server["id"], without=("databases",)), server["id"], server_id)
        for j in range(plan["databases_per_server"]):
            resources += clone(
                subtree(demo, database["id"]), database["id"], f"{server_id}/databases/db-{j:02d}"
            )
    for count, resource_type, name in (
        (plan["web_apps"], "Microsoft.Web/sites", "app"),
        (plan["storage_accounts"], "Microsoft.Storage/storageAccounts", "st"),
        (plan["nsgs"], "Microsoft.Network/networkSecurityGroups", "nsg"),
    ):
        template_resource = find(demo, resource_type)
        for i in range(count):
            target = place(i, resource_type, name)
            resources += clone(subtree(demo, template_resource["id"]), template_resource["id"], target)
    vm = find(demo, "Microsoft.Compute/virtualMachines")
    os_disk_id = vm["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"]
    disk = next(r for r in demo if r["id"].lower() == os_disk_id.lower())
    for i in range(plan["vms"]):
        vm_id = place(i, "Microsoft.Compute/virtualMachines", "vm")
        disk_id = place(i, "Microsoft.Compute/disks", "osdisk")
        resources += clone([disk], disk["id"], disk_id, renames={vm["id"]: vm_id})
        resources += clone(subtree(demo, vm["id"]), vm["id"], vm_id, renames={disk["id"]: disk_id})
    for sub in subs:  # per-subscription singletons (role definitions, contacts, ...) cloned from the demo's first subscription
        first = template["subscriptions"][0]["subscriptionId"]
        singles = [
            r for r in demo if r["id"].lower().startswith(f"/subscriptions/{first}/providers/".lower())
        ]
        resources += clone(singles, f"/subscriptions/{first}", f"/subscriptions/{sub}")
    return {
        "subscriptions": [
            {
                "id": f"/subscriptions/{s}",
                "subscriptionId": s,
                "tenantId": TENANT,
                "displayName": f"bench-{n:02d}",
                "state": "Enabled",
            }
            for n, s in enumerate(subs)
        ],
        "resources": resources,
    }


SPEED_UP_TARGET = 10.0
"""Issue 16: default settings must collect at least this many times faster than one request at a time."""

DEFAULT = "default"
"""`--collect` concurrency meaning the `[azure]` defaults (per subscription and total)."""
SEQUENTIAL = "sequential"
"""`--collect` concurrency meaning one request at a time over the whole run."""


def concurrency_settings(concurrency: str) -> dict[str, int]:
    """Return the `[azure]` concurrency settings of a collection mode.

    `default` sets nothing (the shipped defaults), `sequential` allows one request in flight for
    the whole run, and a number sets `max_concurrency` (per subscription) alone.
    """
    if concurrency == DEFAULT:
        return {}
    if concurrency == SEQUENTIAL:
        return {"max_concurrency": 1, "max_concurrency_total": 1}
    return {"max_concurrency": int(concurrency)}


def collect_once(
    url: str, ca_file: str, concurrency: str, resource_graph: bool = False, paced: bool = True
) -> dict[str, Any]:
    """Collect the estate at `url` in this process; return the figures of the run.

    `concurrency` is a mode of `concurrency_settings`; the figures are what the table prints.
    """
    from collectors.azure.collect import collect_azure
    from collectors.facts import FactStore
    from controls.harness.config_file import AuditConfig

    config = AuditConfig.model_validate(
        {
            "path": Path("bench.toml").resolve(),
            "sha256": "0" * 64,
            "azure": {
                "endpoint": url,
                "ca_bundle": ca_file,
                "credential": "static-token",
                **concurrency_settings(concurrency),
                "use_resource_graph": resource_graph,
                **({} if paced else {"reads_per_second": 1_000_000, "reads_burst": 1_000_000}),
            },
        }
    )
    assert config.azure is not None
    store = FactStore()
    started = time.monotonic()
    scope = collect_azure(
        config, config.azure, store, recording=None, replay=None, progress=lambda line: None
    )
    wall = time.monotonic() - started
    errors = [s.error for name in store.names() for s in store.population(name).subjects if s.error]
    located = [
        s
        for s in store.population("azure.resources").subjects
        if s.fact is not None
        and not str(getattr(s.fact, "type", "")).endswith(("replicationLinks", "secondaryLocation"))
    ]
    return {
        "wall_seconds": wall,
        "requests": scope.requests,
        "requests_per_second": scope.requests / wall if wall > 0 else 0.0,
        "throttled": scope.throttled,
        "paced_seconds": scope.paced_seconds,
        "resources": len(located),
        "errors": len(errors),
        "throttling_errors": sum(
            1 for e in map(messages.english_text, errors) if "429" in e or "TooManyRequests" in e
        ),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(
    url: str, ca_file: str, concurrency: str, resource_graph: bool = False, paced: bool = True
) -> dict[str, Any]:
    mode = (["--resource-graph"] if resource_graph else []) + ([] if paced else ["--unpaced"])
    completed = subprocess.run(
        [sys.executable, "-m", "bench.azure_collection", "--collect", url, ca_file, concurrency, *mode],
        cwd=ROOT,
        env={**os.environ, "AUDIT_AZURE_TOKEN": "bench", "NO_PROXY": "127.0.0.1,localhost"},
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"the {concurrency} collection failed:\n{completed.stderr}")
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="auditor runs (median reported)")
    parser.add_argument(
        "--sequential-runs", type=int, default=1, help="sequential runs (slow: ~minutes each)"
    )
    parser.add_argument("--latency", type=float, default=0.1, help="emulator latency per request, seconds")
    parser.add_argument(
        "--concurrency",
        default=DEFAULT,
        help="the auditor's max_concurrency per subscription (default: the [azure] defaults)",
    )
    parser.add_argument(
        "--with-resource-graph",
        action="store_true",
        help="also collect with use_resource_graph = true (another column)",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the estate's counts (quick checks)"
    )
    parser.add_argument("--collect", nargs=3, metavar=("URL", "CA", "CONCURRENCY"), help=argparse.SUPPRESS)
    parser.add_argument("--resource-graph", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--unpaced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--subscriptions", type=int, default=SUBSCRIPTIONS, help="spread the estate over N")
    parser.add_argument(
        "--pacing-only",
        action="store_true",
        help="compare the auditor with and without its own pacing (no sequential run)",
    )
    args = parser.parse_args()
    if args.collect:
        url, ca_file, concurrency = args.collect
        print(json.dumps(collect_once(url, ca_file, concurrency, args.resource_graph, not args.unpaced)))
        return 0

    estate = build_estate(load_template(ROOT / "demo" / "estate"), args.scale, args.subscriptions)
    kinds = Counter(r["type"] for r in estate["resources"])
    with tempfile.TemporaryDirectory() as tmp:
        estate_file = Path(tmp) / "estate.json"
        estate_file.write_text(json.dumps(estate), encoding="utf-8")
        print(
            f"estate: {len(estate['subscriptions'])} subscriptions, {len(estate['resources'])} ARM objects "
            f"(sha256 {hashlib.sha256(estate_file.read_bytes()).hexdigest()[:12]})"
        )
        for kind, count in sorted(kinds.items()):
            print(f"  {count:6d} {kind}")
        emulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "demo.standins.arm_emulator",
                str(estate_file),
                "--latency",
                str(args.latency),
                "--throttle",
                "250,25",
                "--page-size",
                "1000",
                "--stats",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert emulator.stdout is not None
        url = emulator.stdout.readline().split(": ", 1)[1].strip()
        ca_file = emulator.stdout.readline().split(": ", 1)[1].strip()
        columns: list[tuple[str, list[dict[str, Any]]]] = []
        try:
            columns.append(
                ("auditor (ARM)", [_child(url, ca_file, args.concurrency) for _ in range(args.runs)])
            )
            if args.pacing_only:
                unpaced = [_child(url, ca_file, args.concurrency, paced=False) for _ in range(args.runs)]
                columns.append(("unpaced", unpaced))
            else:
                if args.with_resource_graph:
                    graph = [
                        _child(url, ca_file, args.concurrency, resource_graph=True) for _ in range(args.runs)
                    ]
                    columns.append(("auditor (ARG)", graph))
                sequential = [_child(url, ca_file, SEQUENTIAL) for _ in range(args.sequential_runs)]
                columns.append(("sequential", sequential))
        finally:
            emulator.terminate()
            served, _ = emulator.communicate(timeout=30)
    print(
        f"\nlatency {args.latency * 1000:.0f} ms per request, token bucket 250/25 per subscription enforced"
    )
    print(
        f"auditor: max_concurrency {args.concurrency} per subscription, median of {args.runs}; "
        f"sequential: one request at a time, median of {args.sequential_runs}"
    )
    print(f"{'':34s}" + "".join(f"{name:>15s}" for name, _ in columns))
    for key, label, digits in (
        ("wall_seconds", "wall time (s, median)", 1),
        ("requests", "HTTP requests", 0),
        ("requests_per_second", "requests per second", 1),
        ("resources", "ARM resources audited", 0),
        ("throttled", "throttled requests (429)", 0),
        ("paced_seconds", "time held back by pacing (s)", 1),
        ("errors", "items in error", 0),
        ("throttling_errors", "items in error by throttling", 0),
        ("peak_rss_mb", "peak memory (MB)", 1),
    ):
        print(f"{label:34s}" + "".join(f"{_median(runs, key):15.{digits}f}" for _, runs in columns))
    per_resource = [_median(runs, "requests") / max(1.0, _median(runs, "resources")) for _, runs in columns]
    print(f"{'requests per resource':34s}" + "".join(f"{value:15.2f}" for value in per_resource))
    auditor = columns[0][1]
    worst = {key: max(run[key] for run in auditor) for key in ("throttled", "errors")}
    print(f"auditor, worst run: {worst['throttled']} throttled (429), {worst['errors']} item(s) in error")
    if served.strip():
        print(f"emulator, all runs: {served.strip().splitlines()[-1]}")
    if not args.pacing_only:
        ratio = _median(columns[-1][1], "wall_seconds") / _median(auditor, "wall_seconds")
        verdict = "meets" if ratio >= SPEED_UP_TARGET and not any(worst.values()) else "MISSES"
        print(
            f"speed-up, default settings vs sequential: {ratio:.1f}x "
            f"({verdict} the target of >= {SPEED_UP_TARGET:.0f}x with 0 throttled and 0 errors)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
