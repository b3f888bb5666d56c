"""Mutation replay: every mutant of a recording, judged in-process, checked for crashes and false passes.

`Replay(config, recording)` audits the unmutated recording once (`bench.mutation_replay.evaluator`),
then `replay.run(mutant)` applies one mutant (`bench.mutation_replay.mutants`), loads the
mutated recording as the CLI does and audits it again, re-collecting only the part it touched.
A mutant's findings:

- `crash`: an exception escaped collection (the CLI's INTERNALERROR, exit 3), or the loader
  failed with something other than RecordingError;
- `flip`: a malformed observation turned an item whose unmutated verdict was `fail` or `error`
  into `pass`, and Microsoft does not document the absent value as the secure default
  (`collectors.azure.secure_defaults`, consulted, never copied);
- `plausible flip`: the same after a plausible mutation (an empty list, an emptied section):
  listed for review, since a real estate may answer that and a pass may be right;
- `lost`: a `fail` or `error` item disappeared and its control has fewer items than before
  (e.g. a resource without an `id` silently dropped): listed for review.

Waivers are ignored for these comparisons (a waiver matches resource ids, not observations).
"""

from __future__ import annotations

import importlib
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.mutation_replay.evaluator import Audit, Auditor, assertions_enabled
from bench.mutation_replay.mutants import PARTS, Mutant, apply, mutants, path_pattern, render_path
from controls.catalog import CONTROLS
from controls.harness.config_file import AuditConfig, load_config

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "demo" / "audit.toml"
DEMO_RECORDING = ROOT / "demo" / "recording.json"
SECURE_DEFAULTS_MODULE = "collectors.azure.secure_defaults"
BAD_STATUSES = ("fail", "error")


@dataclass(frozen=True)
class Finding:
    """One way a mutant broke the guard: a crash, a flip to pass, or a lost failing item."""

    kind: str
    """crash, flip, plausible flip, or lost."""
    mutant: Mutant
    control: str = ""
    resource: str = ""
    before: str = ""
    after: str = ""
    detail: str = ""

    def line(self) -> str:
        """Return the finding as one line: part, field path, mutation, control, before -> after."""
        head = f"{self.kind}: {self.mutant.describe()}"
        if self.kind == "crash":
            return f"{head}: {self.detail}"
        return f"{head}: {self.control} {self.resource}: {self.before} -> {self.after}" + (
            f" ({self.detail})" if self.detail else ""
        )


@dataclass
class Outcome:
    """What one mutant did."""

    mutant: Mutant
    seconds: float
    findings: list[Finding] = field(default_factory=list)
    refused: bool = False


def secure_default(mutant: Mutant, exchange: dict[str, Any] | None) -> str | None:
    """Return Microsoft's word that makes this mutant's pass right, or None.

    Only an absent or null ARM field can be a documented secure default. The list is the Azure
    side's `collectors.azure.secure_defaults.DOCUMENTED_DEFAULTS` (resource type, the field's
    JSON path inside the resource, the source); this harness consults it and keeps no copy.
    """
    if mutant.part != "exchanges" or mutant.mutation not in ("deleted", "null") or exchange is None:
        return None
    try:
        module = importlib.import_module(SECURE_DEFAULTS_MODULE)
    except ImportError:
        return None
    body = json.loads(str(exchange.get("body") or "null"))
    path = mutant.location
    resource: Any = body
    if len(path) > 2 and path[0] in ("value", "data") and isinstance(path[1], int):
        resource, path = body[path[0]][path[1]], path[2:]
    kind = resource.get("type") if isinstance(resource, dict) else None
    if not isinstance(kind, str):
        kind = mutant.group.split("@", 1)[0]
    field_path = render_path(path)
    for default in getattr(module, "DOCUMENTED_DEFAULTS", ()):
        if default.resource_type.lower() == kind.lower() and default.field == field_path:
            return str(default.source)
    return None


