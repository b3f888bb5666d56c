"""Run every mutant of a recording through the real parsers and controls; print crashes and flips per part.

    python -m bench.mutation_replay                      # the demo: every mutant, 2 worker processes
    python -m bench.mutation_replay --part hosts --findings findings.txt
    python -m bench.mutation_replay --config audit.toml --recording recording.json
    python -m bench.mutation_replay --compare 400        # enumeration vs hypothesis, 400 mutants each

Counts are per part and per group (ARM resource type and API version, OS and section, engine
and result set, tls field, probes field): mutants tried, crashes (an exception escaped
collection: the CLI's exit 3), flips (a malformed observation turned an item whose unmutated
verdict was fail or error into pass), plausible flips (the same after an empty list or an
emptied section: for review), lost failing items (for review) and mutants the CLI refuses with
exit 4 (a recording that does not load, an Azure endpoint with no usable answer). See
bench/mutation_replay/replay.py. The exit code is 1 when a crash or a flip was found.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.mutation_replay.mutants import PARTS, Mutant
from bench.mutation_replay.replay import (
    DEMO_CONFIG,
    DEMO_RECORDING,
    Finding,
    Outcome,
    Replay,
    Tally,
    hole,
    report,
    sample,
)
from controls.catalog import CONTROLS
from controls.harness.config_file import load_config

_WORKER: Replay | None = None


def _start_worker(config: str, recording: str) -> None:
    global _WORKER
    scratch = Path(tempfile.mkdtemp(prefix="mutation-replay-"))
    _WORKER = Replay(
        load_config(Path(config), known_controls=frozenset(CONTROLS)), Path(recording), scratch=scratch
    )


def _run_chunk(chunk: Sequence[Mutant]) -> list[Outcome]:
    assert _WORKER is not None
    return [_WORKER.run(mutant) for mutant in chunk]


def run_all(config: Path, recording: Path, chosen: Sequence[Mutant], workers: int, progress: bool) -> Tally:
    """Replay `chosen` in `workers` processes (each audits the unmutated recording once first)."""
    tally = Tally()
    chunks = [list(chosen[i : i + 25]) for i in range(0, len(chosen), 25)]
    started = time.monotonic()
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(str(config), str(recording))
    ) as pool:
        for done, outcomes in enumerate(pool.map(_run_chunk, chunks), start=1):
            for outcome in outcomes:
                tally.add(outcome)
            if progress and (done % 20 == 0 or done == len(chunks)):
                tried = sum(tally.tried.values())
                print(
                    f"  {tried}/{len(chosen)} mutants, {len(tally.guard_findings())} crash/flip findings, "
                    f"{time.monotonic() - started:.0f} s",
                    file=sys.stderr,
                )
    return tally


def _distinct(findings: Iterable[Finding]) -> set[str]:
    return {hole(f) for f in findings if f.kind in ("crash", "flip")}


def compare(replay: Replay, count: int, seed: int) -> None:
    """Print how many distinct crash/flip patterns each method finds in `count` mutants."""
    from bench.mutation_replay.hypothesis_draws import drawn_outcomes

    every = replay.mutants()
    per_part = {part: count // len(PARTS) for part in PARTS}
    started = time.monotonic()
    enumerated = [replay.run(m) for m in sample(every, per_part, seed)]
    enumerated_seconds = time.monotonic() - started
    started = time.monotonic()
    drawn: list[Outcome] = []
    for part in PARTS:
        locations = [m for m in every if m.part == part]
        drawn.extend(drawn_outcomes(replay, locations, per_part[part], seed))
    drawn_seconds = time.monotonic() - started
    for name, outcomes, seconds in (
        ("enumeration (seeded sample)", enumerated, enumerated_seconds),
        ("hypothesis (random JSON values)", drawn, drawn_seconds),
    ):
        findings = [f for o in outcomes for f in o.findings]
        mutants_with = sum(1 for o in outcomes if any(f.kind in ("crash", "flip") for f in o.findings))
        print(
            f"{name}: {len(outcomes)} mutants in {seconds:.0f} s, {mutants_with} with a crash or flip, "
            f"{len(_distinct(findings))} distinct holes (field pattern x control or crash site)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", type=Path, default=DEMO_CONFIG, help="the audit config (default: the demo's)"
    )
    parser.add_argument(
        "--recording", type=Path, default=DEMO_RECORDING, help="the recording (default: the demo's)"
    )
    parser.add_argument("--part", choices=PARTS, action="append", help="only these parts (repeatable)")
    parser.add_argument("--limit", type=int, default=0, help="a seeded sample of this many mutants per part")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--findings", type=Path, help="write every finding, one per line, to this file")
    parser.add_argument(
        "--compare", type=int, metavar="N", help="compare enumeration and hypothesis on N mutants"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mutation-replay-") as scratch:
        replay = Replay(
            load_config(args.config, known_controls=frozenset(CONTROLS)),
            args.recording,
            scratch=Path(scratch),
        )
        if args.compare:
            compare(replay, args.compare, args.seed)
            return 0
        every = [m for m in replay.mutants() if not args.part or m.part in args.part]
        chosen = sample(every, dict.fromkeys(PARTS, args.limit), args.seed) if args.limit else every
    print(f"{args.recording}: {len(every)} mutants, replaying {len(chosen)} with {args.workers} worker(s)")
    started = time.monotonic()
    tally = run_all(args.config, args.recording, chosen, args.workers, progress=True)
    print(f"done in {time.monotonic() - started:.0f} s\n")
    print(tally.table())
    found = tally.guard_findings()
    review = [f for f in tally.findings if f.kind not in ("crash", "flip")]
    print(f"\ncrashes and flips ({len(found)} findings), grouped:\n{report(found, cap=200) or '  none'}")
    print(
        f"\nfor review: plausible flips and lost items ({len(review)}), grouped:\n{report(review, cap=60) or '  none'}"
    )
    if args.findings:
        args.findings.write_text("\n".join(f.line() for f in tally.findings) + "\n", encoding="utf-8")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
