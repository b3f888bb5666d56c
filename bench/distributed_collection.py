"""Benchmark: Azure collection spread over 1, 2 and 4 Celery workers, against one process, same estate.

    python -m bench.distributed_collection [--runs 3] [--workers 1,2,4] [--latency 0.1] [--per-order 2]

The estate of bench/azure_collection.py (about 4,500 resources over 20 subscriptions, cloned from
the demo estate) is served by the HTTPS ARM emulator in its own process, with 100 ms latency per
request and ARM's read bucket (250 burst, 25/s) enforced per subscription. Each configuration
makes the run's facts ready from scratch, as a nightly run does:

- one process: `collect_estate` reading Azure live (default settings);
- N workers of one site (a real redis-server and N real `celery worker -Q rivium` processes):
  the coordinator's `collect_distributed` (orders of `--per-order` subscriptions) and the
  evaluation of the merged recording (`collect_estate` replaying it), which a distributed run
  adds.

Printed: the median wall time of each, requests per second, throttled requests and items in
error, the bucket floor (the least time ARM's bucket allows for the busiest subscription's
reads), each worker's peak memory, and the distribution overhead against one process. On this
2-core machine the emulator, the coordinator and the workers share the cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from bench.azure_collection import build_estate
from bench.estate_generator import load_template, subscription_ids
from demo.standins.redis_broker import RedisBroker
from demo.standins.site_worker import SiteWorker

ROOT = Path(__file__).resolve().parent.parent
BURST, RATE = 250, 25.0
OVERHEAD_TARGET = 0.15


def config_text(url: str, ca_file: str, subscriptions: list[str], broker: str | None, per_order: int) -> str:
    """Return the audit.toml of a run: Azure only, at site rivium; with [distributed] when `broker` is given."""
    listed = ", ".join(f'"{s}"' for s in subscriptions)
    text = (
        '[[sites]]\nname = "rivium"\nvantage = "trusted"\n\n[probing]\nenabled = false\n\n'
        f'[azure]\nsite = "rivium"\nendpoint = "{url}"\nca_bundle = "{ca_file}"\ncredential = "static-token"\n'
        f"subscriptions = [{listed}]\n"
    )
    if broker:
        text += (
            f'\n[distributed]\nbroker = "{broker}"\npassword_env = "BENCH_BROKER_PASSWORD"\n'
            f"subscriptions_per_task = {per_order}\ndeadline_minutes = 30\n"
        )
    return text


def measure(config_file: Path) -> dict[str, Any]:
    """Make the run's facts ready as `pytest controls/` would, in this process; return the figures."""
    from collectors.distributed.coordinator import collect_distributed
    from collectors.estate import collect_estate, discovered_tls_decision
    from controls.harness.config_file import load_config

    config = load_config(config_file)
    started = time.monotonic()
    evaluation = 0.0
    if config.distributed is not None:
        merged = collect_distributed(
            config,
            config_toml=config_file.read_text(encoding="utf-8"),
            run_date=date.today(),
            scan_discovered=discovered_tls_decision(config).scanned,
            environ=os.environ,
        )
        collected = time.monotonic()
        estate = collect_estate(config, run_date=date.today(), replay=merged.recording, at_sites=True)
        evaluation = time.monotonic() - collected
        requests = len(merged.recording)
    else:
        estate = collect_estate(config, run_date=date.today())
        assert estate.azure is not None
        requests = estate.azure.requests
    wall = time.monotonic() - started
    store = estate.store
    errors = sum(1 for name in store.names() for s in store.population(name).subjects if s.error is not None)
    throttled = estate.azure.throttled if estate.azure is not None else 0
    return {
        "wall_seconds": wall,
        "evaluation_seconds": evaluation,
        "requests": requests,
        "requests_per_second": requests / wall if wall else 0.0,
        "errors": errors,
        "throttled": throttled,
        "resources": len(store.population("azure.resources").subjects),
    }


