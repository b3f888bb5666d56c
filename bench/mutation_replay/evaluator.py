"""An in-process audit of one (config, recording) pair: what `pytest controls/ --replay` decides.

The pytest hooks collect every fact once (`collect_estate` in conftest.py's sessionstart),
parametrize each control over its population (`pytest_generate_tests`), call each control
with its subject's fact and fixtures (`AuditSession.pytest_pyfunc_call`) and map the outcome
with `controls.framework.judge`. `Auditor` does exactly that, without pytest, so that
thousands of mutated recordings can be judged in minutes; tests/test_mutation_replay.py
checks that it gives the real CLI's statuses on the demo.

Re-collecting is the slow part (the Azure SDK replay takes ~0.1 s), so `Auditor` keeps the
unmutated run's output of every collector and, for a mutant of one part of the recording,
re-runs only the collectors that read that part, and every collector that reads a population
one of those writes (found in the unmutated run by watching `FactStore.get` and
`FactStore.population`, e.g. the TLS scanner reading the endpoints Azure published):
`collect_estate` itself still runs, with the untouched collectors answering from the cache.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import collectors.estate as estate_module
from collectors.azure.arm import ArmUnavailable
from collectors.estate import Estate, collect_estate
from collectors.facts import FactStore, Population, Subject
from collectors.messages import Reason
from collectors.recording import Recording, RecordingError
from controls.catalog import control_spec
from controls.framework import Evidence, EvidenceMissing, NotApplicable, Verdict, judge
from controls.harness.config_file import AuditConfig
from controls.waivers import apply_waivers
from reports.evidence import Status

CONTROLS_PACKAGE = "controls"
FIXTURES = ("evidence", "policy", "run_date", "audit_config")
"""The fixtures conftest.py offers the controls; a control asking for another cannot be judged here."""

PART_COLLECTORS: dict[str, tuple[str, ...]] = {
    "exchanges": ("collect_azure",),
    "hosts": ("collect_hosts",),
    "tls": ("collect_tls",),
    "probes": ("collect_probes",),
    "databases": ("collect_databases",),
}
"""The collectors (names in collectors/estate.py) that read each part of a recording."""
CACHED_COLLECTORS = (
    "collect_azure",
    "collect_hosts",
    "collect_tls",
    "collect_probes",
    "collect_attestations",
    "collect_databases",
)


@dataclass(frozen=True)
class ControlFunction:
    """One control as pytest collects it: its id, the population it is over and its function."""

    control_id: str
    over: str
    function: Callable[..., None]
    fact_parameter: str
    fixtures: tuple[str, ...]


@dataclass(frozen=True)
class Item:
    """One control item's outcome: the verdict before waivers and the status after them."""

    control: str
    resource: str
    verdict: Verdict
    status: Status


@dataclass
class Audit:
    """The items of one in-process audit, or the crash that ended it (the CLI's exit 3)."""

    items: list[Item] = field(default_factory=list)
    crash: str | None = None
    """'ExceptionType: message at file:line' when an exception escaped collection or parametrization."""
    refused: str | None = None
    """Why the run was refused (the CLI's exit 4: a recording that does not load, an Azure
    endpoint that answers nothing usable): not a crash."""

    def by_key(self) -> dict[tuple[str, str, int], Item]:
        """Return the items keyed by (control, resource, n): n tells apart duplicate resource ids."""
        out: dict[tuple[str, str, int], Item] = {}
        for item in self.items:
            n = 0
            while (item.control, item.resource, n) in out:
                n += 1
            out[(item.control, item.resource, n)] = item
        return out


def control_functions() -> list[ControlFunction]:
    """Return every control in controls/test_*.py, as pytest would collect them.

    Exists so the evaluator judges the same controls as `pytest controls/`, including ones
    added later, without a list to keep in step.
    """
    package = importlib.import_module(CONTROLS_PACKAGE)
    found: list[ControlFunction] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"{CONTROLS_PACKAGE}.{info.name}")
        for name, function in sorted(vars(module).items()):
            if not name.startswith("test_") or not callable(function):
                continue
            marks = [m for m in getattr(function, "pytestmark", []) if m.name == "control"]
            if not marks:
                continue
            control_id, over = marks[0].args
            parameters = list(inspect.signature(function).parameters)
            unknown = [p for p in parameters[1:] if p not in FIXTURES]
            if unknown:
                raise TypeError(f"control {control_id} asks for fixtures the evaluator lacks: {unknown}")
            found.append(ControlFunction(control_id, over, function, parameters[0], tuple(parameters[1:])))
    return found


