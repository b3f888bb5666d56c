"""Benchmark: Azure collection on a large emulated estate, against a plain sequential collector.

    python -m bench.azure_collection [--runs 3] [--sequential-runs 1] [--latency 0.05]

Generates an estate of about 4,500 resources over 20 subscriptions (cloned from the demo
estate), serves it with the HTTPS ARM emulator in its own process with 50 ms latency on every
request and ARM's read token bucket (250 burst, 25/s per subscription) enforced, and collects
it (a) as the auditor does (bounded concurrency, paced per subscription), (a') the same with
`use_resource_graph = true`, and (b) one request at a time (as Prowler and inspec-azure do). Each collection runs in its own process, so peak
memory is that collection's own. Prints the median of the runs and the ratio.
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


def collect_once(
    url: str, ca_file: str, concurrency: int, resource_graph: bool = False, paced: bool = True
) -> dict[str, Any]:
    """Collect the estate at `url` in this process; return the figures of the run."""
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
                "max_concurrency": concurrency,
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
    url: str, ca_file: str, concurrency: int, resource_graph: bool = False, paced: bool = True
) -> dict[str, Any]:
    mode = (["--resource-graph"] if resource_graph else []) + ([] if paced else ["--unpaced"])
    completed = subprocess.run(
        [sys.executable, "-m", "bench.azure_collection", "--collect", url, ca_file, str(concurrency), *mode],
        cwd=ROOT,
        env={**os.environ, "AUDIT_AZURE_TOKEN": "bench", "NO_PROXY": "127.0.0.1,localhost"},
        capture_output=True,
        text=True,
        check=True,
    )
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
    parser.add_argument("--latency", type=float, default=0.05, help="emulator latency per request, seconds")
    parser.add_argument("--concurrency", type=int, default=16, help="the auditor's max_concurrency")
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
        print(json.dumps(collect_once(url, ca_file, int(concurrency), args.resource_graph, not args.unpaced)))
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
        try:
            auditor = [_child(url, ca_file, args.concurrency) for _ in range(args.runs)]
            if args.pacing_only:
                unpaced = [_child(url, ca_file, args.concurrency, paced=False) for _ in range(args.runs)]
                graph, sequential = auditor, unpaced
            else:
                graph = [
                    _child(url, ca_file, args.concurrency, resource_graph=True) for _ in range(args.runs)
                ]
                sequential = [_child(url, ca_file, 1) for _ in range(args.sequential_runs)]
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
    names = (
        ("paced", "paced", "unpaced")
        if args.pacing_only
        else ("auditor (ARM)", "auditor (ARG)", "sequential")
    )
    header = f"{'':34s}" + "".join(f"{name:>14s}" for name in names)
    print(
        f"\nlatency {args.latency * 1000:.0f} ms per request, token bucket 250/25 per subscription enforced"
    )
    print(
        f"auditor: max_concurrency {args.concurrency}, median of {args.runs}; sequential: median of {args.sequential_runs}"
    )
    print(header)
    for key, label in (
        ("wall_seconds", "wall time (s)"),
        ("requests", "HTTP requests"),
        ("resources", "ARM resources audited"),
        ("throttled", "throttled requests (429)"),
        ("paced_seconds", "time held back by pacing (s)"),
        ("errors", "items in error"),
        ("throttling_errors", "items in error by throttling"),
        ("peak_rss_mb", "peak memory (MB)"),
    ):
        columns = (_median(auditor, key), _median(graph, key), _median(sequential, key))
        print(f"{label:34s}" + "".join(f"{value:14.1f}" for value in columns))
    per_resource = [
        _median(runs, "requests") / max(1.0, _median(runs, "resources"))
        for runs in (auditor, graph, sequential)
    ]
    print(f"{'requests per resource':34s}" + "".join(f"{value:14.2f}" for value in per_resource))
    if not args.pacing_only:
        print(f"speed-up: {_median(sequential, 'wall_seconds') / _median(auditor, 'wall_seconds'):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