class Replay:
    """The unmutated audit of one (config, recording) pair, and the replay of its mutants."""

    def __init__(self, config: AuditConfig, recording: Path, *, scratch: Path) -> None:
        if not assertions_enabled():
            raise RuntimeError("assertions are switched off: every control would pass; run without -O")
        self.document: dict[str, Any] = json.loads(recording.read_text(encoding="utf-8"))
        self.run_date = date.fromisoformat(str(self.document["run_date"]))
        self.auditor = Auditor(config, self.run_date)
        self.scratch = scratch
        self.baseline = self.auditor.audit_file(recording)
        if self.baseline.crash or self.baseline.refused:
            raise RuntimeError(
                f"the unmutated recording {recording} cannot be audited: "
                f"{self.baseline.crash or self.baseline.refused}"
            )
        self._before = self.baseline.by_key()
        self._counts = Counter(item.control for item in self.baseline.items)

    def mutants(self) -> list[Mutant]:
        """Return every mutant of the recording."""
        return mutants(self.document)

    def audit(self, mutant: Mutant) -> Audit:
        """Return the audit of the recording with `mutant` applied."""
        path = self.scratch / "mutant.json"
        path.write_text(json.dumps(apply(self.document, mutant)), encoding="utf-8")
        return self.auditor.audit_file(path, changed_part=mutant.part)

    def run(self, mutant: Mutant) -> Outcome:
        """Replay one mutant and return its findings."""
        started = time.perf_counter()
        after = self.audit(mutant)
        outcome = Outcome(mutant, 0.0, refused=after.refused is not None)
        if after.crash is not None:
            outcome.findings.append(Finding("crash", mutant, detail=after.crash))
        elif after.refused is None:
            outcome.findings.extend(self._compare(mutant, after))
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _compare(self, mutant: Mutant, after: Audit) -> list[Finding]:
        now = after.by_key()
        counts = Counter(item.control for item in after.items)
        emptied = {item.control for item in after.items if item.verdict.status == "not_applicable"}
        new_errors = {
            item.control
            for key, item in now.items()
            if item.verdict.status == "error"
            and (key not in self._before or self._before[key].verdict.status != "error")
        }
        exchange = self.document["exchanges"][int(mutant.target)] if mutant.part == "exchanges" else None
        findings: list[Finding] = []
        for key, before in self._before.items():
            if before.verdict.status not in BAD_STATUSES:
                continue
            current = now.get(key)
            if current is None:
                shrunk = counts[before.control] < self._counts[before.control] or before.control in emptied
                if shrunk and before.control not in new_errors:  # a coarser error item is fail-closed
                    findings.append(
                        Finding(
                            "lost", mutant, before.control, before.resource, before.verdict.status, "absent"
                        )
                    )
                continue
            if current.verdict.status != "pass":
                continue
            default = secure_default(mutant, exchange)
            if default is not None:
                continue
            kind = "flip" if mutant.malformed else "plausible flip"
            findings.append(
                Finding(
                    kind,
                    mutant,
                    before.control,
                    before.resource,
                    before.verdict.status,
                    "pass",
                    detail=current.verdict.message[:160],
                )
            )
        return findings


def demo_replay(scratch: Path) -> Replay:
    """Return the Replay of the demo (demo/audit.toml over demo/recording.json)."""
    config = load_config(DEMO_CONFIG, known_controls=frozenset(CONTROLS))
    return Replay(config, DEMO_RECORDING, scratch=scratch)


def sample(all_mutants: Sequence[Mutant], per_part: dict[str, int], seed: int) -> list[Mutant]:
    """Return a seeded sample of mutants, `per_part[part]` of each part (all of a smaller part)."""
    rng = random.Random(seed)
    by_part: dict[str, list[Mutant]] = defaultdict(list)
    for mutant in all_mutants:
        by_part[mutant.part].append(mutant)
    chosen: list[Mutant] = []
    for part in PARTS:
        pool = by_part.get(part, [])
        chosen.extend(rng.sample(pool, min(len(pool), per_part.get(part, 0))))
    return chosen


@dataclass(frozen=True)
class Pin:
    """Mutants the guard must always replay: a part, a group prefix, a path pattern and a mutation."""

    part: str
    group: str
    """The start of the mutants' group, e.g. Microsoft.Network/networkSecurityGroups or linux/nft."""
    path: str
    """The location with list indices left out (`path_pattern`), e.g. value[].properties.direction."""
    mutation: str
    why: str

    def matches(self, mutant: Mutant) -> bool:
        """Return True for the mutants this pin stands for (every list index of its path)."""
        return (
            mutant.part == self.part
            and mutant.group.startswith(self.group)
            and path_pattern(mutant.location) == self.path
            and mutant.mutation == self.mutation
        )


def pinned(all_mutants: Sequence[Mutant], pins: Sequence[Pin]) -> tuple[list[Mutant], list[Pin]]:
    """Return the mutants the pins stand for, and the pins that match none (stale after a re-recording)."""
    chosen = [m for m in all_mutants if any(pin.matches(m) for pin in pins)]
    stale = [pin for pin in pins if not any(pin.matches(m) for m in chosen)]
    return chosen, stale


