"""Benchmark: start-up and bundle writing of a ~2,700-item audit, replayed (no network).

    python -m bench.startup_bundle [--runs 5] [--scale 0.163] [--work DIR] [--cold-bytecode]

Builds a reproducible run once: the demo estate cloned to 2,567 ARM objects over 20
subscriptions (bench/azure_collection.py's estate at `--scale`), served by the HTTPS ARM
emulator and recorded with `pytest controls/ --record` under demo/audit.toml's policy,
attestations, subprocessors and waivers (no hosts). That is 2,740 items: 2,715 pass, 3 fail,
1 waived, 21 not applicable. `--work DIR` keeps the recording and reuses it next time. It then
replays the recording `--runs` times (`pytest controls/ --replay`, after one warm-up run that is
not counted) and prints the median of each phase, wall clock and CPU (CPU is steadier on a busy
machine). Phases are timed by this module loaded as a pytest plugin (`-p bench.startup_bundle`):

* **start-up**: process start → first control item: imports and config load (until the
  session starts), the estate replayed through the collectors, pytest collection of controls/;
* **evaluation**: first item → last item finished (not a target of this benchmark);
* **bundle**: last item finished → process gone: pytest_sessionfinish (evidence.json, JUnit,
  OSCAL, report.html, manifest, terminal summary), then exit (pytest's clean-up and the
  interpreter's).

Bytecode caching is on (a nightly run's normal case). `--cold-bytecode` is the worst case:
PYTHONDONTWRITEBYTECODE=1 and an empty PYTHONPYCACHEPREFIX, so no bytecode is read or written
and every module (the SDKs' too) is compiled, and every control module's asserts rewritten, on
every run.

Figures on 2026-12-04 (2-core VM shared with other jobs; medians of 5, wall seconds, CPU within
0.05 s of them), before = commit c014de8, after = the changes of issue 16 item 4 (the heap frozen
between the run's phases, the garbage collector off while conftest imports, hypothesis's plugin
blocked in audit runs, Celery imported only for [distributed] runs, no proxy lookups in a replay):

    before   start-up 3.71-3.74 (imports + config 1.70-1.73, estate 1.88-1.89, collection 0.13)
             bundle   2.83-2.92 (sessionfinish 1.27-1.28, exit 1.32-1.40)
    after    start-up 3.01 (imports + config 1.36, estate 1.49, collection 0.13)
             bundle   1.03 (sessionfinish 0.98, exit 0.04)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKS_VARIABLE = "STARTUP_BUNDLE_MARKS"
SCALE = 0.163
STATUSES = ("pass", "fail", "error", "waived", "not_applicable")
"""bench/azure_collection.py's estate at this scale gives 2,740 control items."""

# -- the plugin side: loaded into the measured pytest process by `-p bench.startup_bundle` -----

_MARKS: dict[str, tuple[float, float]] = {}