def _crash_text(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = next(
        (f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames) if "/.venv/" not in f.filename),
        "?",
    )
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first} at {where}"


@dataclass
class _CollectorOutput:
    """What one collector did to the store in the unmutated run, and what it returned."""

    populations: dict[str, Population]
    returned: Any


def _snapshot(store: FactStore) -> dict[str, tuple[int, int, Reason | None, Reason, int]]:
    return {
        name: (id(p), len(p.subjects), p.out_of_scope, p.empty_reason, len(p.notes))
        for name in store.names()
        if (p := store.get(name)) is not None
    }


class Auditor:
    """Judges recordings of one config in-process, as `pytest controls/ --replay` would."""

    def __init__(self, config: AuditConfig, run_date: date) -> None:
        self.config = config
        self.run_date = run_date
        self.controls = control_functions()
        self._cache: dict[str, _CollectorOutput] = {}
        self._reads: dict[str, set[str]] = {}
        self._running: str | None = None

    # -- collection ---------------------------------------------------------------------------

    def collect(self, recording: Recording, *, changed_part: str | None = None) -> Estate:
        """Return the facts of `recording` (collect_estate); only `changed_part`'s collectors re-run.

        With `changed_part=None` every collector runs and the cache of their outputs is
        (re)filled: call it once on the unmutated recording before any mutant.
        """
        if changed_part is None:
            with self._recording_outputs():
                return collect_estate(self.config, run_date=self.run_date, replay=recording)
        with self._answering_from_cache(exclude=self.rerun_for(changed_part)):
            return collect_estate(self.config, run_date=self.run_date, replay=recording)

    def rerun_for(self, changed_part: str) -> set[str]:
        """Return the collectors to re-run for a change of `changed_part`: its readers and their dependants."""
        rerun = set(PART_COLLECTORS[changed_part])
        grew = True
        while grew:
            written = {name for c in rerun if c in self._cache for name in self._cache[c].populations}
            dependants = {c for c, read in self._reads.items() if c not in rerun and read & written}
            rerun |= dependants
            grew = bool(dependants)
        return rerun

    @contextlib.contextmanager
    def _recording_outputs(self) -> Iterator[None]:
        self._cache.clear()
        self._reads.clear()
        with contextlib.ExitStack() as stack:
            for method in ("get", "population"):
                stack.enter_context(
                    mock.patch.object(FactStore, method, self._watched(getattr(FactStore, method)))
                )
            for name in CACHED_COLLECTORS:
                original = getattr(estate_module, name, None)
                if original is not None:
                    stack.enter_context(
                        mock.patch.object(estate_module, name, self._recorder(name, original))
                    )
            yield

    def _watched(self, method: Callable[[FactStore, str], Any]) -> Callable[[FactStore, str], Any]:
        def watched(store: FactStore, name: str) -> Any:
            if self._running is not None:
                self._reads.setdefault(self._running, set()).add(name)
            return method(store, name)

        return watched

    def _recorder(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            store = _store_among(args, kwargs)
            before = _snapshot(store)
            self._running = name
            try:
                returned = original(*args, **kwargs)
            finally:
                self._running = None
            after = _snapshot(store)
            touched = {n for n in after if before.get(n) != after[n]}
            populations = {n: p for n in touched if (p := store.get(n)) is not None}
            self._cache[name] = _CollectorOutput(populations, returned)
            return returned

        return recorded

    @contextlib.contextmanager
    def _answering_from_cache(self, exclude: set[str]) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for name, output in self._cache.items():
                if name not in exclude and hasattr(estate_module, name):
                    stack.enter_context(mock.patch.object(estate_module, name, _replayer(output)))
            yield

    # -- evaluation ---------------------------------------------------------------------------

    def audit(self, recording: Recording, *, changed_part: str | None = None) -> Audit:
        """Return every control item's outcome on `recording`, or the crash that a run would end in."""
        try:
            estate = self.collect(recording, changed_part=changed_part)
        except ArmUnavailable as exc:  # conftest.py's sessionstart: a usage error, exit 4
            return Audit(refused=f"[azure]: {exc}")
        except Exception as exc:  # the CLI would end in INTERNALERROR, exit 3
            return Audit(crash=f"collection: {_crash_text(exc)}")
        out = Audit()
        for control in self.controls:
            population = estate.store.get(control.over)
            if population is None:  # pytest_generate_tests raises: the run ends in exit 3
                return Audit(
                    crash=f"control {control.control_id} is over {control.over!r}, which no collector fills"
                )
            try:
                out.items.extend(self._judge_population(control, population))
            except Exception as exc:  # an exception outside a control's own call
                return Audit(crash=f"{control.control_id}: {_crash_text(exc)}")
        return out

    def audit_file(self, path: Path, *, changed_part: str | None = None) -> Audit:
        """Load a recording as the CLI does (`Recording.load`) and audit it; a refusal is exit 4."""
        try:
            recording = Recording.load(path)
        except RecordingError as exc:
            return Audit(refused=str(exc))
        except Exception as exc:  # conftest.py catches RecordingError only: exit 3
            return Audit(crash=f"Recording.load: {_crash_text(exc)}")
        return self.audit(recording, changed_part=changed_part)

    def _judge_population(self, control: ControlFunction, population: Population) -> list[Item]:
        spec = control_spec(control.control_id)
        if population.out_of_scope or not population.subjects:
            reason = population.out_of_scope or population.empty_reason
            return [self._item(spec.id, f"{spec.id}:not-applicable", judge(NotApplicable(reason), None))]
        items = []
        for subject in sorted(population.subjects, key=lambda s: s.id):
            items.append(self._item(spec.id, subject.id, self._judge_subject(control, subject)))
        return items

    def _judge_subject(self, control: ControlFunction, subject: Subject[object]) -> Verdict:
        """Return what AuditSession.pytest_pyfunc_call and judge() make of one subject."""
        evidence = Evidence(subject)
        if subject.error is not None:
            return judge(EvidenceMissing(subject.error), evidence)
        fixtures: dict[str, Any] = {
            "evidence": evidence,
            "policy": self.config.policy,
            "run_date": self.run_date,
            "audit_config": self.config,
        }
        arguments = {name: fixtures[name] for name in control.fixtures}
        arguments[control.fact_parameter] = subject.fact
        try:
            control.function(**arguments)
        except Exception as exc:  # judged like pytest's outcome: error, never pass
            return judge(exc, evidence)
        return judge(None, evidence)

    def _item(self, control_id: str, resource: str, verdict: Verdict) -> Item:
        waived = apply_waivers(verdict, self.config.waivers, control_id, resource, self.run_date)
        return Item(control_id, resource, verdict, waived.verdict.status)


def _store_among(args: tuple[Any, ...], kwargs: dict[str, Any]) -> FactStore:
    """Return the FactStore a collector was called with (its position differs per collector)."""
    store = next((a for a in (*args, *kwargs.values()) if isinstance(a, FactStore)), None)
    if store is None:
        raise TypeError("a cached collector was called without a FactStore")
    return store


def _replayer(output: _CollectorOutput) -> Callable[..., Any]:
    def replay(*args: Any, **kwargs: Any) -> Any:
        store = _store_among(args, kwargs)
        for name, cached in output.populations.items():
            population = store.population(name)
            population.subjects = list(cached.subjects)
            population.out_of_scope = cached.out_of_scope
            population.empty_reason = cached.empty_reason
            population.notes = list(cached.notes)
        return output.returned

    return replay


def assertions_enabled() -> bool:
    """Return True when `assert` statements run (the controls' pass conditions are asserts)."""
    try:
        assert False  # noqa: B011, PT015
    except AssertionError:
        return True
    return False
