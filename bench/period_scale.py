"""Benchmark of the audit-period archive at scale: a year of nights at 20,000 results each.

Prints, for the targets of issue 15: indexing one night into the history (target under 5 s), the
period report over the whole year (under 60 s and 1 GB peak memory) and the size of period.html
(under 20 MB); and, for the choice of the embedded history engine, SQLite against DuckDB on the
same rows (bulk insert of one night, and the period's per-night aggregate over every row).

    .venv/bin/python bench/period_scale.py [--work DIR] [--nights 365] [--results 20000] [--repeat 3]

The archive is generated once into DIR (default /tmp/audit-period-bench; about 14 GB for a year)
with demo/period_archive.py and reused by later runs. Medians of `--repeat` runs; DuckDB is
measured only when the `duckdb` package is installed (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.period_archive import ARCHIVE_DIR, generate, run_demo_template  # noqa: E402
from reports.archive.chain import RunKey, runs_in  # noqa: E402
from reports.archive.store import FolderStore  # noqa: E402
from reports.history.database import open_sqlite  # noqa: E402
from reports.history.reindex import index_archived_run  # noqa: E402

START = date(2025, 12, 1)


def _archive(work: Path, nights: int, results: int) -> Path:
    """Return the generated archive's folder, generating it when absent or of another size."""
    marker = work / "bench.json"
    wanted = {"nights": nights, "results": results, "start": START.isoformat()}
    if marker.is_file() and json.loads(marker.read_text()) == wanted and (work / ARCHIVE_DIR).is_dir():
        return work / ARCHIVE_DIR
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-template-") as scratch:
        template = run_demo_template(Path(scratch))
        generate(work, template, nights=nights, start=START, results_per_night=results)
    print(f"generated {nights} nights x {results} results in {time.perf_counter() - started:.0f} s")
    marker.write_text(json.dumps(wanted))
    return work / ARCHIVE_DIR


def _index_all(archive: Path, history: Path) -> list[float]:
    """Index every archived night into a fresh SQLite history; return the seconds of each night."""
    history.unlink(missing_ok=True)
    store = FolderStore(archive)
    db = open_sqlite(history)
    runs, _ = runs_in(store.list(""))
    seconds = []
    try:
        for number, run in enumerate(runs, start=1):
            started = time.perf_counter()
            index_archived_run(store, db, run)
            seconds.append(time.perf_counter() - started)
            if number % 50 == 0:
                print(f"  indexed {number}/{len(runs)} nights", flush=True)
    finally:
        db.close()
    return seconds


def _period(archive: Path, history: Path, end: date, out: Path) -> tuple[float, float]:
    """Run `python -m reports period` over the year; return (seconds, peak resident MB of the process)."""
    command = [
        sys.executable, "-m", "reports", "period", "--archive", str(archive), "--history", str(history),
        "--from", START.isoformat(), "--to", end.isoformat(), "--sample", "25", "--seed", "1",
        "--out", str(out),
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"period failed: {process.stderr.read().decode() if process.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024


def _rows(archive: Path, run: RunKey) -> list[tuple[int, str, str]]:
    evidence: dict[str, Any] = json.loads(
        (archive / run.prefix / "evidence.json").read_text(encoding="utf-8")
    )
    return [(i, str(r["status"]), str(r["control"])) for i, r in enumerate(evidence["results"])]


def _engines(archive: Path, total_rows: int, repeat: int) -> dict[str, dict[str, float]]:
    """Return {engine: {insert_night_s, aggregate_s}}: one night's bulk insert and the period aggregate."""
    try:
        duckdb: Any = importlib.import_module("duckdb")
    except ImportError:
        duckdb = None
    runs, _ = runs_in(FolderStore(archive).list(""))
    night = _rows(archive, runs[0])
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as scratch:
        engines: list[tuple[str, Any]] = [("sqlite", sqlite3.connect(Path(scratch) / "h.sqlite"))]
        if duckdb is not None:
            engines.append(("duckdb", duckdb.connect(str(Path(scratch) / "h.duckdb"))))
        for name, connection in engines:
            connection.execute("CREATE TABLE results (run INTEGER, item INTEGER, status TEXT, control TEXT)")
            inserts = []
            for attempt in range(repeat):
                started = time.perf_counter()
                connection.executemany(
                    "INSERT INTO results VALUES (?, ?, ?, ?)", [(attempt, i, s, c) for i, s, c in night]
                )
                connection.commit()
                inserts.append(time.perf_counter() - started)
            connection.execute("DELETE FROM results")
            per_night = len(night)
            nights = max(1, total_rows // per_night)
            # The year's rows, made inside the engine: each night is the sample night again.
            connection.execute("CREATE TABLE night (item INTEGER, status TEXT, control TEXT)")
            connection.executemany("INSERT INTO night VALUES (?, ?, ?)", night)
            connection.execute("CREATE TABLE nights (run INTEGER)")
            connection.executemany("INSERT INTO nights VALUES (?)", [(n,) for n in range(nights)])
            connection.execute(
                "INSERT INTO results SELECT n.run, t.item, t.status, t.control FROM nights n, night t"
            )
            connection.commit()
            aggregates = []
            for _ in range(repeat):
                started = time.perf_counter()
                connection.execute(
                    "SELECT run, control, status, COUNT(*) FROM results GROUP BY run, control, status"
                ).fetchall()
                aggregates.append(time.perf_counter() - started)
            figures[name] = {
                "insert_night_s": statistics.median(inserts),
                "aggregate_s": statistics.median(aggregates),
                "rows": float(nights * per_night),
            }
            connection.close()
    return figures


def main() -> int:
    """Generate (once), index, report, and print the figures against the issue's targets."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "audit-period-bench")
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--results", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    archive = _archive(args.work, args.nights, args.results)
    history = args.work / "history.sqlite"
    seconds = _index_all(archive, history)
    end = START + timedelta(days=args.nights - 1)
    runs = []
    for attempt in range(args.repeat):
        out = args.work / f"period-{attempt}"
        shutil.rmtree(out, ignore_errors=True)
        runs.append((*_period(archive, history, end, out), (out / "period.html").stat().st_size / 1e6))
    engines = _engines(archive, args.nights * args.results, args.repeat)
    print(
        f"\nperiod archive at scale: {args.nights} nights x {args.results} results ({len(seconds)} archived)"
    )
    print(
        f"index one night (SQLite, default): median {statistics.median(seconds):.2f} s, "
        f"max {max(seconds):.2f} s (target < 5 s)"
    )
    print(f"history file: {history.stat().st_size / 1e6:.0f} MB")
    print(
        f"period report over the year: median {statistics.median(r[0] for r in runs):.1f} s (target < 60 s), "
        f"peak {max(r[1] for r in runs):.0f} MB (target < 1024 MB), "
        f"period.html {max(r[2] for r in runs):.1f} MB (target < 20 MB)"
    )
    for name, figures in engines.items():
        print(
            f"engine {name}: insert one night {figures['insert_night_s'] * 1000:.0f} ms, "
            f"period aggregate over {figures['rows'] / 1e6:.1f} M rows {figures['aggregate_s']:.2f} s"
        )
    if "duckdb" in engines:
        ratio_insert = engines["duckdb"]["insert_night_s"] / engines["sqlite"]["insert_night_s"]
        ratio_aggregate = engines["duckdb"]["aggregate_s"] / engines["sqlite"]["aggregate_s"]
        print(f"duckdb / sqlite: insert x{ratio_insert:.2f}, aggregate x{ratio_aggregate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