def _mark(name: str, *, again: bool = False) -> None:
    if again or name not in _MARKS:
        _MARKS[name] = (time.time(), time.process_time())


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> Generator[None, None, None]:
    """Mark the end of imports and config load, and the end of the estate's collection."""
    _mark("session_start")
    yield
    _mark("estate_collected")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    _mark("collected")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    """Mark the start of the first control item and the end of the last."""
    _mark("first_item")
    yield
    _mark("last_item_done", again=True)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    _mark("session_finish")
    yield
    _mark("session_finished")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Write the marks for the parent (the last hook of the run; only clean-up and exit follow)."""
    _mark("unconfigured")
    target = os.environ.get(MARKS_VARIABLE)
    if target:
        Path(target).write_text(json.dumps(_MARKS), encoding="utf-8")


# -- the benchmark side -------------------------------------------------------------------------


def build_run(work: Path, scale: float) -> tuple[Path, Path]:
    """Record the benchmark run into `work` (once); return its audit.toml and recording."""
    config, recording = work / "audit.toml", work / "recording.json"
    if config.is_file() and recording.is_file():
        return config, recording
    from bench.azure_collection import build_estate
    from bench.estate_generator import load_template

    work.mkdir(parents=True, exist_ok=True)
    estate = build_estate(load_template(ROOT / "demo" / "estate"), scale)
    (work / "estate.json").write_text(json.dumps(estate), encoding="utf-8")
    emulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo.standins.arm_emulator",
            str(work / "estate.json"),
            "--page-size",
            "1000",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert emulator.stdout is not None
    try:
        url = emulator.stdout.readline().split(": ", 1)[1].strip()
        ca_file = work / "ca.pem"  # a replay still checks that [azure] ca_bundle exists
        shutil.copy(emulator.stdout.readline().split(": ", 1)[1].strip(), ca_file)
        demo = (ROOT / "demo" / "audit.toml").read_text(encoding="utf-8").split("# --- hosts")[0]
        demo = demo.replace(
            'endpoint = "https://127.0.0.1:8443"', f'endpoint = "{url}"\nca_bundle = "{ca_file}"'
        )
        demo = demo.replace('evidence_file = "evidence/', f'evidence_file = "{ROOT / "demo" / "evidence"}/')
        config.write_text(demo, encoding="utf-8")
        recorded = subprocess.run(
            [
                *(sys.executable, "-m", "pytest", "controls/", "-q", "-p", "no:cacheprovider"),
                *("--audit-config", str(config), "--record", str(recording)),
                *("--evidence-dir", str(work / "recorded")),
            ],
            cwd=ROOT,
            env={**os.environ, "AUDIT_AZURE_TOKEN": "bench", "NO_PROXY": "127.0.0.1,localhost"},
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    if recorded.returncode not in (0, 1) or not recording.is_file():
        sys.exit(
            f"recording the benchmark run failed (exit {recorded.returncode}):\n{recorded.stdout[-3000:]}"
        )
    return config, recording


def replay_once(config: Path, recording: Path, scratch: Path, env: dict[str, str]) -> dict[str, float]:
    """Replay the run once in a fresh process; return its phases in seconds (wall and CPU)."""
    marks_file, evidence = scratch / "marks.json", scratch / "evidence"
    shutil.rmtree(evidence, ignore_errors=True)
    command = [sys.executable, "-m", "pytest", "controls/", "-q", "-p", "bench.startup_bundle"]
    command += ["--audit-config", str(config), "--replay", str(recording), "--evidence-dir", str(evidence)]
    started = time.time()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**env, MARKS_VARIABLE: str(marks_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    ended = time.time()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1) or not (evidence / "evidence.json").is_file():
        sys.exit(f"the replay failed (exit {process.returncode}): {' '.join(command)}")
    marks: dict[str, Any] = json.loads(marks_file.read_text(encoding="utf-8"))
    wall = {name: value[0] for name, value in marks.items()}
    cpu = {name: value[1] for name, value in marks.items()}
    cpu_total = usage.ru_utime + usage.ru_stime
    phases = {
        "start-up": wall["first_item"] - started,
        "  imports + config": wall["session_start"] - started,
        "  estate replay": wall["estate_collected"] - wall["session_start"],
        "  collection": wall["collected"] - wall["estate_collected"],
        "evaluation": wall["last_item_done"] - wall["first_item"],
        "bundle": ended - wall["last_item_done"],
        "  sessionfinish": wall["session_finished"] - wall["session_finish"],
        "  exit": ended - wall["unconfigured"],
        "total": ended - started,
    }
    cpu_phases = {
        "start-up": cpu["first_item"],
        "  imports + config": cpu["session_start"],
        "  estate replay": cpu["estate_collected"] - cpu["session_start"],
        "  collection": cpu["collected"] - cpu["estate_collected"],
        "evaluation": cpu["last_item_done"] - cpu["first_item"],
        "bundle": cpu_total - cpu["last_item_done"],
        "  sessionfinish": cpu["session_finished"] - cpu["session_finish"],
        "  exit": cpu_total - cpu["unconfigured"],
        "total": cpu_total,
    }
    return {**{f"wall {k}": v for k, v in phases.items()}, **{f"cpu {k}": v for k, v in cpu_phases.items()}}


def main() -> int:
    """Record (or reuse) the run, replay it `--runs` times, print the median of each phase."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="replays timed (median printed)")
    parser.add_argument("--scale", type=float, default=SCALE, help="estate scale (0.163: 2,740 items)")
    parser.add_argument("--work", type=Path, help="keep the recording here and reuse it (default: temporary)")
    parser.add_argument(
        "--cold-bytecode", action="store_true", help="replay without any bytecode cache (worst case)"
    )
    args = parser.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPYCACHEPREFIX", None)
    with tempfile.TemporaryDirectory(prefix="startup-bundle-") as temporary:
        scratch = Path(temporary)
        if args.cold_bytecode:
            (scratch / "no-bytecode").mkdir()
            env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(scratch / "no-bytecode"))
        config, recording = build_run(args.work or scratch / "run", args.scale)
        replay_once(config, recording, scratch, env)  # warm-up: bytecode, page cache
        runs = [replay_once(config, recording, scratch, env) for _ in range(args.runs)]
        items = json.loads((scratch / "evidence" / "evidence.json").read_text(encoding="utf-8"))["summary"]
    print(
        f"{items['total']:,} items ({', '.join(f'{items[s]:,} {s}' for s in STATUSES)}), "
        f"median of {args.runs} replays, seconds"
    )
    print(f"{'phase':22s}{'wall':>8s}{'cpu':>8s}")
    for phase in (key.removeprefix("wall ") for key in runs[0] if key.startswith("wall ")):
        wall = statistics.median(run[f"wall {phase}"] for run in runs)
        cpu = statistics.median(run[f"cpu {phase}"] for run in runs)
        print(f"{phase:22s}{wall:8.2f}{cpu:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
