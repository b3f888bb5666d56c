"""The period report's content: computed from the verified archive and its history index.

`build_period` verifies the archive over the period (verify-chain), makes sure every counted night
is in the history (indexing any that is not, from the archive), then reads the history for the
occurrences, populations and exceptions of each control, the changes of code, config and waivers,
the auditor's sample, and a verdict in words per statement clause. Only nights whose run verifies
are counted as occurrences; every other night is a deviation on the cover.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from reports.archive.chain import RunKey
from reports.archive.store import ArchiveStore
from reports.archive.verify_chain import ChainReport, verify_chain
from reports.evidence import Message, msg, msg_n
from reports.history.database import HistoryDatabase
from reports.history.reindex import index_archived_run
from reports.period.exceptions import (
    NOT_PASSING,
    Interval,
    NightResult,
    TicketRef,
    item_intervals,
    ticket_state,
)
from reports.period.nights import PeriodNights, period_nights
from reports.tickets.problems import ticket_action_for

_BATCH = 500


@dataclass
class ControlPeriod:
    """One control over the period: how often it ran, on how much, and its exceptions."""

    control: str
    clause: str
    title: str
    severity: str
    pass_condition: str
    occurrences: int = 0
    population: list[int] = field(default_factory=list)
    nights_fail: int = 0
    nights_error: int = 0
    sla_days: int = 30
    exceptions: list[Interval] = field(default_factory=list)
    daily: dict[date, dict[str, int]] = field(default_factory=dict)

    @property
    def population_min(self) -> int:
        """Return the smallest population of a counted night (0 without occurrences)."""
        return min(self.population, default=0)

    @property
    def population_max(self) -> int:
        """Return the largest population of a counted night."""
        return max(self.population, default=0)

    @property
    def population_last(self) -> int:
        """Return the population of the last counted night."""
        return self.population[-1] if self.population else 0

    @property
    def mttr_days(self) -> float | None:
        """Return the mean days from first failing night to fixing night over the fixed exceptions (None: none fixed)."""
        fixed = [i.duration_days for i in self.exceptions if i.fixed is not None]
        return round(sum(fixed) / len(fixed), 1) if fixed else None


@dataclass(frozen=True)
class CodeChange:
    """The controls' code changed between two counted nights: the commits recorded, and git's list between."""

    night: date
    before: str | None
    after: str | None
    commits: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfigChange:
    """The config changed: its sha256 before and after, and the policy values that changed."""

    night: date
    before: str | None
    after: str | None
    policy: Mapping[str, tuple[Any, Any]]


@dataclass(frozen=True)
class WaiverEvent:
    """A waiver added, changed, expired or removed, first seen on `night`."""

    night: date
    event: str
    control: str
    resource: str
    approved_by: str
    justification: str
    expires: str


@dataclass(frozen=True)
class SampledItem:
    """One result of a sampled night, with the anchor of its row in that night's report."""

    control: str
    resource: str
    status: str
    report_link: str


@dataclass(frozen=True)
class SampledNight:
    """A night the auditor re-performs: its run, whether it verifies, and the sampled items."""

    night: date
    run_key: str
    verified: bool
    items: tuple[SampledItem, ...]


@dataclass(frozen=True)
class ClauseVerdict:
    """The period verdict of one statement clause, in words (a catalog message)."""

    clause: str
    operated: int
    counted: int
    message: Message


@dataclass
class PeriodReport:
    """Everything the period report states (period.json is this, period.html renders it)."""

    start: date
    end: date
    archive: str
    nights: PeriodNights
    chain_ok: bool
    timestamps_checked: int
    signatures_checked: int
    write_once: Message
    controls: list[ControlPeriod]
    code_changes: list[CodeChange]
    config_changes: list[ConfigChange]
    waiver_events: list[WaiverEvent]
    sample: list[SampledNight]
    sample_seed: int | None
    clauses: list[ClauseVerdict]


@dataclass(frozen=True)
class _Run:
    id: int
    key: RunKey
    git_commit: str | None
    config_sha256: str | None
    policy: dict[str, Any]
    waivers: list[dict[str, Any]]
    tickets: dict[str, Any] | None


def _batches(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[start : start + _BATCH] for start in range(0, len(values), _BATCH)]