@dataclass
class Tally:
    """Counts per part and group: mutants tried, crashes, flips, and the time they took."""

    tried: Counter[tuple[str, str]] = field(default_factory=Counter)
    crashes: Counter[tuple[str, str]] = field(default_factory=Counter)
    flips: Counter[tuple[str, str]] = field(default_factory=Counter)
    plausible: Counter[tuple[str, str]] = field(default_factory=Counter)
    lost: Counter[tuple[str, str]] = field(default_factory=Counter)
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    findings: list[Finding] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        """Count one mutant's outcome (a mutant counts once per kind, however many items it flipped)."""
        key = (outcome.mutant.part, outcome.mutant.group)
        self.tried[key] += 1
        self.seconds[outcome.mutant.part] += outcome.seconds
        self.refused[key] += outcome.refused
        kinds = {f.kind for f in outcome.findings}
        self.crashes[key] += "crash" in kinds
        self.flips[key] += "flip" in kinds
        self.plausible[key] += "plausible flip" in kinds
        self.lost[key] += "lost" in kinds
        self.findings.extend(outcome.findings)

    def guard_findings(self) -> list[Finding]:
        """Return the findings the guard forbids: crashes and flips of malformed observations."""
        return [f for f in self.findings if f.kind in ("crash", "flip")]

    def table(self, *, by_group: bool = True) -> str:
        """Return the per-part counts as an aligned text table, with every group (or only those with findings)."""
        rows: list[tuple[str, ...]] = [
            ("part / group", "tried", "crash", "flip", "plaus.", "lost", "refused", "ms/mutant")
        ]
        for part in PARTS:
            keys = sorted(k for k in self.tried if k[0] == part)
            if not keys:
                continue
            total = sum(self.tried[k] for k in keys)
            rows.append(
                (
                    part,
                    str(total),
                    *(
                        str(sum(c[k] for k in keys))
                        for c in (self.crashes, self.flips, self.plausible, self.lost, self.refused)
                    ),
                    f"{1000 * self.seconds[part] / max(1, total):.0f}",
                )
            )
            for k in keys:
                counts = (self.crashes[k], self.flips[k], self.plausible[k], self.lost[k], self.refused[k])
                if by_group or any(counts[:4]):
                    rows.append((f"  {k[1]}", str(self.tried[k]), *(str(c) for c in counts), ""))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
            )
            for row in rows
        )


def grouped(findings: Iterable[Finding]) -> list[tuple[str, int]]:
    """Return findings grouped by pattern (list indices as [*]), most frequent first, with counts.

    Exists so that one hole met through forty equivalent fields reads as one line.
    """
    patterns: Counter[str] = Counter()
    for finding in findings:
        path = path_pattern(finding.mutant.location)
        where = (
            f"{finding.mutant.part} [{finding.mutant.group}] {path or '(body)'}: {finding.mutant.mutation}"
        )
        if finding.kind == "crash":
            patterns[f"{finding.kind}: {where}: {finding.detail}"] += 1
        else:
            patterns[f"{finding.kind}: {where}: {finding.control} {finding.before} -> {finding.after}"] += 1
    return patterns.most_common()


def hole(finding: Finding) -> str:
    """Return what a finding reveals, whatever value revealed it: the field pattern and the item or crash site.

    Exists to count distinct holes (two mutations of one field that crash at one line, or flip
    one control, are one hole), e.g. to compare the enumeration with hypothesis.
    """
    path = path_pattern(finding.mutant.location)
    where = f"{finding.mutant.part} {finding.mutant.group} {path}"
    if finding.kind == "crash":
        kind = finding.detail.split(":", 2)[1].strip() if finding.detail.count(":") >= 2 else ""
        site = finding.detail.rsplit(" at ", 1)[-1]
        return f"crash {where} {kind} at {site}"
    return f"{finding.kind} {where} {finding.control}"


def report(findings: Sequence[Finding], *, cap: int = 40) -> str:
    """Return a readable list of findings grouped by pattern, capped at `cap` lines."""
    lines = [f"{count:4d} x {pattern}" for pattern, count in grouped(findings)]
    shown = lines[:cap]
    if len(lines) > cap:
        shown.append(f"... and {len(lines) - cap} more pattern(s)")
    return "\n".join(shown)