def _child(config_file: Path, environment: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.distributed_collection", "--measure", str(config_file)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"the run on {config_file.name} failed:\n{completed.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def _peak_rss_mb(worker: SiteWorker) -> float:
    """Return the peak resident memory of a worker's processes (the main process and its pool child)."""
    if worker.pid is None:
        return 0.0
    total = 0
    for pid in [worker.pid, *_children(worker.pid)]:
        try:
            status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def main() -> int:
    """Run the benchmark and print its table; return 0."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (median reported)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure, e.g. 1,2,4")
    parser.add_argument("--latency", type=float, default=0.1, help="emulator latency per request, seconds")
    parser.add_argument("--per-order", type=int, default=2, help="subscriptions per work order")
    parser.add_argument("--scale", type=float, default=1.0, help="estate size relative to the plan")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    counts = [int(n) for n in args.workers.split(",")]
    estate = build_estate(load_template(ROOT / "demo" / "estate"), args.scale)
    subscriptions = subscription_ids(len(estate["subscriptions"]))
    kinds = Counter(r["type"] for r in estate["resources"])
    password = secrets.token_hex(12)
    environment = {
        **os.environ,
        "AUDIT_AZURE_TOKEN": "bench",
        "BENCH_BROKER_PASSWORD": password,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        estate_file = folder / "estate.json"
        estate_file.write_text(json.dumps(estate), encoding="utf-8")
        print(
            f"estate: {len(subscriptions)} subscriptions, {len(estate['resources'])} ARM objects "
            f"(sha256 {hashlib.sha256(estate_file.read_bytes()).hexdigest()[:12]}), "
            f"{sum(kinds.values())} of {len(kinds)} kinds"
        )
        emulator = subprocess.Popen(
            [sys.executable, "-m", "demo.standins.arm_emulator", str(estate_file), "--latency", str(args.latency),
             "--throttle", f"{BURST},{RATE:g}", "--page-size", "1000", "--stats"],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert emulator.stdout is not None
        url = emulator.stdout.readline().split(": ", 1)[1].strip()
        ca_file = emulator.stdout.readline().split(": ", 1)[1].strip()
        columns: list[tuple[str, list[dict[str, Any]], list[float]]] = []
        try:
            single = folder / "single.toml"
            single.write_text(
                config_text(url, ca_file, subscriptions, None, args.per_order), encoding="utf-8"
            )
            columns.append(("one process", [_child(single, environment) for _ in range(args.runs)], []))
            with RedisBroker(folder / "redis", password=password) as broker:
                spread = folder / "spread.toml"
                spread.write_text(
                    config_text(url, ca_file, subscriptions, broker.url, args.per_order), encoding="utf-8"
                )
                for count in counts:
                    workers = [
                        SiteWorker(
                            "rivium", broker.url, password, folder / f"w{count}-{n}",
                            environment={"AUDIT_AZURE_TOKEN": "bench"},
                        ).start()
                        for n in range(count)
                    ]  # fmt: skip
                    try:
                        runs = [_child(spread, environment) for _ in range(args.runs)]
                        memory = [_peak_rss_mb(worker) for worker in workers]
                    finally:
                        for worker in workers:
                            worker.stop()
                    columns.append((f"{count} worker(s)", runs, memory))
        finally:
            emulator.terminate()
            served, _ = emulator.communicate(timeout=30)
    print(
        f"\nlatency {args.latency * 1000:.0f} ms per request; ARM bucket {BURST}/{RATE:g} per subscription enforced"
    )
    print(
        f"orders of {args.per_order} subscription(s); median of {args.runs} run(s); default [azure] settings"
    )
    print(f"{'':32s}" + "".join(f"{name:>14s}" for name, _, _ in columns))
    for key, label, digits in (
        ("wall_seconds", "facts ready (s, median)", 1),
        ("evaluation_seconds", "of which evaluating the merge (s)", 1),
        ("requests", "ARM requests", 0),
        ("requests_per_second", "requests per second", 1),
        ("resources", "ARM resources", 0),
        ("throttled", "throttled (429)", 0),
        ("errors", "items in error", 0),
    ):
        print(f"{label:32s}" + "".join(f"{_median(runs, key):14.{digits}f}" for _, runs, _ in columns))
    memory_cells = "".join(f"{(max(m) if m else 0.0):14.1f}" for _, _, m in columns)
    print(f"{'peak memory per worker (MB)':32s}" + memory_cells)
    requests = _median(columns[0][1], "requests")
    busiest = requests / len(subscriptions)
    floor = max(0.0, (busiest - BURST) / RATE)
    print(
        f"bucket floor: {busiest:.0f} requests per subscription need >= {floor:.1f} s at {RATE:g}/s after a burst of {BURST}"
    )
    base = _median(columns[0][1], "wall_seconds")
    for name, runs, _ in columns[1:]:
        overhead = _median(runs, "wall_seconds") / base - 1
        verdict = "meets" if overhead <= OVERHEAD_TARGET else "MISSES"
        print(
            f"distribution overhead, {name} vs one process: {overhead * 100:+.1f} % ({verdict} the <= 15 % target)"
        )
    if served.strip():
        print(f"emulator, all runs: {served.strip().splitlines()[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