def _runs(db: HistoryDatabase, store: ArchiveStore, nights: PeriodNights) -> dict[date, _Run]:
    """Return the history row of each present night's run, indexing from the archive any not indexed yet."""
    wanted = {
        check.run.prefix: night for night, check in nights.runs.items() if "incomplete" not in check.kinds
    }
    found: dict[date, _Run] = {}
    for attempt in range(2):
        for batch in _batches(sorted(wanted)):
            marks = ",".join("?" * len(batch))
            for row in db.execute(
                "SELECT id, run_key, git_commit, config_sha256, policy, waivers, tickets FROM runs "
                f"WHERE run_key IN ({marks})",
                batch,
            ):
                run_key = RunKey.parse(row[1])
                assert run_key is not None
                found[run_key.night] = _Run(
                    int(row[0]),
                    run_key,
                    row[2],
                    row[3],
                    json.loads(row[4]),
                    json.loads(row[5]),
                    json.loads(row[6]) if row[6] else None,
                )
        missing = [prefix for prefix, night in wanted.items() if night not in found]
        if not missing or attempt:
            break
        for prefix in missing:
            parsed = RunKey.parse(prefix)
            assert parsed is not None
            try:
                index_archived_run(store, db, parsed)
            except (OSError, ValueError, KeyError, TypeError):
                continue  # the night stays uncounted; verify-chain already named what is wrong with it
    return found


def _documents(db: HistoryDatabase, ids: set[int]) -> dict[int, str]:
    documents: dict[int, str] = {}
    for batch in _batches(sorted(ids)):
        marks = ",".join("?" * len(batch))
        documents.update(
            (int(i), str(body))
            for i, body in db.execute(f"SELECT id, body FROM documents WHERE id IN ({marks})", batch)
        )
    return documents


def _controls(
    db: HistoryDatabase, counted: Mapping[date, _Run], policy: Mapping[str, Any]
) -> dict[str, ControlPeriod]:
    """Return each control seen on a counted night with its daily counts, population and occurrences."""
    controls: dict[str, ControlPeriod] = {}
    by_run = {run.id: night for night, run in counted.items()}
    default_sla = int(policy.get("remediation_days", 30))
    by_clause = policy.get("remediation_days_by_clause") or {}
    rows: list[tuple[date, str, str, str, str, str, str]] = []
    for batch in _batches(sorted(by_run)):
        marks = ",".join("?" * len(batch))
        rows += [
            (
                by_run[int(run)],
                str(control),
                str(clause),
                str(title),
                str(severity),
                str(condition),
                str(counts),
            )
            for run, control, clause, title, severity, condition, counts in db.execute(
                "SELECT run, control, clause, title, severity, pass_condition, counts FROM controls "
                f"WHERE run IN ({marks})",
                batch,
            )
        ]
    for night, control, clause, title, severity, condition, counts in sorted(rows):
        daily = controls[control].daily if control in controls else {}
        # Night by night, so the latest night's catalog text wins (a title or clause may change).
        entry = ControlPeriod(
            control, clause, title, severity, condition, sla_days=int(by_clause.get(clause, default_sla))
        )
        entry.daily = daily
        controls[control] = entry
        tallies = {str(k): int(v) for k, v in json.loads(counts).items() if v}
        if tallies:
            daily[night] = tallies
    for entry in controls.values():
        for night in sorted(entry.daily):
            tally = entry.daily[night]
            entry.occurrences += 1
            entry.population.append(sum(tally.values()))
            entry.nights_fail += 1 if tally.get("fail") else 0
            entry.nights_error += 1 if tally.get("error") else 0
    return controls


def _exceptions(
    db: HistoryDatabase, counted: Mapping[date, _Run], controls: Mapping[str, ControlPeriod]
) -> None:
    """Fill each control's exceptions: the not-passing intervals of every item that ever did not pass."""
    by_run = {run.id: night for night, run in counted.items()}
    ids = sorted(by_run)
    items: set[int] = set()
    statuses = ",".join(f"'{s}'" for s in NOT_PASSING)
    for batch in _batches(ids):
        marks = ",".join("?" * len(batch))
        items.update(
            int(i)
            for (i,) in db.execute(
                f"SELECT DISTINCT item FROM results WHERE run IN ({marks}) AND status IN ({statuses})", batch
            )
        )
    if not items:
        return
    names: dict[int, tuple[str, str]] = {}
    history: dict[int, dict[date, NightResult]] = defaultdict(dict)
    document_ids: set[int] = set()
    for item_batch in _batches(sorted(items)):
        item_marks = ",".join("?" * len(item_batch))
        names.update(
            (int(i), (c, r))
            for i, c, r in db.execute(
                f"SELECT id, control, resource FROM items WHERE id IN ({item_marks})", item_batch
            )
        )
        for run, item, status, finding, waiver in db.execute(
            f"SELECT run, item, status, finding, waiver FROM results WHERE item IN ({item_marks})", item_batch
        ):
            night = by_run.get(int(run))
            if night is None:
                continue
            history[int(item)][night] = NightResult(str(status), finding, waiver)
            document_ids.update(d for d in (finding, waiver) if d is not None)
    documents = _documents(db, document_ids)
    nights = sorted(counted)
    for item, results in history.items():
        control, resource = names[item]
        entry = controls.get(control)
        if entry is None:
            continue
        present = [n for n in nights if n >= min(results)]
        entry.exceptions += item_intervals(
            control, resource, present, results, documents, sla_days=entry.sla_days
        )
    for entry in controls.values():
        entry.exceptions.sort(key=lambda i: (i.first, i.resource))


def _tickets(counted: Mapping[date, _Run], controls: Mapping[str, ControlPeriod]) -> None:
    """Attach to each exception the ticket of its control and scope, in the state its last action left it."""
    actions: list[tuple[date, dict[str, Any]]] = []
    for night, run in sorted(counted.items()):
        for action in (run.tickets or {}).get("actions") or []:
            if action.get("ticket"):
                actions.append((night, action))
    if not actions:
        return
    for entry in controls.values():
        for interval in entry.exceptions:
            end = interval.end_reference
            during = [a for night, a in actions if interval.first <= night <= end]
            action = ticket_action_for(during, entry.control, interval.resource)
            if action is not None:
                interval.ticket = TicketRef(
                    str(action["ticket"]), action.get("url"), ticket_state(str(action["action"]))
                )


def _git_commits(before: str, after: str, repository: Path | None) -> tuple[str, ...]:
    """Return `git log --oneline before..after` when the repository has both commits, else ()."""
    if repository is None:
        return ()
    try:
        run = subprocess.run(
            ["git", "-C", str(repository), "log", "--oneline", "--no-decorate", f"{before}..{after}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(run.stdout.splitlines()[:200]) if run.returncode == 0 else ()


def _policy_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        key: (before.get(key), after.get(key))
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def _changes(
    counted: Mapping[date, _Run], repository: Path | None
) -> tuple[list[CodeChange], list[ConfigChange], list[WaiverEvent]]:
    code: list[CodeChange] = []
    config: list[ConfigChange] = []
    waivers: list[WaiverEvent] = []
    previous: _Run | None = None
    for night, run in sorted(counted.items()):
        if previous is not None:
            if run.git_commit != previous.git_commit:
                commits = (
                    _git_commits(previous.git_commit, run.git_commit, repository)
                    if previous.git_commit and run.git_commit
                    else ()
                )
                code.append(CodeChange(night, previous.git_commit, run.git_commit, commits))
            if run.config_sha256 != previous.config_sha256:
                config.append(
                    ConfigChange(
                        night,
                        previous.config_sha256,
                        run.config_sha256,
                        _policy_changes(previous.policy, run.policy),
                    )
                )
            waivers += _waiver_events(night, previous.waivers, run.waivers)
        previous = run
    return code, config, waivers


def _waiver_key(waiver: Mapping[str, Any]) -> tuple[str, str]:
    return str(waiver.get("control", "")), str(waiver.get("resource", ""))


def _waiver_event(night: date, event: str, waiver: Mapping[str, Any]) -> WaiverEvent:
    return WaiverEvent(
        night,
        event,
        str(waiver.get("control", "")),
        str(waiver.get("resource", "")),
        str(waiver.get("approved_by", "")),
        str(waiver.get("justification", "")),
        str(waiver.get("expires", "")),
    )


def _waiver_events(
    night: date, before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[WaiverEvent]:
    old = {_waiver_key(w): w for w in before}
    new = {_waiver_key(w): w for w in after}
    events: list[WaiverEvent] = []
    fields = ("approved_by", "justification", "expires", "scope")
    for key in sorted(set(old) | set(new)):
        if key not in old:
            events.append(_waiver_event(night, "added", new[key]))
        elif key not in new:
            events.append(_waiver_event(night, "removed", old[key]))
        else:
            if any(old[key].get(f) != new[key].get(f) for f in fields):
                events.append(_waiver_event(night, "changed", new[key]))
            if new[key].get("expired") and not old[key].get("expired"):
                events.append(_waiver_event(night, "expired", new[key]))
    return events


def _sample(
    db: HistoryDatabase, nights: PeriodNights, runs: Mapping[date, _Run], size: int, items: int, seed: int
) -> list[SampledNight]:
    """Return a reproducible random sample of `size` present nights and `items` results of each."""
    from reports.html import result_anchor

    rng = random.Random(seed)
    candidates = sorted(night for night in runs)
    chosen = sorted(rng.sample(candidates, min(size, len(candidates))))
    sample: list[SampledNight] = []
    for night in chosen:
        run = runs[night]
        rows = sorted(
            (str(c), str(r), str(s))
            for c, r, s in db.execute(
                "SELECT i.control, i.resource, r.status FROM results r JOIN items i ON i.id = r.item WHERE r.run = ?",
                (run.id,),
            )
        )
        picked = sorted(rng.sample(rows, min(items, len(rows))))
        sample.append(
            SampledNight(
                night,
                run.key.prefix,
                nights.runs[night].authentic,
                tuple(
                    SampledItem(c, r, s, f"{run.key.prefix}report.html#{result_anchor(c, r)}")
                    for c, r, s in picked
                ),
            )
        )
    return sample


def _clause_verdicts(
    controls: Sequence[ControlPeriod], counted: Sequence[date], expected: int
) -> list[ClauseVerdict]:
    by_clause: dict[str, list[ControlPeriod]] = defaultdict(list)
    for entry in controls:
        by_clause[entry.clause].append(entry)
    verdicts: list[ClauseVerdict] = []
    for clause in sorted(by_clause, key=_clause_order):
        entries = by_clause[clause]
        operated = sum(
            1
            for night in counted
            if any(night in e.daily for e in entries)
            and not any(
                e.daily.get(night, {}).get("fail") or e.daily.get(night, {}).get("error") for e in entries
            )
        )
        exceptions = [i for e in entries for i in e.exceptions]
        parts: list[Message] = [
            msg_n(
                "operated on {n} of {total} night",
                "operated on {n} of {total} nights",
                "total",
                n=operated,
                total=expected,
            )
        ]
        waived = [i for i in exceptions if i.sla_verdict == "accepted (waived)"]
        judged = [i for i in exceptions if i not in waived]
        in_time = [i for i in judged if i.fixed is not None and i.sla_verdict == "within SLA"]
        late = [i for i in judged if i.fixed is not None and i.sla_verdict == "remediated late"]
        still = [i for i in judged if i.fixed is None]
        days = max((e.sla_days for e in entries), default=30)
        if not exceptions:
            parts.append(msg("no exceptions"))
        if in_time:
            parts.append(
                msg_n(
                    "{n} exception remediated within {days} days",
                    "{n} exceptions remediated within {days} days",
                    "n",
                    n=len(in_time),
                    days=days,
                )
            )
        if late:
            parts.append(
                msg_n(
                    "{n} exception remediated after more than {days} days",
                    "{n} exceptions remediated after more than {days} days",
                    "n",
                    n=len(late),
                    days=days,
                )
            )
        if still:
            oldest = min(i.first for i in still)
            parts.append(
                msg_n(
                    "{n} open since {date}",
                    "{n} open, the oldest since {date}",
                    "n",
                    n=len(still),
                    date=oldest,
                )
            )
        if waived:
            parts.append(
                msg_n(
                    "{n} exception accepted by a waiver",
                    "{n} exceptions accepted by waivers",
                    "n",
                    n=len(waived),
                )
            )
        verdicts.append(
            ClauseVerdict(
                clause, operated, len(counted), msg("{clause}: {parts}", clause=clause, parts=parts)
            )
        )
    return verdicts


def _clause_order(clause: str) -> tuple[int, str]:
    digits = "".join(ch for ch in clause if ch.isdigit())
    return (int(digits) if digits else 0, clause)


def build_period(
    store: ArchiveStore,
    db: HistoryDatabase,
    start: date,
    end: date,
    *,
    public_key: Path | None = None,
    tsa_roots: Sequence[bytes] | None = None,
    sample_nights: int = 0,
    sample_items: int = 5,
    seed: int | None = None,
    write_once: Message | None = None,
    repository: Path | None = None,
) -> PeriodReport:
    """Return the period report of `start`..`end` from the archive (verified) and the history (read).

    Raises ArchiveError when the archive cannot be listed, HistoryError when the history cannot be read.
    """
    chain: ChainReport = verify_chain(store, start=start, end=end, public_key=public_key, tsa_roots=tsa_roots)
    nights = period_nights(chain, start, end)
    runs = _runs(db, store, nights)
    counted = {night: run for night, run in runs.items() if nights.runs[night].authentic}
    last_policy = counted[max(counted)].policy if counted else {}
    controls = _controls(db, counted, last_policy)
    _exceptions(db, counted, controls)
    _tickets(counted, controls)
    code, config, waivers = _changes(counted, repository)
    ordered = sorted(controls.values(), key=lambda c: (_clause_order(c.clause), c.control))
    sample = (
        _sample(db, nights, runs, sample_nights, sample_items, seed)
        if seed is not None and sample_nights
        else []
    )
    return PeriodReport(
        start=start,
        end=end,
        archive=store.describe(),
        nights=nights,
        chain_ok=chain.ok,
        timestamps_checked=sum(1 for r in chain.runs if r.timestamp is not None),
        signatures_checked=sum(1 for r in chain.runs if r.signed),
        write_once=write_once or msg("not stated"),
        controls=ordered,
        code_changes=code,
        config_changes=config,
        waiver_events=waivers,
        sample=sample,
        sample_seed=seed if sample else None,
        clauses=_clause_verdicts(ordered, sorted(counted), nights.expected),
    )
